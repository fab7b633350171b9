/* test_policy.c - unit tests of common/policy.h, the certificate policy,
 * and of where it is applied: the chain check (xca_trust_verify and
 * xca_chain_describe), the connect decision (xca_auth_decide) and the admin
 * uploads (uploadCA, verifyCA). Every rule is tested accepted and refused,
 * on certificates made in-process (tests/lib/certgen). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/x509_vfy.h>

#include "admin.h"
#include "auth.h"
#include "certgen.h"
#include "fake_kv.h"
#include "policy.h"
#include "trust.h"
#include "xca_err.h"

/* Made once: the issuers most tests sign with. */
static struct xca_tcert ec_root;  /* P-256 CA, SHA-256 */
static struct xca_tcert rsa_root; /* RSA-2048 CA, SHA-256 */
static struct xca_policy def;     /* the default policy */

static int group_setup(void **state)
{
  const struct xca_tcert_spec ec = {.cn = "EC Root", .is_ca = 1};
  const struct xca_tcert_spec rsa = {.cn = "RSA Root", .key = "RSA:2048", .is_ca = 1};

  (void)state;
  xca_policy_init(&def);
  return xca_certgen_spec(&ec_root, &ec, NULL) || xca_certgen_spec(&rsa_root, &rsa, NULL) ? -1
                                                                                          : 0;
}

static int group_teardown(void **state)
{
  (void)state;
  xca_certgen_free(&ec_root);
  xca_certgen_free(&rsa_root);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* Make spec's certificate (issuer NULL = self-signed); the test owns it. */
static struct xca_tcert make(struct xca_tcert_spec spec, const struct xca_tcert *issuer)
{
  struct xca_tcert t = {0};

  if (spec.cn == NULL) {
    spec.cn = "dev";
  }
  assert_int_equal(xca_certgen_spec(&t, &spec, issuer), 0);
  return t;
}

/* A leaf with key type key, signed by issuer with digest md (NULL: SHA-256). */
static struct xca_tcert leaf_of(const char *key, const char *md, const struct xca_tcert *issuer)
{
  return make((struct xca_tcert_spec){.key = key, .md = md}, issuer);
}

typedef int (*check_fn)(const struct xca_policy *p, X509 *cert, char *detail, size_t len);

static int check_signature(const struct xca_policy *p, X509 *cert, char *detail, size_t len)
{
  (void)p;
  return xca_policy_check_signature(cert, detail, len);
}

static int check_leaf(const struct xca_policy *p, X509 *cert, char *detail, size_t len)
{
  (void)p;
  return xca_policy_check_leaf(cert, detail, len);
}

/* Assert that fn accepts t's certificate (detail ""), then free t. */
static void accepted(check_fn fn, const struct xca_policy *p, struct xca_tcert t)
{
  char detail[XCA_POLICY_DETAIL_MAX] = "junk";

  int rc = fn(p, t.cert, detail, sizeof(detail));

  assert_string_equal(detail, ""); /* shows what was refused, if anything */
  assert_int_equal(rc, XCA_OK);
  xca_certgen_free(&t);
}

/* Assert that fn refuses t's certificate with err and detail, then free t. */
static void refused(check_fn fn, const struct xca_policy *p, struct xca_tcert t, int err,
                    const char *want_detail)
{
  char detail[XCA_POLICY_DETAIL_MAX] = "junk";

  assert_string_equal(xca_err_name(fn(p, t.cert, detail, sizeof(detail))), xca_err_name(err));
  assert_string_equal(detail, want_detail);
  xca_certgen_free(&t);
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */
/* ------------------------------------------------------------------------ */

static void test_rsa_of_min_bits_accepted_shorter_refused(void **state)
{
  (void)state;
  accepted(xca_policy_check_key, &def, leaf_of("RSA:2048", NULL, &ec_root));
  refused(xca_policy_check_key, &def, leaf_of("RSA:1024", NULL, &ec_root), XCA_E_WEAK_KEY,
          "RSA 1024 bits < 2048");
  refused(xca_policy_check_key, &def, leaf_of("RSA:512", NULL, &ec_root), XCA_E_WEAK_KEY,
          "RSA 512 bits < 2048");
}

static void test_min_rsa_bits_sets_the_bar(void **state)
{
  struct xca_policy p = {.min_rsa_bits = 3072};

  (void)state;
  refused(xca_policy_check_key, &p, leaf_of("RSA:2048", NULL, &ec_root), XCA_E_WEAK_KEY,
          "RSA 2048 bits < 3072");
  accepted(xca_policy_check_key, &p, leaf_of("RSA:3072", NULL, &ec_root));
  assert_int_equal(def.min_rsa_bits, 2048);
}

static void test_nist_curves_accepted(void **state)
{
  (void)state;
  accepted(xca_policy_check_key, &def, leaf_of("P-256", NULL, &ec_root));
  accepted(xca_policy_check_key, &def, leaf_of("P-384", NULL, &ec_root));
  accepted(xca_policy_check_key, &def, leaf_of("P-521", NULL, &ec_root));
}

static void test_other_curves_and_explicit_parameters_refused(void **state)
{
  (void)state;
  refused(xca_policy_check_key, &def, leaf_of("secp256k1", NULL, &ec_root), XCA_E_BAD_CURVE,
          "secp256k1; P-256, P-384 or P-521 required");
  refused(xca_policy_check_key, &def, leaf_of("brainpoolP256r1", NULL, &ec_root),
          XCA_E_BAD_CURVE, "brainpoolP256r1; P-256, P-384 or P-521 required");
  /* Explicit parameters, even of P-256 itself. */
  refused(xca_policy_check_key, &def, leaf_of("EC-EXPLICIT", NULL, &ec_root), XCA_E_BAD_CURVE,
          "explicit curve parameters; a named curve required");
}

static void test_eddsa_keys_accepted(void **state)
{
  (void)state;
  accepted(xca_policy_check_key, &def, leaf_of("ED25519", NULL, &ec_root));
  accepted(xca_policy_check_key, &def, leaf_of("ED448", NULL, &ec_root));
}

static void test_other_key_types_refused(void **state)
{
  (void)state;
  refused(xca_policy_check_key, &def, leaf_of("DSA", NULL, &ec_root), XCA_E_KEY_TYPE,
          "DSA; RSA, EC, Ed25519 or Ed448 required");
  refused(xca_policy_check_key, &def, leaf_of("X25519", NULL, &ec_root), XCA_E_KEY_TYPE,
          "X25519; RSA, EC, Ed25519 or Ed448 required");
}

/* ------------------------------------------------------------------------ */
/* Signatures                                                                */
/* ------------------------------------------------------------------------ */

static void test_sha2_and_sha3_signatures_accepted(void **state)
{
  static const char *const mds[] = {"SHA256", "SHA384", "SHA512"};
  static const char *const rsa_only[] = {"SHA3-256", "SHA3-384", "SHA3-512"};

  (void)state;
  for (size_t i = 0; i < sizeof(mds) / sizeof(mds[0]); i++) {
    accepted(check_signature, &def, leaf_of(NULL, mds[i], &ec_root));
    accepted(check_signature, &def, leaf_of(NULL, mds[i], &rsa_root));
  }
  for (size_t i = 0; i < sizeof(rsa_only) / sizeof(rsa_only[0]); i++) {
    accepted(check_signature, &def, leaf_of(NULL, rsa_only[i], &rsa_root));
  }
}

static void test_unknown_signature_algorithm_refused(void **state)
{
  (void)state;
  /* OpenSSL 3.0 cannot map ECDSA with SHA3 to its digest (nor verify it). */
  refused(check_signature, &def, leaf_of(NULL, "SHA3-256", &ec_root), XCA_E_WEAK_DIGEST,
          "unknown algorithm ecdsa_with_SHA3-256");
}

static void test_md5_sha1_sha224_signatures_refused(void **state)
{
  (void)state;
  refused(check_signature, &def, leaf_of(NULL, "MD5", &rsa_root), XCA_E_WEAK_DIGEST,
          "md5WithRSAEncryption < SHA-256");
  refused(check_signature, &def, leaf_of(NULL, "SHA1", &rsa_root), XCA_E_WEAK_DIGEST,
          "sha1WithRSAEncryption < SHA-256");
  refused(check_signature, &def, leaf_of(NULL, "SHA1", &ec_root), XCA_E_WEAK_DIGEST,
          "ecdsa-with-SHA1 < SHA-256");
  refused(check_signature, &def, leaf_of(NULL, "SHA224", &ec_root), XCA_E_WEAK_DIGEST,
          "ecdsa-with-SHA224 < SHA-256");
}

static void test_eddsa_signatures_accepted(void **state)
{
  struct xca_tcert ed_ca = make((struct xca_tcert_spec){.key = "ED25519", .is_ca = 1}, NULL);
  struct xca_tcert ed448_ca = make((struct xca_tcert_spec){.key = "ED448", .is_ca = 1}, NULL);

  (void)state;
  accepted(check_signature, &def, leaf_of(NULL, NULL, &ed_ca));
  accepted(check_signature, &def, leaf_of(NULL, NULL, &ed448_ca));
  xca_certgen_free(&ed_ca);
  xca_certgen_free(&ed448_ca);
}

/* ------------------------------------------------------------------------ */
/* One certificate: key, and signature unless self-signed                   */
/* ------------------------------------------------------------------------ */

static void test_self_signature_is_exempt_but_the_key_is_not(void **state)
{
  struct xca_tcert md5_root =
    make((struct xca_tcert_spec){.key = "RSA:2048", .md = "MD5", .is_ca = 1}, NULL);

  (void)state;
  refused(check_signature, &def, make((struct xca_tcert_spec){.key = "RSA:2048", .md = "MD5",
                                                               .is_ca = 1},
                                      NULL),
          XCA_E_WEAK_DIGEST, "md5WithRSAEncryption < SHA-256");
  accepted(xca_policy_check_cert, &def, md5_root);
  refused(xca_policy_check_cert, &def,
          make((struct xca_tcert_spec){.key = "RSA:1024", .md = "MD5", .is_ca = 1}, NULL),
          XCA_E_WEAK_KEY, "RSA 1024 bits < 2048");
}

static void test_issued_signature_counts(void **state)
{
  (void)state;
  refused(xca_policy_check_cert, &def,
          make((struct xca_tcert_spec){.cn = "Int", .md = "SHA1", .is_ca = 1}, &rsa_root),
          XCA_E_WEAK_DIGEST, "sha1WithRSAEncryption < SHA-256");
  /* Naming itself as issuer is not enough: another key signed it. */
  refused(xca_policy_check_cert, &def,
          make((struct xca_tcert_spec){.cn = "RSA Root", .md = "SHA1", .is_ca = 1}, &rsa_root),
          XCA_E_WEAK_DIGEST, "sha1WithRSAEncryption < SHA-256");
  accepted(xca_policy_check_cert, &def, make((struct xca_tcert_spec){.is_ca = 1}, &rsa_root));
}

/* ------------------------------------------------------------------------ */
/* Leaf rules                                                                */
/* ------------------------------------------------------------------------ */

static void test_end_entity_leaves_accepted(void **state)
{
  (void)state;
  accepted(check_leaf, &def, make((struct xca_tcert_spec){0}, &ec_root));
  accepted(check_leaf, &def, make((struct xca_tcert_spec){.basic_constraints = ""}, &ec_root));
  accepted(check_leaf, &def,
           make((struct xca_tcert_spec){.key_usage = "critical,digitalSignature,keyEncipherment",
                                        .ext_key_usage = "clientAuth"},
                &ec_root));
  accepted(check_leaf, &def,
           make((struct xca_tcert_spec){.ext_key_usage = "serverAuth,clientAuth"}, &ec_root));
}

static void test_ca_leaf_refused(void **state)
{
  (void)state;
  refused(check_leaf, &def, make((struct xca_tcert_spec){.is_ca = 1}, &ec_root), XCA_E_LEAF_IS_CA,
          "");
}

static void test_key_usage_without_digital_signature_refused(void **state)
{
  (void)state;
  refused(check_leaf, &def,
          make((struct xca_tcert_spec){.key_usage = "critical,keyEncipherment"}, &ec_root),
          XCA_E_LEAF_USAGE, "");
  refused(check_leaf, &def, make((struct xca_tcert_spec){.key_usage = "keyAgreement"}, &ec_root),
          XCA_E_LEAF_USAGE, "");
}

static void test_eku_without_client_auth_refused(void **state)
{
  (void)state;
  refused(check_leaf, &def, make((struct xca_tcert_spec){.ext_key_usage = "serverAuth"}, &ec_root),
          XCA_E_LEAF_EKU, "");
  /* anyExtendedKeyUsage does not name clientAuth either. */
  refused(check_leaf, &def,
          make((struct xca_tcert_spec){.ext_key_usage = "anyExtendedKeyUsage"}, &ec_root),
          XCA_E_LEAF_EKU, "");
}

/* ------------------------------------------------------------------------ */
/* Chains                                                                    */
/* ------------------------------------------------------------------------ */

/* A chain stack of a, b, c (references borrowed; free with sk_X509_free). */
static STACK_OF(X509) *chain_of(X509 *a, X509 *b, X509 *c)
{
  STACK_OF(X509) *sk = sk_X509_new_null();

  assert_non_null(sk);
  assert_true(sk_X509_push(sk, a) && sk_X509_push(sk, b) && sk_X509_push(sk, c));
  return sk;
}

/* The policy error of chain a, b, c; *depth the culprit's position. */
static int chain_error(X509 *a, X509 *b, X509 *c, int *depth, char *detail)
{
  STACK_OF(X509) *sk = chain_of(a, b, c);
  int rc = xca_policy_check_chain(&def, sk, depth, detail, XCA_POLICY_DETAIL_MAX);

  sk_X509_free(sk);
  return rc;
}

static void test_chain_names_the_failing_depth(void **state)
{
  struct xca_tcert md5_root =
    make((struct xca_tcert_spec){.cn = "R", .key = "RSA:2048", .md = "MD5", .is_ca = 1}, NULL);
  struct xca_tcert weak_root =
    make((struct xca_tcert_spec){.cn = "W", .key = "RSA:1024", .md = "MD5", .is_ca = 1}, NULL);
  struct xca_tcert good_int = make((struct xca_tcert_spec){.cn = "I", .is_ca = 1}, &md5_root);
  struct xca_tcert weak_int =
    make((struct xca_tcert_spec){.cn = "I", .key = "RSA:1024", .is_ca = 1}, &md5_root);
  struct xca_tcert leaf = make((struct xca_tcert_spec){0}, &good_int);
  char detail[XCA_POLICY_DETAIL_MAX];
  int depth = 99;

  (void)state;
  /* The anchor's MD5 self-signature is never verified: accepted. */
  assert_int_equal(chain_error(leaf.cert, good_int.cert, md5_root.cert, &depth, detail), XCA_OK);
  assert_int_equal(depth, -1);
  assert_int_equal(chain_error(leaf.cert, weak_int.cert, md5_root.cert, &depth, detail),
                   XCA_E_WEAK_KEY);
  assert_int_equal(depth, 1);
  assert_string_equal(detail, "RSA 1024 bits < 2048");
  /* Anchors included. */
  assert_int_equal(chain_error(leaf.cert, good_int.cert, weak_root.cert, &depth, detail),
                   XCA_E_WEAK_KEY);
  assert_int_equal(depth, 2);
  xca_certgen_free(&md5_root);
  xca_certgen_free(&weak_root);
  xca_certgen_free(&good_int);
  xca_certgen_free(&weak_int);
  xca_certgen_free(&leaf);
}

/* ------------------------------------------------------------------------ */
/* The chain check applies the policy (xca_trust_verify)                     */
/* ------------------------------------------------------------------------ */

/* Verify leaf (no intermediates) against a set trusting only ca under
 * policy p (NULL: the default); describe the result into why. */
static int verify_under(const struct xca_tcert *ca, const struct xca_policy *p,
                        struct xca_tcert leaf, struct xca_chain_result *res, char *why,
                        size_t why_len)
{
  struct xca_trust *trust = xca_trust_new();
  int rc;

  assert_non_null(trust);
  if (p != NULL) {
    xca_trust_set_policy(trust, p);
  }
  assert_int_equal(xca_trust_put(trust, "ca", ca->cert), XCA_OK);
  rc = xca_trust_verify(trust, leaf.cert, NULL, 5, 0, res);
  xca_chain_describe(res, why, why_len);
  xca_trust_free(trust);
  xca_certgen_free(&leaf);
  return rc;
}

static void test_trust_accepts_good_chains(void **state)
{
  static const char *const keys[] = {"P-256", "P-384", "P-521", "RSA:2048", "ED25519"};
  struct xca_chain_result res;
  char why[256];

  (void)state;
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    struct xca_tcert leaf = make((struct xca_tcert_spec){.key = keys[i],
                                                         .key_usage = "critical,digitalSignature",
                                                         .ext_key_usage = "clientAuth"},
                                 &rsa_root);
    assert_int_equal(verify_under(&rsa_root, NULL, leaf, &res, why, sizeof(why)), XCA_OK);
    assert_int_equal(res.policy_error, XCA_OK);
    assert_int_equal(res.x509_error, X509_V_OK);
    assert_int_equal(res.anchor_count, 1);
  }
}

static void test_trust_refuses_weak_leaf_key_and_names_it(void **state)
{
  struct xca_policy low = {.min_rsa_bits = 1024};
  struct xca_chain_result res;
  char why[256];

  (void)state;
  assert_int_equal(verify_under(&ec_root, NULL, leaf_of("RSA:1024", NULL, &ec_root), &res, why,
                                sizeof(why)),
                   XCA_E_WEAK_KEY);
  assert_int_equal(res.policy_error, XCA_E_WEAK_KEY);
  assert_int_equal(res.error_depth, 0);
  assert_int_equal(res.x509_error, X509_V_ERR_APPLICATION_VERIFICATION);
  assert_int_equal(res.anchor_count, 0);
  assert_string_equal(why, "certificate key too weak (RSA 1024 bits < 2048) at depth 0");
  /* The same kind of leaf passes when the trust set's policy allows it. */
  assert_int_equal(verify_under(&ec_root, &low, leaf_of("RSA:1024", NULL, &ec_root), &res, why,
                                sizeof(why)),
                   XCA_OK);
}

static void test_trust_refuses_weak_leaf_signature(void **state)
{
  struct xca_chain_result res;
  char why[256];

  (void)state;
  assert_int_equal(verify_under(&ec_root, NULL, leaf_of(NULL, "SHA1", &ec_root), &res, why,
                                sizeof(why)),
                   XCA_E_WEAK_DIGEST);
  assert_string_equal(why,
                      "certificate signature digest too weak (ecdsa-with-SHA1 < SHA-256) at depth 0");
  assert_int_equal(verify_under(&rsa_root, NULL, leaf_of(NULL, "MD5", &rsa_root), &res, why,
                                sizeof(why)),
                   XCA_E_WEAK_DIGEST);
  assert_string_equal(
    why, "certificate signature digest too weak (md5WithRSAEncryption < SHA-256) at depth 0");
}

static void test_trust_refuses_weak_anchor(void **state)
{
  struct xca_tcert weak_root =
    make((struct xca_tcert_spec){.cn = "Weak", .key = "RSA:1024", .md = "MD5", .is_ca = 1}, NULL);
  struct xca_chain_result res;
  char why[256];

  (void)state;
  /* xca_trust_put does not judge the CA: the chain check still does. */
  assert_int_equal(verify_under(&weak_root, NULL, leaf_of(NULL, NULL, &weak_root), &res, why,
                                sizeof(why)),
                   XCA_E_WEAK_KEY);
  assert_int_equal(res.error_depth, 1);
  assert_string_equal(why, "certificate key too weak (RSA 1024 bits < 2048) at depth 1");
  xca_certgen_free(&weak_root);
}

static void test_trust_reports_leaf_rules_before_openssl_purpose(void **state)
{
  struct xca_chain_result res;
  char why[256];

  (void)state;
  /* OpenSSL's SSL-client purpose check would say "unsuitable certificate
   * purpose"; the policy names the rule. */
  assert_int_equal(
    verify_under(&ec_root, NULL, make((struct xca_tcert_spec){.ext_key_usage = "serverAuth"},
                                      &ec_root),
                 &res, why, sizeof(why)),
    XCA_E_LEAF_EKU);
  assert_string_equal(why, "client certificate extendedKeyUsage lacks clientAuth at depth 0");
  assert_int_equal(verify_under(&ec_root, NULL, make((struct xca_tcert_spec){.is_ca = 1}, &ec_root),
                                &res, why, sizeof(why)),
                   XCA_E_LEAF_IS_CA);
  assert_string_equal(why, "client certificate is a CA certificate (CA:TRUE) at depth 0");
  assert_int_equal(
    verify_under(&ec_root, NULL,
                 make((struct xca_tcert_spec){.key_usage = "keyEncipherment"}, &ec_root), &res,
                 why, sizeof(why)),
    XCA_E_LEAF_USAGE);
  assert_string_equal(why, "client certificate keyUsage lacks digitalSignature at depth 0");
}

static void test_chain_describe_without_policy_error(void **state)
{
  struct xca_chain_result res;
  char why[256];

  (void)state;
  /* A leaf of another CA: the chain error, with OpenSSL's reason. */
  assert_int_equal(verify_under(&ec_root, NULL, leaf_of(NULL, NULL, &rsa_root), &res, why,
                                sizeof(why)),
                   XCA_E_CHAIN);
  assert_int_equal(res.policy_error, XCA_OK);
  assert_string_equal(why, "certificate chain does not lead to a verified CA (unable to get local "
                           "issuer certificate) at depth 0");
  memset(&res, 0, sizeof(res));
  res.error_depth = -1;
  res.x509_error = X509_V_ERR_UNSPECIFIED;
  xca_chain_describe(&res, why, sizeof(why));
  assert_string_equal(why, "certificate chain does not lead to a verified CA (unspecified "
                           "certificate verification error)");
  xca_chain_describe(&res, why, 12);
  assert_string_equal(why, "certificate");
}

/* ------------------------------------------------------------------------ */
/* The connect decision reports the policy reason                            */
/* ------------------------------------------------------------------------ */

static int enabled_ca_device(void *arg, const char *identity, struct xca_identity_rec *out)
{
  (void)arg;
  (void)identity;
  memset(out, 0, sizeof(*out));
  out->enabled = 1;
  out->auth = XCA_AUTH_CA;
  return XCA_OK;
}

static void test_auth_decide_gives_the_policy_error(void **state)
{
  struct xca_cert_facts facts;
  struct xca_ident ident;

  (void)state;
  memset(&facts, 0, sizeof(facts));
  strcpy(facts.cn, "dev");
  facts.cn_ok = 1;
  facts.chain.policy_error = XCA_E_WEAK_DIGEST;
  assert_int_equal(xca_auth_decide(&facts, "dev", NULL, NULL, enabled_ca_device, NULL, &ident),
                   XCA_E_WEAK_DIGEST);
  facts.chain.policy_error = XCA_OK;
  assert_int_equal(xca_auth_decide(&facts, "dev", NULL, NULL, enabled_ca_device, NULL, &ident),
                   XCA_E_CHAIN);
  facts.chain_ok = 1;
  assert_int_equal(xca_auth_decide(&facts, "dev", NULL, NULL, enabled_ca_device, NULL, &ident),
                   XCA_OK);
}

/* ------------------------------------------------------------------------ */
/* Admin uploads                                                             */
/* ------------------------------------------------------------------------ */

struct admin_fx {
  struct xca_fake_kv *fake;
  struct xca_registry reg;
  struct xca_config cfg;
  struct xca_admin_ctx ctx;
  char error[256]; /* the last command's error, "" on success */
  char code[128];  /* the last verificationCode returned */
};

static int admin_setup(void **state)
{
  struct admin_fx *fx = calloc(1, sizeof(*fx));

  assert_non_null(fx);
  fx->fake = xca_fake_kv_new();
  assert_non_null(fx->fake);
  assert_int_equal(xca_config_init(&fx->cfg), XCA_OK);
  fx->reg.kv = xca_fake_kv(fx->fake);
  fx->reg.prefix = "x509ca:";
  fx->ctx.reg = &fx->reg;
  fx->ctx.cfg = &fx->cfg;
  *state = fx;
  return 0;
}

static int admin_teardown(void **state)
{
  struct admin_fx *fx = *state;

  xca_config_free(&fx->cfg);
  xca_fake_kv_free(fx->fake);
  free(fx);
  return 0;
}

/* Run command with arguments name and certificate (the PEM of cert);
 * return 1 on success, 0 with fx->error set on an error reply. */
static int admin_run(struct admin_fx *fx, const char *command, const char *name,
                     const struct xca_tcert *cert)
{
  cJSON *req = cJSON_CreateObject();
  cJSON *cmd = cJSON_CreateObject();
  char *pem = xca_certgen_pem(cert);
  struct xca_admin_result res = {0};
  char *text;
  cJSON *reply, *r, *e, *code;

  assert_non_null(pem);
  cJSON_AddStringToObject(cmd, "command", command);
  cJSON_AddStringToObject(cmd, "name", name);
  cJSON_AddStringToObject(cmd, "certificate", pem);
  cJSON_AddItemToArray(cJSON_AddArrayToObject(req, "commands"), cmd);
  text = cJSON_PrintUnformatted(req);
  assert_int_equal(xca_admin_handle(&fx->ctx, text, strlen(text), "admin", &res), XCA_OK);
  reply = cJSON_Parse(res.response);
  r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(reply, "responses"), 0);
  e = cJSON_GetObjectItemCaseSensitive(r, "error");
  code = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "data"),
                                          "verificationCode");
  snprintf(fx->error, sizeof(fx->error), "%s", cJSON_IsString(e) ? e->valuestring : "");
  if (cJSON_IsString(code)) {
    snprintf(fx->code, sizeof(fx->code), "%s", code->valuestring);
  }
  cJSON_Delete(reply);
  cJSON_free(text);
  cJSON_Delete(req);
  free(pem);
  xca_admin_result_free(&res);
  return fx->error[0] == '\0';
}

/* Upload t as name and free it; return 1 on success (fx->code set). */
static int upload(struct admin_fx *fx, const char *name, struct xca_tcert t)
{
  int ok = admin_run(fx, "uploadCA", name, &t);

  xca_certgen_free(&t);
  return ok;
}

static void test_upload_ca_holds_the_ca_to_the_policy(void **state)
{
  struct admin_fx *fx = *state;

  assert_false(upload(fx, "weak", make((struct xca_tcert_spec){.key = "RSA:1024", .md = "MD5",
                                                               .is_ca = 1},
                                      NULL)));
  assert_string_equal(fx->error, "certificate key too weak (RSA 1024 bits < 2048)");
  assert_false(xca_fake_kv_exists(fx->fake, "x509ca:ca:weak"));
  assert_false(upload(fx, "k1", make((struct xca_tcert_spec){.key = "secp256k1", .is_ca = 1},
                                     NULL)));
  assert_string_equal(fx->error,
                      "certificate EC curve not allowed (secp256k1; P-256, P-384 or P-521 required)");
  assert_false(upload(fx, "sha1-int", make((struct xca_tcert_spec){.md = "SHA1", .is_ca = 1},
                                           &rsa_root)));
  assert_string_equal(fx->error,
                      "certificate signature digest too weak (sha1WithRSAEncryption < SHA-256)");
  assert_false(xca_fake_kv_exists(fx->fake, "x509ca:ca:sha1-int"));
  /* A root's own MD5 self-signature is never verified: the key decides. */
  assert_true(upload(fx, "md5-root", make((struct xca_tcert_spec){.key = "RSA:2048", .md = "MD5",
                                                                  .is_ca = 1},
                                          NULL)));
  assert_true(upload(fx, "good", make((struct xca_tcert_spec){.is_ca = 1}, NULL)));
  assert_true(xca_fake_kv_exists(fx->fake, "x509ca:ca:good"));
}

static void test_upload_ca_uses_min_rsa_bits(void **state)
{
  struct admin_fx *fx = *state;

  fx->cfg.min_rsa_bits = 3072;
  assert_false(upload(fx, "rsa2048", make((struct xca_tcert_spec){.key = "RSA:2048", .is_ca = 1},
                                          NULL)));
  assert_string_equal(fx->error, "certificate key too weak (RSA 2048 bits < 3072)");
  assert_true(upload(fx, "rsa3072", make((struct xca_tcert_spec){.key = "RSA:3072", .is_ca = 1},
                                         NULL)));
}

/* verifyCA name with a proof CN=code, key key, signed by ca with md; free it. */
static int verify(struct admin_fx *fx, const char *name, const struct xca_tcert *ca,
                  const char *key, const char *md)
{
  struct xca_tcert proof = make((struct xca_tcert_spec){.cn = fx->code, .key = key, .md = md}, ca);
  int ok = admin_run(fx, "verifyCA", name, &proof);

  xca_certgen_free(&proof);
  return ok;
}

static void test_verify_ca_holds_the_proof_to_the_policy(void **state)
{
  struct admin_fx *fx = *state;

  assert_true(admin_run(fx, "uploadCA", "rsa", &rsa_root));
  assert_false(verify(fx, "rsa", &rsa_root, NULL, "SHA1"));
  assert_string_equal(fx->error, "certificate signature digest too weak (verification "
                                 "certificate: sha1WithRSAEncryption < SHA-256)");
  assert_false(verify(fx, "rsa", &rsa_root, NULL, "MD5"));
  assert_false(verify(fx, "rsa", &rsa_root, "RSA:1024", NULL));
  assert_string_equal(fx->error,
                      "certificate key too weak (verification certificate: RSA 1024 bits < 2048)");
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:ca:rsa", "status"), "unverified");
  assert_true(verify(fx, "rsa", &rsa_root, NULL, NULL));
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:ca:rsa", "status"), "verified");
}

static void test_verify_ca_holds_a_stored_ca_to_the_policy(void **state)
{
  struct admin_fx *fx = *state;
  struct xca_tcert weak = make((struct xca_tcert_spec){.key = "RSA:1024", .is_ca = 1}, NULL);
  char *pem = xca_certgen_pem(&weak);

  /* Stored by redis-cli, around uploadCA. */
  assert_non_null(pem);
  snprintf(fx->code, sizeof(fx->code), "%s", "00112233445566778899AABBCCDDEEFF");
  assert_int_equal(xca_fake_kv_hset(fx->fake, "x509ca:ca:weak", "certificate", pem), XCA_OK);
  assert_int_equal(xca_fake_kv_hset(fx->fake, "x509ca:ca:weak", "status", "unverified"), XCA_OK);
  assert_int_equal(xca_fake_kv_hset(fx->fake, "x509ca:ca:weak", "verificationCode", fx->code),
                   XCA_OK);
  assert_int_equal(xca_fake_kv_hset(fx->fake, "x509ca:ca:weak", "verificationCodeExpiry",
                                    "99999999999"),
                   XCA_OK);
  assert_false(verify(fx, "weak", &weak, NULL, NULL));
  assert_string_equal(fx->error, "certificate key too weak (CA certificate: RSA 1024 bits < 2048)");
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:ca:weak", "status"), "unverified");
  free(pem);
  xca_certgen_free(&weak);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rsa_of_min_bits_accepted_shorter_refused),
    cmocka_unit_test(test_min_rsa_bits_sets_the_bar),
    cmocka_unit_test(test_nist_curves_accepted),
    cmocka_unit_test(test_other_curves_and_explicit_parameters_refused),
    cmocka_unit_test(test_eddsa_keys_accepted),
    cmocka_unit_test(test_other_key_types_refused),
    cmocka_unit_test(test_sha2_and_sha3_signatures_accepted),
    cmocka_unit_test(test_unknown_signature_algorithm_refused),
    cmocka_unit_test(test_md5_sha1_sha224_signatures_refused),
    cmocka_unit_test(test_eddsa_signatures_accepted),
    cmocka_unit_test(test_self_signature_is_exempt_but_the_key_is_not),
    cmocka_unit_test(test_issued_signature_counts),
    cmocka_unit_test(test_end_entity_leaves_accepted),
    cmocka_unit_test(test_ca_leaf_refused),
    cmocka_unit_test(test_key_usage_without_digital_signature_refused),
    cmocka_unit_test(test_eku_without_client_auth_refused),
    cmocka_unit_test(test_chain_names_the_failing_depth),
    cmocka_unit_test(test_trust_accepts_good_chains),
    cmocka_unit_test(test_trust_refuses_weak_leaf_key_and_names_it),
    cmocka_unit_test(test_trust_refuses_weak_leaf_signature),
    cmocka_unit_test(test_trust_refuses_weak_anchor),
    cmocka_unit_test(test_trust_reports_leaf_rules_before_openssl_purpose),
    cmocka_unit_test(test_chain_describe_without_policy_error),
    cmocka_unit_test(test_auth_decide_gives_the_policy_error),
    cmocka_unit_test_setup_teardown(test_upload_ca_holds_the_ca_to_the_policy, admin_setup,
                                    admin_teardown),
    cmocka_unit_test_setup_teardown(test_upload_ca_uses_min_rsa_bits, admin_setup,
                                    admin_teardown),
    cmocka_unit_test_setup_teardown(test_verify_ca_holds_the_proof_to_the_policy, admin_setup,
                                    admin_teardown),
    cmocka_unit_test_setup_teardown(test_verify_ca_holds_a_stored_ca_to_the_policy, admin_setup,
                                    admin_teardown),
  };

  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
