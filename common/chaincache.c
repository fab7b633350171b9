#include "chaincache.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <uthash.h>

#include "certinfo.h"
#include "xca_err.h"

#define KEY_LEN 32 /* SHA-256 */

/* A verified chain's result. */
struct chain_entry {
  unsigned char key[KEY_LEN];
  struct xca_verdict_epoch epoch;
  struct xca_chain_result res;
  UT_hash_handle hh;
};

/* A verified path above some leaf: its certificates and their window. */
struct path_entry {
  unsigned char key[KEY_LEN];
  struct xca_verdict_epoch epoch;
  STACK_OF(X509) *above;
  time_t valid_from;
  time_t valid_until;
  UT_hash_handle hh;
};

/* uthash keeps insertion order: the head of each table is the least
 * recently used entry. */
struct xca_chaincache {
  unsigned capacity;
  struct chain_entry *chains;
  struct path_entry *paths;
};

struct xca_chaincache *xca_chaincache_new(int capacity)
{
  struct xca_chaincache *cc = calloc(1, sizeof(*cc));

  if (cc != NULL) {
    cc->capacity = capacity > 0 ? (unsigned)capacity : 0;
  }
  return cc;
}

static void chain_drop(struct xca_chaincache *cc, struct chain_entry *e)
{
  HASH_DEL(cc->chains, e);
  free(e);
}

static void path_drop(struct xca_chaincache *cc, struct path_entry *e)
{
  HASH_DEL(cc->paths, e);
  sk_X509_pop_free(e->above, X509_free);
  free(e);
}

void xca_chaincache_clear(struct xca_chaincache *cc)
{
  struct chain_entry *c;
  struct chain_entry *ctmp;
  struct path_entry *p;
  struct path_entry *ptmp;

  if (cc == NULL) {
    return;
  }
  HASH_ITER(hh, cc->chains, c, ctmp) {
    chain_drop(cc, c);
  }
  HASH_ITER(hh, cc->paths, p, ptmp) {
    path_drop(cc, p);
  }
}

void xca_chaincache_free(struct xca_chaincache *cc)
{
  xca_chaincache_clear(cc);
  free(cc);
}

unsigned xca_chaincache_chains(const struct xca_chaincache *cc)
{
  return cc != NULL ? HASH_COUNT(cc->chains) : 0;
}

unsigned xca_chaincache_paths(const struct xca_chaincache *cc)
{
  return cc != NULL ? HASH_COUNT(cc->paths) : 0;
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */
/* ------------------------------------------------------------------------ */

/* Feed one certificate's DER, preceded by its length, to md. */
static int digest_cert(EVP_MD_CTX *md, X509 *cert)
{
  unsigned char *der = NULL;
  int len = i2d_X509(cert, &der);
  unsigned char be[4];
  int ok;

  if (len <= 0) {
    return 0;
  }
  be[0] = (unsigned char)(len >> 24);
  be[1] = (unsigned char)(len >> 16);
  be[2] = (unsigned char)(len >> 8);
  be[3] = (unsigned char)len;
  ok = EVP_DigestUpdate(md, be, sizeof(be)) && EVP_DigestUpdate(md, der, (size_t)len);
  OPENSSL_free(der);
  return ok;
}

/* SHA-256 over tag and max_depth (a verdict holds for the depth it was
 * checked under), then (with_leaf) the leaf's DER, then the DER of every
 * certificate of untrusted in order (the leaf object itself skipped when
 * with_leaf is 0: the path key names what was sent above it; a pointer
 * compare, as X509_cmp would parse every extension of every certificate
 * sent on every handshake; a second copy of the leaf only makes another
 * key). Returns 1, or 0 when a certificate cannot be encoded. */
static int make_key(const char *tag, int max_depth, X509 *leaf, STACK_OF(X509) *untrusted,
                    int with_leaf, unsigned char key[KEY_LEN])
{
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned int len = 0;
  unsigned char depth = (unsigned char)(max_depth < 0 ? 0 : max_depth > 255 ? 255 : max_depth);
  int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
           EVP_DigestUpdate(md, tag, strlen(tag) + 1) && EVP_DigestUpdate(md, &depth, 1);

  if (ok && with_leaf) {
    ok = digest_cert(md, leaf);
  }
  for (int i = 0; ok && i < sk_X509_num(untrusted); i++) {
    X509 *x = sk_X509_value(untrusted, i);
    if (!with_leaf && x == leaf) {
      continue;
    }
    ok = digest_cert(md, x);
  }
  ok = ok && EVP_DigestFinal_ex(md, key, &len) && len == KEY_LEN;
  EVP_MD_CTX_free(md);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* Lookups                                                                   */
/* ------------------------------------------------------------------------ */

static int same_epoch(const struct xca_verdict_epoch *a, const struct xca_verdict_epoch *b)
{
  return a->trust == b->trust && a->revocation == b->revocation;
}

/* now inside [from, until), the window OpenSSL admits: notBefore <= now <
 * notAfter. The start is taken one second late, which only ever turns a
 * hit into a full verification (a notBefore with a fraction of a second
 * was rounded down). */
static int in_window(time_t from, time_t until, time_t now)
{
  return from < now && now < until;
}

/* The cached result of chain key, or NULL (a stale entry is dropped). */
static const struct xca_chain_result *find_chain(struct xca_chaincache *cc,
                                                 const unsigned char key[KEY_LEN],
                                                 const struct xca_verdict_epoch *epoch, time_t now)
{
  struct chain_entry *e = NULL;

  HASH_FIND(hh, cc->chains, key, KEY_LEN, e);
  if (e == NULL) {
    return NULL;
  }
  if (!same_epoch(&e->epoch, epoch) || !in_window(e->res.valid_from, e->res.valid_until, now)) {
    chain_drop(cc, e);
    return NULL;
  }
  HASH_DEL(cc->chains, e); /* most recently used: to the tail */
  HASH_ADD(hh, cc->chains, key, KEY_LEN, e);
  return &e->res;
}

/* The verified path sent as key, or NULL (a stale entry is dropped). */
static STACK_OF(X509) *find_path(struct xca_chaincache *cc, const unsigned char key[KEY_LEN],
                                 const struct xca_verdict_epoch *epoch, time_t now)
{
  struct path_entry *e = NULL;

  HASH_FIND(hh, cc->paths, key, KEY_LEN, e);
  if (e == NULL) {
    return NULL;
  }
  if (!same_epoch(&e->epoch, epoch) || !in_window(e->valid_from, e->valid_until, now)) {
    path_drop(cc, e);
    return NULL;
  }
  HASH_DEL(cc->paths, e);
  HASH_ADD(hh, cc->paths, key, KEY_LEN, e);
  return e->above;
}

/* ------------------------------------------------------------------------ */
/* Stores                                                                    */
/* ------------------------------------------------------------------------ */

static void put_chain(struct xca_chaincache *cc, const unsigned char key[KEY_LEN],
                      const struct xca_verdict_epoch *epoch, const struct xca_chain_result *res)
{
  struct chain_entry *e = NULL;

  HASH_FIND(hh, cc->chains, key, KEY_LEN, e);
  if (e != NULL) {
    chain_drop(cc, e);
  }
  if (HASH_COUNT(cc->chains) >= cc->capacity) {
    chain_drop(cc, cc->chains);
  }
  e = calloc(1, sizeof(*e));
  if (e == NULL) {
    return; /* not remembered: the next connect verifies in full */
  }
  memcpy(e->key, key, KEY_LEN);
  e->epoch = *epoch;
  e->res = *res;
  HASH_ADD(hh, cc->chains, key, KEY_LEN, e);
}

/* The window of every certificate of above; 0 when a time is unreadable. */
static int path_window(STACK_OF(X509) *above, time_t *from, time_t *until)
{
  for (int i = 0; i < sk_X509_num(above); i++) {
    time_t nb;
    time_t na;
    if (!xca_cert_validity(sk_X509_value(above, i), &nb, &na)) {
      return 0;
    }
    *from = (i == 0 || nb > *from) ? nb : *from;
    *until = (i == 0 || na < *until) ? na : *until;
  }
  return sk_X509_num(above) > 0;
}

/* Remember above (taken over) as the verified path sent as key. */
static void put_path(struct xca_chaincache *cc, const unsigned char key[KEY_LEN],
                     const struct xca_verdict_epoch *epoch, STACK_OF(X509) *above)
{
  struct path_entry *e = NULL;

  HASH_FIND(hh, cc->paths, key, KEY_LEN, e);
  if (e != NULL) {
    path_drop(cc, e);
  }
  e = calloc(1, sizeof(*e));
  if (e == NULL || !path_window(above, &e->valid_from, &e->valid_until)) {
    free(e);
    sk_X509_pop_free(above, X509_free);
    return;
  }
  if (HASH_COUNT(cc->paths) >= cc->capacity) {
    path_drop(cc, cc->paths);
  }
  memcpy(e->key, key, KEY_LEN);
  e->epoch = *epoch;
  e->above = above;
  HASH_ADD(hh, cc->paths, key, KEY_LEN, e);
}

/* ------------------------------------------------------------------------ */
/* Verification                                                              */
/* ------------------------------------------------------------------------ */

static void say(enum xca_chaincache_how *how, enum xca_chaincache_how value)
{
  if (how != NULL) {
    *how = value;
  }
}

int xca_chaincache_verify(struct xca_chaincache *cc, struct xca_trust *trust, X509 *leaf,
                          STACK_OF(X509) *untrusted, int max_depth,
                          const struct xca_verdict_epoch *epoch, time_t now,
                          struct xca_chain_result *res, enum xca_chaincache_how *how)
{
  unsigned char chain_key[KEY_LEN];
  unsigned char path_key[KEY_LEN];
  struct xca_trust_path path = {0};
  const struct xca_chain_result *cached;
  time_t at = now != 0 ? now : time(NULL);
  int rc;

  say(how, XCA_CHAINCACHE_FULL);
  if (cc == NULL || cc->capacity == 0 || max_depth > 255 ||
      !make_key("chain", max_depth, leaf, untrusted, 1, chain_key) ||
      !make_key("path", max_depth, leaf, untrusted, 0, path_key)) {
    return xca_trust_verify(trust, leaf, untrusted, max_depth, now, res);
  }
  cached = find_chain(cc, chain_key, epoch, at);
  if (cached != NULL) {
    *res = *cached;
    say(how, XCA_CHAINCACHE_HIT);
    return XCA_OK;
  }
  path.above = find_path(cc, path_key, epoch, at);
  rc = xca_trust_verify_path(trust, leaf, untrusted, max_depth, now, &path, res);
  say(how, path.used ? XCA_CHAINCACHE_LEAF : XCA_CHAINCACHE_FULL);
  if (rc != XCA_OK) {
    return rc; /* failures are never remembered */
  }
  put_chain(cc, chain_key, epoch, res);
  if (path.used) {
    sk_X509_pop_free(path.built, X509_free); /* the same path, already held */
  } else if (path.built != NULL) {
    put_path(cc, path_key, epoch, path.built);
  }
  return XCA_OK;
}
