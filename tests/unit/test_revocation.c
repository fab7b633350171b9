/* The revocation set (common/revocation.c): thumbprints, CRL intake and
 * lookup, the older/newer rule, the expired policy, and the chain check
 * at every depth through xca_trust_verify, on certificates of
 * scripts/x509ca-pki's profiles made in-process: root -> int1 -> int2 ->
 * dev (and a sibling device of int2, a device of int1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "certgen.h"
#include "certinfo.h"
#include "pki_fixture.h"
#include "revocation.h"
#include "trust.h"
#include "xca_err.h"

static const struct xca_fixture_entry pki[] = {
  {"root", NULL, {.profile = XCA_TCERT_CA, .cn = "Company-X Root CA"}},
  {"int1", "root", {.profile = XCA_TCERT_CA, .cn = "Factory-Y CA"}},
  {"int2", "int1", {.profile = XCA_TCERT_CA, .cn = "Technician-Z CA"}},
  {"dev", "int2", {.profile = XCA_TCERT_DEVICE}},
  {"sibling", "int2", {.profile = XCA_TCERT_DEVICE}},
  {"dev-y", "int1", {.profile = XCA_TCERT_DEVICE}},
  {"other", NULL, {.profile = XCA_TCERT_CA}},
};

static const char T1[] = "0000000000000000000000000000000000000000000000000000000000000001";
static const char T2[] = "00000000000000000000000000000000000000000000000000000000000000a2";

struct fixture {
  struct xca_revocation *rev;
  struct xca_trust *trust;
};

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  X509 *root = xca_fixture_cert("root");

  f->rev = xca_revocation_new();
  f->trust = xca_trust_new();
  assert_non_null(f->rev);
  assert_int_equal(xca_trust_put(f->trust, "root", root), XCA_OK);
  xca_trust_set_revocation(f->trust, f->rev);
  X509_free(root);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  xca_trust_free(f->trust);
  xca_revocation_free(f->rev);
  free(f);
  return 0;
}

static void sha_of(const char *name, char out[XCA_SHA256_HEX])
{
  X509 *cert = xca_fixture_cert(name);
  xca_cert_sha256(cert, out);
  X509_free(cert);
}

/* A CRL issued by the fixture's issuer listing the fixture certificates
 * named in listed (NULL-terminated), thisUpdate now+this_s, nextUpdate
 * now+next_s. Owned PEM. */
static char *crl_of(const char *issuer, const char *const *listed, long this_s, long next_s)
{
  X509 *certs[8];
  int n = 0;
  struct xca_tcrl_spec spec = {.this_s = this_s, .next_s = next_s};
  char *pem;

  for (; listed != NULL && listed[n] != NULL; n++) {
    certs[n] = xca_fixture_cert(listed[n]);
  }
  spec.revoked = certs;
  spec.count = n;
  pem = xca_certgen_crl(xca_fixture_tcert(issuer), &spec);
  assert_non_null(pem);
  for (int i = 0; i < n; i++) {
    X509_free(certs[i]);
  }
  return pem;
}

/* Parse, check and hold a CRL of issuer listing listed. */
static void hold_crl(struct fixture *f, const char *issuer, const char *const *listed, long this_s,
                     long next_s)
{
  char *pem = crl_of(issuer, listed, this_s, next_s);
  X509 *icert = xca_fixture_cert(issuer);
  struct xca_crl *crl = NULL;

  assert_int_equal(xca_crl_new(pem, strlen(pem), icert, &crl, NULL), XCA_OK);
  assert_int_equal(xca_revocation_put_crl(f->rev, crl), XCA_OK);
  X509_free(icert);
  free(pem);
}

/* Verify the fixture's device name with the chain it sends. */
static int verify(struct fixture *f, const char *name, struct xca_chain_result *res)
{
  X509 *leaf = xca_fixture_cert(name);
  STACK_OF(X509) *chain = xca_fixture_chain(name);
  int rc = xca_trust_verify(f->trust, leaf, chain, 5, 0, res);

  X509_free(leaf);
  sk_X509_pop_free(chain, X509_free);
  return rc;
}

/* ---- the thumbprint set ---- */

static void add_has_remove_and_generation(void **state)
{
  struct fixture *f = *state;
  unsigned long g0 = xca_revocation_generation(f->rev);

  assert_false(xca_revocation_has(f->rev, T1));
  assert_int_equal(xca_revocation_add(f->rev, T1, "keyCompromise"), XCA_OK);
  assert_true(xca_revocation_generation(f->rev) != g0);
  assert_true(xca_revocation_has(f->rev, T1));
  assert_false(xca_revocation_has(f->rev, T2));
  assert_string_equal(xca_revocation_reason(f->rev, T1), "keyCompromise");
  assert_int_equal(xca_revocation_count(f->rev), 1);
  /* Added again: replaced, not counted twice. */
  assert_int_equal(xca_revocation_add(f->rev, T1, NULL), XCA_OK);
  assert_int_equal(xca_revocation_count(f->rev), 1);
  assert_null(xca_revocation_reason(f->rev, T1));
  unsigned long g1 = xca_revocation_generation(f->rev);
  assert_int_equal(xca_revocation_remove(f->rev, T1), XCA_OK);
  assert_true(xca_revocation_generation(f->rev) != g1);
  assert_false(xca_revocation_has(f->rev, T1));
  assert_int_equal(xca_revocation_remove(f->rev, T1), XCA_E_NOT_FOUND);
  assert_int_equal(xca_revocation_count(f->rev), 0);
}

static void only_lowercase_sha256_is_held(void **state)
{
  struct fixture *f = *state;

  assert_int_equal(xca_revocation_add(f->rev, "ABCD", NULL), XCA_E_BAD_THUMBPRINT);
  assert_int_equal(xca_revocation_add(f->rev, "0000000000000000000000000000000000000001", NULL),
                   XCA_E_BAD_THUMBPRINT); /* SHA-1 */
  assert_int_equal(xca_revocation_add(f->rev, "00000000000000000000000000000000000000000000000000"
                                              "000000000000A2", NULL),
                   XCA_E_BAD_THUMBPRINT);
  assert_int_equal(xca_revocation_add(f->rev, NULL, NULL), XCA_E_BAD_THUMBPRINT);
  assert_int_equal(xca_revocation_count(f->rev), 0);
}

static void a_long_reason_is_cut_to_64(void **state)
{
  struct fixture *f = *state;
  char reason[200];

  memset(reason, 'r', sizeof(reason) - 1);
  reason[sizeof(reason) - 1] = '\0';
  assert_int_equal(xca_revocation_add(f->rev, T1, reason), XCA_OK);
  assert_int_equal(strlen(xca_revocation_reason(f->rev, T1)), XCA_REVOKE_REASON_MAX - 1);
}

static void clear_drops_every_thumbprint(void **state)
{
  struct fixture *f = *state;

  xca_revocation_add(f->rev, T1, NULL);
  xca_revocation_add(f->rev, T2, NULL);
  unsigned long g = xca_revocation_generation(f->rev);
  xca_revocation_clear(f->rev);
  assert_int_equal(xca_revocation_count(f->rev), 0);
  assert_true(xca_revocation_generation(f->rev) != g);
}

/* ---- CRL intake ---- */

static void a_crl_is_parsed_checked_and_its_serials_found(void **state)
{
  const char *listed[] = {"dev", NULL};
  char *pem = crl_of("int2", listed, -60, 3600);
  X509 *issuer = xca_fixture_cert("int2");
  X509 *dev = xca_fixture_cert("dev");
  X509 *sibling = xca_fixture_cert("sibling");
  struct xca_crl *crl = NULL;
  char sha[XCA_SHA256_HEX];
  (void)state;

  assert_int_equal(xca_crl_new(pem, strlen(pem), issuer, &crl, NULL), XCA_OK);
  const struct xca_crl_info *info = xca_crl_info(crl);
  sha_of("int2", sha);
  assert_string_equal(info->issuer_sha256, sha);
  assert_string_equal(info->issuer_subject, "CN=Technician-Z CA");
  assert_int_equal(info->count, 1);
  assert_true(info->next_update - info->this_update == 3660);
  assert_true(xca_crl_lists(crl, X509_get0_serialNumber(dev)));
  assert_false(xca_crl_lists(crl, X509_get0_serialNumber(sibling)));
  xca_crl_free(crl);
  X509_free(issuer);
  X509_free(dev);
  X509_free(sibling);
  free(pem);
}

static void a_crl_of_another_key_or_issuer_is_refused(void **state)
{
  const char *listed[] = {"dev", NULL};
  char *pem = crl_of("int2", listed, -60, 3600);
  X509 *int1 = xca_fixture_cert("int1");
  struct xca_tcrl_spec forged = {.this_s = -60, .next_s = 3600,
                                 .sign_key = xca_fixture_tcert("other")->key};
  char *forged_pem = xca_certgen_crl(xca_fixture_tcert("int2"), &forged);
  X509 *int2 = xca_fixture_cert("int2");
  struct xca_crl *crl = NULL;
  (void)state;

  /* Named another issuer than the one given. */
  assert_int_equal(xca_crl_new(pem, strlen(pem), int1, &crl, NULL), XCA_E_CRL_SIGNATURE);
  /* The right name, another key. */
  assert_int_equal(xca_crl_new(forged_pem, strlen(forged_pem), int2, &crl, NULL),
                   XCA_E_CRL_SIGNATURE);
  assert_int_equal(ERR_peek_error(), 0);
  X509_free(int1);
  X509_free(int2);
  free(pem);
  free(forged_pem);
}

static void a_sha1_signed_crl_is_refused(void **state)
{
  struct xca_tcrl_spec spec = {.this_s = -60, .next_s = 3600, .md = "SHA1"};
  char *pem = xca_certgen_crl(xca_fixture_tcert("int2"), &spec);
  X509 *int2 = xca_fixture_cert("int2");
  struct xca_crl *crl = NULL;
  (void)state;

  assert_non_null(pem);
  assert_int_equal(xca_crl_new(pem, strlen(pem), int2, &crl, NULL), XCA_E_WEAK_DIGEST);
  X509_free(int2);
  free(pem);
}

static void malformed_texts_and_keys_are_refused(void **state)
{
  const char *listed[] = {"dev", NULL};
  char *pem = crl_of("int2", listed, -60, 3600);
  char *key = xca_fixture_key_pem("dev");
  char buf[16384];
  X509_CRL *crl = NULL;
  (void)state;

  assert_int_equal(xca_crl_parse_pem("", 0, &crl), XCA_E_BAD_CRL);
  assert_int_equal(xca_crl_parse_pem("hello", 5, &crl), XCA_E_BAD_CRL);
  /* Two CRLs in one text. */
  snprintf(buf, sizeof(buf), "%s%s", pem, pem);
  assert_int_equal(xca_crl_parse_pem(buf, strlen(buf), &crl), XCA_E_BAD_CRL);
  /* A certificate where a CRL belongs. */
  char *cert = xca_fixture_pem("dev");
  assert_int_equal(xca_crl_parse_pem(cert, strlen(cert), &crl), XCA_E_BAD_CRL);
  /* A private key along: refused as such. */
  snprintf(buf, sizeof(buf), "%s%s", pem, key);
  assert_int_equal(xca_crl_parse_pem(buf, strlen(buf), &crl), XCA_E_PRIVATE_KEY);
  /* Base64 damaged inside the block. */
  snprintf(buf, sizeof(buf), "%s", pem);
  buf[strlen("-----BEGIN X509 CRL-----\n") + 10] = '!';
  assert_int_equal(xca_crl_parse_pem(buf, strlen(buf), &crl), XCA_E_BAD_CRL);
  assert_int_equal(ERR_peek_error(), 0);
  free(cert);
  free(key);
  free(pem);
}

static void newer_means_a_later_this_update(void **state)
{
  struct xca_crl_info held = {.this_update = 1000};
  struct xca_crl_info same = {.this_update = 1000};
  struct xca_crl_info older = {.this_update = 999};
  struct xca_crl_info newer = {.this_update = 1001};
  (void)state;

  assert_false(xca_crl_is_newer(&held, &same));
  assert_false(xca_crl_is_newer(&held, &older));
  assert_true(xca_crl_is_newer(&held, &newer));
}

static void a_crl_put_replaces_the_one_held_for_its_issuer(void **state)
{
  struct fixture *f = *state;
  const char *dev[] = {"dev", NULL};
  const char *sibling[] = {"sibling", NULL};
  char sha[XCA_SHA256_HEX];
  X509 *d = xca_fixture_cert("dev");

  sha_of("int2", sha);
  hold_crl(f, "int2", dev, -60, 3600);
  assert_int_equal(xca_revocation_crl_count(f->rev), 1);
  assert_true(xca_crl_lists(xca_revocation_crl(f->rev, sha), X509_get0_serialNumber(d)));
  unsigned long g = xca_revocation_generation(f->rev);
  hold_crl(f, "int2", sibling, -30, 3600);
  assert_true(xca_revocation_generation(f->rev) != g);
  assert_int_equal(xca_revocation_crl_count(f->rev), 1);
  assert_false(xca_crl_lists(xca_revocation_crl(f->rev, sha), X509_get0_serialNumber(d)));
  assert_int_equal(xca_revocation_remove_crl(f->rev, sha), XCA_OK);
  assert_int_equal(xca_revocation_remove_crl(f->rev, sha), XCA_E_NOT_FOUND);
  assert_null(xca_revocation_crl(f->rev, sha));
  X509_free(d);
}

/* ---- the expired policy ---- */

static int expired_seen;
static void count_expired(void *arg, const struct xca_crl_info *info)
{
  (void)arg;
  (void)info;
  expired_seen++;
}

static void an_expired_crl_is_reported_once(void **state)
{
  struct fixture *f = *state;

  hold_crl(f, "int2", NULL, -7200, -3600); /* nextUpdate an hour ago */
  hold_crl(f, "int1", NULL, -60, 3600);
  expired_seen = 0;
  unsigned long g = xca_revocation_generation(f->rev);
  assert_int_equal(xca_revocation_expire(f->rev, time(NULL), count_expired, NULL), 1);
  assert_int_equal(xca_revocation_expire(f->rev, time(NULL), count_expired, NULL), 1);
  assert_int_equal(expired_seen, 1);
  assert_int_equal(xca_revocation_expired_count(f->rev), 1);
  /* accept: nothing changes what is revoked. */
  assert_true(xca_revocation_generation(f->rev) == g);
}

static void under_refuse_an_expired_crl_refuses_chains_through_its_issuer(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;
  char why[256];

  hold_crl(f, "int2", NULL, -7200, -3600);
  assert_int_equal(verify(f, "dev", &res), XCA_OK); /* accept: enforced, not refused */
  xca_revocation_set_expired_policy(f->rev, XCA_CRL_EXPIRED_REFUSE);
  unsigned long g = xca_revocation_generation(f->rev);
  assert_int_equal(xca_revocation_expire(f->rev, time(NULL), NULL, NULL), 1);
  assert_true(xca_revocation_generation(f->rev) != g);
  assert_int_equal(verify(f, "dev", &res), XCA_E_CRL_EXPIRED);
  assert_int_equal(res.error_depth, 0);
  xca_chain_describe(&res, why, sizeof(why));
  assert_non_null(strstr(why, "the CRL of CN=Technician-Z CA is past its nextUpdate"));
  /* Not through that issuer: unaffected. */
  assert_int_equal(verify(f, "dev-y", &res), XCA_OK);
  /* A newer CRL lifts it. */
  hold_crl(f, "int2", NULL, -10, 3600);
  assert_int_equal(verify(f, "dev", &res), XCA_OK);
}

/* ---- the chain check ---- */

static void a_revoked_certificate_is_refused_at_its_depth(void **state)
{
  struct fixture *f = *state;
  const char *names[] = {"dev", "int2", "int1", "root"};
  struct xca_chain_result res;
  char sha[XCA_SHA256_HEX];
  char why[256];
  char want[128];

  assert_int_equal(verify(f, "dev", &res), XCA_OK);
  for (int depth = 0; depth < 4; depth++) {
    sha_of(names[depth], sha);
    assert_int_equal(xca_revocation_add(f->rev, sha, "keyCompromise"), XCA_OK);
    assert_int_equal(verify(f, "dev", &res), XCA_E_REVOKED);
    assert_int_equal(res.policy_error, XCA_E_REVOKED);
    assert_int_equal(res.error_depth, depth);
    assert_int_equal(res.chain_len, 0);
    assert_string_equal(res.revoked_sha256, sha);
    xca_chain_describe(&res, why, sizeof(why));
    snprintf(want, sizeof(want), "certificate is revoked at depth %d (sha256 %.16s): revoked "
             "(keyCompromise)", depth, sha);
    assert_string_equal(why, want);
    assert_int_equal(xca_revocation_remove(f->rev, sha), XCA_OK);
    assert_int_equal(verify(f, "dev", &res), XCA_OK);
  }
  assert_int_equal(ERR_peek_error(), 0);
}

static void a_revoked_intermediate_cuts_off_its_devices_only(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;
  char sha[XCA_SHA256_HEX];

  sha_of("int2", sha);
  xca_revocation_add(f->rev, sha, NULL);
  assert_int_equal(verify(f, "dev", &res), XCA_E_REVOKED);
  assert_int_equal(verify(f, "sibling", &res), XCA_E_REVOKED);
  assert_int_equal(verify(f, "dev-y", &res), XCA_OK);
  /* The highest revoked certificate is named. */
  sha_of("dev", sha);
  xca_revocation_add(f->rev, sha, NULL);
  assert_int_equal(verify(f, "dev", &res), XCA_E_REVOKED);
  assert_int_equal(res.error_depth, 1);
}

static void a_crl_listing_a_member_refuses_at_its_depth(void **state)
{
  struct fixture *f = *state;
  const char *dev[] = {"dev", NULL};
  const char *int2[] = {"int2", NULL};
  struct xca_chain_result res;
  char why[256];

  hold_crl(f, "int2", dev, -60, 3600);
  assert_int_equal(verify(f, "dev", &res), XCA_E_REVOKED);
  assert_int_equal(res.error_depth, 0);
  xca_chain_describe(&res, why, sizeof(why));
  assert_non_null(strstr(why, ": listed in the CRL of CN=Technician-Z CA"));
  assert_int_equal(verify(f, "sibling", &res), XCA_OK);
  /* Factory-Y's CRL listing Technician-Z's certificate. */
  hold_crl(f, "int1", int2, -60, 3600);
  assert_int_equal(verify(f, "sibling", &res), XCA_E_REVOKED);
  assert_int_equal(res.error_depth, 1);
  assert_int_equal(verify(f, "dev-y", &res), XCA_OK);
}

static void a_revoked_verified_intermediate_fails_verify_ca(void **state)
{
  struct fixture *f = *state;
  X509 *int1 = xca_fixture_cert("int1");
  struct xca_chain_result res;
  char sha[XCA_SHA256_HEX];

  assert_int_equal(xca_trust_put(f->trust, "int1", int1), XCA_OK);
  assert_int_equal(xca_trust_verify_ca(f->trust, int1, NULL, 5, 0, &res), XCA_OK);
  xca_cert_sha256(int1, sha);
  xca_revocation_add(f->rev, sha, NULL);
  assert_int_equal(xca_trust_verify_ca(f->trust, int1, NULL, 5, 0, &res), XCA_E_REVOKED);
  /* As an anchor of its devices too. */
  assert_int_equal(verify(f, "dev-y", &res), XCA_E_REVOKED);
  X509_free(int1);
}

static int reason_calls;
static int give_reason(void *arg, const char *sha256, char *reason, size_t len)
{
  (void)arg;
  (void)sha256;
  reason_calls++;
  snprintf(reason, len, "superseded");
  return 1;
}

static void a_reason_loaded_later_is_asked_for_once(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;
  char sha[XCA_SHA256_HEX];
  char why[256];

  xca_revocation_set_reason_fn(f->rev, give_reason, NULL);
  reason_calls = 0;
  sha_of("dev", sha);
  xca_revocation_add(f->rev, sha, NULL);
  assert_int_equal(verify(f, "dev", &res), XCA_E_REVOKED);
  assert_int_equal(verify(f, "dev", &res), XCA_E_REVOKED);
  assert_int_equal(reason_calls, 1);
  xca_chain_describe(&res, why, sizeof(why));
  assert_non_null(strstr(why, ": revoked (superseded)"));
}

static void no_revocation_set_revokes_nothing(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;
  char sha[XCA_SHA256_HEX];

  sha_of("dev", sha);
  xca_revocation_add(f->rev, sha, NULL);
  xca_trust_set_revocation(f->trust, NULL);
  assert_int_equal(verify(f, "dev", &res), XCA_OK);
  assert_null(xca_trust_revocation(f->trust));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(add_has_remove_and_generation),
    T(only_lowercase_sha256_is_held),
    T(a_long_reason_is_cut_to_64),
    T(clear_drops_every_thumbprint),
    T(a_crl_is_parsed_checked_and_its_serials_found),
    T(a_crl_of_another_key_or_issuer_is_refused),
    T(a_sha1_signed_crl_is_refused),
    T(malformed_texts_and_keys_are_refused),
    T(newer_means_a_later_this_update),
    T(a_crl_put_replaces_the_one_held_for_its_issuer),
    T(an_expired_crl_is_reported_once),
    T(under_refuse_an_expired_crl_refuses_chains_through_its_issuer),
    T(a_revoked_certificate_is_refused_at_its_depth),
    T(a_revoked_intermediate_cuts_off_its_devices_only),
    T(a_crl_listing_a_member_refuses_at_its_depth),
    T(a_revoked_verified_intermediate_fails_verify_ca),
    T(a_reason_loaded_later_is_asked_for_once),
    T(no_revocation_set_revokes_nothing),
  };

  xca_fixture_use(pki, sizeof(pki) / sizeof(pki[0]));
  return cmocka_run_group_tests(tests, xca_fixture_setup, xca_fixture_teardown);
}
