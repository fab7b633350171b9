/* certgen.h - certificates made in-process with the OpenSSL C API, for the
 * unit tests (tests/unit/support/pki_fixture.h builds named PKIs on it) and
 * the benchmark's bulk PKI (tests/bench/xca_pkigen.c): a certificate costs
 * about 0.1 ms here against about 25 ms through the openssl CLI.
 *
 * A spec names a profile - the certificate kinds scripts/x509ca-pki makes -
 * and what departs from it. EC P-256 and SHA-256 unless a spec asks for
 * another key or digest. */
#ifndef XCA_CERTGEN_H
#define XCA_CERTGEN_H

#include <openssl/evp.h>
#include <openssl/x509.h>

struct xca_tcert {
  X509 *cert;
  EVP_PKEY *key;
};

/* The extensions a certificate gets before a spec's own fields override
 * them. The three named profiles are those of scripts/x509ca-pki, with
 * subjectKeyIdentifier and authorityKeyIdentifier. */
enum xca_tcert_profile {
  XCA_TCERT_PLAIN = 0, /* basicConstraints from is_ca; keyUsage keyCertSign,cRLSign
                          for a CA, else none; no key identifiers */
  XCA_TCERT_CA,        /* CA:TRUE, keyUsage keyCertSign,cRLSign (all critical) */
  XCA_TCERT_DEVICE,    /* CA:FALSE, keyUsage digitalSignature (all critical),
                          extendedKeyUsage clientAuth */
  XCA_TCERT_SERVER,    /* as DEVICE with serverAuth and subjectAltName
                          DNS:localhost, IP:127.0.0.1 */
};

/* What xca_certgen_spec makes; NULL / 0 fields take the profile's value. */
struct xca_tcert_spec {
  const char *cn;
  enum xca_tcert_profile profile;
  const char *key;    /* "P-256" [default] or another EC curve name, "RSA:<bits>",
                         "ED25519", "ED448", "X25519", "DSA" (1024 bits), "EC-EXPLICIT"
                         (P-256 with explicit curve parameters) */
  EVP_PKEY *use_key;  /* certify this key (borrowed) instead of making one; key is
                         then ignored */
  const char *md;     /* the issuer's signature digest, e.g. "SHA1", "MD5" ["SHA256"];
                         ignored (none) when the issuer key is Ed25519/Ed448 */
  int is_ca;          /* PLAIN: basicConstraints CA:TRUE, keyUsage keyCertSign,cRLSign */
  const char *basic_constraints; /* e.g. "critical,CA:TRUE,pathlen:0"; "" = none */
  const char *key_usage;     /* keyUsage value; "" = none */
  const char *ext_key_usage; /* extendedKeyUsage value; "" = none */
  const char *san;           /* subjectAltName value; "" = none */
  long from_s, to_s;  /* validity relative to now; both 0 = -1 day .. +365 days */
};

/* Make a certificate CN=cn (PLAIN profile) with a new key, signed by issuer
 * (NULL = self-signed), CA:TRUE when is_ca, valid from now+from_s to
 * now+to_s seconds. Returns 0 on success (out owns both), -1 on failure. */
int xca_certgen(struct xca_tcert *out, const char *cn, const struct xca_tcert *issuer,
                int is_ca, long from_s, long to_s);

/* Make the certificate spec describes, signed by issuer (NULL = self-
 * signed), with a random 127-bit serial. The certificate is re-read from
 * its DER encoding, so its flags and key are those a peer's would have.
 * Returns 0 on success (out owns both; with use_key, out->key is a new
 * reference to it), -1 on failure. */
int xca_certgen_spec(struct xca_tcert *out, const struct xca_tcert_spec *spec,
                     const struct xca_tcert *issuer);

/* A new key as spec->key names it (see struct xca_tcert_spec), or NULL. */
EVP_PKEY *xca_certgen_key(const char *type);

/* Read the PEM certificate file cert_path and, unless key_path is NULL, the
 * PEM private key file key_path into out. Returns 0 (out owns both; key
 * NULL without key_path), or -1 with out untouched. */
int xca_certgen_read(struct xca_tcert *out, const char *cert_path, const char *key_path);

/* PEM of the certificate / of the private key (PKCS#8), malloc'ed, or NULL. */
char *xca_certgen_pem(const struct xca_tcert *c);
char *xca_certgen_key_pem(const struct xca_tcert *c);

/* What xca_certgen_crl makes. */
struct xca_tcrl_spec {
  X509 *const *revoked; /* the certificates whose serials it lists */
  int count;            /* how many */
  int extra_serials;    /* further random 127-bit serials listed (e.g. 100000) */
  long this_s;          /* thisUpdate relative to now (seconds) */
  long next_s;          /* nextUpdate relative to now */
  int no_next;          /* 1: no nextUpdate at all */
  const char *md;       /* signature digest ["SHA256"]; none for Ed25519/Ed448 */
  EVP_PKEY *sign_key;   /* sign with this key instead of the issuer's (borrowed) */
};

/* PEM of a v2 CRL issued by issuer (its subject names the issuer, its key
 * signs unless spec->sign_key), malloc'ed, or NULL on failure. */
char *xca_certgen_crl(const struct xca_tcert *issuer, const struct xca_tcrl_spec *spec);

/* Release both and zero c. NULL-safe. */
void xca_certgen_free(struct xca_tcert *c);

#endif
