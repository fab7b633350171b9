/* certgen.h - certificates made in-process with the OpenSSL C API, for unit
 * tests that need certificates whose subject is only known at run time
 * (e.g. a verification certificate for a fresh code). EC P-256, SHA-256. */
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

/* PEM of the certificate / of the private key (PKCS#8), malloc'ed, or NULL. */
char *xca_certgen_pem(const struct xca_tcert *c);
char *xca_certgen_key_pem(const struct xca_tcert *c);

/* Release both and zero c. NULL-safe. */
void xca_certgen_free(struct xca_tcert *c);

#endif
