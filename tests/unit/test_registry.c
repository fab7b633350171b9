/* test_registry.c - unit tests of the pure helpers of common/registry.h:
 * field sets, keys (builders, their one length limit, kinds), glob escaping
 * and keyspace scans, the identity and CA schema (README "The registry in
 * Redis"), thumbprint matching and CA names; and the reads over a fake
 * seam. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certgen.h"
#include "fake_kv.h"
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

/* ---- keys ------------------------------------------------------------- */

static void test_keys_of_each_kind(void **state)
{
  struct xca_registry reg = {.prefix = "x509ca:"};
  char key[XCA_KEY_MAX];
  (void)state;
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_DEVICE, "widget-001", key), XCA_OK);
  assert_string_equal(key, "x509ca:device:widget-001");
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_DEVICE, "d/m", key), XCA_OK);
  assert_string_equal(key, "x509ca:device:d/m");
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_CA, "root-ca", key), XCA_OK);
  assert_string_equal(key, "x509ca:ca:root-ca");
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_WATCHER, "1a-2b", key), XCA_OK);
  assert_string_equal(key, "x509ca:watcher:1a-2b");
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_EPOCH, NULL, key), XCA_OK);
  assert_string_equal(key, "x509ca:epoch");
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_EPOCH, "", key), XCA_OK);
  assert_string_equal(key, "x509ca:epoch");
  assert_int_equal(xca_registry_key_unprefixed(XCA_KEY_CA, "root-ca", key), XCA_OK);
  assert_string_equal(key, "ca:root-ca");
  assert_int_equal(xca_registry_key_unprefixed(XCA_KEY_DEVICE, "d/m", key), XCA_OK);
  assert_string_equal(key, "device:d/m");
}

static void fill(char *buf, char c, size_t n)
{
  memset(buf, c, n);
  buf[n] = '\0';
}

/* The longest prefix the configuration accepts with the longest identity
 * there is makes a key, for every builder (one limit: the connect path and
 * the admin commands build keys the same way); one character more of
 * either does not. */
static void test_key_limit_is_the_longest_prefix_and_identity(void **state)
{
  char prefix[XCA_KEY_PREFIX_MAX + 2];
  char id[XCA_KEY_NAME_MAX + 2];
  char key[XCA_KEY_MAX];
  struct xca_registry reg = {.prefix = prefix};
  struct xca_ident ident;
  (void)state;
  assert_int_equal(XCA_KEY_PREFIX_MAX, 253);
  assert_int_equal(XCA_KEY_NAME_MAX, 257);
  fill(prefix, 'p', XCA_KEY_PREFIX_MAX);
  /* "<128 characters>/<128 characters>": the longest valid identity. */
  fill(id, 'i', XCA_KEY_NAME_MAX);
  id[XCA_ID_MAX] = '/';
  assert_int_equal(xca_ident_parse(id, &ident), XCA_OK);
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_DEVICE, id, key), XCA_OK);
  assert_int_equal(strlen(key), XCA_KEY_PREFIX_MAX + strlen("device:") + XCA_KEY_NAME_MAX);
  assert_memory_equal(key + XCA_KEY_PREFIX_MAX, "device:", 7);
  assert_string_equal(key + XCA_KEY_PREFIX_MAX + 7, id);
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_CA, id, key), XCA_OK);
  assert_int_equal(xca_registry_key_unprefixed(XCA_KEY_DEVICE, id, key), XCA_OK);
  assert_string_equal(key + 7, id);
  /* One character more: refused by every builder, with an empty key. */
  strcat(id, "i");
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_DEVICE, id, key), XCA_E_INVAL);
  assert_string_equal(key, "");
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_CA, id, key), XCA_E_INVAL);
  assert_int_equal(xca_registry_key_unprefixed(XCA_KEY_DEVICE, id, key), XCA_E_INVAL);
  id[XCA_KEY_NAME_MAX] = '\0';
  strcat(prefix, "p");
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_DEVICE, id, key), XCA_E_INVAL);
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_EPOCH, NULL, key), XCA_E_INVAL);
}

static void test_key_refuses_a_name_for_an_unnamed_kind(void **state)
{
  struct xca_registry reg = {.prefix = "x509ca:"};
  char key[XCA_KEY_MAX];
  (void)state;
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_EPOCH, "x", key), XCA_E_INVAL);
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_UNKNOWN, "x", key), XCA_E_INVAL);
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_UNKNOWN, NULL, key), XCA_E_INVAL);
  assert_string_equal(key, "");
}

static void test_key_kind_classifies_keys_without_the_prefix(void **state)
{
  const char *name = NULL;
  (void)state;
  assert_int_equal(xca_registry_key_kind("device:d/m", &name), XCA_KEY_DEVICE);
  assert_string_equal(name, "d/m");
  assert_int_equal(xca_registry_key_kind("ca:root", &name), XCA_KEY_CA);
  assert_string_equal(name, "root");
  assert_int_equal(xca_registry_key_kind("ca:", &name), XCA_KEY_CA);
  assert_string_equal(name, "");
  assert_int_equal(xca_registry_key_kind("watcher:1a-2b", &name), XCA_KEY_WATCHER);
  assert_string_equal(name, "1a-2b");
  assert_int_equal(xca_registry_key_kind("epoch", &name), XCA_KEY_EPOCH);
  assert_string_equal(name, "");
  assert_int_equal(xca_registry_key_kind("device:d", NULL), XCA_KEY_DEVICE);
  const char *unknown[] = {"", "epochs", "epoch:x", "devices:d", "Device:d", "device", "ca",
                           "x509ca:device:d"};
  for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
    assert_int_equal(xca_registry_key_kind(unknown[i], &name), XCA_KEY_UNKNOWN);
    assert_ptr_equal(name, unknown[i]);
  }
}

/* What a builder writes, the classifier reads back. */
static void test_key_kind_reads_back_every_built_key(void **state)
{
  char key[XCA_KEY_UNPREFIXED_MAX];
  const char *name;
  (void)state;
  for (int kind = 0; kind < XCA_KEY_UNKNOWN; kind++) {
    const char *given = kind == XCA_KEY_EPOCH ? "" : "n-1";
    assert_int_equal(xca_registry_key_unprefixed((enum xca_key_kind)kind, given, key), XCA_OK);
    assert_int_equal(xca_registry_key_kind(key, &name), kind);
    assert_string_equal(name, given);
  }
}

/* ---- glob escaping and scans -------------------------------------------- */

static void test_glob_escape_escapes_every_metacharacter(void **state)
{
  char buf[64];
  (void)state;
  assert_int_equal(xca_registry_glob_escape("plain:x-1", buf, sizeof(buf)), XCA_OK);
  assert_string_equal(buf, "plain:x-1");
  assert_int_equal(xca_registry_glob_escape("a*b?c[d]e\\f", buf, sizeof(buf)), XCA_OK);
  assert_string_equal(buf, "a\\*b\\?c\\[d\\]e\\\\f");
  assert_int_equal(xca_registry_glob_escape("", buf, sizeof(buf)), XCA_OK);
  assert_string_equal(buf, "");
  /* Exactly fits (with the NUL), then one byte short. */
  assert_int_equal(xca_registry_glob_escape("a*", buf, 4), XCA_OK);
  assert_string_equal(buf, "a\\*");
  assert_int_equal(xca_registry_glob_escape("a*", buf, 3), XCA_E_INVAL);
  assert_string_equal(buf, "");
}

/* A registry over the fake store, holding the keys given. */
static struct xca_fake_kv *store_with(const char *const *keys)
{
  struct xca_fake_kv *f = xca_fake_kv_new();
  assert_non_null(f);
  for (int i = 0; keys[i] != NULL; i++) {
    assert_int_equal(xca_fake_kv_hset(f, keys[i], "status", "x"), XCA_OK);
  }
  return f;
}

static void assert_names(const struct xca_strlist *l, const char *const *want)
{
  int n = 0;
  for (; want[n] != NULL; n++) {
    assert_true(n < l->count);
    assert_string_equal(l->item[n], want[n]);
  }
  assert_int_equal(l->count, n);
}

/* The prefix and the name prefix are matched literally, whatever glob
 * characters they hold; what a scan yields is the name after the kind. */
static void test_scan_matches_prefix_and_name_prefix_literally(void **state)
{
  const char *const keys[] = {"t[1]*?:ca:root",        "t1xy:ca:intruder",   "t[1]*?:device:a*/m1",
                              "t[1]*?:device:ab/m2",   "t[1]*?:device:a*",   "t[1]*?:ca:int",
                              "t[1]*?:cab:not-a-ca",   NULL};
  const char *const cas[] = {"root", "int", NULL};
  const char *const full[] = {"a*/m1", NULL};
  struct xca_fake_kv *f = store_with(keys);
  struct xca_registry reg = {xca_fake_kv(f), "t[1]*?:"};
  struct xca_registry_scan s;
  struct xca_strlist names = {0};
  (void)state;
  assert_int_equal(xca_registry_scan_begin(&s, &reg, XCA_KEY_CA, NULL, 0, 100), XCA_OK);
  assert_string_equal(s.match, "t\\[1\\]\\*\\?:ca:*");
  assert_int_equal(xca_registry_scan_step(&s, &names), XCA_OK);
  assert_true(s.done);
  assert_names(&names, cas);
  xca_strlist_free(&names);
  /* A device id may hold '*' and '?': the name prefix is escaped too. */
  assert_int_equal(xca_registry_scan_begin(&s, &reg, XCA_KEY_DEVICE, "a*/", 0, 100), XCA_OK);
  assert_string_equal(s.match, "t\\[1\\]\\*\\?:device:a\\*/*");
  assert_int_equal(xca_registry_scan_step(&s, &names), XCA_OK);
  assert_names(&names, full);
  xca_strlist_free(&names);
  xca_fake_kv_free(f);
}

/* Step by step, resumable from the cursor, until done. */
static void test_scan_steps_resume_from_the_cursor(void **state)
{
  const char *const keys[] = {"x:ca:a", "x:device:d1", "x:ca:b", "x:ca:c", "x:device:d2",
                              "x:ca:d", "x:ca:e",      NULL};
  const char *const all[] = {"a", "b", "c", "d", "e", NULL};
  struct xca_fake_kv *f = store_with(keys);
  struct xca_registry reg = {xca_fake_kv(f), "x:"};
  struct xca_registry_scan s;
  struct xca_strlist names = {0};
  int steps = 0;
  (void)state;
  assert_int_equal(xca_registry_scan_begin(&s, &reg, XCA_KEY_CA, NULL, 0, 2), XCA_OK);
  assert_int_equal(xca_registry_scan_step(&s, &names), XCA_OK);
  assert_false(s.done);
  /* A new scan from the cursor continues where this one stopped. */
  unsigned long long cursor = s.cursor;
  assert_int_equal(xca_registry_scan_begin(&s, &reg, XCA_KEY_CA, NULL, cursor, 2), XCA_OK);
  while (!s.done) {
    assert_int_equal(xca_registry_scan_step(&s, &names), XCA_OK);
    steps++;
  }
  assert_int_equal(steps, 3);
  assert_int_equal(s.cursor, 0);
  assert_names(&names, all);
  xca_strlist_free(&names);
  xca_fake_kv_free(f);
}

static int starts_with_b_or_later(const char *name)
{
  return strcmp(name, "b") >= 0;
}

static void test_scan_all_keeps_what_keep_accepts_up_to_max(void **state)
{
  const char *const keys[] = {"x:ca:a", "x:ca:b", "x:ca:c", "x:device:z", "x:ca:d", NULL};
  const char *const kept[] = {"b", "c", "d", NULL};
  const char *const two[] = {"b", "c", NULL};
  const char *const none[] = {NULL};
  struct xca_fake_kv *f = store_with(keys);
  struct xca_registry reg = {xca_fake_kv(f), "x:"};
  struct xca_strlist names = {0};
  (void)state;
  assert_int_equal(xca_registry_scan_all(&reg, XCA_KEY_CA, NULL, 1, starts_with_b_or_later, 0,
                                         &names),
                   XCA_OK);
  assert_names(&names, kept);
  xca_strlist_free(&names);
  assert_int_equal(xca_registry_scan_all(&reg, XCA_KEY_CA, NULL, 1, starts_with_b_or_later, 2,
                                         &names),
                   XCA_OK);
  assert_names(&names, two);
  xca_strlist_free(&names);
  assert_int_equal(xca_registry_scan_all(&reg, XCA_KEY_DEVICE, "y", 10, NULL, 0, &names), XCA_OK);
  assert_names(&names, none);
  xca_fake_kv_free(f);
}

static void test_scan_errors(void **state)
{
  const char *const keys[] = {"x:ca:a", NULL};
  struct xca_fake_kv *f = store_with(keys);
  struct xca_registry reg = {xca_fake_kv(f), "x:"};
  struct xca_registry_scan s;
  struct xca_strlist names = {0};
  char long_name[XCA_KEY_NAME_MAX + 2];
  (void)state;
  assert_int_equal(xca_registry_scan_begin(&s, &reg, XCA_KEY_EPOCH, NULL, 0, 10), XCA_E_INVAL);
  assert_int_equal(xca_registry_scan_begin(&s, &reg, XCA_KEY_UNKNOWN, NULL, 0, 10), XCA_E_INVAL);
  fill(long_name, 'n', XCA_KEY_NAME_MAX + 1);
  assert_int_equal(xca_registry_scan_begin(&s, &reg, XCA_KEY_DEVICE, long_name, 0, 10),
                   XCA_E_INVAL);
  xca_fake_kv_set_down(f, 1);
  assert_int_equal(xca_registry_scan_begin(&s, &reg, XCA_KEY_CA, NULL, 0, 10), XCA_OK);
  assert_int_equal(xca_registry_scan_step(&s, &names), XCA_E_REGISTRY_UNAVAILABLE);
  assert_false(s.done);
  assert_int_equal(xca_registry_scan_all(&reg, XCA_KEY_CA, NULL, 10, NULL, 0, &names),
                   XCA_E_REGISTRY_UNAVAILABLE);
  assert_int_equal(names.count, 0);
  xca_fake_kv_free(f);
}

/* The longest prefix with the longest name still makes a pattern, even
 * with every character escaped. */
static void test_scan_pattern_fits_the_longest_key_escaped(void **state)
{
  char prefix[XCA_KEY_PREFIX_MAX + 1];
  char name[XCA_KEY_NAME_MAX + 1];
  struct xca_registry reg = {.prefix = prefix};
  struct xca_registry_scan s;
  (void)state;
  fill(prefix, '*', XCA_KEY_PREFIX_MAX);
  fill(name, '?', XCA_KEY_NAME_MAX);
  assert_int_equal(xca_registry_scan_begin(&s, &reg, XCA_KEY_DEVICE, name, 0, 10), XCA_OK);
  assert_int_equal(strlen(s.match), 2 * XCA_KEY_PREFIX_MAX + 7 + 2 * XCA_KEY_NAME_MAX + 1);
  assert_int_equal(s.head_len, XCA_KEY_PREFIX_MAX + 7);
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

/* ---- CA records ---------------------------------------------------------- */

static void ca_from(struct xca_ca_rec *rec, const char *const *pairs)
{
  memset(rec, 0, sizeof(*rec));
  for (int i = 0; pairs[i] != NULL; i += 2) {
    assert_int_equal(xca_fields_set(&rec->fields, pairs[i], pairs[i + 1]), XCA_OK);
  }
  xca_ca_rec_parse(rec);
}

static void test_ca_rec_reads_every_field(void **state)
{
  const char *const pairs[] = {"status", "verified", "certificate", "PEM", "subject", "CN=r",
                               "thumbprint", SHA256_LC, "notAfter", "2030-01-01T00:00:00Z",
                               "verificationCode", "C0DE", "verificationCodeExpiry", "1700000000",
                               "colour", "blue", NULL};
  struct xca_ca_rec rec;
  (void)state;
  ca_from(&rec, pairs);
  assert_int_equal(rec.verified, 1);
  assert_string_equal(rec.certificate, "PEM");
  assert_string_equal(rec.subject, "CN=r");
  assert_string_equal(rec.thumbprint, SHA256_LC);
  assert_string_equal(rec.not_after, "2030-01-01T00:00:00Z");
  assert_string_equal(rec.code, "C0DE");
  assert_true(rec.code_expiry == 1700000000LL);
  xca_ca_rec_free(&rec);
  assert_null(rec.certificate);
  assert_int_equal(rec.fields.count, 0);
  xca_ca_rec_free(&rec);
  xca_ca_rec_free(NULL);
}

/* Only "verified" is verified; absent fields are NULL; an expiry that is
 * absent or not a whole number has always expired. */
static void test_ca_rec_defaults_fail_closed(void **state)
{
  const char *statuses[] = {"", "Verified", "verified ", "unverified", "true"};
  const char *expiries[] = {"", "12x", " ", "x1", "1.5"};
  const char *const none[] = {NULL};
  struct xca_ca_rec rec;
  (void)state;
  ca_from(&rec, none);
  assert_int_equal(rec.verified, 0);
  assert_null(rec.certificate);
  assert_null(rec.subject);
  assert_null(rec.code);
  assert_true(rec.code_expiry == LLONG_MIN);
  xca_ca_rec_free(&rec);
  for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
    const char *const pairs[] = {"status", statuses[i], "verificationCodeExpiry", expiries[i],
                                 NULL};
    ca_from(&rec, pairs);
    assert_int_equal(rec.verified, 0);
    assert_true(rec.code_expiry == LLONG_MIN);
    xca_ca_rec_free(&rec);
  }
}

static void test_get_ca_reads_the_prefixed_key(void **state)
{
  struct xca_fake_kv *f = xca_fake_kv_new();
  struct xca_registry reg = {xca_fake_kv(f), "t1:"};
  struct xca_ca_rec rec;
  (void)state;
  assert_int_equal(xca_fake_kv_hset(f, "t1:ca:root", "status", "verified"), XCA_OK);
  assert_int_equal(xca_fake_kv_hset(f, "t1:ca:root", "certificate", "PEM"), XCA_OK);
  assert_int_equal(xca_fake_kv_hset(f, "t2:ca:other", "status", "verified"), XCA_OK);
  assert_int_equal(xca_registry_get_ca(&reg, "root", &rec), XCA_OK);
  assert_int_equal(rec.verified, 1);
  assert_string_equal(rec.certificate, "PEM");
  xca_ca_rec_free(&rec);
  assert_int_equal(xca_registry_get_ca(&reg, "other", &rec), XCA_E_NOT_FOUND);
  assert_int_equal(rec.fields.count, 0);
  assert_int_equal(rec.verified, 0);
  xca_fake_kv_set_down(f, 1);
  assert_int_equal(xca_registry_get_ca(&reg, "root", &rec), XCA_E_REGISTRY_UNAVAILABLE);
  assert_null(rec.certificate);
  xca_fake_kv_free(f);
}

/* ---- enrollment groups ------------------------------------------------- */

/* Fields of a group for a fresh CA; *sha is its thumbprint. */
static struct xca_fields group_fields_for(char sha[XCA_SHA256_HEX])
{
  struct xca_tcert ca;
  struct xca_fields f = {0};
  char *pem;

  assert_int_equal(xca_certgen(&ca, "Factory-Y CA", NULL, 1, -60, 86400), 0);
  pem = xca_certgen_pem(&ca);
  assert_non_null(pem);
  xca_cert_sha256(ca.cert, sha);
  assert_int_equal(xca_fields_set(&f, "certificate", pem), XCA_OK);
  free(pem);
  xca_certgen_free(&ca);
  return f;
}

static void test_group_key(void **state)
{
  struct xca_registry reg = {.prefix = "x509ca:"};
  char key[XCA_KEY_MAX];
  const char *name;
  (void)state;
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_GROUP, "factory-y", key), XCA_OK);
  assert_string_equal(key, "x509ca:group:factory-y");
  assert_int_equal(xca_registry_key_kind("group:factory-y", &name), XCA_KEY_GROUP);
  assert_string_equal(name, "factory-y");
}

static void test_revocation_keys_and_names(void **state)
{
  struct xca_registry reg = {.prefix = "x509ca:"};
  char key[XCA_KEY_MAX];
  char sha[XCA_SHA256_HEX];
  const char *name;
  const char *lower = "00000000000000000000000000000000000000000000000000000000000000ab";
  (void)state;
  assert_int_equal(xca_registry_key(&reg, XCA_KEY_REVOKED, lower, key), XCA_OK);
  assert_string_equal(key, "x509ca:revoked:00000000000000000000000000000000000000000000000000000000000000ab");
  assert_int_equal(xca_registry_key_kind("revoked:ab", &name), XCA_KEY_REVOKED);
  assert_string_equal(name, "ab");
  assert_int_equal(xca_registry_key_kind("crl:cd", &name), XCA_KEY_CRL);
  assert_string_equal(name, "cd");
  /* Key names: uppercase and ':' normalised; SHA-1 and garbage refused. */
  assert_int_equal(xca_revocation_name_parse("00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:"
                                             "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:AB",
                                             sha), XCA_OK);
  assert_string_equal(sha, lower);
  assert_int_equal(xca_revocation_name_parse("0000000000000000000000000000000000000000", sha),
                   XCA_E_BAD_THUMBPRINT);
  assert_string_equal(sha, "");
  assert_int_equal(xca_revocation_name_parse("not-hex", sha), XCA_E_BAD_THUMBPRINT);
}

static void test_revoked_record_fields(void **state)
{
  struct xca_fake_kv *fake = xca_fake_kv_new();
  struct xca_registry reg = {.kv = xca_fake_kv(fake), .prefix = "x509ca:"};
  struct xca_fields f = {0};
  struct xca_revoked_rec r;
  const char *sha = "00000000000000000000000000000000000000000000000000000000000000ab";
  (void)state;
  assert_int_equal(xca_registry_get_revoked(&reg, sha, &r), XCA_E_NOT_FOUND);
  /* redis-cli HSET with one field: the others default. */
  xca_fake_kv_hset(fake, "x509ca:revoked:00000000000000000000000000000000000000000000000000000000000000ab",
                   "reason", "keyCompromise");
  assert_int_equal(xca_registry_get_revoked(&reg, sha, &r), XCA_OK);
  assert_string_equal(r.thumbprint, sha);
  assert_string_equal(r.reason, "keyCompromise");
  assert_string_equal(r.subject, "");
  assert_true(r.revoked_at == 0);
  assert_int_equal(xca_revoked_fields("superseded", 1700000000, "CN=w", &f), XCA_OK);
  assert_string_equal(xca_fields_get(&f, "reason"), "superseded");
  assert_string_equal(xca_fields_get(&f, "revokedAt"), "1700000000");
  assert_string_equal(xca_fields_get(&f, "subject"), "CN=w");
  xca_revoked_from_fields(sha, &f, &r);
  assert_true(r.revoked_at == 1700000000);
  xca_fields_free(&f);
  assert_int_equal(xca_registry_get_revoked(&reg, "bad", &r), XCA_E_BAD_THUMBPRINT);
  xca_fake_kv_free(fake);
}

static void test_get_crl_checks_what_is_stored(void **state)
{
  struct xca_fake_kv *fake = xca_fake_kv_new();
  struct xca_registry reg = {.kv = xca_fake_kv(fake), .prefix = "x509ca:"};
  struct xca_tcert ca;
  struct xca_tcert other;
  struct xca_tcrl_spec spec = {.this_s = -60, .next_s = 3600};
  struct xca_fields f = {0};
  struct xca_crl *crl = NULL;
  char sha[XCA_SHA256_HEX];
  char key[XCA_KEY_MAX];
  (void)state;
  assert_int_equal(xca_certgen(&ca, "Factory-Y CA", NULL, 1, -60, 86400), 0);
  assert_int_equal(xca_certgen(&other, "Other CA", NULL, 1, -60, 86400), 0);
  char *crl_pem = xca_certgen_crl(&ca, &spec);
  char *ca_pem = xca_certgen_pem(&ca);
  char *other_pem = xca_certgen_pem(&other);
  xca_cert_sha256(ca.cert, sha);
  snprintf(key, sizeof(key), "x509ca:crl:%s", sha);
  assert_int_equal(xca_registry_get_crl(&reg, sha, &crl), XCA_E_NOT_FOUND);
  struct xca_crl_info info = {.this_update = 10, .count = 0};
  snprintf(info.issuer_subject, sizeof(info.issuer_subject), "CN=Factory-Y CA");
  assert_int_equal(xca_crl_fields(&info, crl_pem, ca_pem, &f), XCA_OK);
  assert_string_equal(xca_fields_get(&f, "nextUpdate"), "");
  assert_string_equal(xca_fields_get(&f, "thisUpdate"), "10");
  for (int i = 0; i < f.count; i++) {
    xca_fake_kv_hset(fake, key, f.name[i], f.value[i]);
  }
  assert_int_equal(xca_registry_get_crl(&reg, sha, &crl), XCA_OK);
  assert_string_equal(xca_crl_info(crl)->issuer_sha256, sha);
  xca_crl_free(crl);
  /* Another issuer stored under this name: refused. */
  xca_fake_kv_hset(fake, key, "issuer", other_pem);
  assert_int_equal(xca_registry_get_crl(&reg, sha, &crl), XCA_E_BAD_THUMBPRINT);
  xca_fake_kv_hset(fake, key, "issuer", ca_pem);
  xca_fake_kv_hset(fake, key, "crl", "garbage");
  assert_int_equal(xca_registry_get_crl(&reg, sha, &crl), XCA_E_BAD_CRL);
  xca_fields_free(&f);
  free(crl_pem);
  free(ca_pem);
  free(other_pem);
  xca_certgen_free(&ca);
  xca_certgen_free(&other);
  xca_fake_kv_free(fake);
}

static void test_group_from_fields_defaults_and_statuses(void **state)
{
  char sha[XCA_SHA256_HEX];
  struct xca_fields f = group_fields_for(sha);
  struct xca_group_rec g;
  (void)state;

  assert_int_equal(xca_group_from_fields("factory-y", &f, &g), XCA_OK);
  assert_string_equal(g.name, "factory-y");
  assert_string_equal(g.thumbprint, sha);
  assert_true(g.enabled);
  assert_true(g.initial_enabled);
  assert_string_equal(g.status_raw, "");
  assert_string_equal(g.thumbprint_raw, "");
  assert_int_equal(xca_fields_set(&f, "status", "disabled"), XCA_OK);
  assert_int_equal(xca_fields_set(&f, "initialStatus", "Enabled"), XCA_OK);
  assert_int_equal(xca_group_from_fields("factory-y", &f, &g), XCA_OK);
  assert_false(g.enabled);
  assert_false(g.initial_enabled); /* only "enabled" enables */
  assert_string_equal(g.initial_raw, "Enabled");
  assert_int_equal(xca_fields_set(&f, "status", "enabled"), XCA_OK);
  assert_int_equal(xca_group_from_fields("factory-y", &f, &g), XCA_OK);
  assert_true(g.enabled);
  /* Longer than any valid status: unusable. */
  assert_int_equal(xca_fields_set(&f, "status", "enabled-but-much-longer"), XCA_OK);
  assert_int_equal(xca_group_from_fields("factory-y", &f, &g), XCA_E_BAD_STATUS);
  assert_string_equal(g.name, "");
  xca_fields_free(&f);
}

static void test_group_from_fields_certificate_decides(void **state)
{
  char sha[XCA_SHA256_HEX];
  char colons[200] = "";
  struct xca_fields f = group_fields_for(sha);
  struct xca_group_rec g;
  (void)state;

  /* The thumbprint field may be written any way that names the same certificate. */
  for (int i = 0; i < 64; i += 2) {
    snprintf(colons + strlen(colons), sizeof(colons) - strlen(colons), "%s%c%c", i ? ":" : "",
             toupper((unsigned char)sha[i]), toupper((unsigned char)sha[i + 1]));
  }
  assert_int_equal(xca_fields_set(&f, "thumbprint", colons), XCA_OK);
  assert_int_equal(xca_group_from_fields("g", &f, &g), XCA_OK);
  assert_string_equal(g.thumbprint, sha);
  assert_string_equal(g.thumbprint_raw, colons);
  assert_int_equal(xca_fields_set(&f, "thumbprint", SHA256_LC), XCA_OK);
  assert_int_equal(xca_group_from_fields("g", &f, &g), XCA_E_BAD_THUMBPRINT);
  assert_int_equal(xca_fields_set(&f, "thumbprint", "zz"), XCA_OK);
  assert_int_equal(xca_group_from_fields("g", &f, &g), XCA_E_BAD_THUMBPRINT);
  assert_int_equal(xca_fields_set(&f, "thumbprint", sha), XCA_OK);
  assert_int_equal(xca_group_from_fields("bad name", &f, &g), XCA_E_BAD_NAME);
  assert_int_equal(xca_fields_set(&f, "certificate", "not a certificate"), XCA_OK);
  assert_int_equal(xca_group_from_fields("g", &f, &g), XCA_E_BAD_PEM);
  xca_fields_free(&f);
}

static void test_get_group_reads_the_prefixed_key(void **state)
{
  char sha[XCA_SHA256_HEX];
  struct xca_fields f = group_fields_for(sha);
  struct xca_fake_kv *kv = xca_fake_kv_new();
  struct xca_registry reg = {xca_fake_kv(kv), "t1:"};
  struct xca_group_rec g;
  (void)state;
  assert_int_equal(xca_fake_kv_hset(kv, "t1:group:factory-y", "certificate",
                                    xca_fields_get(&f, "certificate")),
                   XCA_OK);
  assert_int_equal(xca_fake_kv_hset(kv, "t1:group:factory-y", "status", "disabled"), XCA_OK);
  assert_int_equal(xca_fake_kv_hset(kv, "t2:group:other", "certificate",
                                    xca_fields_get(&f, "certificate")),
                   XCA_OK);
  assert_int_equal(xca_registry_get_group(&reg, "factory-y", &g), XCA_OK);
  assert_string_equal(g.name, "factory-y");
  assert_string_equal(g.thumbprint, sha);
  assert_false(g.enabled);
  assert_true(g.initial_enabled);
  assert_int_equal(xca_registry_get_group(&reg, "other", &g), XCA_E_NOT_FOUND);
  assert_string_equal(g.name, "");
  assert_int_equal(xca_fake_kv_hset(kv, "t1:group:broken", "certificate", "junk"), XCA_OK);
  assert_int_equal(xca_registry_get_group(&reg, "broken", &g), XCA_E_BAD_PEM);
  xca_fake_kv_set_down(kv, 1);
  assert_int_equal(xca_registry_get_group(&reg, "factory-y", &g), XCA_E_REGISTRY_UNAVAILABLE);
  assert_string_equal(g.name, "");
  xca_fake_kv_free(kv);
  xca_fields_free(&f);
}

static void test_group_identity_and_condition_fields(void **state)
{
  struct xca_group_rec g = {.name = "factory-y", .enabled = 1, .initial_enabled = 0,
                            .status_raw = "enabled", .initial_raw = "disabled",
                            .thumbprint_raw = SHA256_LC};
  struct xca_fields f = {0};
  (void)state;

  assert_int_equal(xca_group_identity_fields(&g, 1700000000, &f), XCA_OK);
  assert_int_equal(f.count, 4);
  assert_string_equal(xca_fields_get(&f, "status"), "disabled");
  assert_string_equal(xca_fields_get(&f, "authentication"), "certificateAuthority");
  assert_string_equal(xca_fields_get(&f, "enrollmentGroup"), "factory-y");
  assert_string_equal(xca_fields_get(&f, "enrolledAt"), "1700000000");
  xca_fields_free(&f);
  g.initial_enabled = 1;
  assert_int_equal(xca_group_identity_fields(&g, 5, &f), XCA_OK);
  assert_string_equal(xca_fields_get(&f, "status"), "enabled");
  xca_fields_free(&f);
  g.status_raw[0] = '\0';
  assert_int_equal(xca_group_condition_fields(&g, &f), XCA_OK);
  assert_int_equal(f.count, 3);
  assert_string_equal(xca_fields_get(&f, "status"), "");
  assert_string_equal(xca_fields_get(&f, "initialStatus"), "disabled");
  assert_string_equal(xca_fields_get(&f, "thumbprint"), SHA256_LC);
  xca_fields_free(&f);
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
    cmocka_unit_test(test_keys_of_each_kind),
    cmocka_unit_test(test_key_limit_is_the_longest_prefix_and_identity),
    cmocka_unit_test(test_key_refuses_a_name_for_an_unnamed_kind),
    cmocka_unit_test(test_key_kind_classifies_keys_without_the_prefix),
    cmocka_unit_test(test_key_kind_reads_back_every_built_key),
    cmocka_unit_test(test_glob_escape_escapes_every_metacharacter),
    cmocka_unit_test(test_scan_matches_prefix_and_name_prefix_literally),
    cmocka_unit_test(test_scan_steps_resume_from_the_cursor),
    cmocka_unit_test(test_scan_all_keeps_what_keep_accepts_up_to_max),
    cmocka_unit_test(test_scan_errors),
    cmocka_unit_test(test_scan_pattern_fits_the_longest_key_escaped),
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
    cmocka_unit_test(test_ca_rec_reads_every_field),
    cmocka_unit_test(test_ca_rec_defaults_fail_closed),
    cmocka_unit_test(test_get_ca_reads_the_prefixed_key),
    cmocka_unit_test(test_group_key),
    cmocka_unit_test(test_revocation_keys_and_names),
    cmocka_unit_test(test_revoked_record_fields),
    cmocka_unit_test(test_get_crl_checks_what_is_stored),
    cmocka_unit_test(test_group_from_fields_defaults_and_statuses),
    cmocka_unit_test(test_group_from_fields_certificate_decides),
    cmocka_unit_test(test_get_group_reads_the_prefixed_key),
    cmocka_unit_test(test_group_identity_and_condition_fields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
