/* trust.h - the set of verified CAs and chain verification against it.
 *
 * The set is indexed by CA name and by subject-name hash, and OpenSSL finds
 * issuers through that index (X509_STORE get_issuer callback), so the cost
 * of one verification does not grow with the number of CAs, and adding or
 * removing a CA never rebuilds anything. Not thread-safe: one owner thread.
 */
#ifndef XCA_TRUST_H
#define XCA_TRUST_H

#include <time.h>

#include <openssl/x509.h>

#include "certinfo.h"
#include "policy.h"
#include "revocation.h"

#define XCA_CA_NAME_MAX 64
#define XCA_CHAIN_NAMES_MAX 8
#define XCA_CHAIN_MAX 16 /* longest verified chain (leaf and anchor included); longer is refused */
/* xca_chain_thumbprints of the longest chain, and its NUL. */
#define XCA_CHAIN_TEXT_MAX (XCA_CHAIN_MAX * XCA_SHA256_HEX)

struct xca_trust;

struct xca_chain_result {
  int x509_error;  /* X509_V_OK when the chain leads to a verified CA */
  int error_depth; /* depth of the failing certificate, -1 when none */
  /* XCA_OK, or the certificate policy rule (policy.h) the certificate at
   * error_depth breaks; x509_error is then X509_V_ERR_APPLICATION_VERIFICATION. */
  int policy_error;
  char policy_detail[XCA_POLICY_DETAIL_MAX]; /* e.g. "RSA 1024 bits < 2048", or "" */
  int anchor_count; /* number of names in anchors[] */
  /* Names of the verified CAs that appear in the verified chain: the CAs a
   * session depends on (removing one of them may break the chain). */
  char anchors[XCA_CHAIN_NAMES_MAX][XCA_CA_NAME_MAX + 1];
  /* The verified chain as X509_STORE_CTX_get0_chain built it, leaf first
   * and anchor last: chain_len certificates and their SHA-256 thumbprints
   * (lowercase hex). Filled on success only (chain_len 0 otherwise). */
  int chain_len;
  char chain_sha256[XCA_CHAIN_MAX][XCA_SHA256_HEX];
  /* When the verified chain is valid: the latest notBefore and the earliest
   * notAfter of its certificates, in unix seconds (xca_cert_validity).
   * Filled on success only (both 0 otherwise, or when a time cannot be
   * read: a window that admits no time). */
  time_t valid_from;
  time_t valid_until;
  /* A chain refused as revoked (policy_error XCA_E_REVOKED or
   * XCA_E_CRL_EXPIRED, error_depth the certificate): that certificate's
   * thumbprint and why, e.g. "revoked (keyCompromise)"; else "". */
  char revoked_sha256[XCA_SHA256_HEX];
  char revoked_why[XCA_REVOKED_WHY_MAX];
};

/* What xca_trust_verify_path adds to xca_trust_verify, for the chain
 * cache (chaincache.h). */
struct xca_trust_path {
  /* In: the certificates above the leaf of an earlier chain whose
   * signatures (each by the next) verified, bottom first (borrowed; NULL =
   * none). Used only when the chain OpenSSL builds for this leaf holds
   * exactly these certificates (same DER, same order) above the leaf and
   * all of them but the first are within their validity period at the
   * verification time: then their signatures are not verified again. */
  STACK_OF(X509) *above;
  int used;              /* out: 1 when above was used (only the leaf's signature was verified) */
  STACK_OF(X509) *built; /* out on XCA_OK: the verified chain above the leaf, bottom first
                            (new references; sk_X509_pop_free(built, X509_free)); else NULL */
};

/* The rule of xca_ca_name_valid, as error messages state it. */
#define XCA_CA_NAME_RULE "must be 1\u2013" "64 of A-Z a-z 0-9 . _ -"

/* Return 1 if name is a valid CA name ([A-Za-z0-9._-]{1,64}), else 0. */
int xca_ca_name_valid(const char *name);

/* Create an empty trust set with the default certificate policy. Returns
 * NULL on allocation failure. */
struct xca_trust *xca_trust_new(void);

/* Verify every later chain under policy (copied). */
void xca_trust_set_policy(struct xca_trust *trust, const struct xca_policy *policy);

/* Check every later verified chain against rev (borrowed, may be NULL:
 * nothing is revoked): see xca_revocation_check_chain. */
void xca_trust_set_revocation(struct xca_trust *trust, struct xca_revocation *rev);

/* The revocation set chains are checked against (borrowed), or NULL. */
struct xca_revocation *xca_trust_revocation(const struct xca_trust *trust);

/* The policy chains are verified under (borrowed). */
const struct xca_policy *xca_trust_policy(const struct xca_trust *trust);

/* Free the set and every reference it holds. NULL-safe. */
void xca_trust_free(struct xca_trust *trust);

/* A number that changes whenever the set or its policy changes (put,
 * remove, clear, set_policy). */
unsigned long xca_trust_generation(const struct xca_trust *trust);

/* Trust ca under name (see xca_ca_name_valid), replacing what name held. Takes its own
 * reference to ca. Returns XCA_OK, XCA_E_BAD_NAME, XCA_E_NOT_CA or
 * XCA_E_NOMEM (name is then no longer trusted). */
int xca_trust_put(struct xca_trust *trust, const char *name, X509 *ca);

/* Stop trusting name. Returns XCA_OK or XCA_E_NOT_FOUND. */
int xca_trust_remove(struct xca_trust *trust, const char *name);

/* Return 1 if name is in the set, else 0. */
int xca_trust_has(const struct xca_trust *trust, const char *name);

/* Number of CAs in the set. */
unsigned xca_trust_count(const struct xca_trust *trust);

/* Remove every CA. */
void xca_trust_clear(struct xca_trust *trust);

/* Verify leaf with the certificates the peer sent (untrusted, may be NULL
 * and may contain the leaf) against the set at time now (0 = current time).
 * Checks signatures, validity periods, CA:TRUE and pathlen of every CA and a
 * maximum of max_depth certificates between leaf and anchor. An intermediate
 * in the set is a sufficient anchor. Then the certificate policy: the leaf
 * rules (xca_policy_check_leaf, before the chain is built, so that they
 * are reported rather than OpenSSL's purpose check) and every certificate of
 * the built chain, anchors included (xca_policy_check_chain). A built chain
 * of more than XCA_CHAIN_MAX certificates is refused (XCA_E_CHAIN,
 * X509_V_ERR_CERT_CHAIN_TOO_LONG). Last the revocation set, when one is
 * set (xca_trust_set_revocation): a revoked member gives XCA_E_REVOKED or
 * XCA_E_CRL_EXPIRED in res->policy_error (x509_error
 * X509_V_ERR_CERT_REVOKED, error_depth, revoked_sha256 and revoked_why say
 * which and why).
 * Returns XCA_OK (res filled, res->x509_error == X509_V_OK, the chain's
 * thumbprints in res->chain_sha256), XCA_E_CHAIN
 * (res->x509_error says why), the policy error (res->policy_error, detail
 * and error_depth say which certificate and why) or XCA_E_NOMEM.
 * OpenSSL's error queue is left as it was (a refusal pushes nothing). Of
 * several verified CAs with the same subject and key id, the one whose key
 * signed the certificate is used. */
int xca_trust_verify(struct xca_trust *trust, X509 *leaf, STACK_OF(X509) *untrusted,
                     int max_depth, time_t now, struct xca_chain_result *res);

/* As xca_trust_verify, with path (see struct xca_trust_path; NULL = as
 * xca_trust_verify). Every check of xca_trust_verify is made as it would
 * be - OpenSSL builds the chain and checks extensions, purpose, pathlen,
 * depth, name constraints and every validity period, then the policy -
 * except that, when path->above matches the built chain, the signatures of
 * the certificates above the leaf (already verified in that same chain) are
 * not verified again; the leaf's signature always is. So the result (rc
 * and res) is the one xca_trust_verify gives. */
int xca_trust_verify_path(struct xca_trust *trust, X509 *leaf, STACK_OF(X509) *untrusted,
                          int max_depth, time_t now, struct xca_trust_path *path,
                          struct xca_chain_result *res);

/* Verify that the CA certificate ca is in the set or chains to it at time
 * now (0 = current time), through untrusted (may be NULL) and at most
 * max_depth certificates: signatures, validity periods, CA:TRUE and pathlen
 * of every issuer, and the certificate policy on the whole chain, ca and
 * anchors included, and the revocation set as xca_trust_verify does. No
 * leaf rules and no purpose apply: this is how an
 * enrollment group's CA is checked before it is stored. Returns XCA_OK (res
 * filled as by xca_trust_verify), XCA_E_NOT_CA, XCA_E_CHAIN (res->x509_error
 * says why), the policy error (res->policy_error, detail, error_depth) or
 * XCA_E_NOMEM. OpenSSL's error queue is left as it was. */
int xca_trust_verify_ca(struct xca_trust *trust, X509 *ca, STACK_OF(X509) *untrusted,
                        int max_depth, time_t now, struct xca_chain_result *res);

/* Write why a chain failed, for a log line or a reply, into buf: for a
 * revoked member "certificate is revoked at depth 1 (sha256
 * 0a1b2c3d4e5f6a7b): revoked (keyCompromise)"; the policy error with its
 * detail ("certificate key too weak (RSA 1024 bits <
 * 2048) at depth 0"), or the chain error with OpenSSL's reason
 * ("certificate chain does not lead to a verified CA (certificate has
 * expired) at depth 0"). "at depth N" is left out when no certificate is
 * to blame. Truncated to fit buflen (> 0). */
void xca_chain_describe(const struct xca_chain_result *res, char *buf, size_t buflen);

/* Write the thumbprints of res's verified chain into buf: lowercase hex,
 * leaf first and anchor last, comma-separated, as the audit stream stores
 * them ("" when res holds no chain). A buffer of XCA_CHAIN_TEXT_MAX bytes
 * holds any chain; a shorter one gets the first whole thumbprints that
 * fit. buflen > 0. */
void xca_chain_thumbprints(const struct xca_chain_result *res, char *buf, size_t buflen);

#endif
