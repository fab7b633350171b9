/* The verified-chain cache: a hit gives exactly the result of a fresh
 * verification; every change a verdict depends on (CA added, removed,
 * policy, revocation epoch, a chain member's validity) makes the next
 * verification a fresh one; a new leaf under a known path is checked on
 * everything the full verification checks. Certificates of
 * scripts/x509ca-pki's profiles, made in-process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/x509_vfy.h>

#include "chaincache.h"
#include "pki_fixture.h"
#include "trust.h"
#include "xca_err.h"

#define DEPTH 5
#define HOUR 3600L

static const struct xca_fixture_entry pki[] = {
  {"root", NULL, {.profile = XCA_TCERT_CA}},
  {"factory", "root", {.profile = XCA_TCERT_CA}},
  {"technician", "factory", {.profile = XCA_TCERT_CA}},
  {"dev", "technician", {.profile = XCA_TCERT_DEVICE}},
  {"dev-b", "technician", {.profile = XCA_TCERT_DEVICE}},
  {"dev-c", "technician", {.profile = XCA_TCERT_DEVICE}},
  {"dev-expired", "technician", {.profile = XCA_TCERT_DEVICE, XCA_FIXTURE_EXPIRED}},
  {"dev-ca", "technician", {.profile = XCA_TCERT_DEVICE, .basic_constraints = "critical,CA:TRUE"}},
  {"dev-weak", "technician", {.profile = XCA_TCERT_DEVICE, .key = "RSA:1024"}},
  {"dev-eku", "technician", {.profile = XCA_TCERT_DEVICE, .ext_key_usage = "serverAuth"}},
  {"dev-ku", "technician", {.profile = XCA_TCERT_DEVICE, .key_usage = "critical,keyEncipherment"}},
  {"dev-sha1", "technician", {.profile = XCA_TCERT_DEVICE, .md = "SHA1"}},
  /* an intermediate valid for two hours from now, and a device under it */
  {"short", "root", {.profile = XCA_TCERT_CA, .from_s = -HOUR, .to_s = 2 * HOUR}},
  {"dev-short", "short", {.profile = XCA_TCERT_DEVICE}},
  {"dev-short-b", "short", {.profile = XCA_TCERT_DEVICE}},
  {"other-root", NULL, {.profile = XCA_TCERT_CA}},
};

struct fixture {
  struct xca_trust *trust;
  struct xca_chaincache *cc;
  struct xca_verdict_epoch epoch;
};

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  X509 *root = xca_fixture_cert("root");

  assert_non_null(f);
  f->trust = xca_trust_new();
  f->cc = xca_chaincache_new(100);
  assert_non_null(f->trust);
  assert_non_null(f->cc);
  assert_int_equal(xca_trust_put(f->trust, "root", root), XCA_OK);
  X509_free(root);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  xca_chaincache_free(f->cc);
  xca_trust_free(f->trust);
  free(f);
  return 0;
}

static void epoch_now(struct fixture *f)
{
  f->epoch.trust = xca_trust_generation(f->trust);
}

/* leaf as it would be sent: the certificate and its chain up to the root. */
struct sent {
  X509 *leaf;
  STACK_OF(X509) *chain;
};

static struct sent sent_of(const char *name)
{
  struct sent s = {xca_fixture_cert(name), xca_fixture_chain(name)};
  assert_non_null(s.leaf);
  assert_non_null(s.chain);
  return s;
}

static void sent_free(struct sent *s)
{
  X509_free(s->leaf);
  sk_X509_pop_free(s->chain, X509_free);
}

/* A copy of name's certificate with one bit of its signature flipped,
 * sent with the same chain. */
static struct sent forged_of(const char *name)
{
  struct sent s = sent_of(name);
  unsigned char *der = NULL;
  const unsigned char *p;
  int len = i2d_X509(s.leaf, &der);
  X509 *forged;

  assert_true(len > 0);
  der[len - 1] ^= 0x01; /* the last byte of the signature value */
  p = der;
  forged = d2i_X509(NULL, &p, len);
  OPENSSL_free(der);
  assert_non_null(forged);
  X509_free(s.leaf);
  s.leaf = forged;
  X509_free(sk_X509_value(s.chain, 0));
  assert_true(X509_up_ref(forged));
  sk_X509_set(s.chain, 0, forged);
  return s;
}

static void assert_same_result(const struct xca_chain_result *a, const struct xca_chain_result *b)
{
  assert_int_equal(a->x509_error, b->x509_error);
  assert_int_equal(a->error_depth, b->error_depth);
  assert_int_equal(a->policy_error, b->policy_error);
  assert_string_equal(a->policy_detail, b->policy_detail);
  assert_int_equal(a->anchor_count, b->anchor_count);
  for (int i = 0; i < a->anchor_count; i++) {
    assert_string_equal(a->anchors[i], b->anchors[i]);
  }
  assert_int_equal(a->chain_len, b->chain_len);
  for (int i = 0; i < a->chain_len; i++) {
    assert_string_equal(a->chain_sha256[i], b->chain_sha256[i]);
  }
  assert_true(a->valid_from == b->valid_from);
  assert_true(a->valid_until == b->valid_until);
}

/* Verify name through the cache at now (0 = current time); checks that the
 * result is the one a fresh xca_trust_verify gives and returns rc. */
static int verify_sent(struct fixture *f, struct sent *s, time_t now, enum xca_chaincache_how *how)
{
  struct xca_chain_result res;
  struct xca_chain_result fresh;
  int rc;
  int fresh_rc;

  epoch_now(f);
  rc = xca_chaincache_verify(f->cc, f->trust, s->leaf, s->chain, DEPTH, &f->epoch, now, &res, how);
  fresh_rc = xca_trust_verify(f->trust, s->leaf, s->chain, DEPTH, now, &fresh);
  assert_int_equal(rc, fresh_rc);
  assert_same_result(&res, &fresh);
  return rc;
}

static int verify_named(struct fixture *f, const char *name, time_t now,
                        enum xca_chaincache_how *how)
{
  struct sent s = sent_of(name);
  int rc = verify_sent(f, &s, now, how);
  sent_free(&s);
  return rc;
}

/* ---- hits -------------------------------------------------------------- */

static void second_verification_is_a_hit_with_the_same_result(void **state)
{
  struct fixture *f = *state;
  enum xca_chaincache_how how;

  assert_int_equal(verify_named(f, "dev", 0, &how), XCA_OK);
  assert_int_equal(how, XCA_CHAINCACHE_FULL);
  assert_int_equal(verify_named(f, "dev", 0, &how), XCA_OK);
  assert_int_equal(how, XCA_CHAINCACHE_HIT);
  assert_int_equal(xca_chaincache_chains(f->cc), 1);
  assert_int_equal(xca_chaincache_paths(f->cc), 1);
}

static void new_leaf_under_known_path_verifies_only_the_leaf(void **state)
{
  struct fixture *f = *state;
  enum xca_chaincache_how how;

  assert_int_equal(verify_named(f, "dev", 0, &how), XCA_OK);
  assert_int_equal(verify_named(f, "dev-b", 0, &how), XCA_OK);
  assert_int_equal(how, XCA_CHAINCACHE_LEAF);
  assert_int_equal(verify_named(f, "dev-b", 0, &how), XCA_OK);
  assert_int_equal(how, XCA_CHAINCACHE_HIT);
}

static void failures_are_never_cached(void **state)
{
  struct fixture *f = *state;
  enum xca_chaincache_how how;

  xca_trust_remove(f->trust, "root");
  assert_int_equal(verify_named(f, "dev", 0, &how), XCA_E_CHAIN);
  assert_int_equal(verify_named(f, "dev", 0, &how), XCA_E_CHAIN);
  assert_int_equal(how, XCA_CHAINCACHE_FULL);
  assert_int_equal(xca_chaincache_chains(f->cc), 0);
}

static void capacity_bounds_and_zero_turns_it_off(void **state)
{
  struct fixture *f = *state;
  enum xca_chaincache_how how;

  xca_chaincache_free(f->cc);
  f->cc = xca_chaincache_new(2);
  assert_int_equal(verify_named(f, "dev", 0, &how), XCA_OK);
  assert_int_equal(verify_named(f, "dev-b", 0, &how), XCA_OK);
  assert_int_equal(verify_named(f, "dev-c", 0, &how), XCA_OK);
  assert_int_equal(xca_chaincache_chains(f->cc), 2);
  /* the least recently used (dev) went first */
  assert_int_equal(verify_named(f, "dev-c", 0, &how), XCA_OK);
  assert_int_equal(how, XCA_CHAINCACHE_HIT);
  assert_int_equal(verify_named(f, "dev", 0, &how), XCA_OK);
  assert_int_not_equal(how, XCA_CHAINCACHE_HIT);

  xca_chaincache_free(f->cc);
  f->cc = xca_chaincache_new(0);
  assert_int_equal(verify_named(f, "dev", 0, &how), XCA_OK);
  assert_int_equal(verify_named(f, "dev", 0, &how), XCA_OK);
  assert_int_equal(how, XCA_CHAINCACHE_FULL);
  assert_int_equal(xca_chaincache_chains(f->cc), 0);
}

static void max_depth_is_part_of_the_verdict(void **state)
{
  struct fixture *f = *state;
  struct sent s = sent_of("dev");
  struct xca_chain_result res;
  enum xca_chaincache_how how;

  assert_int_equal(verify_sent(f, &s, 0, &how), XCA_OK);
  assert_int_equal(xca_chaincache_verify(f->cc, f->trust, s.leaf, s.chain, 1, &f->epoch, 0, &res,
                                         &how),
                   XCA_E_CHAIN);
  assert_int_equal(res.x509_error, X509_V_ERR_CERT_CHAIN_TOO_LONG);
  sent_free(&s);
}

/* ---- invalidation ------------------------------------------------------ */

/* dev verified and cached; then change() runs; then dev must be verified
 * afresh (not a hit) and give rc. */
static void after_change(struct fixture *f, void (*change)(struct fixture *), int rc)
{
  enum xca_chaincache_how how;

  assert_int_equal(verify_named(f, "dev", 0, &how), XCA_OK);
  assert_int_equal(verify_named(f, "dev", 0, &how), XCA_OK);
  assert_int_equal(how, XCA_CHAINCACHE_HIT);
  change(f);
  assert_int_equal(verify_named(f, "dev", 0, &how), rc);
  assert_int_not_equal(how, XCA_CHAINCACHE_HIT);
}

static void add_ca(struct fixture *f)
{
  X509 *other = xca_fixture_cert("other-root");
  assert_int_equal(xca_trust_put(f->trust, "other-root", other), XCA_OK);
  X509_free(other);
}

static void remove_root(struct fixture *f)
{
  assert_int_equal(xca_trust_remove(f->trust, "root"), XCA_OK);
}

static void stricter_policy(struct fixture *f)
{
  struct xca_policy p = {.min_rsa_bits = 3072};
  xca_trust_set_policy(f->trust, &p);
}

static void revocation_changed(struct fixture *f)
{
  f->epoch.revocation++;
}

static void ca_added_reverifies(void **state)
{
  after_change(*state, add_ca, XCA_OK);
}

/* A CA deleted or no longer verified leaves the trust set the same way
 * (plugin/cas.c drops it): the chain is refused. */
static void ca_removed_or_unverified_reverifies_and_refuses(void **state)
{
  after_change(*state, remove_root, XCA_E_CHAIN);
}

static void policy_change_reverifies(void **state)
{
  after_change(*state, stricter_policy, XCA_OK);
}

static void revocation_generation_reverifies(void **state)
{
  struct fixture *f = *state;
  struct sent s = sent_of("dev");
  struct xca_chain_result res;
  enum xca_chaincache_how how;

  epoch_now(f);
  assert_int_equal(xca_chaincache_verify(f->cc, f->trust, s.leaf, s.chain, DEPTH, &f->epoch, 0,
                                         &res, &how),
                   XCA_OK);
  revocation_changed(f);
  assert_int_equal(xca_chaincache_verify(f->cc, f->trust, s.leaf, s.chain, DEPTH, &f->epoch, 0,
                                         &res, &how),
                   XCA_OK);
  assert_int_equal(how, XCA_CHAINCACHE_FULL); /* neither the chain nor the path was used */
  sent_free(&s);
}

static void chain_member_expiry_ends_the_hit(void **state)
{
  struct fixture *f = *state;
  time_t now = time(NULL);
  enum xca_chaincache_how how;
  struct sent s = sent_of("dev-short");
  struct xca_chain_result res;

  assert_int_equal(verify_sent(f, &s, now, &how), XCA_OK);
  assert_int_equal(verify_sent(f, &s, now + HOUR, &how), XCA_OK);
  assert_int_equal(how, XCA_CHAINCACHE_HIT);
  /* three hours on, the intermediate has expired */
  assert_int_equal(verify_sent(f, &s, now + 3 * HOUR, &how), XCA_E_CHAIN);
  assert_int_not_equal(how, XCA_CHAINCACHE_HIT);
  epoch_now(f);
  xca_chaincache_verify(f->cc, f->trust, s.leaf, s.chain, DEPTH, &f->epoch, now + 3 * HOUR, &res,
                        NULL);
  assert_int_equal(res.x509_error, X509_V_ERR_CERT_HAS_EXPIRED);
  assert_int_equal(res.error_depth, 1);
  sent_free(&s);
  /* a new leaf under the expired path is refused the same way */
  assert_int_equal(verify_named(f, "dev-short-b", now + 3 * HOUR, &how), XCA_E_CHAIN);
  assert_int_equal(how, XCA_CHAINCACHE_FULL);
}

/* Before its notBefore nothing cached is used either. */
static void before_validity_is_not_a_hit(void **state)
{
  struct fixture *f = *state;
  enum xca_chaincache_how how;

  assert_int_equal(verify_named(f, "dev", 0, &how), XCA_OK);
  assert_int_equal(verify_named(f, "dev", time(NULL) - 3 * 86400, &how), XCA_E_CHAIN);
  assert_int_not_equal(how, XCA_CHAINCACHE_HIT);
}

/* ---- a leaf under a known path is refused as the full path refuses it -- */

/* dev warms the path; name is then verified with the path known and gives
 * the full verification's refusal rc (verify_sent compares the results). */
static void refused_under_known_path(struct fixture *f, struct sent *s, int rc)
{
  enum xca_chaincache_how how;

  assert_int_equal(verify_named(f, "dev", 0, &how), XCA_OK);
  assert_int_equal(xca_chaincache_paths(f->cc), 1);
  assert_int_equal(verify_sent(f, s, 0, &how), rc);
  assert_int_equal(verify_sent(f, s, 0, &how), rc);
  assert_int_not_equal(how, XCA_CHAINCACHE_HIT);
}

static void forged_leaf_under_known_path_is_refused(void **state)
{
  struct fixture *f = *state;
  struct sent s = forged_of("dev-b");
  struct xca_chain_result res;
  enum xca_chaincache_how how;

  refused_under_known_path(f, &s, XCA_E_CHAIN);
  xca_chaincache_verify(f->cc, f->trust, s.leaf, s.chain, DEPTH, &f->epoch, 0, &res, &how);
  assert_int_equal(how, XCA_CHAINCACHE_LEAF); /* the path was used: only the leaf was checked */
  assert_int_equal(res.x509_error, X509_V_ERR_CERT_SIGNATURE_FAILURE);
  assert_int_equal(res.error_depth, 0);
  sent_free(&s);
}

static void refused_named(void **state, const char *name, int rc)
{
  struct sent s = sent_of(name);
  refused_under_known_path(*state, &s, rc);
  sent_free(&s);
}

static void expired_leaf_under_known_path_is_refused(void **state)
{
  refused_named(state, "dev-expired", XCA_E_CHAIN);
}

static void ca_leaf_under_known_path_is_refused(void **state)
{
  refused_named(state, "dev-ca", XCA_E_LEAF_IS_CA);
}

static void weak_key_leaf_under_known_path_is_refused(void **state)
{
  refused_named(state, "dev-weak", XCA_E_WEAK_KEY);
}

static void wrong_eku_leaf_under_known_path_is_refused(void **state)
{
  refused_named(state, "dev-eku", XCA_E_LEAF_EKU);
}

static void sha1_leaf_under_known_path_is_refused(void **state)
{
  refused_named(state, "dev-sha1", XCA_E_WEAK_DIGEST);
}

static void wrong_key_usage_leaf_under_known_path_is_refused(void **state)
{
  refused_named(state, "dev-ku", XCA_E_LEAF_USAGE);
}

static void path_is_used_only_with_the_same_chain_built(void **state)
{
  struct fixture *f = *state;
  enum xca_chaincache_how how;
  X509 *technician = xca_fixture_cert("technician");

  assert_int_equal(verify_named(f, "dev", 0, &how), XCA_OK);
  /* technician becomes an anchor of its own: the same certificates sent
   * now build a shorter chain, which is verified in full */
  assert_int_equal(xca_trust_put(f->trust, "technician", technician), XCA_OK);
  X509_free(technician);
  assert_int_equal(verify_named(f, "dev-b", 0, &how), XCA_OK);
  assert_int_equal(how, XCA_CHAINCACHE_FULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(second_verification_is_a_hit_with_the_same_result),
    T(new_leaf_under_known_path_verifies_only_the_leaf),
    T(failures_are_never_cached),
    T(capacity_bounds_and_zero_turns_it_off),
    T(max_depth_is_part_of_the_verdict),
    T(ca_added_reverifies),
    T(ca_removed_or_unverified_reverifies_and_refuses),
    T(policy_change_reverifies),
    T(revocation_generation_reverifies),
    T(chain_member_expiry_ends_the_hit),
    T(before_validity_is_not_a_hit),
    T(forged_leaf_under_known_path_is_refused),
    T(expired_leaf_under_known_path_is_refused),
    T(ca_leaf_under_known_path_is_refused),
    T(weak_key_leaf_under_known_path_is_refused),
    T(wrong_eku_leaf_under_known_path_is_refused),
    T(sha1_leaf_under_known_path_is_refused),
    T(wrong_key_usage_leaf_under_known_path_is_refused),
    T(path_is_used_only_with_the_same_chain_built),
  };

  xca_fixture_use(pki, (int)(sizeof(pki) / sizeof(pki[0])));
  return cmocka_run_group_tests(tests, xca_fixture_setup, xca_fixture_teardown);
}
