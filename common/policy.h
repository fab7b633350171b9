/* policy.h - the certificate policy (README "How a device connects"): the
 * keys, signature digests and leaf usages x509ca accepts, in a device's
 * chain and in every CA or verification certificate an admin uploads.
 *
 * The policy is x509ca's own, so it holds whatever the TLS security level
 * of the listener or the client: the plugin verifies chains with its own
 * X509_STORE_CTX, which OpenSSL's level does not reach. No state; each
 * check is a pure function of the certificate.
 */
#ifndef XCA_POLICY_H
#define XCA_POLICY_H

#include <stddef.h>

#include <openssl/x509.h>

#define XCA_POLICY_MIN_RSA_BITS 2048 /* default and lowest allowed min_rsa_bits */
#define XCA_POLICY_MAX_RSA_BITS 16384 /* highest allowed min_rsa_bits */
#define XCA_POLICY_DETAIL_MAX 64     /* "RSA 1024 bits < 2048" */

struct xca_policy {
  int min_rsa_bits; /* smallest RSA modulus accepted, in bits */
};

/* Fill p with the defaults (min_rsa_bits XCA_POLICY_MIN_RSA_BITS). */
void xca_policy_init(struct xca_policy *p);

/* The public key of cert: RSA (also RSA-PSS) of at least p->min_rsa_bits
 * bits, EC on a named P-256, P-384 or P-521 curve, Ed25519 or Ed448.
 * Returns XCA_OK, XCA_E_WEAK_KEY (RSA too short), XCA_E_BAD_CURVE (another
 * curve, or explicit curve parameters) or XCA_E_KEY_TYPE (DSA, X25519,
 * unreadable, ...); on error detail (detail_len > 0) says what was found,
 * e.g. "RSA 1024 bits < 2048", else it is "". */
int xca_policy_check_key(const struct xca_policy *p, X509 *cert, char *detail,
                         size_t detail_len);

/* The digest of cert's own signature: SHA-256, SHA-384, SHA-512 or
 * SHA3-256/384/512; Ed25519 and Ed448 signatures (no separate digest)
 * pass. MD5, SHA-1, SHA-224 and algorithms OpenSSL cannot map to a digest
 * do not. Returns XCA_OK or XCA_E_WEAK_DIGEST (detail names the signature
 * algorithm, e.g. "sha1WithRSAEncryption < SHA-256"). */
int xca_policy_check_signature(X509 *cert, char *detail, size_t detail_len);

/* The digest of crl's signature, by the rule of xca_policy_check_signature
 * (an RSA-PSS signature, whose digest sits in its parameters, is refused).
 * Returns XCA_OK or XCA_E_WEAK_DIGEST (detail names the algorithm). */
int xca_policy_check_crl_signature(X509_CRL *crl, char *detail, size_t detail_len);

/* One certificate of a chain or upload: its key, and the digest of its
 * signature unless it is self-signed (a self-signature is never verified:
 * such a certificate is only ever an anchor). Returns XCA_OK or the error
 * of xca_policy_check_key / xca_policy_check_signature, with detail. */
int xca_policy_check_cert(const struct xca_policy *p, X509 *cert, char *detail,
                          size_t detail_len);

/* The end-entity rules of a device's leaf: not CA:TRUE; a keyUsage, when
 * present, includes digitalSignature; an extendedKeyUsage, when present,
 * includes clientAuth. Returns XCA_OK, XCA_E_LEAF_IS_CA, XCA_E_LEAF_USAGE
 * or XCA_E_LEAF_EKU; detail is set to "" (the error says it all). */
int xca_policy_check_leaf(X509 *leaf, char *detail, size_t detail_len);

/* Every certificate of chain (leaf first, as X509_STORE_CTX_get0_chain
 * gives it), anchors included, through xca_policy_check_cert. Returns
 * XCA_OK (*depth -1), or the first error with *depth its position in the
 * chain (0 = leaf) and detail. The leaf rules are not applied here. */
int xca_policy_check_chain(const struct xca_policy *p, STACK_OF(X509) *chain, int *depth,
                           char *detail, size_t detail_len);

#endif
