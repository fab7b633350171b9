/* Chain verification against the verified-CA set, on certificates of
 * scripts/x509ca-pki's profiles made in-process: root -> int1 -> int2 ->
 * device, plus broken links. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include "certgen.h"
#include "certinfo.h"
#include "pki_fixture.h"
#include "trust.h"
#include "xca_err.h"

static const struct xca_fixture_entry pki[] = {
  {"root", NULL, {.profile = XCA_TCERT_CA}},
  {"int1", "root", {.profile = XCA_TCERT_CA}},
  {"int2", "int1", {.profile = XCA_TCERT_CA}},
  {"dev", "int2", {.profile = XCA_TCERT_DEVICE}},
  {"dev-expired", "int2", {.profile = XCA_TCERT_DEVICE, XCA_FIXTURE_EXPIRED}},
  {"int-expired", "root", {.profile = XCA_TCERT_CA, XCA_FIXTURE_EXPIRED}},
  {"dev-under-expired", "int-expired", {.profile = XCA_TCERT_DEVICE}},
  /* CA:FALSE, yet it signs (as x509ca-pki --not-ca makes it) */
  {"int-notca", "root", {.profile = XCA_TCERT_CA, .basic_constraints = "critical,CA:FALSE"}},
  {"dev-under-notca", "int-notca", {.profile = XCA_TCERT_DEVICE}},
  {"int-p0", "root", {.profile = XCA_TCERT_CA, .basic_constraints = "critical,CA:TRUE,pathlen:0"}},
  {"int-p0-child", "int-p0", {.profile = XCA_TCERT_CA}},
  {"dev-pathlen", "int-p0-child", {.profile = XCA_TCERT_DEVICE}},
  {"other", NULL, {.profile = XCA_TCERT_CA}},
  {"stranger", "other", {.profile = XCA_TCERT_DEVICE}},
  {"lonely", NULL, {.profile = XCA_TCERT_DEVICE}},
};

struct fixture {
  struct xca_trust *trust;
  X509 *root, *int1, *int2, *other;
};

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  f->trust = xca_trust_new();
  f->root = xca_fixture_cert("root");
  f->int1 = xca_fixture_cert("int1");
  f->int2 = xca_fixture_cert("int2");
  f->other = xca_fixture_cert("other");
  assert_non_null(f->trust);
  assert_non_null(f->root);
  assert_non_null(f->int2);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  xca_trust_free(f->trust);
  X509_free(f->root);
  X509_free(f->int1);
  X509_free(f->int2);
  X509_free(f->other);
  free(f);
  return 0;
}

/* Verify the fixture's certificate name with the chain it would send (or
 * without intermediates when with_chain is 0). */
static int verify_named(struct xca_trust *trust, const char *name, int with_chain,
                        struct xca_chain_result *res)
{
  X509 *leaf = xca_fixture_cert(name);
  STACK_OF(X509) *chain = NULL;
  int rc;

  assert_non_null(leaf);
  if (with_chain) {
    chain = xca_fixture_chain(name);
    assert_non_null(chain);
  }
  rc = xca_trust_verify(trust, leaf, chain, 5, 0, res);
  sk_X509_pop_free(chain, X509_free);
  X509_free(leaf);
  return rc;
}

static void root_verified_accepts_three_level_chain(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  assert_int_equal(xca_trust_put(f->trust, "root", f->root), XCA_OK);
  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_OK);
  assert_int_equal(res.x509_error, X509_V_OK);
  assert_int_equal(res.anchor_count, 1);
  assert_string_equal(res.anchors[0], "root");
}

static void intermediate_alone_is_an_anchor(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  assert_int_equal(xca_trust_put(f->trust, "int2", f->int2), XCA_OK);
  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_OK);
  assert_string_equal(res.anchors[0], "int2");
  /* The leaf alone suffices when its issuer is trusted. */
  assert_int_equal(verify_named(f->trust, "dev", 0, &res), XCA_OK);
}

/* Verify dev with its chain; thumbprints gets the chain's thumbprints as
 * the audit stream stores them (xca_chain_thumbprints). */
static int verify_dev_thumbprints(struct xca_trust *trust, char thumbprints[XCA_CHAIN_TEXT_MAX])
{
  struct xca_chain_result res;
  int rc = verify_named(trust, "dev", 1, &res);

  snprintf(thumbprints, XCA_CHAIN_TEXT_MAX, "untouched");
  xca_chain_thumbprints(&res, thumbprints, XCA_CHAIN_TEXT_MAX);
  return rc;
}

/* Append ",<sha256 of the fixture file name>" (no comma when buf is empty). */
static void append_sha256(char *buf, size_t len, const char *name)
{
  char hex[XCA_SHA256_HEX];
  X509 *cert = xca_fixture_cert(name);

  assert_non_null(cert);
  xca_cert_sha256(cert, hex);
  X509_free(cert);
  snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? "," : "", hex);
}

static void thumbprints_list_the_verified_chain_leaf_first(void **state)
{
  struct fixture *f = *state;
  char want[512] = "";
  char got[XCA_CHAIN_TEXT_MAX];

  assert_int_equal(xca_trust_put(f->trust, "root", f->root), XCA_OK);
  assert_int_equal(verify_dev_thumbprints(f->trust, got), XCA_OK);
  append_sha256(want, sizeof(want), "dev");
  append_sha256(want, sizeof(want), "int2");
  append_sha256(want, sizeof(want), "int1");
  append_sha256(want, sizeof(want), "root"); /* the anchor, never sent, is listed */
  assert_string_equal(got, want);
}

static void thumbprints_stop_at_an_intermediate_anchor(void **state)
{
  struct fixture *f = *state;
  char want[512] = "";
  char got[XCA_CHAIN_TEXT_MAX];

  assert_int_equal(xca_trust_put(f->trust, "int2", f->int2), XCA_OK);
  assert_int_equal(verify_dev_thumbprints(f->trust, got), XCA_OK);
  append_sha256(want, sizeof(want), "dev");
  append_sha256(want, sizeof(want), "int2");
  assert_string_equal(got, want);
}

static void thumbprints_empty_when_refused(void **state)
{
  struct fixture *f = *state;
  char got[XCA_CHAIN_TEXT_MAX];

  assert_int_equal(xca_trust_put(f->trust, "other", f->other), XCA_OK);
  assert_int_equal(verify_dev_thumbprints(f->trust, got), XCA_E_CHAIN);
  assert_string_equal(got, "");
}

/* A buffer too short for the whole chain gets whole thumbprints only. */
static void thumbprints_cut_at_a_whole_thumbprint(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;
  char want[512] = "";
  char got[2 * XCA_SHA256_HEX + 10];

  assert_int_equal(xca_trust_put(f->trust, "root", f->root), XCA_OK);
  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_OK);
  xca_chain_thumbprints(&res, got, sizeof(got));
  append_sha256(want, sizeof(want), "dev");
  append_sha256(want, sizeof(want), "int2");
  assert_string_equal(got, want);
  xca_chain_thumbprints(&res, got, XCA_SHA256_HEX - 1);
  assert_string_equal(got, "");
}

static void empty_set_refuses(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_E_CHAIN);
  assert_int_not_equal(res.x509_error, X509_V_OK);
  assert_int_equal(res.anchor_count, 0);
}

static void leaf_without_intermediates_refused_under_root(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  xca_trust_put(f->trust, "root", f->root);
  assert_int_equal(verify_named(f->trust, "dev", 0, &res), XCA_E_CHAIN);
  assert_int_equal(res.x509_error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

static void removed_ca_no_longer_anchors(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  xca_trust_put(f->trust, "root", f->root);
  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_OK);
  assert_int_equal(xca_trust_remove(f->trust, "root"), XCA_OK);
  assert_int_equal(xca_trust_count(f->trust), 0);
  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_E_CHAIN);
  assert_int_equal(xca_trust_remove(f->trust, "root"), XCA_E_NOT_FOUND);
}

static void both_root_and_intermediate_are_reported(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  xca_trust_put(f->trust, "root", f->root);
  xca_trust_put(f->trust, "int1", f->int1);
  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_OK);
  assert_true(res.anchor_count >= 1);
  /* Dropping one still leaves a path through the other. */
  xca_trust_remove(f->trust, "int1");
  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_OK);
}

static void expired_leaf_refused(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  xca_trust_put(f->trust, "root", f->root);
  assert_int_equal(verify_named(f->trust, "dev-expired", 1, &res), XCA_E_CHAIN);
  assert_int_equal(res.x509_error, X509_V_ERR_CERT_HAS_EXPIRED);
  assert_int_equal(res.error_depth, 0);
}

static void expired_intermediate_refused(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  xca_trust_put(f->trust, "root", f->root);
  assert_int_equal(verify_named(f->trust, "dev-under-expired", 1, &res), XCA_E_CHAIN);
  assert_int_equal(res.x509_error, X509_V_ERR_CERT_HAS_EXPIRED);
  assert_int_equal(res.error_depth, 1);
}

static void intermediate_without_ca_flag_refused(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  xca_trust_put(f->trust, "root", f->root);
  assert_int_equal(verify_named(f->trust, "dev-under-notca", 1, &res), XCA_E_CHAIN);
  assert_int_equal(res.x509_error, X509_V_ERR_INVALID_CA);
}

static void pathlen_is_enforced(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  xca_trust_put(f->trust, "root", f->root);
  assert_int_equal(verify_named(f->trust, "dev-pathlen", 1, &res), XCA_E_CHAIN);
  assert_int_equal(res.x509_error, X509_V_ERR_PATH_LENGTH_EXCEEDED);
}

static void max_depth_is_enforced(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;
  X509 *leaf = xca_fixture_cert("dev");
  STACK_OF(X509) *chain = xca_fixture_chain("dev");

  xca_trust_put(f->trust, "root", f->root);
  /* leaf -> int2 -> int1 -> root needs depth 2 below the anchor. */
  assert_int_equal(xca_trust_verify(f->trust, leaf, chain, 1, 0, &res), XCA_E_CHAIN);
  assert_int_equal(res.x509_error, X509_V_ERR_CERT_CHAIN_TOO_LONG);
  assert_int_equal(xca_trust_verify(f->trust, leaf, chain, 2, 0, &res), XCA_OK);
  sk_X509_pop_free(chain, X509_free);
  X509_free(leaf);
}

static void other_root_does_not_anchor(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  xca_trust_put(f->trust, "other", f->other);
  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_E_CHAIN);
  assert_int_equal(verify_named(f->trust, "stranger", 1, &res), XCA_OK);
  assert_string_equal(res.anchors[0], "other");
}

static void self_signed_leaf_refused(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  xca_trust_put(f->trust, "root", f->root);
  assert_int_equal(verify_named(f->trust, "lonely", 0, &res), XCA_E_CHAIN);
}

static void verification_time_is_honoured(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;
  X509 *leaf = xca_fixture_cert("dev");
  STACK_OF(X509) *chain = xca_fixture_chain("dev");
  time_t far_future = time(NULL) + 3 * 365 * 86400;

  xca_trust_put(f->trust, "root", f->root);
  assert_int_equal(xca_trust_verify(f->trust, leaf, chain, 5, far_future, &res), XCA_E_CHAIN);
  assert_int_equal(res.x509_error, X509_V_ERR_CERT_HAS_EXPIRED);
  sk_X509_pop_free(chain, X509_free);
  X509_free(leaf);
}

static void put_refuses_non_ca_and_bad_names(void **state)
{
  struct fixture *f = *state;
  X509 *leaf = xca_fixture_cert("dev");
  char long_name[80];

  memset(long_name, 'a', sizeof(long_name) - 1);
  long_name[sizeof(long_name) - 1] = '\0';
  assert_int_equal(xca_trust_put(f->trust, "dev", leaf), XCA_E_NOT_CA);
  assert_int_equal(xca_trust_put(f->trust, "", f->root), XCA_E_BAD_NAME);
  assert_int_equal(xca_trust_put(f->trust, long_name, f->root), XCA_E_BAD_NAME);
  assert_int_equal(xca_trust_count(f->trust), 0);
  X509_free(leaf);
}

static void put_replaces_same_name(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  xca_trust_put(f->trust, "ca", f->other);
  xca_trust_put(f->trust, "ca", f->root);
  assert_int_equal(xca_trust_count(f->trust), 1);
  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_OK);
  assert_int_equal(verify_named(f->trust, "stranger", 1, &res), XCA_E_CHAIN);
}

static void many_cas_do_not_disturb_lookup(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;
  char name[32];

  /* The same certificate under many names shares one subject bucket; the
   * anchor list is bounded. */
  for (int i = 0; i < 200; i++) {
    snprintf(name, sizeof(name), "ca-%d", i);
    assert_int_equal(xca_trust_put(f->trust, name, f->other), XCA_OK);
  }
  xca_trust_put(f->trust, "root", f->root);
  assert_int_equal(xca_trust_count(f->trust), 201);
  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_OK);
  assert_string_equal(res.anchors[0], "root");
  xca_trust_clear(f->trust);
  assert_int_equal(xca_trust_count(f->trust), 0);
}

/* The thumbprint of the fixture's certificate name. */
static void fixture_sha256(const char *name, char out[XCA_SHA256_HEX])
{
  X509 *cert = xca_fixture_cert(name);
  assert_non_null(cert);
  xca_cert_sha256(cert, out);
  X509_free(cert);
}

static void chain_thumbprints_leaf_first(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;
  const char *const order[] = {"dev", "int2", "int1", "root"};
  char sha[XCA_SHA256_HEX];

  xca_trust_put(f->trust, "root", f->root);
  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_OK);
  assert_int_equal(res.chain_len, 4);
  for (int i = 0; i < 4; i++) {
    fixture_sha256(order[i], sha);
    assert_string_equal(res.chain_sha256[i], sha);
  }
  /* A verified intermediate ends the chain. */
  xca_trust_clear(f->trust);
  xca_trust_put(f->trust, "int2", f->int2);
  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_OK);
  assert_int_equal(res.chain_len, 2);
  fixture_sha256("int2", sha);
  assert_string_equal(res.chain_sha256[1], sha);
  /* A failed chain names none. */
  xca_trust_clear(f->trust);
  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_E_CHAIN);
  assert_int_equal(res.chain_len, 0);
}

/* A chain of n certificates made in memory: a root, n - 2 intermediates, a
 * leaf; certs[0] is the leaf, certs[n - 1] the root. */
static void make_chain(struct xca_tcert *certs, int n)
{
  char cn[32];

  for (int i = n - 1; i >= 0; i--) {
    snprintf(cn, sizeof(cn), i == 0 ? "leaf" : "ca-%d", i);
    assert_int_equal(xca_certgen(&certs[i], cn, i == n - 1 ? NULL : &certs[i + 1], i > 0,
                                 -3600, 86400),
                     0);
  }
}

/* Verify the leaf of n made certificates with its intermediates sent. */
static int verify_made(struct xca_trust *trust, int n, struct xca_chain_result *res)
{
  struct xca_tcert certs[XCA_CHAIN_MAX + 2];
  STACK_OF(X509) *sent = sk_X509_new_null();
  int rc;

  make_chain(certs, n);
  for (int i = 1; i < n - 1; i++) {
    sk_X509_push(sent, certs[i].cert);
  }
  xca_trust_clear(trust);
  assert_int_equal(xca_trust_put(trust, "root", certs[n - 1].cert), XCA_OK);
  rc = xca_trust_verify(trust, certs[0].cert, sent, 16, 0, res);
  sk_X509_free(sent);
  for (int i = 0; i < n; i++) {
    xca_certgen_free(&certs[i]);
  }
  return rc;
}

static void chain_longer_than_max_refused(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  assert_int_equal(verify_made(f->trust, XCA_CHAIN_MAX, &res), XCA_OK);
  assert_int_equal(res.chain_len, XCA_CHAIN_MAX);
  assert_int_equal(verify_made(f->trust, XCA_CHAIN_MAX + 1, &res), XCA_E_CHAIN);
  assert_int_equal(res.x509_error, X509_V_ERR_CERT_CHAIN_TOO_LONG);
  assert_int_equal(res.chain_len, 0);
}

/* Check the fixture's certificate name as an enrollment group's CA,
 * sending untrusted. */
static int verify_ca_named(struct xca_trust *trust, const char *name, STACK_OF(X509) *untrusted,
                           struct xca_chain_result *res)
{
  X509 *ca = xca_fixture_cert(name);
  int rc;

  assert_non_null(ca);
  rc = xca_trust_verify_ca(trust, ca, untrusted, 5, 0, res);
  X509_free(ca);
  return rc;
}

static void verify_ca_under_verified_root(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;
  STACK_OF(X509) *untrusted = sk_X509_new_null();

  xca_trust_put(f->trust, "root", f->root);
  assert_int_equal(verify_ca_named(f->trust, "int1", NULL, &res), XCA_OK);
  assert_int_equal(res.chain_len, 2);
  assert_string_equal(res.anchors[0], "root");
  /* Two levels down: only with the intermediate between them. */
  assert_int_equal(verify_ca_named(f->trust, "int2", NULL, &res), XCA_E_CHAIN);
  assert_int_equal(res.x509_error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  sk_X509_push(untrusted, f->int1);
  assert_int_equal(verify_ca_named(f->trust, "int2", untrusted, &res), XCA_OK);
  assert_int_equal(res.chain_len, 3);
  sk_X509_free(untrusted);
}

static void verify_ca_member_of_the_set(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  xca_trust_put(f->trust, "int2", f->int2);
  assert_int_equal(verify_ca_named(f->trust, "int2", NULL, &res), XCA_OK);
  assert_int_equal(res.chain_len, 1);
  assert_int_equal(res.anchor_count, 1);
  assert_string_equal(res.anchors[0], "int2");
  xca_trust_put(f->trust, "root", f->root);
  assert_int_equal(verify_ca_named(f->trust, "root", NULL, &res), XCA_OK);
  assert_string_equal(res.anchors[0], "root");
}

static void verify_ca_refusals(void **state)
{
  struct fixture *f = *state;
  struct xca_chain_result res;

  xca_trust_put(f->trust, "root", f->root);
  assert_int_equal(verify_ca_named(f->trust, "dev", NULL, &res), XCA_E_NOT_CA);
  assert_int_equal(verify_ca_named(f->trust, "other", NULL, &res), XCA_E_CHAIN);
  assert_int_equal(res.x509_error, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
  assert_int_equal(verify_ca_named(f->trust, "int-expired", NULL, &res), XCA_E_CHAIN);
  assert_int_equal(res.x509_error, X509_V_ERR_CERT_HAS_EXPIRED);
  assert_int_equal(verify_ca_named(f->trust, "int-notca", NULL, &res), XCA_E_NOT_CA);
  xca_trust_clear(f->trust);
  assert_int_equal(verify_ca_named(f->trust, "int1", NULL, &res), XCA_E_CHAIN);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* A look-alike of ca: the same subject and key identifiers (copied with the
 * extensions), but a new key that signs it. */
static X509 *look_alike(X509 *ca)
{
  X509 *copy = X509_dup(ca);
  EVP_PKEY *key = EVP_EC_gen("P-256");

  assert_non_null(copy);
  assert_non_null(key);
  assert_int_equal(X509_set_pubkey(copy, key), 1);
  assert_true(X509_sign(copy, key, EVP_sha256()) > 0);
  EVP_PKEY_free(key);
  return copy;
}

static void look_alike_ca_does_not_shadow_the_real_one(void **state)
{
  struct fixture *f = *state;
  X509 *rogue = look_alike(f->root);
  struct xca_chain_result res;

  /* Added last, the rogue is the first candidate the index finds. */
  assert_int_equal(xca_trust_put(f->trust, "root", f->root), XCA_OK);
  assert_int_equal(xca_trust_put(f->trust, "rogue", rogue), XCA_OK);
  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_OK);
  assert_int_equal(res.anchor_count, 1);
  assert_string_equal(res.anchors[0], "root");
  X509_free(rogue);
}

static void refusal_leaves_openssl_error_queue_empty(void **state)
{
  struct fixture *f = *state;
  X509 *rogue = look_alike(f->root);
  struct xca_chain_result res;

  /* Only the look-alike: its key did not sign int1, a signature failure. */
  assert_int_equal(xca_trust_put(f->trust, "rogue", rogue), XCA_OK);
  ERR_clear_error();
  assert_int_equal(verify_named(f->trust, "dev", 1, &res), XCA_E_CHAIN);
  assert_int_equal(res.x509_error, X509_V_ERR_CERT_SIGNATURE_FAILURE);
  assert_int_equal(ERR_peek_error(), 0);
  X509_free(rogue);
}

/* As for a device's chain: an enrollment group's CA is checked on the
 * broker's thread (admin commands), where Mosquitto reads the queue. */
static void refused_group_ca_leaves_openssl_error_queue_empty(void **state)
{
  struct fixture *f = *state;
  X509 *rogue = look_alike(f->root);
  struct xca_chain_result res;

  assert_int_equal(xca_trust_put(f->trust, "rogue", rogue), XCA_OK);
  ERR_clear_error();
  assert_int_equal(verify_ca_named(f->trust, "int1", NULL, &res), XCA_E_CHAIN);
  assert_int_equal(res.x509_error, X509_V_ERR_CERT_SIGNATURE_FAILURE);
  assert_int_equal(ERR_peek_error(), 0);
  X509_free(rogue);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(root_verified_accepts_three_level_chain),
    T(intermediate_alone_is_an_anchor),
    T(empty_set_refuses),
    T(leaf_without_intermediates_refused_under_root),
    T(removed_ca_no_longer_anchors),
    T(both_root_and_intermediate_are_reported),
    T(expired_leaf_refused),
    T(expired_intermediate_refused),
    T(intermediate_without_ca_flag_refused),
    T(look_alike_ca_does_not_shadow_the_real_one),
    T(refusal_leaves_openssl_error_queue_empty),
    T(thumbprints_list_the_verified_chain_leaf_first),
    T(thumbprints_stop_at_an_intermediate_anchor),
    T(thumbprints_empty_when_refused),
    T(thumbprints_cut_at_a_whole_thumbprint),
    T(pathlen_is_enforced),
    T(max_depth_is_enforced),
    T(other_root_does_not_anchor),
    T(self_signed_leaf_refused),
    T(verification_time_is_honoured),
    T(put_refuses_non_ca_and_bad_names),
    T(put_replaces_same_name),
    T(many_cas_do_not_disturb_lookup),
    T(chain_thumbprints_leaf_first),
    T(chain_longer_than_max_refused),
    T(verify_ca_under_verified_root),
    T(verify_ca_member_of_the_set),
    T(verify_ca_refusals),
    T(refused_group_ca_leaves_openssl_error_queue_empty),
  };
  xca_fixture_use(pki, (int)(sizeof(pki) / sizeof(pki[0])));
  return cmocka_run_group_tests(tests, xca_fixture_setup, xca_fixture_teardown);
}
