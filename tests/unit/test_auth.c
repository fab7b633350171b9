/* test_auth.c - unit tests of common/auth.h: the connect decision, with a
 * fake registry lookup (a small table). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "auth.h"
#include "xca_err.h"

/* Thumbprints of the client certificate in the facts (lowercase hex, as
 * certinfo writes them) and of another certificate. */
#define SHA1_A "0123456789abcdef0123456789abcdef01234567"
#define SHA256_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define SHA1_B "fedcba9876543210fedcba9876543210fedcba98"
#define SHA256_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

/* ---- the fake registry ------------------------------------------------- */

struct row {
  const char *identity;
  int rc; /* what the lookup returns */
  int enabled;
  enum xca_auth_type auth;
  const char *primary;
  const char *secondary;
};

static const struct row registry[] = {
  {"dev", XCA_OK, 1, XCA_AUTH_CA, "", ""},
  {"off", XCA_OK, 0, XCA_AUTH_CA, "", ""},
  {"dev/mod", XCA_OK, 1, XCA_AUTH_CA, "", ""},
  {"dev/offmod", XCA_OK, 0, XCA_AUTH_CA, "", ""},
  {"off/mod", XCA_OK, 1, XCA_AUTH_CA, "", ""},
  {"nodev/mod", XCA_OK, 1, XCA_AUTH_CA, "", ""},
  {"ss1", XCA_OK, 1, XCA_AUTH_SELF_SIGNED, SHA1_A, SHA256_B},
  {"ss256", XCA_OK, 1, XCA_AUTH_SELF_SIGNED, SHA1_B, SHA256_A},
  {"ssother", XCA_OK, 1, XCA_AUTH_SELF_SIGNED, SHA1_B, SHA256_B},
  {"ssnone", XCA_OK, 1, XCA_AUTH_SELF_SIGNED, "", ""},
  {"ssoff", XCA_OK, 0, XCA_AUTH_SELF_SIGNED, SHA1_A, ""},
  {"dev/ssmod", XCA_OK, 1, XCA_AUTH_SELF_SIGNED, SHA256_A, ""},
  {"weird", XCA_OK, 1, XCA_AUTH_INVALID, "", ""},
  {"down", XCA_E_REGISTRY_UNAVAILABLE, 0, XCA_AUTH_CA, "", ""},
  {"stale", XCA_E_STALE, 0, XCA_AUTH_CA, "", ""},
  {"down/mod", XCA_OK, 1, XCA_AUTH_CA, "", ""},
  {"stale/mod", XCA_OK, 1, XCA_AUTH_CA, "", ""},
  {"dev/downmod", XCA_E_REGISTRY_UNAVAILABLE, 0, XCA_AUTH_CA, "", ""},
  {"dev/stalemod", XCA_E_STALE, 0, XCA_AUTH_CA, "", ""},
};

static int lookups;

static int fake_lookup(void *arg, const char *identity, struct xca_identity_rec *out)
{
  (void)arg;
  lookups++;
  for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
    const struct row *r = &registry[i];
    if (strcmp(r->identity, identity) != 0) {
      continue;
    }
    if (r->rc != XCA_OK) {
      return r->rc;
    }
    memset(out, 0, sizeof(*out));
    out->enabled = r->enabled;
    out->auth = r->auth;
    strcpy(out->primary, r->primary);
    strcpy(out->secondary, r->secondary);
    return XCA_OK;
  }
  return XCA_E_NOT_FOUND;
}

/* ---- facts ------------------------------------------------------------- */

/* A certificate that passed the chain check, with CN cn and thumbprints A. */
static struct xca_cert_facts facts_for(const char *cn)
{
  struct xca_cert_facts f;
  memset(&f, 0, sizeof(f));
  f.chain_ok = 1;
  f.leaf_time_valid = 1;
  f.cn_ok = 1;
  strcpy(f.cn, cn);
  strcpy(f.sha1, SHA1_A);
  strcpy(f.sha256, SHA256_A);
  return f;
}

/* A self-signed leaf (no chain to a CA) with CN cn and thumbprints A. */
static struct xca_cert_facts self_signed_facts(const char *cn)
{
  struct xca_cert_facts f = facts_for(cn);
  f.chain_ok = 0;
  f.self_signed = 1;
  return f;
}

/* A leaf issued by a CA that is not verified (or a broken chain). */
static struct xca_cert_facts unknown_ca_facts(const char *cn)
{
  struct xca_cert_facts f = facts_for(cn);
  f.chain_ok = 0;
  f.chain.x509_error = 20; /* X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY */
  return f;
}

static struct xca_ident ident_out;

static int decide(const struct xca_cert_facts *f, const char *client_id, const char *username,
                  const char *hub)
{
  memset(&ident_out, 0x5a, sizeof(ident_out));
  return xca_auth_decide(f, client_id, username, hub, fake_lookup, NULL, &ident_out);
}

static int ident_untouched(void)
{
  const unsigned char *b = (const unsigned char *)&ident_out;
  for (size_t i = 0; i < sizeof(ident_out); i++) {
    if (b[i] != 0x5a) {
      return 0;
    }
  }
  return 1;
}

/* Assert a refusal with code want and *ident left untouched. */
static void assert_refused(int rc, int want)
{
  assert_string_equal(xca_err_name(rc), xca_err_name(want));
  assert_true(ident_untouched());
}

static int setup(void **state)
{
  (void)state;
  lookups = 0;
  return 0;
}

/* ---- refusals before the registry ------------------------------------- */

static void test_no_facts_is_no_cert(void **state)
{
  (void)state;
  assert_refused(decide(NULL, "dev", NULL, NULL), XCA_E_NO_CERT);
  assert_int_equal(lookups, 0);
}

static void test_bad_client_id_refused(void **state)
{
  struct xca_cert_facts f = facts_for("dev");
  (void)state;
  assert_refused(decide(&f, "dev#1", NULL, NULL), XCA_E_BAD_ID);
  assert_refused(decide(&f, "", NULL, NULL), XCA_E_BAD_ID);
  assert_refused(decide(&f, NULL, NULL, NULL), XCA_E_BAD_ID);
  assert_refused(decide(&f, "a/b/c", NULL, NULL), XCA_E_BAD_ID);
  assert_refused(decide(&f, "dev/", NULL, NULL), XCA_E_BAD_ID);
  assert_int_equal(lookups, 0);
}

static void test_username_mismatch_refused(void **state)
{
  struct xca_cert_facts f = facts_for("dev");
  (void)state;
  assert_refused(decide(&f, "dev", "other", NULL), XCA_E_BAD_USERNAME);
  assert_refused(decide(&f, "dev", "hub/other/?api-version=1", NULL), XCA_E_BAD_USERNAME);
  assert_int_equal(lookups, 0);
}

static void test_username_wrong_hub_refused(void **state)
{
  struct xca_cert_facts f = facts_for("dev");
  (void)state;
  assert_refused(decide(&f, "dev", "evil/dev/?api-version=1", "hub.example"),
                 XCA_E_BAD_HOSTNAME);
}

/* ---- registry entry ---------------------------------------------------- */

static void test_unknown_identity_refused(void **state)
{
  struct xca_cert_facts f = facts_for("nobody");
  (void)state;
  assert_refused(decide(&f, "nobody", NULL, NULL), XCA_E_NOT_FOUND);
}

static void test_disabled_identity_refused(void **state)
{
  struct xca_cert_facts f = facts_for("off");
  (void)state;
  assert_refused(decide(&f, "off", NULL, NULL), XCA_E_DISABLED);
}

static void test_disabled_module_refused(void **state)
{
  struct xca_cert_facts f = facts_for("dev/offmod");
  (void)state;
  assert_refused(decide(&f, "dev/offmod", NULL, NULL), XCA_E_DISABLED);
}

static void test_unknown_module_of_known_device_refused(void **state)
{
  struct xca_cert_facts f = facts_for("dev/ghost");
  (void)state;
  assert_refused(decide(&f, "dev/ghost", NULL, NULL), XCA_E_NOT_FOUND);
}

static void test_module_of_missing_device_refused(void **state)
{
  struct xca_cert_facts f = facts_for("nodev/mod");
  (void)state;
  assert_refused(decide(&f, "nodev/mod", NULL, NULL), XCA_E_DEVICE_DISABLED);
}

static void test_module_of_disabled_device_refused(void **state)
{
  struct xca_cert_facts f = facts_for("off/mod");
  (void)state;
  assert_refused(decide(&f, "off/mod", NULL, NULL), XCA_E_DEVICE_DISABLED);
}

static void test_registry_unavailable_refused(void **state)
{
  struct xca_cert_facts f = facts_for("down");
  (void)state;
  assert_refused(decide(&f, "down", NULL, NULL), XCA_E_REGISTRY_UNAVAILABLE);
}

static void test_registry_stale_refused(void **state)
{
  struct xca_cert_facts f = facts_for("stale");
  (void)state;
  assert_refused(decide(&f, "stale", NULL, NULL), XCA_E_STALE);
}

static void test_registry_error_on_module_device_propagates(void **state)
{
  struct xca_cert_facts f1 = facts_for("down/mod");
  struct xca_cert_facts f2 = facts_for("stale/mod");
  (void)state;
  assert_refused(decide(&f1, "down/mod", NULL, NULL), XCA_E_REGISTRY_UNAVAILABLE);
  assert_refused(decide(&f2, "stale/mod", NULL, NULL), XCA_E_STALE);
}

static void test_registry_error_on_module_entry_propagates(void **state)
{
  struct xca_cert_facts f1 = facts_for("dev/downmod");
  struct xca_cert_facts f2 = facts_for("dev/stalemod");
  (void)state;
  assert_refused(decide(&f1, "dev/downmod", NULL, NULL), XCA_E_REGISTRY_UNAVAILABLE);
  assert_refused(decide(&f2, "dev/stalemod", NULL, NULL), XCA_E_STALE);
}

/* The registry is consulted before the certificate's credentials: a
 * disabled device is refused as disabled even when its (self-signed) leaf
 * would not have passed its CA check either. */
static void test_entry_checked_before_credentials(void **state)
{
  struct xca_cert_facts f = self_signed_facts("off");
  (void)state;
  assert_refused(decide(&f, "off", NULL, NULL), XCA_E_DISABLED);
}

/* ---- which certificates cost a registry lookup ------------------------- */

/* A leaf that neither leads to a verified CA nor is self-signed can pass no
 * identity: refused for its chain, whatever the id names, without a lookup
 * (so it can neither stall the broker on Redis nor fill the cache). */
static void test_failed_ca_chain_refused_without_lookup(void **state)
{
  static const char *const ids[] = {"dev", "nobody", "off", "ss1", "dev/mod", "down", "weird"};
  (void)state;
  for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
    struct xca_cert_facts f = unknown_ca_facts(ids[i]);
    assert_refused(decide(&f, ids[i], NULL, NULL), XCA_E_CHAIN);
  }
  assert_int_equal(lookups, 0);
}

/* The checks before it keep their order and reasons. */
static void test_failed_ca_chain_after_id_and_username_checks(void **state)
{
  struct xca_cert_facts f = unknown_ca_facts("dev");
  (void)state;
  assert_refused(decide(&f, "dev#1", NULL, NULL), XCA_E_BAD_ID);
  assert_refused(decide(&f, "dev", "other", NULL), XCA_E_BAD_USERNAME);
  assert_refused(decide(&f, "dev", "evil/dev/?api-version=1", "hub.example"), XCA_E_BAD_HOSTNAME);
  assert_int_equal(lookups, 0);
}

/* A self-signed leaf may be a selfSigned identity: it is looked up. */
static void test_self_signed_leaf_is_looked_up(void **state)
{
  struct xca_cert_facts f = self_signed_facts("nobody");
  (void)state;
  assert_refused(decide(&f, "nobody", NULL, NULL), XCA_E_NOT_FOUND);
  assert_int_equal(lookups, 1);
  assert_int_equal(decide(&f, "ss1", NULL, NULL), XCA_OK);
  assert_int_equal(lookups, 2);
}

/* A self-signed leaf presented for a certificateAuthority identity is
 * looked up, then refused for its chain. */
static void test_self_signed_leaf_of_ca_identity_refused_for_chain(void **state)
{
  struct xca_cert_facts f = self_signed_facts("dev");
  (void)state;
  assert_refused(decide(&f, "dev", NULL, NULL), XCA_E_CHAIN);
  assert_int_equal(lookups, 1);
}

/* A chain that leads to a verified CA is looked up. */
static void test_good_chain_is_looked_up(void **state)
{
  struct xca_cert_facts f = facts_for("nobody");
  struct xca_cert_facts g = facts_for("dev");
  (void)state;
  assert_refused(decide(&f, "nobody", NULL, NULL), XCA_E_NOT_FOUND);
  assert_int_equal(lookups, 1);
  assert_int_equal(decide(&g, "dev", NULL, NULL), XCA_OK);
  assert_int_equal(lookups, 2);
}

/* ---- certificateAuthority ---------------------------------------------- */

static void test_ca_device_accepted(void **state)
{
  struct xca_cert_facts f = facts_for("dev");
  (void)state;
  assert_int_equal(decide(&f, "dev", NULL, NULL), XCA_OK);
  assert_string_equal(ident_out.full, "dev");
  assert_string_equal(ident_out.device, "dev");
  assert_string_equal(ident_out.module, "");
}

static void test_ca_device_with_iothub_username_accepted(void **state)
{
  struct xca_cert_facts f = facts_for("dev");
  (void)state;
  assert_int_equal(decide(&f, "dev", "Hub.Example/dev/?api-version=2021-04-12", "hub.example"),
                   XCA_OK);
  assert_string_equal(ident_out.full, "dev");
}

static void test_ca_module_accepted(void **state)
{
  struct xca_cert_facts f = facts_for("dev/mod");
  (void)state;
  assert_int_equal(decide(&f, "dev/mod", "dev/mod", NULL), XCA_OK);
  assert_string_equal(ident_out.full, "dev/mod");
  assert_string_equal(ident_out.device, "dev");
  assert_string_equal(ident_out.module, "mod");
}

static void test_ca_chain_not_ok_refused(void **state)
{
  struct xca_cert_facts f = unknown_ca_facts("dev");
  (void)state;
  assert_refused(decide(&f, "dev", NULL, NULL), XCA_E_CHAIN);
}

static void test_ca_cn_mismatch_refused(void **state)
{
  struct xca_cert_facts f = facts_for("other");
  (void)state;
  assert_refused(decide(&f, "dev", NULL, NULL), XCA_E_CN_MISMATCH);
}

static void test_ca_cn_case_differs_refused(void **state)
{
  struct xca_cert_facts f = facts_for("DEV");
  (void)state;
  assert_refused(decide(&f, "dev", NULL, NULL), XCA_E_CN_MISMATCH);
}

static void test_ca_module_cn_of_device_refused(void **state)
{
  struct xca_cert_facts f = facts_for("dev");
  (void)state;
  assert_refused(decide(&f, "dev/mod", NULL, NULL), XCA_E_CN_MISMATCH);
}

static void test_ca_cn_not_ok_refused(void **state)
{
  struct xca_cert_facts f = facts_for("dev");
  (void)state;
  f.cn_ok = 0; /* no single CN, even though the buffer happens to match */
  assert_refused(decide(&f, "dev", NULL, NULL), XCA_E_CN_MISMATCH);
}

/* An unregistered client id with a CA-signed certificate of another CN:
 * the refusal names the CN mismatch, not "not found". */
static void test_unregistered_id_with_other_cn_refused_for_cn(void **state)
{
  struct xca_cert_facts f = facts_for("dev");
  struct xca_cert_facts g = facts_for("dev/mod");
  struct xca_cert_facts h = facts_for("nobody");
  (void)state;
  assert_refused(decide(&f, "nobody", NULL, NULL), XCA_E_CN_MISMATCH);
  assert_refused(decide(&g, "dev/ghost", NULL, NULL), XCA_E_CN_MISMATCH);
  h.cn_ok = 0; /* no single CN */
  assert_refused(decide(&h, "nobody", NULL, NULL), XCA_E_CN_MISMATCH);
}

/* A self-signed leaf needs no CN match (selfSigned identities go by
 * thumbprint): an unregistered id stays "not found" whatever its CN. */
static void test_unregistered_id_with_self_signed_leaf_not_found(void **state)
{
  struct xca_cert_facts f = self_signed_facts("other");
  (void)state;
  assert_refused(decide(&f, "nobody", NULL, NULL), XCA_E_NOT_FOUND);
}

/* The CN rule refines "not found" only: a registered identity's own state
 * (disabled) and the registry's (unavailable) are still reported, and a
 * failed chain is still refused before any lookup. */
static void test_cn_rule_changes_only_not_found(void **state)
{
  struct xca_cert_facts f = facts_for("dev");
  struct xca_cert_facts bad = unknown_ca_facts("dev");
  (void)state;
  assert_refused(decide(&f, "off", NULL, NULL), XCA_E_DISABLED);
  assert_refused(decide(&f, "down", NULL, NULL), XCA_E_REGISTRY_UNAVAILABLE);
  assert_refused(decide(&f, "stale", NULL, NULL), XCA_E_STALE);
  assert_refused(decide(&f, "nodev/mod", NULL, NULL), XCA_E_DEVICE_DISABLED);
  lookups = 0;
  assert_refused(decide(&bad, "nobody", NULL, NULL), XCA_E_CHAIN);
  assert_int_equal(lookups, 0);
}

/* ---- selfSigned -------------------------------------------------------- */

static void test_self_signed_primary_sha1_accepted(void **state)
{
  struct xca_cert_facts f = self_signed_facts("anything"); /* no CA, any CN */
  (void)state;
  assert_int_equal(decide(&f, "ss1", NULL, NULL), XCA_OK);
  assert_string_equal(ident_out.full, "ss1");
}

static void test_self_signed_secondary_sha256_accepted(void **state)
{
  struct xca_cert_facts f = self_signed_facts("ss256");
  (void)state;
  assert_int_equal(decide(&f, "ss256", NULL, NULL), XCA_OK);
}

static void test_self_signed_module_accepted(void **state)
{
  struct xca_cert_facts f = self_signed_facts("x");
  (void)state;
  assert_int_equal(decide(&f, "dev/ssmod", NULL, NULL), XCA_OK);
  assert_string_equal(ident_out.full, "dev/ssmod");
}

static void test_self_signed_mismatch_refused(void **state)
{
  struct xca_cert_facts f = self_signed_facts("ssother");
  (void)state;
  assert_refused(decide(&f, "ssother", NULL, NULL), XCA_E_THUMBPRINT);
}

static void test_self_signed_no_stored_thumbprint_refused(void **state)
{
  struct xca_cert_facts f = self_signed_facts("ssnone");
  (void)state;
  assert_refused(decide(&f, "ssnone", NULL, NULL), XCA_E_THUMBPRINT);
  f.sha1[0] = '\0';
  f.sha256[0] = '\0';
  assert_refused(decide(&f, "ssnone", NULL, NULL), XCA_E_THUMBPRINT);
}

static void test_self_signed_expired_leaf_refused(void **state)
{
  struct xca_cert_facts f = self_signed_facts("ss1");
  (void)state;
  f.leaf_time_valid = 0;
  assert_refused(decide(&f, "ss1", NULL, NULL), XCA_E_EXPIRED);
}

static void test_self_signed_disabled_refused(void **state)
{
  struct xca_cert_facts f = self_signed_facts("ssoff");
  (void)state;
  assert_refused(decide(&f, "ssoff", NULL, NULL), XCA_E_DISABLED);
}

static void test_self_signed_username_still_checked(void **state)
{
  struct xca_cert_facts f = self_signed_facts("ss1");
  (void)state;
  assert_refused(decide(&f, "ss1", "hub/ss256/?x", NULL), XCA_E_BAD_USERNAME);
}

/* ---- other ------------------------------------------------------------- */

static void test_invalid_auth_type_refused(void **state)
{
  struct xca_cert_facts f = facts_for("weird");
  (void)state;
  assert_refused(decide(&f, "weird", NULL, NULL), XCA_E_BAD_AUTH_TYPE);
}

static void test_lookup_arg_passed_through(void **state)
{
  struct xca_cert_facts f = facts_for("dev");
  (void)state;
  assert_int_equal(xca_auth_decide(&f, "dev", NULL, NULL, fake_lookup, &f, &ident_out), XCA_OK);
  assert_int_equal(lookups, 1);
}

static void test_module_looks_up_device_and_module(void **state)
{
  struct xca_cert_facts f = facts_for("dev/mod");
  (void)state;
  assert_int_equal(decide(&f, "dev/mod", NULL, NULL), XCA_OK);
  assert_int_equal(lookups, 2);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(test_no_facts_is_no_cert),
    T(test_bad_client_id_refused),
    T(test_username_mismatch_refused),
    T(test_username_wrong_hub_refused),
    T(test_unknown_identity_refused),
    T(test_disabled_identity_refused),
    T(test_disabled_module_refused),
    T(test_unknown_module_of_known_device_refused),
    T(test_module_of_missing_device_refused),
    T(test_module_of_disabled_device_refused),
    T(test_registry_unavailable_refused),
    T(test_registry_stale_refused),
    T(test_registry_error_on_module_device_propagates),
    T(test_registry_error_on_module_entry_propagates),
    T(test_entry_checked_before_credentials),
    T(test_failed_ca_chain_refused_without_lookup),
    T(test_failed_ca_chain_after_id_and_username_checks),
    T(test_self_signed_leaf_is_looked_up),
    T(test_self_signed_leaf_of_ca_identity_refused_for_chain),
    T(test_good_chain_is_looked_up),
    T(test_ca_device_accepted),
    T(test_ca_device_with_iothub_username_accepted),
    T(test_ca_module_accepted),
    T(test_ca_chain_not_ok_refused),
    T(test_ca_cn_mismatch_refused),
    T(test_ca_cn_case_differs_refused),
    T(test_ca_module_cn_of_device_refused),
    T(test_ca_cn_not_ok_refused),
    T(test_unregistered_id_with_other_cn_refused_for_cn),
    T(test_unregistered_id_with_self_signed_leaf_not_found),
    T(test_cn_rule_changes_only_not_found),
    T(test_self_signed_primary_sha1_accepted),
    T(test_self_signed_secondary_sha256_accepted),
    T(test_self_signed_module_accepted),
    T(test_self_signed_mismatch_refused),
    T(test_self_signed_no_stored_thumbprint_refused),
    T(test_self_signed_expired_leaf_refused),
    T(test_self_signed_disabled_refused),
    T(test_self_signed_username_still_checked),
    T(test_invalid_auth_type_refused),
    T(test_lookup_arg_passed_through),
    T(test_module_looks_up_device_and_module),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
