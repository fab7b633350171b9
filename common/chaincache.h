/* chaincache.h - verified chains remembered, so that a device connecting
 * again costs no certificate signature check, and a device seen for the
 * first time under known intermediates costs one (README "Chain cache").
 *
 * Two bounded LRU tables, both holding successes only:
 * - chains: key SHA-256 over the DER of the leaf and of every certificate
 *   sent with it, in order; value the xca_chain_result of its verification.
 *   A hit needs the same verdict epoch (trust set, policy, revocation) and
 *   the current time inside every chain member's validity period (the
 *   result's valid_from / valid_until window): it then yields exactly the
 *   result a fresh verification would.
 * - paths: key SHA-256 over the DER of the certificates sent above the
 *   leaf, in order; value the verified chain above the leaf, whose
 *   signatures were all verified. A new leaf sent with the same
 *   certificates is verified by OpenSSL as usual, except that those
 *   signatures are not verified again when the chain it builds holds that
 *   same path (xca_trust_verify_path): every check on the leaf is made.
 * Nothing here skips the TLS handshake's CertificateVerify (the device's
 * proof of possession of its key): that is OpenSSL's handshake, not chain
 * verification. Capacity 0 turns both tables off. Not thread-safe: one
 * owner thread.
 */
#ifndef XCA_CHAINCACHE_H
#define XCA_CHAINCACHE_H

#include <time.h>

#include <openssl/x509.h>

#include "trust.h"

/* What every cached verdict depends on besides the certificates and the
 * clock; an entry is used only while it is the same as when it was made. */
struct xca_verdict_epoch {
  unsigned long trust;      /* xca_trust_generation: the verified CAs and the policy */
  unsigned long revocation; /* the revocation set's generation (0 while there is none) */
};

/* How xca_chaincache_verify came to its result. */
enum xca_chaincache_how {
  XCA_CHAINCACHE_FULL,   /* verified in full (a miss, or the cache is off) */
  XCA_CHAINCACHE_HIT,    /* the whole chain's result was cached: nothing verified */
  XCA_CHAINCACHE_LEAF,   /* verified with the path above the leaf known: one signature */
};

struct xca_chaincache;

/* A cache of at most capacity chains and capacity paths (0 = off: every
 * verification is a full one). Returns NULL on allocation failure. */
struct xca_chaincache *xca_chaincache_new(int capacity);

/* Free the cache and its references. NULL-safe. */
void xca_chaincache_free(struct xca_chaincache *cc);

/* Drop every entry. NULL-safe. */
void xca_chaincache_clear(struct xca_chaincache *cc);

/* Chains / paths held. */
unsigned xca_chaincache_chains(const struct xca_chaincache *cc);
unsigned xca_chaincache_paths(const struct xca_chaincache *cc);

/* Verify leaf with untrusted (as the peer sent them; may be NULL, may hold
 * the leaf) against trust at time now (0 = the current time), as
 * xca_trust_verify(trust, leaf, untrusted, max_depth, now, res) does, and
 * with its result: from the chain table when it holds this chain under
 * epoch and now lies in its validity window, else through the path table,
 * else in full; a success is remembered under epoch. *how (may be NULL)
 * says which. Entries of another epoch or outside their window are
 * dropped when met. cc NULL = verify in full. Returns what xca_trust_verify
 * returns (res filled as it fills it). */
int xca_chaincache_verify(struct xca_chaincache *cc, struct xca_trust *trust, X509 *leaf,
                          STACK_OF(X509) *untrusted, int max_depth,
                          const struct xca_verdict_epoch *epoch, time_t now,
                          struct xca_chain_result *res, enum xca_chaincache_how *how);

#endif
