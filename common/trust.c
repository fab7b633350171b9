#include "trust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <uthash.h>

#include "certinfo.h"
#include "xca_err.h"

/* One trusted CA, reachable by name and, through its bucket, by subject. */
struct ca_entry {
  char name[XCA_CA_NAME_MAX + 1];
  X509 *cert;
  unsigned long subject_hash;
  struct ca_entry *next_same_subject; /* bucket chain */
  UT_hash_handle hh;                  /* by name */
};

struct subject_bucket {
  unsigned long subject_hash;
  struct ca_entry *first;
  UT_hash_handle hh;
};

struct xca_trust {
  unsigned long generation;
  struct ca_entry *by_name;
  struct subject_bucket *by_subject;
  X509_STORE *store; /* holds no certificates: issuers come from the index */
  unsigned count;
  struct xca_policy policy; /* applied to every verified chain */
  struct xca_revocation *rev; /* borrowed; NULL revokes nothing */
};

static int trust_ex_index = -1;
static int ctx_path_index = -1; /* X509_STORE_CTX ex_data: the struct path_run of a verification */

/* One verification with a known path above the leaf (xca_trust_verify_path). */
struct path_run {
  struct xca_trust_path *path;
  X509_STORE_CTX_verify_fn internal; /* OpenSSL's signature and validity loop */
};

static unsigned long name_hash(const X509_NAME *name)
{
  int ok = 0;
  unsigned long h = X509_NAME_hash_ex(name, NULL, NULL, &ok);
  return ok ? h : 0;
}

/* Return 1 if x's signature verifies with cert's key. Leaves OpenSSL's
 * error queue as it was. */
static int signs(X509 *cert, X509 *x)
{
  int ok;

  ERR_set_mark();
  ok = X509_verify(x, X509_get0_pubkey(cert)) == 1;
  ERR_pop_to_mark();
  return ok;
}

/* X509_STORE get_issuer callback: the trusted issuer of x from our index.
 * A single candidate (issuer name and key id match) is returned as it is:
 * OpenSSL verifies its signature next, so the common case costs no extra
 * signature check. Of several, one whose key really signed x is chosen, so
 * that a look-alike CA with the same name and key id cannot shadow the real
 * one; among those, one inside its validity period is preferred. */
static int index_get_issuer(X509 **issuer, X509_STORE_CTX *ctx, X509 *x)
{
  struct xca_trust *trust = X509_STORE_get_ex_data(X509_STORE_CTX_get0_store(ctx), trust_ex_index);
  struct subject_bucket *bucket = NULL;
  unsigned long h = name_hash(X509_get_issuer_name(x));
  X509 *first = NULL;
  X509 *best = NULL;
  int candidates = 0;
  time_t now = time(NULL);

  HASH_FIND(hh, trust->by_subject, &h, sizeof(h), bucket);
  for (struct ca_entry *e = bucket ? bucket->first : NULL; e != NULL; e = e->next_same_subject) {
    if (X509_check_issued(e->cert, x) == X509_V_OK) {
      first = first ? first : e->cert;
      candidates++;
    }
  }
  for (struct ca_entry *e = bucket ? bucket->first : NULL; candidates > 1 && e != NULL;
       e = e->next_same_subject) {
    if (X509_check_issued(e->cert, x) != X509_V_OK || !signs(e->cert, x)) {
      continue;
    }
    best = e->cert;
    if (xca_cert_time_valid(e->cert, now)) {
      break;
    }
  }
  best = best ? best : first;
  if (best == NULL || !X509_up_ref(best)) {
    return 0;
  }
  *issuer = best;
  return 1;
}

struct xca_trust *xca_trust_new(void)
{
  struct xca_trust *trust = calloc(1, sizeof(*trust));

  if (trust == NULL) {
    return NULL;
  }
  if (trust_ex_index < 0) {
    trust_ex_index = X509_STORE_get_ex_new_index(0, NULL, NULL, NULL, NULL);
  }
  trust->store = X509_STORE_new();
  if (trust->store == NULL || trust_ex_index < 0 ||
      !X509_STORE_set_ex_data(trust->store, trust_ex_index, trust)) {
    xca_trust_free(trust);
    return NULL;
  }
  X509_STORE_set_get_issuer(trust->store, index_get_issuer);
  xca_policy_init(&trust->policy);
  return trust;
}

void xca_trust_set_policy(struct xca_trust *trust, const struct xca_policy *policy)
{
  trust->policy = *policy;
  trust->generation++; /* decisions taken under the old policy are stale */
}

void xca_trust_set_revocation(struct xca_trust *trust, struct xca_revocation *rev)
{
  trust->rev = rev;
  trust->generation++;
}

struct xca_revocation *xca_trust_revocation(const struct xca_trust *trust)
{
  return trust->rev;
}

const struct xca_policy *xca_trust_policy(const struct xca_trust *trust)
{
  return &trust->policy;
}

static void unlink_subject(struct xca_trust *trust, struct ca_entry *entry)
{
  struct subject_bucket *bucket = NULL;

  HASH_FIND(hh, trust->by_subject, &entry->subject_hash, sizeof(entry->subject_hash), bucket);
  if (bucket == NULL) {
    return;
  }
  for (struct ca_entry **p = &bucket->first; *p != NULL; p = &(*p)->next_same_subject) {
    if (*p == entry) {
      *p = entry->next_same_subject;
      break;
    }
  }
  if (bucket->first == NULL) {
    HASH_DEL(trust->by_subject, bucket);
    free(bucket);
  }
}

int xca_ca_name_valid(const char *name)
{
  size_t n = name ? strlen(name) : 0;

  if (n == 0 || n > XCA_CA_NAME_MAX) {
    return 0;
  }
  return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

unsigned long xca_trust_generation(const struct xca_trust *trust)
{
  return trust->generation;
}

static void entry_free(struct xca_trust *trust, struct ca_entry *entry)
{
  trust->generation++;
  HASH_DEL(trust->by_name, entry);
  unlink_subject(trust, entry);
  X509_free(entry->cert);
  free(entry);
  trust->count--;
}

void xca_trust_clear(struct xca_trust *trust)
{
  struct ca_entry *e;
  struct ca_entry *tmp;

  HASH_ITER(hh, trust->by_name, e, tmp) {
    entry_free(trust, e);
  }
}

void xca_trust_free(struct xca_trust *trust)
{
  if (trust == NULL) {
    return;
  }
  xca_trust_clear(trust);
  X509_STORE_free(trust->store);
  free(trust);
}

int xca_trust_put(struct xca_trust *trust, const char *name, X509 *ca)
{
  struct ca_entry *entry;
  struct subject_bucket *bucket = NULL;
  size_t len = name ? strlen(name) : 0;

  /* Names outside the admin API's set could never be removed through it,
   * and ',' would break the anchor lists of sessions. */
  if (!xca_ca_name_valid(name)) {
    return XCA_E_BAD_NAME;
  }
  if (!xca_cert_is_ca(ca)) {
    return XCA_E_NOT_CA;
  }
  /* Replace first: on an allocation failure below the name is then simply
   * no longer trusted, which fails closed. */
  xca_trust_remove(trust, name);
  entry = calloc(1, sizeof(*entry));
  if (entry == NULL) {
    return XCA_E_NOMEM;
  }
  memcpy(entry->name, name, len + 1);
  entry->subject_hash = name_hash(X509_get_subject_name(ca));
  HASH_FIND(hh, trust->by_subject, &entry->subject_hash, sizeof(entry->subject_hash), bucket);
  if (bucket == NULL) {
    bucket = calloc(1, sizeof(*bucket));
    if (bucket == NULL) {
      free(entry);
      return XCA_E_NOMEM;
    }
    bucket->subject_hash = entry->subject_hash;
    HASH_ADD(hh, trust->by_subject, subject_hash, sizeof(bucket->subject_hash), bucket);
  }
  X509_up_ref(ca);
  entry->cert = ca;
  entry->next_same_subject = bucket->first;
  bucket->first = entry;
  HASH_ADD_STR(trust->by_name, name, entry);
  trust->count++;
  trust->generation++;
  return XCA_OK;
}

int xca_trust_remove(struct xca_trust *trust, const char *name)
{
  struct ca_entry *entry = NULL;

  HASH_FIND_STR(trust->by_name, name, entry);
  if (entry == NULL) {
    return XCA_E_NOT_FOUND;
  }
  entry_free(trust, entry);
  return XCA_OK;
}

int xca_trust_has(const struct xca_trust *trust, const char *name)
{
  struct ca_entry *entry = NULL;
  HASH_FIND_STR(trust->by_name, name, entry);
  return entry != NULL;
}

unsigned xca_trust_count(const struct xca_trust *trust)
{
  return trust->count;
}

/* Record which of our CAs the verified chain passed through. Chain members
 * that came from the index are our own X509 objects, so pointer equality
 * identifies them. */
static void collect_anchors(struct xca_trust *trust, STACK_OF(X509) *chain,
                            struct xca_chain_result *res)
{
  for (int i = 1; i < sk_X509_num(chain) && res->anchor_count < XCA_CHAIN_NAMES_MAX; i++) {
    X509 *cert = sk_X509_value(chain, i);
    unsigned long h = name_hash(X509_get_subject_name(cert));
    struct subject_bucket *bucket = NULL;

    HASH_FIND(hh, trust->by_subject, &h, sizeof(h), bucket);
    for (struct ca_entry *e = bucket ? bucket->first : NULL; e != NULL; e = e->next_same_subject) {
      if (e->cert == cert || X509_cmp(e->cert, cert) == 0) {
        strcpy(res->anchors[res->anchor_count++], e->name);
        if (res->anchor_count == XCA_CHAIN_NAMES_MAX) {
          break;
        }
      }
    }
  }
}

/* Record that the certificate at depth breaks the policy rule err. */
static int policy_refusal(struct xca_chain_result *res, int err, int depth)
{
  res->x509_error = X509_V_ERR_APPLICATION_VERIFICATION;
  res->error_depth = depth;
  res->policy_error = err;
  return err;
}

/* Record the thumbprints of the verified chain, leaf first. */
static void collect_thumbprints(STACK_OF(X509) *chain, struct xca_chain_result *res)
{
  res->chain_len = sk_X509_num(chain);
  for (int i = 0; i < res->chain_len; i++) {
    xca_cert_sha256(sk_X509_value(chain, i), res->chain_sha256[i]);
  }
}

/* Record the window in which every certificate of chain is valid (an
 * unreadable time leaves an empty window: nothing is ever cached on it). */
static void collect_validity(STACK_OF(X509) *chain, struct xca_chain_result *res)
{
  for (int i = 0; i < sk_X509_num(chain); i++) {
    time_t from;
    time_t until;
    if (!xca_cert_validity(sk_X509_value(chain, i), &from, &until)) {
      res->valid_from = res->valid_until = 0;
      return;
    }
    if (i == 0 || from > res->valid_from) {
      res->valid_from = from;
    }
    if (i == 0 || until < res->valid_until) {
      res->valid_until = until;
    }
  }
}

/* The verified chain (its thumbprints collected) against the revocation
 * set; a refusal empties the chain of res (filled on success only). */
static int check_revoked(struct xca_trust *trust, STACK_OF(X509) *chain, time_t now,
                         struct xca_chain_result *res)
{
  int depth = -1;
  int rc = xca_revocation_check_chain(trust->rev, chain, res->chain_sha256, now, &depth,
                                      res->revoked_why, sizeof(res->revoked_why));

  if (rc == XCA_OK) {
    return XCA_OK;
  }
  memcpy(res->revoked_sha256, res->chain_sha256[depth], XCA_SHA256_HEX);
  res->chain_len = 0;
  res->x509_error = X509_V_ERR_CERT_REVOKED;
  res->error_depth = depth;
  res->policy_error = rc;
  return rc;
}

/* The built chain passed OpenSSL's checks: apply the length bound and the
 * policy to it, name the verified CAs it passed through, then check that
 * none of it is revoked. */
static int accept_chain(struct xca_trust *trust, X509_STORE_CTX *ctx, time_t now,
                        struct xca_chain_result *res)
{
  STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
  int depth = -1;
  int rc;

  /* Its thumbprints must fit the result (max_chain_depth allows longer). */
  if (sk_X509_num(chain) > XCA_CHAIN_MAX) {
    res->x509_error = X509_V_ERR_CERT_CHAIN_TOO_LONG;
    res->error_depth = XCA_CHAIN_MAX;
    return XCA_E_CHAIN;
  }
  rc = xca_policy_check_chain(&trust->policy, chain, &depth, res->policy_detail,
                              sizeof(res->policy_detail));
  if (rc != XCA_OK) {
    return policy_refusal(res, rc, depth);
  }
  res->x509_error = X509_V_OK;
  collect_anchors(trust, chain, res);
  if (res->anchor_count == 0) {
    return XCA_E_CHAIN;
  }
  collect_thumbprints(chain, res);
  collect_validity(chain, res);
  return check_revoked(trust, chain, now, res);
}

/* A store context for target over the set: PARTIAL_CHAIN (a verified
 * intermediate is an anchor on its own), max_depth, and the time now
 * (0 = current time). NULL when out of memory (res says so). */
static X509_STORE_CTX *new_ctx(struct xca_trust *trust, X509 *target, STACK_OF(X509) *untrusted,
                               int max_depth, time_t now, struct xca_chain_result *res)
{
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();

  if (ctx == NULL || !X509_STORE_CTX_init(ctx, trust->store, target, untrusted)) {
    X509_STORE_CTX_free(ctx);
    res->x509_error = X509_V_ERR_OUT_OF_MEM;
    return NULL;
  }
  X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN);
  X509_STORE_CTX_set_depth(ctx, max_depth);
  if (now != 0) {
    X509_STORE_CTX_set_time(ctx, 0, now);
  }
  return ctx;
}

/* Run OpenSSL's verification on ctx; on success the policy and the rest
 * (accept_chain), else record OpenSSL's reason. */
static int run_verify(struct xca_trust *trust, X509_STORE_CTX *ctx, time_t now,
                      struct xca_chain_result *res)
{
  if (X509_verify_cert(ctx) == 1) {
    return accept_chain(trust, ctx, now, res);
  }
  res->x509_error = X509_STORE_CTX_get_error(ctx);
  res->error_depth = X509_STORE_CTX_get_error_depth(ctx);
  if (res->x509_error == X509_V_OK) {
    res->x509_error = X509_V_ERR_UNSPECIFIED;
  }
  return XCA_E_CHAIN;
}

/* Return 1 if chain holds exactly above's certificates above its leaf. */
static int same_above(STACK_OF(X509) *chain, STACK_OF(X509) *above)
{
  if (sk_X509_num(chain) != sk_X509_num(above) + 1) {
    return 0;
  }
  for (int i = 0; i < sk_X509_num(above); i++) {
    if (X509_cmp(sk_X509_value(chain, i + 1), sk_X509_value(above, i)) != 0) {
      return 0;
    }
  }
  return 1;
}

/* Return 1 if chain[from..] are all within their validity period at ctx's
 * verification time, as OpenSSL's own time check decides it. */
static int valid_from_depth(X509_STORE_CTX *ctx, STACK_OF(X509) *chain, int from)
{
  X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
  time_t t = X509_VERIFY_PARAM_get_time(param);
  time_t *at = (X509_VERIFY_PARAM_get_flags(param) & X509_V_FLAG_USE_CHECK_TIME) ? &t : NULL;

  for (int i = from; i < sk_X509_num(chain); i++) {
    X509 *x = sk_X509_value(chain, i);
    if (X509_cmp_time(X509_get0_notBefore(x), at) >= 0 ||
        X509_cmp_time(X509_get0_notAfter(x), at) <= 0) {
      return 0;
    }
  }
  return 1;
}

/* Two certificates, new references: the leaf and its issuer. */
static STACK_OF(X509) *leaf_and_issuer(STACK_OF(X509) *chain)
{
  STACK_OF(X509) *two = sk_X509_new_reserve(NULL, 2);

  for (int i = 0; two != NULL && i < 2; i++) {
    X509 *x = sk_X509_value(chain, i);
    if (!X509_up_ref(x)) {
      sk_X509_pop_free(two, X509_free);
      return NULL;
    }
    sk_X509_push(two, x);
  }
  return two;
}

/* The X509_STORE_CTX verify step (OpenSSL's loop over every signature and
 * validity period, run after the chain was built and its extensions,
 * purpose and pathlen checked) when a verified path is known. If the
 * built chain holds that path above the leaf, and every certificate above
 * the leaf's issuer is within its validity period, OpenSSL's own loop runs
 * on the leaf and its issuer alone (PARTIAL_CHAIN is set, so the issuer is
 * its top: the issuer's validity and the leaf's signature and validity are
 * checked, the issuer's key usage for signing too), then the whole chain is
 * put back for the checks that follow (name constraints, RFC 3779). Else
 * the loop runs on the whole chain. The signatures above the leaf are a
 * fact of their DER alone, already verified in that path.
 * The TLS handshake's CertificateVerify (the client's proof that it holds
 * the leaf's key) is OpenSSL's own step, never skipped by any of this. */
static int verify_with_path(X509_STORE_CTX *ctx)
{
  struct path_run *run = X509_STORE_CTX_get_ex_data(ctx, ctx_path_index);
  STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
  STACK_OF(X509) *full;
  STACK_OF(X509) *two;
  int ok;

  if (run->path->above == NULL || sk_X509_num(chain) < 2 || !same_above(chain, run->path->above) ||
      !valid_from_depth(ctx, chain, 2)) {
    return run->internal(ctx);
  }
  full = X509_chain_up_ref(chain);
  two = leaf_and_issuer(chain);
  if (full == NULL || two == NULL) {
    sk_X509_pop_free(full, X509_free);
    sk_X509_pop_free(two, X509_free);
    return run->internal(ctx);
  }
  X509_STORE_CTX_set0_verified_chain(ctx, two);
  ok = run->internal(ctx);
  X509_STORE_CTX_set0_verified_chain(ctx, full);
  run->path->used = 1;
  return ok;
}

/* Hand the verified chain above the leaf to path->built. */
static void keep_built(X509_STORE_CTX *ctx, struct xca_trust_path *path)
{
  STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
  STACK_OF(X509) *above = sk_X509_new_null();

  for (int i = 1; above != NULL && i < sk_X509_num(chain); i++) {
    X509 *x = sk_X509_value(chain, i);
    int held = X509_up_ref(x);
    if (!held || !sk_X509_push(above, x)) {
      if (held) {
        X509_free(x);
      }
      sk_X509_pop_free(above, X509_free);
      return; /* nothing kept: the next verification is a full one */
    }
  }
  path->built = above;
}

/* Make ctx verify through verify_with_path, with run (which must outlive
 * ctx's use). Returns 1, or 0 when it cannot (ctx then verifies fully). */
static int use_path(X509_STORE_CTX *ctx, struct xca_trust_path *path, struct path_run *run)
{
  if (ctx_path_index < 0) {
    ctx_path_index = X509_STORE_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
  }
  run->path = path;
  run->internal = X509_STORE_CTX_get_verify(ctx);
  if (ctx_path_index < 0 || run->internal == NULL ||
      !X509_STORE_CTX_set_ex_data(ctx, ctx_path_index, run)) {
    return 0;
  }
  X509_STORE_CTX_set_verify(ctx, verify_with_path);
  return 1;
}

static int verify_chain(struct xca_trust *trust, X509 *leaf, STACK_OF(X509) *untrusted,
                        int max_depth, time_t now, struct xca_trust_path *path,
                        struct xca_chain_result *res)
{
  struct path_run run;
  X509_STORE_CTX *ctx;
  int rc;

  memset(res, 0, sizeof(*res));
  res->error_depth = -1;
  rc = xca_policy_check_leaf(leaf, res->policy_detail, sizeof(res->policy_detail));
  if (rc != XCA_OK) {
    return policy_refusal(res, rc, 0);
  }
  ctx = new_ctx(trust, leaf, untrusted, max_depth, now, res);
  if (ctx == NULL) {
    return XCA_E_NOMEM;
  }
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
  if (path != NULL && path->above != NULL) {
    use_path(ctx, path, &run);
  }
  rc = run_verify(trust, ctx, now, res);
  if (rc == XCA_OK && path != NULL) {
    keep_built(ctx, path);
  }
  X509_STORE_CTX_free(ctx);
  return rc;
}

int xca_trust_verify(struct xca_trust *trust, X509 *leaf, STACK_OF(X509) *untrusted,
                     int max_depth, time_t now, struct xca_chain_result *res)
{
  return xca_trust_verify_path(trust, leaf, untrusted, max_depth, now, NULL, res);
}

int xca_trust_verify_path(struct xca_trust *trust, X509 *leaf, STACK_OF(X509) *untrusted,
                          int max_depth, time_t now, struct xca_trust_path *path,
                          struct xca_chain_result *res)
{
  int rc;

  if (path != NULL) {
    path->used = 0;
    path->built = NULL;
  }
  /* A refused chain leaves errors on OpenSSL's queue, and Mosquitto reads
   * that queue after the next SSL call of *any* connection: one bad
   * certificate would then drop another device. Leave it as it was. */
  ERR_set_mark();
  rc = verify_chain(trust, leaf, untrusted, max_depth, now, path, res);
  ERR_pop_to_mark();
  return rc;
}

/* The entry of the set holding exactly cert, or NULL. */
static struct ca_entry *find_cert(const struct xca_trust *trust, X509 *cert)
{
  unsigned long h = name_hash(X509_get_subject_name(cert));
  struct subject_bucket *bucket = NULL;

  HASH_FIND(hh, trust->by_subject, &h, sizeof(h), bucket);
  for (struct ca_entry *e = bucket ? bucket->first : NULL; e != NULL; e = e->next_same_subject) {
    if (X509_cmp(e->cert, cert) == 0) {
      return e;
    }
  }
  return NULL;
}

/* ca is itself a CA of the set: its chain is ca alone, held to the policy
 * and checked against the revocation set. */
static int accept_member(struct xca_trust *trust, X509 *ca, const struct ca_entry *entry,
                         time_t now, struct xca_chain_result *res)
{
  STACK_OF(X509) *alone;
  int rc = xca_policy_check_cert(&trust->policy, ca, res->policy_detail,
                                 sizeof(res->policy_detail));

  if (rc != XCA_OK) {
    return policy_refusal(res, rc, 0);
  }
  res->x509_error = X509_V_OK;
  res->anchor_count = 1;
  strcpy(res->anchors[0], entry->name);
  res->chain_len = 1;
  xca_cert_sha256(ca, res->chain_sha256[0]);
  if (!xca_cert_validity(ca, &res->valid_from, &res->valid_until)) {
    res->valid_from = res->valid_until = 0;
  }
  alone = sk_X509_new_null();
  if (alone == NULL || !sk_X509_push(alone, ca)) {
    sk_X509_free(alone);
    res->chain_len = 0;
    return XCA_E_NOMEM;
  }
  rc = check_revoked(trust, alone, now, res);
  sk_X509_free(alone);
  return rc;
}

static int verify_ca_chain(struct xca_trust *trust, X509 *ca, STACK_OF(X509) *untrusted,
                           int max_depth, time_t now, struct xca_chain_result *res)
{
  const struct ca_entry *entry;
  X509_STORE_CTX *ctx;
  int rc;

  memset(res, 0, sizeof(*res));
  res->error_depth = -1;
  if (!xca_cert_is_ca(ca)) {
    return XCA_E_NOT_CA;
  }
  /* The store holds no certificates, so OpenSSL would not see that the
   * target itself is trusted. */
  entry = find_cert(trust, ca);
  if (entry != NULL && xca_cert_time_valid(ca, now != 0 ? now : time(NULL))) {
    return accept_member(trust, ca, entry, now, res);
  }
  ctx = new_ctx(trust, ca, untrusted, max_depth, now, res);
  if (ctx == NULL) {
    return XCA_E_NOMEM;
  }
  rc = run_verify(trust, ctx, now, res);
  X509_STORE_CTX_free(ctx);
  return rc;
}

int xca_trust_verify_ca(struct xca_trust *trust, X509 *ca, STACK_OF(X509) *untrusted,
                        int max_depth, time_t now, struct xca_chain_result *res)
{
  int rc;

  /* Admin commands run on the broker's thread too: as xca_trust_verify. */
  ERR_set_mark();
  rc = verify_ca_chain(trust, ca, untrusted, max_depth, now, res);
  ERR_pop_to_mark();
  return rc;
}

void xca_chain_thumbprints(const struct xca_chain_result *res, char *buf, size_t buflen)
{
  size_t len = 0;

  buf[0] = '\0';
  for (int i = 0; i < res->chain_len && i < XCA_CHAIN_MAX; i++) {
    const char *thumb = res->chain_sha256[i];
    size_t sep = i > 0 ? 1 : 0;
    size_t n = strlen(thumb);
    if (len + sep + n + 1 > buflen) {
      return; /* whole thumbprints only */
    }
    if (sep) {
      buf[len++] = ',';
    }
    memcpy(buf + len, thumb, n + 1);
    len += n;
  }
}

void xca_chain_describe(const struct xca_chain_result *res, char *buf, size_t buflen)
{
  int n;

  if ((res->policy_error == XCA_E_REVOKED || res->policy_error == XCA_E_CRL_EXPIRED) &&
      res->error_depth >= 0) {
    snprintf(buf, buflen, "%s at depth %d (sha256 %.16s): %s", xca_strerror(res->policy_error),
             res->error_depth, res->revoked_sha256, res->revoked_why);
    return;
  }
  if (res->policy_error != XCA_OK && res->policy_detail[0] != '\0') {
    n = snprintf(buf, buflen, "%s (%s)", xca_strerror(res->policy_error), res->policy_detail);
  } else if (res->policy_error != XCA_OK) {
    n = snprintf(buf, buflen, "%s", xca_strerror(res->policy_error));
  } else {
    n = snprintf(buf, buflen, "%s (%s)", xca_strerror(XCA_E_CHAIN),
                 X509_verify_cert_error_string(res->x509_error));
  }
  if (res->error_depth >= 0 && n >= 0 && (size_t)n < buflen) {
    snprintf(buf + n, buflen - (size_t)n, " at depth %d", res->error_depth);
  }
}
