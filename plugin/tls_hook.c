/* tls_hook.c - the plugin owns client-certificate verification.
 *
 * Mosquitto creates its listener SSL_CTXs after plugins are initialised. An
 * SSL_CTX ex_data index registered here with a new_func makes OpenSSL call
 * us for every later SSL_CTX, and on server contexts we install our own
 * certificate-verify callback (Mosquitto only calls SSL_CTX_set_verify, so
 * it is never overwritten). The callback verifies the chain the client sent
 * against the verified-CA set held *now* and attaches what it found (the
 * facts) to the leaf X509 with ex_data; BASIC_AUTH reads them back. The
 * handshake itself is let through, so that selfSigned identities can be
 * decided by thumbprint at CONNECT.
 */
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "xca_err.h"
#include "xca_plugin.h"

/* What one handshake established, attached to the client's leaf: the facts
 * plus the intermediates the client sent (owned references, the leaf
 * object excluded to avoid a reference cycle), kept to verify again later. */
struct handshake_record {
  struct xca_cert_facts facts;
  STACK_OF(X509) *intermediates;
};

static int ctx_index = -1;
static int x509_index = -1;

static void handshake_record_free(struct handshake_record *rec)
{
  if (rec != NULL) {
    sk_X509_pop_free(rec->intermediates, X509_free);
    free(rec);
  }
}

static void x509_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                         void *argp)
{
  (void)parent;
  (void)ad;
  (void)idx;
  (void)argl;
  (void)argp;
  handshake_record_free(ptr);
}

static STACK_OF(X509) *copy_intermediates(X509 *leaf, STACK_OF(X509) *sent)
{
  STACK_OF(X509) *out = sk_X509_new_null();

  for (int i = 0; out != NULL && i < sk_X509_num(sent); i++) {
    X509 *cert = sk_X509_value(sent, i);
    /* Only the leaf object itself would make a cycle. A pointer compare:
     * X509_cmp would parse every extension of each intermediate on every
     * handshake, which a cached chain verdict never needs. */
    if (cert == leaf) {
      continue;
    }
    if (!X509_up_ref(cert) || !sk_X509_push(out, cert)) {
      sk_X509_pop_free(out, X509_free);
      return NULL;
    }
  }
  return out;
}

/* The one place that says what a cached chain verdict depends on besides
 * its certificates and the clock: the verified CAs and the policy (both in
 * the trust set's generation) and the revocation set. Any change to one of
 * them makes every cached verdict stale (chaincache.h). */
static void verdict_epoch(struct xca_verdict_epoch *epoch)
{
  epoch->trust = xca_trust_generation(xca_g.trust);
  epoch->revocation = xca_revocation_generation(xca_g.revocation);
}

/* What depends on the CA set, the revocation set and the clock: checked at the handshake and
 * again whenever one changed before the decision is used (the verified
 * chain's thumbprints, f->chain.chain_sha256, with it). A chain verified
 * before is answered by the chain cache; this skips re-verifying
 * certificate signatures only: the device's CertificateVerify (its proof
 * that it holds the leaf's key) is checked by OpenSSL's handshake on every
 * connect, never here and never skipped. */
static void refresh_facts(X509 *leaf, struct handshake_record *rec)
{
  struct xca_cert_facts *f = &rec->facts;
  struct xca_verdict_epoch epoch;
  enum xca_chaincache_how how;

  verdict_epoch(&epoch);
  f->trust_generation = epoch.trust;
  f->revocation_generation = epoch.revocation;
  f->verified_at = time(NULL);
  f->leaf_time_valid = xca_cert_time_valid(leaf, f->verified_at);
  f->chain_ok = xca_chaincache_verify(xca_g.chaincache, xca_g.trust, leaf, rec->intermediates,
                                      xca_g.cfg.max_chain_depth, &epoch, 0, &f->chain,
                                      &how) == XCA_OK;
  xca_stats_chain(&xca_g.stats, how == XCA_CHAINCACHE_HIT, how == XCA_CHAINCACHE_LEAF);
}

/* Everything, once per handshake: the leaf's own facts never change. */
static void fill_facts(X509 *leaf, struct handshake_record *rec)
{
  struct xca_cert_facts *f = &rec->facts;

  memset(f, 0, sizeof(*f));
  f->cn_ok = xca_cert_cn(leaf, f->cn, sizeof(f->cn)) == XCA_OK;
  f->self_signed = xca_cert_self_signed(leaf);
  f->leaf_key_error = xca_policy_check_key(xca_trust_policy(xca_g.trust), leaf, NULL, 0);
  xca_cert_sha1(leaf, f->sha1);
  xca_cert_sha256(leaf, f->sha256);
  refresh_facts(leaf, rec);
}

static int verify_cb(X509_STORE_CTX *store_ctx, void *arg)
{
  SSL *ssl = X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx());
  X509 *leaf = X509_STORE_CTX_get0_cert(store_ctx);
  struct handshake_record *rec;

  (void)arg;
  /* OpenSSL resets num_tickets after our SSL_CTX hook ran; no ticket may be
   * issued, or a resumed session would skip this callback. */
  if (ssl != NULL) {
    SSL_set_num_tickets(ssl, 0);
  }
  if (leaf == NULL) {
    return 0;
  }
  rec = calloc(1, sizeof(*rec));
  if (rec == NULL) {
    return 0;
  }
  rec->intermediates = copy_intermediates(leaf, X509_STORE_CTX_get0_untrusted(store_ctx));
  if (rec->intermediates == NULL) {
    handshake_record_free(rec);
    return 0;
  }
  fill_facts(leaf, rec);
  xca_prefetch_handshake(&rec->facts);
  handshake_record_free(X509_get_ex_data(leaf, x509_index));
  if (!X509_set_ex_data(leaf, x509_index, rec)) {
    handshake_record_free(rec);
    return 0;
  }
  X509_STORE_CTX_set_error(store_ctx, X509_V_OK);
  return 1;
}

/* Runs for every SSL_CTX created after the plugin loaded. */
static void ctx_ex_new(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
  SSL_CTX *ctx = parent;

  (void)ptr;
  (void)ad;
  (void)idx;
  (void)argl;
  (void)argp;
  /* Client contexts (bridges) keep OpenSSL's normal server-certificate checks. */
  if (ctx == NULL || SSL_CTX_get_ssl_method(ctx) != TLS_server_method()) {
    return;
  }
  SSL_CTX_set_cert_verify_callback(ctx, verify_cb, NULL);
  /* Every connect must be verified: no tickets, no server session cache
   * (a cached session would bring back the old verdict). */
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
}

int xca_tls_hook_install(void)
{
  x509_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_X509, 0, NULL, NULL, NULL, x509_ex_free);
  ctx_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, NULL, ctx_ex_new, NULL, NULL);
  return (x509_index >= 0 && ctx_index >= 0) ? XCA_OK : XCA_E_NOMEM;
}

void xca_tls_hook_remove(void)
{
  /* The listener contexts outlive the plugin: stop OpenSSL calling us. */
  if (ctx_index >= 0) {
    CRYPTO_free_ex_index(CRYPTO_EX_INDEX_SSL_CTX, ctx_index);
    ctx_index = -1;
  }
  if (x509_index >= 0) {
    CRYPTO_free_ex_index(CRYPTO_EX_INDEX_X509, x509_index);
    x509_index = -1;
  }
}

static struct handshake_record *handshake_record_of(X509 *leaf)
{
  return (leaf != NULL && x509_index >= 0) ? X509_get_ex_data(leaf, x509_index) : NULL;
}

const struct xca_cert_facts *xca_tls_facts(X509 *leaf, enum xca_facts_mode mode)
{
  struct handshake_record *rec = handshake_record_of(leaf);

  if (rec == NULL) {
    return NULL;
  }
  /* The CONNECT may come long after the handshake: decide on facts checked
   * against the CA set, the revocations and the clock of now, not of the
   * handshake. */
  if (mode == XCA_FACTS_REVERIFY ||
      (mode == XCA_FACTS_CURRENT &&
       (rec->facts.trust_generation != xca_trust_generation(xca_g.trust) ||
        rec->facts.revocation_generation != xca_revocation_generation(xca_g.revocation) ||
        rec->facts.verified_at != time(NULL)))) {
    refresh_facts(leaf, rec);
  }
  return &rec->facts;
}
