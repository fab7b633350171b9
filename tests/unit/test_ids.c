/* test_ids.c - unit tests of common/ids.h: id syntax, client id parsing and
 * username checks (README "How a device connects"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "ids.h"
#include "xca_err.h"

static const char allowed_specials[] = "-.%_*?!(),:=@$'";

static void fill(char *buf, char c, size_t n)
{
  memset(buf, c, n);
  buf[n] = '\0';
}

static struct xca_ident make_ident(const char *text)
{
  struct xca_ident id;
  assert_int_equal(xca_ident_parse(text, &id), XCA_OK);
  return id;
}

/* ---- xca_id_valid ------------------------------------------------------ */

static void test_id_alnum_accepted(void **state)
{
  (void)state;
  assert_int_equal(xca_id_valid("abcXYZ019"), 1);
  assert_int_equal(xca_id_valid("widget-001"), 1);
}

static void test_id_each_special_accepted(void **state)
{
  char id[3] = {'a', 0, 0};
  (void)state;
  for (size_t i = 0; i < strlen(allowed_specials); i++) {
    id[1] = allowed_specials[i];
    assert_int_equal(xca_id_valid(id), 1);
    assert_int_equal(xca_id_valid(id + 1), 1);
  }
  assert_int_equal(xca_id_valid(allowed_specials), 1);
}

static void test_id_each_forbidden_char_refused(void **state)
{
  const char *bad[] = {"a/b", "a+b", "a#b", "a b", "a\nb", "a\"b", "a&b", "a\tb", "a<b",
                       "a>b", "a\\b", "a;b", "a[b", "a]b", "a{b", "a}b", "a|b", "a^b",
                       "a~b", "a`b", "/", "+", "#", " "};
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(xca_id_valid(bad[i]), 0);
  }
}

static void test_id_non_ascii_refused(void **state)
{
  (void)state;
  assert_int_equal(xca_id_valid("d\xc3\xa9vice"), 0); /* UTF-8 e-acute */
  assert_int_equal(xca_id_valid("\xe2\x82\xac"), 0);  /* UTF-8 euro sign */
  assert_int_equal(xca_id_valid("a\x7f"), 0);         /* DEL */
  assert_int_equal(xca_id_valid("a\x01"), 0);
}

static void test_id_length_1_and_128_accepted(void **state)
{
  char id[XCA_ID_MAX + 2];
  (void)state;
  fill(id, 'a', 1);
  assert_int_equal(xca_id_valid(id), 1);
  fill(id, 'a', XCA_ID_MAX);
  assert_int_equal(xca_id_valid(id), 1);
}

static void test_id_length_0_and_129_refused(void **state)
{
  char id[XCA_ID_MAX + 2];
  char longer[1024];
  (void)state;
  assert_int_equal(xca_id_valid(""), 0);
  fill(id, 'a', XCA_ID_MAX + 1);
  assert_int_equal(xca_id_valid(id), 0);
  fill(longer, 'a', sizeof(longer) - 1);
  assert_int_equal(xca_id_valid(longer), 0);
}

static void test_id_null_refused(void **state)
{
  (void)state;
  assert_int_equal(xca_id_valid(NULL), 0);
  assert_int_equal(xca_id_valid_n(NULL, 3), 0);
}

static void test_id_valid_n_uses_only_len_bytes(void **state)
{
  (void)state;
  assert_int_equal(xca_id_valid_n("abc/def", 3), 1);
  assert_int_equal(xca_id_valid_n("abc/def", 4), 0);
  assert_int_equal(xca_id_valid_n("abc", 0), 0);
}

static void test_id_valid_n_length_limit(void **state)
{
  char id[XCA_ID_MAX + 2];
  (void)state;
  fill(id, 'z', XCA_ID_MAX + 1);
  assert_int_equal(xca_id_valid_n(id, XCA_ID_MAX), 1);
  assert_int_equal(xca_id_valid_n(id, XCA_ID_MAX + 1), 0);
}

static void test_id_valid_n_refuses_embedded_nul(void **state)
{
  (void)state;
  assert_int_equal(xca_id_valid_n("ab\0cd", 5), 0);
}

/* ---- xca_ident_parse / make -------------------------------------------- */

static void test_parse_device(void **state)
{
  struct xca_ident id;
  (void)state;
  assert_int_equal(xca_ident_parse("widget-001", &id), XCA_OK);
  assert_string_equal(id.device, "widget-001");
  assert_string_equal(id.module, "");
  assert_string_equal(id.full, "widget-001");
  assert_int_equal(xca_ident_is_module(&id), 0);
}

static void test_parse_module(void **state)
{
  struct xca_ident id;
  (void)state;
  assert_int_equal(xca_ident_parse("widget-001/sensor", &id), XCA_OK);
  assert_string_equal(id.device, "widget-001");
  assert_string_equal(id.module, "sensor");
  assert_string_equal(id.full, "widget-001/sensor");
  assert_int_equal(xca_ident_is_module(&id), 1);
}

static void test_parse_max_length_module(void **state)
{
  char d[XCA_ID_MAX + 1];
  char m[XCA_ID_MAX + 1];
  char text[2 * XCA_ID_MAX + 2];
  struct xca_ident id;
  (void)state;
  fill(d, 'd', XCA_ID_MAX);
  fill(m, 'm', XCA_ID_MAX);
  strcpy(text, d);
  strcat(text, "/");
  strcat(text, m);
  assert_int_equal(xca_ident_parse(text, &id), XCA_OK);
  assert_string_equal(id.device, d);
  assert_string_equal(id.module, m);
  assert_string_equal(id.full, text);
}

static void assert_parse_refused(const char *text)
{
  struct xca_ident id;
  memset(&id, 0x5a, sizeof(id));
  assert_int_equal(xca_ident_parse(text, &id), XCA_E_BAD_ID);
  /* out is untouched on failure */
  for (size_t i = 0; i < sizeof(id); i++) {
    assert_int_equal(((unsigned char *)&id)[i], 0x5a);
  }
}

static void test_parse_refuses_empty_parts(void **state)
{
  (void)state;
  assert_parse_refused("");
  assert_parse_refused("a/");
  assert_parse_refused("/b");
  assert_parse_refused("/");
}

static void test_parse_refuses_three_parts(void **state)
{
  (void)state;
  assert_parse_refused("a/b/c");
  assert_parse_refused("a//b");
}

static void test_parse_refuses_too_long_device(void **state)
{
  char text[XCA_ID_MAX + 8];
  (void)state;
  fill(text, 'd', XCA_ID_MAX + 1);
  assert_parse_refused(text);
  strcat(text, "/m");
  assert_parse_refused(text);
}

static void test_parse_refuses_too_long_module(void **state)
{
  char text[XCA_ID_MAX + 8];
  (void)state;
  strcpy(text, "d/");
  fill(text + 2, 'm', XCA_ID_MAX + 1);
  assert_parse_refused(text);
}

static void test_parse_refuses_bad_chars(void **state)
{
  (void)state;
  assert_parse_refused("d+");
  assert_parse_refused("d/m#");
  assert_parse_refused("d e/m");
}

static void test_parse_null_refused(void **state)
{
  struct xca_ident id;
  (void)state;
  assert_int_equal(xca_ident_parse(NULL, &id), XCA_E_BAD_ID);
}

static void test_make_device_and_module(void **state)
{
  struct xca_ident id;
  (void)state;
  assert_int_equal(xca_ident_make("d", NULL, &id), XCA_OK);
  assert_string_equal(id.full, "d");
  assert_int_equal(xca_ident_make("d", "", &id), XCA_OK);
  assert_string_equal(id.full, "d");
  assert_int_equal(xca_ident_is_module(&id), 0);
  assert_int_equal(xca_ident_make("d", "m", &id), XCA_OK);
  assert_string_equal(id.full, "d/m");
  assert_int_equal(xca_ident_is_module(&id), 1);
}

static void test_make_refuses_bad_ids(void **state)
{
  struct xca_ident id;
  (void)state;
  assert_int_equal(xca_ident_make(NULL, "m", &id), XCA_E_BAD_ID);
  assert_int_equal(xca_ident_make("", "m", &id), XCA_E_BAD_ID);
  assert_int_equal(xca_ident_make("d/x", NULL, &id), XCA_E_BAD_ID);
  assert_int_equal(xca_ident_make("d", "m/x", &id), XCA_E_BAD_ID);
}

/* ---- xca_username_check ------------------------------------------------ */

static void test_username_null_and_empty_accepted(void **state)
{
  struct xca_ident id = make_ident("d");
  (void)state;
  assert_int_equal(xca_username_check(NULL, &id, NULL), XCA_OK);
  assert_int_equal(xca_username_check("", &id, NULL), XCA_OK);
  assert_int_equal(xca_username_check(NULL, &id, "hub.example"), XCA_OK);
  assert_int_equal(xca_username_check("", &id, "hub.example"), XCA_OK);
}

static void test_username_equal_to_identity_accepted(void **state)
{
  struct xca_ident dev = make_ident("d");
  struct xca_ident mod = make_ident("d/m");
  (void)state;
  assert_int_equal(xca_username_check("d", &dev, NULL), XCA_OK);
  assert_int_equal(xca_username_check("d/m", &mod, NULL), XCA_OK);
  assert_int_equal(xca_username_check("d", &dev, "hub.example"), XCA_OK);
}

static void test_username_other_plain_identity_refused(void **state)
{
  struct xca_ident dev = make_ident("d");
  struct xca_ident mod = make_ident("d/m");
  (void)state;
  assert_int_equal(xca_username_check("e", &dev, NULL), XCA_E_BAD_USERNAME);
  assert_int_equal(xca_username_check("D", &dev, NULL), XCA_E_BAD_USERNAME);
  assert_int_equal(xca_username_check("d", &mod, NULL), XCA_E_BAD_USERNAME);
  assert_int_equal(xca_username_check("d/m", &dev, NULL), XCA_E_BAD_USERNAME);
}

static void test_username_iothub_device_accepted(void **state)
{
  struct xca_ident id = make_ident("d");
  (void)state;
  assert_int_equal(xca_username_check("hub.example/d/?api-version=2021-04-12", &id, NULL),
                   XCA_OK);
  assert_int_equal(xca_username_check("hub.example/d/?", &id, NULL), XCA_OK);
}

static void test_username_iothub_module_accepted(void **state)
{
  struct xca_ident id = make_ident("d/m");
  (void)state;
  assert_int_equal(xca_username_check("hub.example/d/m/?api-version=2021-04-12&x=/y", &id, NULL),
                   XCA_OK);
}

static void test_username_iothub_wrong_device_refused(void **state)
{
  struct xca_ident id = make_ident("d");
  (void)state;
  assert_int_equal(xca_username_check("hub/e/?api-version=1", &id, NULL), XCA_E_BAD_USERNAME);
  assert_int_equal(xca_username_check("hub/dd/?api-version=1", &id, NULL), XCA_E_BAD_USERNAME);
  assert_int_equal(xca_username_check("hub/D/?api-version=1", &id, NULL), XCA_E_BAD_USERNAME);
}

static void test_username_iothub_device_prefix_of_name_refused(void **state)
{
  struct xca_ident id = make_ident("dd");
  (void)state;
  assert_int_equal(xca_username_check("hub/d/?api-version=1", &id, NULL), XCA_E_BAD_USERNAME);
}

static void test_username_iothub_missing_query_refused(void **state)
{
  struct xca_ident id = make_ident("d");
  (void)state;
  assert_int_equal(xca_username_check("hub/d", &id, NULL), XCA_E_BAD_USERNAME);
  assert_int_equal(xca_username_check("hub/d/", &id, NULL), XCA_E_BAD_USERNAME);
  assert_int_equal(xca_username_check("hub/d?api-version=1", &id, NULL), XCA_E_BAD_USERNAME);
  assert_int_equal(xca_username_check("hub/d/api-version=1", &id, NULL), XCA_E_BAD_USERNAME);
}

static void test_username_iothub_empty_hostname_refused(void **state)
{
  struct xca_ident id = make_ident("d");
  (void)state;
  assert_int_equal(xca_username_check("/d/?api-version=1", &id, NULL), XCA_E_BAD_USERNAME);
}

static void test_username_iothub_extra_path_refused(void **state)
{
  struct xca_ident dev = make_ident("d");
  struct xca_ident mod = make_ident("d/m");
  (void)state;
  assert_int_equal(xca_username_check("hub/d/x/?api-version=1", &dev, NULL), XCA_E_BAD_USERNAME);
  assert_int_equal(xca_username_check("hub/d/m/x/?api-version=1", &mod, NULL),
                   XCA_E_BAD_USERNAME);
  assert_int_equal(xca_username_check("a/hub/d/?api-version=1", &dev, NULL), XCA_E_BAD_USERNAME);
}

static void test_username_module_form_for_device_refused(void **state)
{
  struct xca_ident id = make_ident("d");
  (void)state;
  assert_int_equal(xca_username_check("hub/d/m/?api-version=1", &id, NULL), XCA_E_BAD_USERNAME);
}

static void test_username_device_form_for_module_refused(void **state)
{
  struct xca_ident id = make_ident("d/m");
  (void)state;
  assert_int_equal(xca_username_check("hub/d/?api-version=1", &id, NULL), XCA_E_BAD_USERNAME);
  assert_int_equal(xca_username_check("hub/d/n/?api-version=1", &id, NULL), XCA_E_BAD_USERNAME);
}

static void test_username_hub_hostname_match_case_insensitive(void **state)
{
  struct xca_ident id = make_ident("d");
  (void)state;
  assert_int_equal(xca_username_check("MyHub.Azure-Devices.NET/d/?api-version=1", &id,
                                      "myhub.azure-devices.net"),
                   XCA_OK);
  assert_int_equal(
    xca_username_check("myhub.azure-devices.net/d/?x", &id, "MYHUB.azure-devices.net"), XCA_OK);
}

static void test_username_hub_hostname_mismatch_refused(void **state)
{
  struct xca_ident id = make_ident("d");
  (void)state;
  assert_int_equal(xca_username_check("other.example/d/?api-version=1", &id, "hub.example"),
                   XCA_E_BAD_HOSTNAME);
}

static void test_username_hub_hostname_prefix_refused(void **state)
{
  struct xca_ident id = make_ident("d");
  (void)state;
  /* the configured name is a prefix of the given one, and vice versa */
  assert_int_equal(xca_username_check("hub.example.evil/d/?x", &id, "hub.example"),
                   XCA_E_BAD_HOSTNAME);
  assert_int_equal(xca_username_check("hub/d/?x", &id, "hub.example"), XCA_E_BAD_HOSTNAME);
}

static void test_username_hub_hostname_module(void **state)
{
  struct xca_ident id = make_ident("d/m");
  (void)state;
  assert_int_equal(xca_username_check("hub.example/d/m/?x", &id, "hub.example"), XCA_OK);
  assert_int_equal(xca_username_check("evil.example/d/m/?x", &id, "hub.example"),
                   XCA_E_BAD_HOSTNAME);
}

/* A username naming another identity is refused as such, even when the
 * hostname is also wrong. */
static void test_username_wrong_identity_reported_before_hostname(void **state)
{
  struct xca_ident id = make_ident("d");
  (void)state;
  assert_int_equal(xca_username_check("evil.example/e/?x", &id, "hub.example"),
                   XCA_E_BAD_USERNAME);
}

static void test_username_ids_with_special_chars(void **state)
{
  struct xca_ident id = make_ident("d?x");
  (void)state;
  assert_int_equal(xca_username_check("hub/d?x/?api", &id, NULL), XCA_OK);
  assert_int_equal(xca_username_check("hub/d/?x/?api", &id, NULL), XCA_E_BAD_USERNAME);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_id_alnum_accepted),
    cmocka_unit_test(test_id_each_special_accepted),
    cmocka_unit_test(test_id_each_forbidden_char_refused),
    cmocka_unit_test(test_id_non_ascii_refused),
    cmocka_unit_test(test_id_length_1_and_128_accepted),
    cmocka_unit_test(test_id_length_0_and_129_refused),
    cmocka_unit_test(test_id_null_refused),
    cmocka_unit_test(test_id_valid_n_uses_only_len_bytes),
    cmocka_unit_test(test_id_valid_n_length_limit),
    cmocka_unit_test(test_id_valid_n_refuses_embedded_nul),
    cmocka_unit_test(test_parse_device),
    cmocka_unit_test(test_parse_module),
    cmocka_unit_test(test_parse_max_length_module),
    cmocka_unit_test(test_parse_refuses_empty_parts),
    cmocka_unit_test(test_parse_refuses_three_parts),
    cmocka_unit_test(test_parse_refuses_too_long_device),
    cmocka_unit_test(test_parse_refuses_too_long_module),
    cmocka_unit_test(test_parse_refuses_bad_chars),
    cmocka_unit_test(test_parse_null_refused),
    cmocka_unit_test(test_make_device_and_module),
    cmocka_unit_test(test_make_refuses_bad_ids),
    cmocka_unit_test(test_username_null_and_empty_accepted),
    cmocka_unit_test(test_username_equal_to_identity_accepted),
    cmocka_unit_test(test_username_other_plain_identity_refused),
    cmocka_unit_test(test_username_iothub_device_accepted),
    cmocka_unit_test(test_username_iothub_module_accepted),
    cmocka_unit_test(test_username_iothub_wrong_device_refused),
    cmocka_unit_test(test_username_iothub_device_prefix_of_name_refused),
    cmocka_unit_test(test_username_iothub_missing_query_refused),
    cmocka_unit_test(test_username_iothub_empty_hostname_refused),
    cmocka_unit_test(test_username_iothub_extra_path_refused),
    cmocka_unit_test(test_username_module_form_for_device_refused),
    cmocka_unit_test(test_username_device_form_for_module_refused),
    cmocka_unit_test(test_username_hub_hostname_match_case_insensitive),
    cmocka_unit_test(test_username_hub_hostname_mismatch_refused),
    cmocka_unit_test(test_username_hub_hostname_prefix_refused),
    cmocka_unit_test(test_username_hub_hostname_module),
    cmocka_unit_test(test_username_wrong_identity_reported_before_hostname),
    cmocka_unit_test(test_username_ids_with_special_chars),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
