/* certgen.h - certificates made in-process with the OpenSSL C API, for unit
 * tests that need certificates whose subject is only known at run time
 * (e.g. a verification certificate for a fresh code). EC P-256, SHA-256
 * unless a spec asks for another key, digest or usage. */
#ifndef XCA_CERTGEN_H
#define XCA_CERTGEN_H

#include <openssl/evp.h>
#include <openssl/x509.h>

struct xca_tcert {
  X509 *cert;
  EVP_PKEY *key;
};

/* Make a certificate CN=cn with a new key, signed by issuer (NULL =
 * self-signed), CA:TRUE when is_ca, valid from now+from_s to now+to_s
 * seconds. Returns 0 on success (out owns both), -1 on failure. */
int xca_certgen(struct xca_tcert *out, const char *cn, const struct xca_tcert *issuer,
                int is_ca, long from_s, long to_s);

/* What xca_certgen_spec makes; NULL / 0 fields take the defaults. */
struct xca_tcert_spec {
  const char *cn;
  const char *key;    /* "P-256" [default] or another EC curve name, "RSA:<bits>",
                         "ED25519", "ED448", "X25519", "DSA" (1024 bits), "EC-EXPLICIT"
                         (P-256 with explicit curve parameters) */
  const char *md;     /* the issuer's signature digest, e.g. "SHA1", "MD5" ["SHA256"];
                         ignored (none) when the issuer key is Ed25519/Ed448 */
  int is_ca;          /* basicConstraints CA:TRUE, keyUsage keyCertSign,cRLSign */
  const char *basic_constraints; /* overrides is_ca's; "" = no basicConstraints */
  const char *key_usage;     /* keyUsage value; NULL = CA: as above, leaf: none */
  const char *ext_key_usage; /* extendedKeyUsage value; NULL = none */
  long from_s, to_s;  /* validity relative to now; both 0 = -1 day .. +365 days */
};

/* Make the certificate spec describes with a new key, signed by issuer
 * (NULL = self-signed). The certificate is re-read from its DER encoding,
 * so its flags and key are those a peer's would have. Returns 0 on success
 * (out owns both), -1 on failure. */
int xca_certgen_spec(struct xca_tcert *out, const struct xca_tcert_spec *spec,
                     const struct xca_tcert *issuer);

/* PEM of the certificate / of the private key (PKCS#8), malloc'ed, or NULL. */
char *xca_certgen_pem(const struct xca_tcert *c);
char *xca_certgen_key_pem(const struct xca_tcert *c);

/* Release both and zero c. NULL-safe. */
void xca_certgen_free(struct xca_tcert *c);

#endif
