/* revocation.h - revoked certificates and CRLs, held in memory (README
 * "Revocation").
 *
 * Two sources revoke a certificate of a verified chain: the revocation
 * list, a set of SHA-256 thumbprints (one hash lookup per chain member),
 * and the CRLs, held one per issuer and indexed by the SHA-256 of the
 * issuer's certificate, each with its revoked serials in a hash set (one
 * lookup per chain member whose issuer has a CRL). So the cost of a check
 * does not grow with the number of revoked certificates or CRL entries.
 * A generation number changes with every change of either, so that no
 * verdict taken before a revocation outlives it. Pure (no Redis): the
 * plugin fills the set from the registry. Not thread-safe: one owner
 * thread.
 */
#ifndef XCA_REVOCATION_H
#define XCA_REVOCATION_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "certinfo.h"

#define XCA_REVOKE_REASON_MAX 65  /* longest reason kept (64 characters) and its NUL */
#define XCA_CRL_SUBJECT_MAX 256   /* an issuer's subject as shown, truncated, with its NUL */
#define XCA_REVOKED_WHY_MAX 160   /* why a chain member is revoked, as a log line says it */
#define XCA_CRL_TEXT_MAX (8 * 1024 * 1024) /* largest CRL text accepted */

struct xca_revocation;
struct xca_chain_result;

/* What a CRL says about itself once checked. */
struct xca_crl_info {
  char issuer_sha256[XCA_SHA256_HEX];       /* SHA-256 of the issuer's certificate */
  char issuer_subject[XCA_CRL_SUBJECT_MAX]; /* RFC 2253, truncated */
  time_t this_update;                       /* unix seconds */
  time_t next_update;                       /* unix seconds; 0 when the CRL has none */
  unsigned count;                           /* serials listed */
};

/* One checked CRL: its serials in a hash set. */
struct xca_crl;

/* How a CRL past its nextUpdate is treated (plugin_opt_crl_expired). */
enum xca_crl_expired_policy {
  XCA_CRL_EXPIRED_ACCEPT, /* still enforced, reported */
  XCA_CRL_EXPIRED_REFUSE, /* chains through its issuer are refused */
};

/* Why a thumbprint's reason is unknown yet can be asked for: write the
 * reason stored for sha256 into reason (buflen bytes) and return 1, or
 * return 0 when it cannot be read now. */
typedef int (*xca_revocation_reason_fn)(void *arg, const char *sha256, char *reason,
                                        size_t buflen);

/* ------------------------------------------------------------------------ */
/* CRL intake                                                                */
/* ------------------------------------------------------------------------ */

/* Parse text (len bytes, need not be NUL-terminated), which must hold
 * exactly one PEM "X509 CRL" block and nothing else PEM-shaped. On success
 * *out is an owned X509_CRL. Returns XCA_OK, XCA_E_PRIVATE_KEY (a key label
 * anywhere: nothing of it is kept), XCA_E_BAD_CRL or XCA_E_NOMEM. */
int xca_crl_parse_pem(const char *text, size_t len, X509_CRL **out);

/* Check crl against issuer: its issuer name is issuer's subject, its
 * signature verifies with issuer's key and uses SHA-256 or stronger
 * (policy.h), its dates are readable (thisUpdate required, nextUpdate
 * optional, not before thisUpdate). Fills *info. Returns XCA_OK,
 * XCA_E_CRL_SIGNATURE (another issuer, or a signature that does not
 * verify), XCA_E_WEAK_DIGEST or XCA_E_BAD_CRL. OpenSSL's error queue is
 * left as it was. */
int xca_crl_check(X509_CRL *crl, X509 *issuer, struct xca_crl_info *info);

/* The whole intake: xca_crl_parse_pem, xca_crl_check, and the serials
 * gathered into a hash set. On success *out is owned (xca_crl_free) and
 * *crl_out (when non-NULL) the parsed CRL (owned by the caller). Returns
 * the errors of both, or XCA_E_NOMEM. */
int xca_crl_new(const char *text, size_t len, X509 *issuer, struct xca_crl **out,
                X509_CRL **crl_out);

/* Free a CRL. NULL-safe. */
void xca_crl_free(struct xca_crl *crl);

/* What crl says about itself. Borrowed. */
const struct xca_crl_info *xca_crl_info(const struct xca_crl *crl);

/* Return 1 if crl lists serial, else 0. */
int xca_crl_lists(const struct xca_crl *crl, const ASN1_INTEGER *serial);

/* Return 1 if incoming may replace held (a CRL of the same issuer): its
 * thisUpdate is later. A CRL not later than the one held is refused, so
 * that an old list cannot bring back a certificate revoked since. */
int xca_crl_is_newer(const struct xca_crl_info *held, const struct xca_crl_info *incoming);

/* Return 1 if info's nextUpdate has passed at now, else 0 (none: never). */
int xca_crl_expired(const struct xca_crl_info *info, time_t now);

/* ------------------------------------------------------------------------ */
/* The set                                                                   */
/* ------------------------------------------------------------------------ */

/* Create an empty set (policy accept). Returns NULL when out of memory. */
struct xca_revocation *xca_revocation_new(void);

/* Free the set, its thumbprints and CRLs. NULL-safe. */
void xca_revocation_free(struct xca_revocation *rev);

/* A number that changes whenever what the set revokes may have changed:
 * every add, remove, clear, CRL put or removal, policy change, and a CRL
 * found expired under the refuse policy. */
unsigned long xca_revocation_generation(const struct xca_revocation *rev);

/* Treat expired CRLs as policy says (from now on). */
void xca_revocation_set_expired_policy(struct xca_revocation *rev,
                                       enum xca_crl_expired_policy policy);

/* Ask fn (arg passed on) for the reason of a thumbprint held without one
 * (loaded from key names alone) when a chain is refused for it, until fn
 * answers once. */
void xca_revocation_set_reason_fn(struct xca_revocation *rev, xca_revocation_reason_fn fn,
                                  void *arg);

/* Revoke the certificate whose SHA-256 is sha256 (64 lowercase hex digits),
 * with reason (copied, truncated to 64 characters; NULL = not known yet),
 * replacing what it held. Returns XCA_OK, XCA_E_BAD_THUMBPRINT or
 * XCA_E_NOMEM (nothing changed). */
int xca_revocation_add(struct xca_revocation *rev, const char *sha256, const char *reason);

/* Stop revoking sha256. Returns XCA_OK or XCA_E_NOT_FOUND. */
int xca_revocation_remove(struct xca_revocation *rev, const char *sha256);

/* Return 1 if sha256 is in the revocation list, else 0. */
int xca_revocation_has(const struct xca_revocation *rev, const char *sha256);

/* The reason held for sha256 (borrowed), or NULL when it is not revoked or
 * its reason is not known. */
const char *xca_revocation_reason(const struct xca_revocation *rev, const char *sha256);

/* Number of thumbprints revoked. */
unsigned xca_revocation_count(const struct xca_revocation *rev);

/* Drop every thumbprint (the CRLs stay). */
void xca_revocation_clear(struct xca_revocation *rev);

/* Hold crl (ownership taken, also on error) for its issuer, replacing the
 * one held. Returns XCA_OK or XCA_E_NOMEM (that issuer then has no CRL). */
int xca_revocation_put_crl(struct xca_revocation *rev, struct xca_crl *crl);

/* Drop the CRL of the issuer whose SHA-256 is issuer_sha256. Returns XCA_OK
 * or XCA_E_NOT_FOUND. */
int xca_revocation_remove_crl(struct xca_revocation *rev, const char *issuer_sha256);

/* The CRL held for issuer_sha256 (borrowed, valid until the set changes)
 * or NULL. */
const struct xca_crl *xca_revocation_crl(const struct xca_revocation *rev,
                                         const char *issuer_sha256);

/* Number of CRLs held. */
unsigned xca_revocation_crl_count(const struct xca_revocation *rev);

/* Drop every CRL. */
void xca_revocation_clear_crls(struct xca_revocation *rev);

/* Find the CRLs whose nextUpdate has passed at now. Each one found for the
 * first time (since it was put) is handed to fn (may be NULL; arg passed
 * on) once; under the refuse policy that also changes the generation.
 * Returns the number of expired CRLs held. */
unsigned xca_revocation_expire(struct xca_revocation *rev, time_t now,
                               void (*fn)(void *arg, const struct xca_crl_info *info),
                               void *arg);

/* Number of CRLs held found expired by the last xca_revocation_expire. */
unsigned xca_revocation_expired_count(const struct xca_revocation *rev);

/* ------------------------------------------------------------------------ */
/* The chain check                                                           */
/* ------------------------------------------------------------------------ */

/* Check every certificate of a verified chain (leaf first, anchor last;
 * sha256[i] the thumbprint of chain's i-th certificate) at time now: not
 * in the revocation list, and not listed by serial in the CRL held for
 * its issuer (the next certificate of the chain); under the refuse policy
 * that CRL must not have expired either. Returns XCA_OK, or XCA_E_REVOKED
 * / XCA_E_CRL_EXPIRED for the first certificate (from the anchor down, so
 * that a revoked intermediate is named rather than each leaf under it)
 * with *depth its position and why (buflen bytes) saying why, e.g.
 * "revoked (keyCompromise)" or "listed in the CRL of CN=Factory-Y CA".
 * rev NULL revokes nothing. */
int xca_revocation_check_chain(struct xca_revocation *rev, STACK_OF(X509) *chain,
                               const char (*sha256)[XCA_SHA256_HEX], time_t now, int *depth,
                               char *why, size_t buflen);

#endif
