/* test_registry.c - unit tests of the pure helpers of common/registry.h:
 * field sets, key names, the identity schema (README "The registry in
 * Redis"), thumbprint matching and CA names; and xca_registry_get_identity
 * over a fake seam. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "registry.h"
#include "xca_err.h"

#define SHA1_LC "0123456789abcdef0123456789abcdef01234567"
#define SHA1_UC_COLONS "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67"
#define SHA256_LC "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define SHA256_UC "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"
#define SHA1_OTHER "fedcba9876543210fedcba9876543210fedcba98"

static struct xca_identity_rec rec_from(const char *const *pairs)
{
  struct xca_fields f = {0};
  struct xca_identity_rec rec;
  for (int i = 0; pairs[i] != NULL; i += 2) {
    assert_int_equal(xca_fields_set(&f, pairs[i], pairs[i + 1]), XCA_OK);
  }
  memset(&rec, 0x5a, sizeof(rec));
  xca_identity_from_fields(&f, &rec);
  xca_fields_free(&f);
  return rec;
}

/* ---- xca_fields -------------------------------------------------------- */

static void test_fields_set_and_get(void **state)
{
  struct xca_fields f = {0};
  (void)state;
  assert_int_equal(xca_fields_set(&f, "status", "enabled"), XCA_OK);
  assert_int_equal(xca_fields_set(&f, "authentication", "selfSigned"), XCA_OK);
  assert_int_equal(f.count, 2);
  assert_string_equal(xca_fields_get(&f, "status"), "enabled");
  assert_string_equal(xca_fields_get(&f, "authentication"), "selfSigned");
  xca_fields_free(&f);
}

static void test_fields_get_missing_is_null(void **state)
{
  struct xca_fields f = {0};
  (void)state;
  assert_null(xca_fields_get(&f, "status"));
  assert_int_equal(xca_fields_set(&f, "status", "x"), XCA_OK);
  assert_null(xca_fields_get(&f, "Status"));
  assert_null(xca_fields_get(&f, "stat"));
  xca_fields_free(&f);
}

static void test_fields_set_copies(void **state)
{
  struct xca_fields f = {0};
  char name[8] = "k";
  char value[8] = "v";
  (void)state;
  assert_int_equal(xca_fields_set(&f, name, value), XCA_OK);
  name[0] = 'x';
  value[0] = 'y';
  assert_string_equal(xca_fields_get(&f, "k"), "v");
  xca_fields_free(&f);
}

static void test_fields_set_replaces_existing(void **state)
{
  struct xca_fields f = {0};
  (void)state;
  assert_int_equal(xca_fields_set(&f, "status", "enabled"), XCA_OK);
  assert_int_equal(xca_fields_set(&f, "status", "disabled"), XCA_OK);
  assert_int_equal(f.count, 1);
  assert_string_equal(xca_fields_get(&f, "status"), "disabled");
  xca_fields_free(&f);
}

static void test_fields_grow_beyond_the_write_limit(void **state)
{
  struct xca_fields f = {0};
  char name[16];
  (void)state;
  /* Reads may return any number of fields: a "status" after many others
   * must not be lost. */
  for (int i = 0; i < 3 * XCA_FIELDS_MAX; i++) {
    snprintf(name, sizeof(name), "f%d", i);
    assert_int_equal(xca_fields_set(&f, name, "v"), XCA_OK);
  }
  assert_int_equal(xca_fields_set(&f, "status", "disabled"), XCA_OK);
  assert_int_equal(f.count, 3 * XCA_FIELDS_MAX + 1);
  assert_string_equal(xca_fields_get(&f, "status"), "disabled");
  assert_int_equal(xca_fields_set(&f, "f3", "w"), XCA_OK);
  assert_string_equal(xca_fields_get(&f, "f3"), "w");
  xca_fields_free(&f);
}

static void test_fields_empty_value_allowed(void **state)
{
  struct xca_fields f = {0};
  (void)state;
  assert_int_equal(xca_fields_set(&f, "k", ""), XCA_OK);
  assert_string_equal(xca_fields_get(&f, "k"), "");
  xca_fields_free(&f);
}

static void test_fields_free_zeroes_and_null_safe(void **state)
{
  struct xca_fields f = {0};
  (void)state;
  assert_int_equal(xca_fields_set(&f, "a", "b"), XCA_OK);
  xca_fields_free(&f);
  assert_int_equal(f.count, 0);
  assert_null(f.name);
  assert_null(f.value);
  xca_fields_free(&f);
  xca_fields_free(NULL);
}

/* ---- key helpers ------------------------------------------------------- */

static void test_identity_key_device_and_module(void **state)
{
  struct xca_registry reg = {.prefix = "x509ca:"};
  char buf[128];
  (void)state;
  assert_int_equal(xca_registry_identity_key(&reg, "widget-001", buf, sizeof(buf)), XCA_OK);
  assert_string_equal(buf, "x509ca:device:widget-001");
  assert_int_equal(xca_registry_identity_key(&reg, "d/m", buf, sizeof(buf)), XCA_OK);
  assert_string_equal(buf, "x509ca:device:d/m");
}

static void test_ca_key(void **state)
{
  struct xca_registry reg = {.prefix = "t1:"};
  char buf[128];
  (void)state;
  assert_int_equal(xca_registry_ca_key(&reg, "root-ca", buf, sizeof(buf)), XCA_OK);
  assert_string_equal(buf, "t1:ca:root-ca");
}

static void test_key_exact_fit_and_one_short(void **state)
{
  struct xca_registry reg = {.prefix = "x509ca:"};
  const char *want = "x509ca:device:d";
  char buf[64];
  (void)state;
  assert_int_equal(xca_registry_identity_key(&reg, "d", buf, strlen(want) + 1), XCA_OK);
  assert_string_equal(buf, want);
  assert_int_equal(xca_registry_identity_key(&reg, "d", buf, strlen(want)), XCA_E_INVAL);
  assert_int_equal(xca_registry_ca_key(&reg, "name", buf, 5), XCA_E_INVAL);
}

/* ---- xca_identity_from_fields ------------------------------------------ */

static void test_from_fields_empty_is_enabled_ca(void **state)
{
  const char *const pairs[] = {NULL};
  struct xca_identity_rec r = rec_from(pairs);
  (void)state;
  assert_int_equal(r.enabled, 1);
  assert_int_equal(r.auth, XCA_AUTH_CA);
  assert_string_equal(r.primary, "");
  assert_string_equal(r.secondary, "");
}

static void test_from_fields_status_enabled(void **state)
{
  const char *const pairs[] = {"status", "enabled", NULL};
  (void)state;
  assert_int_equal(rec_from(pairs).enabled, 1);
}

static void test_from_fields_status_disabled(void **state)
{
  const char *const pairs[] = {"status", "disabled", NULL};
  (void)state;
  assert_int_equal(rec_from(pairs).enabled, 0);
}

static void test_from_fields_status_other_values_disabled(void **state)
{
  const char *values[] = {"", "Enabled", "ENABLED", "enabled ", "on", "1", "true", "verified"};
  (void)state;
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    const char *const pairs[] = {"status", values[i], NULL};
    assert_int_equal(rec_from(pairs).enabled, 0);
  }
}

static void test_from_fields_auth_values(void **state)
{
  const char *const ca[] = {"authentication", "certificateAuthority", NULL};
  const char *const ss[] = {"authentication", "selfSigned", NULL};
  (void)state;
  assert_int_equal(rec_from(ca).auth, XCA_AUTH_CA);
  assert_int_equal(rec_from(ss).auth, XCA_AUTH_SELF_SIGNED);
}

static void test_from_fields_auth_garbage_invalid(void **state)
{
  const char *values[] = {"", "selfsigned", "SelfSigned", "x509", "none", "certificateauthority"};
  (void)state;
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    const char *const pairs[] = {"authentication", values[i], NULL};
    assert_int_equal(rec_from(pairs).auth, XCA_AUTH_INVALID);
  }
}

static void test_from_fields_thumbprints_normalised(void **state)
{
  const char *const pairs[] = {"primaryThumbprint", SHA1_UC_COLONS, "secondaryThumbprint",
                               SHA256_UC, NULL};
  struct xca_identity_rec r = rec_from(pairs);
  (void)state;
  assert_string_equal(r.primary, SHA1_LC);
  assert_string_equal(r.secondary, SHA256_LC);
}

static void test_from_fields_invalid_thumbprints_empty(void **state)
{
  const char *bad[] = {"", "xyz", "0123", SHA1_LC "0",
                       SHA256_LC "00", "01 23",
                       "g123456789abcdef0123456789abcdef01234567"};
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    const char *const pairs[] = {"primaryThumbprint", bad[i], "secondaryThumbprint", bad[i], NULL};
    struct xca_identity_rec r = rec_from(pairs);
    assert_string_equal(r.primary, "");
    assert_string_equal(r.secondary, "");
  }
}

static void test_from_fields_ignores_unknown_fields(void **state)
{
  const char *const pairs[] = {"colour", "blue", "status", "enabled", NULL};
  struct xca_identity_rec r = rec_from(pairs);
  (void)state;
  assert_int_equal(r.enabled, 1);
  assert_int_equal(r.auth, XCA_AUTH_CA);
}

static void test_auth_type_names(void **state)
{
  (void)state;
  assert_string_equal(xca_auth_type_name(XCA_AUTH_CA), "certificateAuthority");
  assert_string_equal(xca_auth_type_name(XCA_AUTH_SELF_SIGNED), "selfSigned");
  assert_string_equal(xca_auth_type_name(XCA_AUTH_INVALID), "invalid");
}

/* ---- thumbprint matching ----------------------------------------------- */

static void test_thumbprint_matches_primary_and_secondary(void **state)
{
  const char *const p1[] = {"primaryThumbprint", SHA1_LC, NULL};
  const char *const s256[] = {"secondaryThumbprint", SHA256_UC, NULL};
  struct xca_identity_rec a = rec_from(p1);
  struct xca_identity_rec b = rec_from(s256);
  (void)state;
  assert_int_equal(xca_identity_thumbprint_matches(&a, SHA1_LC, SHA256_LC), 1);
  assert_int_equal(xca_identity_thumbprint_matches(&b, SHA1_LC, SHA256_LC), 1);
  assert_int_equal(xca_identity_thumbprint_matches(&b, SHA1_OTHER, SHA256_LC), 1);
}

static void test_thumbprint_mismatch(void **state)
{
  const char *const p[] = {"primaryThumbprint", SHA1_LC, "secondaryThumbprint", SHA256_LC, NULL};
  struct xca_identity_rec r = rec_from(p);
  (void)state;
  assert_int_equal(xca_identity_thumbprint_matches(&r, SHA1_OTHER, NULL), 0);
  assert_int_equal(xca_identity_thumbprint_matches(&r, NULL, NULL), 0);
}

static void test_thumbprint_empty_never_matches(void **state)
{
  const char *const none[] = {NULL};
  struct xca_identity_rec r = rec_from(none);
  (void)state;
  assert_int_equal(xca_identity_thumbprint_matches(&r, "", ""), 0);
  assert_int_equal(xca_identity_thumbprint_matches(&r, SHA1_LC, SHA256_LC), 0);
}

/* A stored SHA-1 must not match a SHA-256 that merely starts with it. */
static void test_thumbprint_prefix_not_match(void **state)
{
  const char *const p[] = {"primaryThumbprint", "0011223344556677889900112233445566778899", NULL};
  struct xca_identity_rec r = rec_from(p);
  (void)state;
  assert_int_equal(xca_identity_thumbprint_matches(
                     &r, NULL, "00112233445566778899001122334455667788990000000000000000000000ff"),
                   0);
}

/* ---- CA names ---------------------------------------------------------- */

static void test_ca_name_valid_chars_and_lengths(void **state)
{
  char name[70];
  (void)state;
  assert_int_equal(xca_ca_name_valid("a"), 1);
  assert_int_equal(xca_ca_name_valid("Root-CA_2024.v1"), 1);
  memset(name, 'n', 64);
  name[64] = '\0';
  assert_int_equal(xca_ca_name_valid(name), 1);
  name[64] = 'n';
  name[65] = '\0';
  assert_int_equal(xca_ca_name_valid(name), 0);
}

static void test_ca_name_invalid(void **state)
{
  const char *bad[] = {"", "a/b", "a b", "a:b", "a*", "a?", "a,b", "a$", "caf\xc3\xa9", "a\n"};
  (void)state;
  assert_int_equal(xca_ca_name_valid(NULL), 0);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(xca_ca_name_valid(bad[i]), 0);
  }
}

/* ---- xca_registry_get_identity over a fake seam ------------------------ */

static char last_key[256];
static int fake_rc;

static int fake_hgetall(void *impl, const char *key, struct xca_fields *out)
{
  (void)impl;
  snprintf(last_key, sizeof(last_key), "%s", key);
  if (fake_rc != XCA_OK) {
    return fake_rc;
  }
  assert_int_equal(xca_fields_set(out, "status", "disabled"), XCA_OK);
  assert_int_equal(xca_fields_set(out, "authentication", "selfSigned"), XCA_OK);
  assert_int_equal(xca_fields_set(out, "primaryThumbprint", SHA1_UC_COLONS), XCA_OK);
  return XCA_OK;
}

static const struct xca_kv_ops fake_ops = {.hgetall = fake_hgetall};

static void test_get_identity_reads_prefixed_key(void **state)
{
  struct xca_registry reg = {.kv = {&fake_ops, NULL}, .prefix = "x509ca:"};
  struct xca_identity_rec r;
  (void)state;
  fake_rc = XCA_OK;
  assert_int_equal(xca_registry_get_identity(&reg, "d/m", &r), XCA_OK);
  assert_string_equal(last_key, "x509ca:device:d/m");
  assert_int_equal(r.enabled, 0);
  assert_int_equal(r.auth, XCA_AUTH_SELF_SIGNED);
  assert_string_equal(r.primary, SHA1_LC);
}

static void test_get_identity_propagates_errors(void **state)
{
  struct xca_registry reg = {.kv = {&fake_ops, NULL}, .prefix = "x509ca:"};
  struct xca_identity_rec r;
  (void)state;
  fake_rc = XCA_E_NOT_FOUND;
  assert_int_equal(xca_registry_get_identity(&reg, "d", &r), XCA_E_NOT_FOUND);
  fake_rc = XCA_E_REGISTRY_UNAVAILABLE;
  assert_int_equal(xca_registry_get_identity(&reg, "d", &r), XCA_E_REGISTRY_UNAVAILABLE);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fields_set_and_get),
    cmocka_unit_test(test_fields_get_missing_is_null),
    cmocka_unit_test(test_fields_set_copies),
    cmocka_unit_test(test_fields_set_replaces_existing),
    cmocka_unit_test(test_fields_grow_beyond_the_write_limit),
    cmocka_unit_test(test_fields_empty_value_allowed),
    cmocka_unit_test(test_fields_free_zeroes_and_null_safe),
    cmocka_unit_test(test_identity_key_device_and_module),
    cmocka_unit_test(test_ca_key),
    cmocka_unit_test(test_key_exact_fit_and_one_short),
    cmocka_unit_test(test_from_fields_empty_is_enabled_ca),
    cmocka_unit_test(test_from_fields_status_enabled),
    cmocka_unit_test(test_from_fields_status_disabled),
    cmocka_unit_test(test_from_fields_status_other_values_disabled),
    cmocka_unit_test(test_from_fields_auth_values),
    cmocka_unit_test(test_from_fields_auth_garbage_invalid),
    cmocka_unit_test(test_from_fields_thumbprints_normalised),
    cmocka_unit_test(test_from_fields_invalid_thumbprints_empty),
    cmocka_unit_test(test_from_fields_ignores_unknown_fields),
    cmocka_unit_test(test_auth_type_names),
    cmocka_unit_test(test_thumbprint_matches_primary_and_secondary),
    cmocka_unit_test(test_thumbprint_mismatch),
    cmocka_unit_test(test_thumbprint_empty_never_matches),
    cmocka_unit_test(test_thumbprint_prefix_not_match),
    cmocka_unit_test(test_ca_name_valid_chars_and_lengths),
    cmocka_unit_test(test_ca_name_invalid),
    cmocka_unit_test(test_get_identity_reads_prefixed_key),
    cmocka_unit_test(test_get_identity_propagates_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
