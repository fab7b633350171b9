/* test_err.c - unit tests of common/xca_err.h: the one error table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "xca_err.h"

/* Every code of the table. */
static const struct {
  int code;
} all_codes[] = {
#define ROW(name, msg) {XCA_E_##name},
  XCA_ERRNO_MAP(ROW)
#undef ROW
};

#define NCODES (sizeof(all_codes) / sizeof(all_codes[0]))

static void test_ok_is_zero_with_name_ok_and_message_success(void **state)
{
  (void)state;
  assert_int_equal(XCA_OK, 0);
  assert_string_equal(xca_err_name(XCA_OK), "OK");
  assert_string_equal(xca_strerror(XCA_OK), "success");
}

/* The reasons README.md quotes (the refusal log line, the Redis-failure
 * log lines, the admin replies of generateVerificationCode and
 * createEnrollmentGroup), written out
 * here rather than taken from the table: operators grep for them. */
static void test_readme_reasons_are_the_messages(void **state)
{
  (void)state;
  assert_string_equal(xca_strerror(XCA_E_DISABLED), "identity is disabled");
  assert_string_equal(xca_strerror(XCA_E_REGISTRY_UNAVAILABLE), "registry unavailable");
  assert_string_equal(xca_strerror(XCA_E_STALE), "registry unavailable and cached entry too old");
  assert_string_equal(xca_strerror(XCA_E_ALREADY_VERIFIED), "CA is already verified");
  assert_string_equal(xca_strerror(XCA_E_GROUP_DUPLICATE),
                      "another enrollment group has this certificate");
}

static void test_each_code_has_nonempty_name_and_message(void **state)
{
  (void)state;
  for (size_t i = 0; i < NCODES; i++) {
    const char *name = xca_err_name(all_codes[i].code);
    const char *msg = xca_strerror(all_codes[i].code);
    assert_non_null(name);
    assert_non_null(msg);
    assert_true(strlen(name) > 0);
    assert_true(strlen(msg) > 0);
    assert_string_not_equal(name, "UNKNOWN");
    assert_string_not_equal(msg, "unknown error");
  }
}

static void test_names_are_distinct(void **state)
{
  (void)state;
  for (size_t i = 0; i < NCODES; i++) {
    assert_string_not_equal(xca_err_name(all_codes[i].code), "OK");
    for (size_t j = i + 1; j < NCODES; j++) {
      assert_string_not_equal(xca_err_name(all_codes[i].code), xca_err_name(all_codes[j].code));
    }
  }
}

static void test_messages_are_distinct(void **state)
{
  (void)state;
  for (size_t i = 0; i < NCODES; i++) {
    assert_string_not_equal(xca_strerror(all_codes[i].code), "success");
    for (size_t j = i + 1; j < NCODES; j++) {
      assert_string_not_equal(xca_strerror(all_codes[i].code), xca_strerror(all_codes[j].code));
    }
  }
}

static void test_messages_are_one_line(void **state)
{
  (void)state;
  for (size_t i = 0; i < NCODES; i++) {
    assert_null(strchr(xca_strerror(all_codes[i].code), '\n'));
  }
}

static void test_unknown_codes_give_unknown(void **state)
{
  const int unknown[] = {-1, XCA_E_MAX_, XCA_E_MAX_ + 1, 9999, -9999};
  (void)state;
  for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
    assert_string_equal(xca_err_name(unknown[i]), "UNKNOWN");
    assert_string_equal(xca_strerror(unknown[i]), "unknown error");
  }
}

static void test_known_messages_sample(void **state)
{
  (void)state;
  assert_string_equal(xca_err_name(XCA_E_NOT_FOUND), "NOT_FOUND");
  assert_string_equal(xca_strerror(XCA_E_NOT_FOUND), "not found");
}

static void test_log_sanitize_replaces_control_and_non_ascii(void **state)
{
  char out[32];
  char tiny[4];
  (void)state;
  assert_string_equal(xca_log_sanitize("ok id-1", out, sizeof(out)), "ok id-1");
  assert_string_equal(xca_log_sanitize("a\nb\rc\x7f\xc3\xa9", out, sizeof(out)), "a?b?c???");
  assert_string_equal(xca_log_sanitize(NULL, out, sizeof(out)), "");
  assert_string_equal(xca_log_sanitize("abcdef", tiny, sizeof(tiny)), "abc");
}

static void test_log_sanitize_word_keeps_one_word(void **state)
{
  char out[32];
  char tiny[4];
  (void)state;
  assert_string_equal(xca_log_sanitize_word("admin-1", out, sizeof(out)), "admin-1");
  assert_string_equal(xca_log_sanitize_word("a b\"c\nd\x7f\xc3\xa9", out, sizeof(out)),
                      "a?b?c?d???");
  assert_string_equal(xca_log_sanitize_word("x=1 result=ok", out, sizeof(out)), "x=1?result=ok");
  assert_string_equal(xca_log_sanitize_word(NULL, out, sizeof(out)), "-");
  assert_string_equal(xca_log_sanitize_word("", out, sizeof(out)), "-");
  assert_string_equal(xca_log_sanitize_word("abcdef", tiny, sizeof(tiny)), "abc");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_log_sanitize_replaces_control_and_non_ascii),
    cmocka_unit_test(test_log_sanitize_word_keeps_one_word),
    cmocka_unit_test(test_ok_is_zero_with_name_ok_and_message_success),
    cmocka_unit_test(test_readme_reasons_are_the_messages),
    cmocka_unit_test(test_each_code_has_nonempty_name_and_message),
    cmocka_unit_test(test_names_are_distinct),
    cmocka_unit_test(test_messages_are_distinct),
    cmocka_unit_test(test_messages_are_one_line),
    cmocka_unit_test(test_unknown_codes_give_unknown),
    cmocka_unit_test(test_known_messages_sample),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
