#include "certgen.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */
/* ------------------------------------------------------------------------ */

static EVP_PKEY *gen_dsa(void)
{
  EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "DSA", NULL);
  EVP_PKEY_CTX *kctx = NULL;
  EVP_PKEY *params = NULL;
  EVP_PKEY *key = NULL;

  if (pctx != NULL && EVP_PKEY_paramgen_init(pctx) > 0 &&
      EVP_PKEY_CTX_set_dsa_paramgen_bits(pctx, 1024) > 0 && EVP_PKEY_paramgen(pctx, &params) > 0) {
    kctx = EVP_PKEY_CTX_new_from_pkey(NULL, params, NULL);
    if (kctx == NULL || EVP_PKEY_keygen_init(kctx) <= 0 || EVP_PKEY_keygen(kctx, &key) <= 0) {
      key = NULL;
    }
  }
  EVP_PKEY_CTX_free(kctx);
  EVP_PKEY_CTX_free(pctx);
  EVP_PKEY_free(params);
  return key;
}

static EVP_PKEY *gen_ec_explicit(void)
{
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"P-256", 0),
    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING,
                                     (char *)OSSL_PKEY_EC_ENCODING_EXPLICIT, 0),
    OSSL_PARAM_construct_end(),
  };
  EVP_PKEY *key = NULL;

  if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 || !EVP_PKEY_CTX_set_params(ctx, params) ||
      EVP_PKEY_generate(ctx, &key) <= 0) {
    key = NULL;
  }
  EVP_PKEY_CTX_free(ctx);
  return key;
}

EVP_PKEY *xca_certgen_key(const char *type)
{
  if (type == NULL) {
    return EVP_EC_gen("P-256");
  }
  if (strncmp(type, "RSA:", 4) == 0) {
    return EVP_RSA_gen((unsigned)atoi(type + 4));
  }
  if (strcmp(type, "ED25519") == 0 || strcmp(type, "ED448") == 0 || strcmp(type, "X25519") == 0) {
    return EVP_PKEY_Q_keygen(NULL, NULL, type);
  }
  if (strcmp(type, "DSA") == 0) {
    return gen_dsa();
  }
  if (strcmp(type, "EC-EXPLICIT") == 0) {
    return gen_ec_explicit();
  }
  return EVP_EC_gen(type);
}

/* ------------------------------------------------------------------------ */
/* Extensions                                                                */
/* ------------------------------------------------------------------------ */

/* The extension values a certificate gets; NULL or "" = none. */
struct exts {
  const char *bc, *ku, *eku, *san;
  int key_ids; /* subjectKeyIdentifier, authorityKeyIdentifier */
};

static struct exts profile_exts(const struct xca_tcert_spec *spec)
{
  struct exts e = {"critical,CA:FALSE", "critical,digitalSignature", "clientAuth", NULL, 1};

  switch (spec->profile) {
  case XCA_TCERT_PLAIN:
    e.bc = spec->is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE";
    e.ku = spec->is_ca ? "critical,keyCertSign,cRLSign" : NULL;
    e.eku = NULL;
    e.key_ids = 0;
    break;
  case XCA_TCERT_CA:
    e.bc = "critical,CA:TRUE";
    e.ku = "critical,keyCertSign,cRLSign";
    e.eku = NULL;
    break;
  case XCA_TCERT_DEVICE:
    break;
  case XCA_TCERT_SERVER:
    e.eku = "serverAuth";
    e.san = "DNS:localhost,IP:127.0.0.1";
    break;
  }
  return e;
}

/* The profile's extensions with the spec's own values in their place. */
static struct exts spec_exts(const struct xca_tcert_spec *spec)
{
  struct exts e = profile_exts(spec);

  e.bc = spec->basic_constraints ? spec->basic_constraints : e.bc;
  e.ku = spec->key_usage ? spec->key_usage : e.ku;
  e.eku = spec->ext_key_usage ? spec->ext_key_usage : e.eku;
  e.san = spec->san ? spec->san : e.san;
  return e;
}

/* Add extension nid = value unless value is NULL or "". */
static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
  X509V3_CTX ctx;
  X509_EXTENSION *ext;
  int ok;

  if (value == NULL || value[0] == '\0') {
    return 1;
  }
  X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (ext == NULL) {
    return 0;
  }
  ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok;
}

/* The subject key identifier first: the authority key identifier of a
 * self-signed certificate is read from it. */
static int add_extensions(X509 *cert, X509 *icert, const struct xca_tcert_spec *spec)
{
  struct exts e = spec_exts(spec);

  return (!e.key_ids || (add_ext(cert, icert, NID_subject_key_identifier, "hash") &&
                         add_ext(cert, icert, NID_authority_key_identifier, "keyid:always"))) &&
         add_ext(cert, icert, NID_basic_constraints, e.bc) &&
         add_ext(cert, icert, NID_key_usage, e.ku) &&
         add_ext(cert, icert, NID_ext_key_usage, e.eku) &&
         add_ext(cert, icert, NID_subject_alt_name, e.san);
}

/* ------------------------------------------------------------------------ */
/* Certificates                                                              */
/* ------------------------------------------------------------------------ */

/* The digest to sign with: none for EdDSA, which hashes internally. */
static const EVP_MD *sign_md(EVP_PKEY *signer, const char *name)
{
  int type = EVP_PKEY_get_base_id(signer);

  if (type == EVP_PKEY_ED25519 || type == EVP_PKEY_ED448) {
    return NULL;
  }
  return EVP_get_digestbyname(name ? name : "SHA256");
}

/* A random positive serial of 127 bits, as `openssl rand -hex 16` gives
 * scripts/x509ca-pki (top bit cleared). */
static int set_random_serial(X509 *cert)
{
  unsigned char bytes[16];
  BIGNUM *bn;
  int ok;

  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return 0;
  }
  bytes[0] &= 0x7f;
  bn = BN_bin2bn(bytes, sizeof(bytes), NULL);
  ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
  BN_free(bn);
  return ok;
}

static int fill(X509 *cert, EVP_PKEY *key, const struct xca_tcert_spec *spec,
                const struct xca_tcert *issuer, long from_s, long to_s)
{
  X509_NAME *name = X509_get_subject_name(cert);
  X509 *icert = issuer ? issuer->cert : cert;
  EVP_PKEY *ikey = issuer ? issuer->key : key;

  return X509_set_version(cert, X509_VERSION_3) && set_random_serial(cert) &&
         X509_gmtime_adj(X509_getm_notBefore(cert), from_s) &&
         X509_gmtime_adj(X509_getm_notAfter(cert), to_s) && X509_set_pubkey(cert, key) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)spec->cn,
                                    -1, -1, 0) &&
         X509_set_issuer_name(cert, X509_get_subject_name(icert)) &&
         add_extensions(cert, icert, spec) && X509_sign(cert, ikey, sign_md(ikey, spec->md)) > 0;
}

/* A fresh X509 parsed from cert's DER: what a peer would send. */
static X509 *reparse(X509 *cert)
{
  unsigned char *der = NULL;
  int len = i2d_X509(cert, &der);
  const unsigned char *p = der;
  X509 *copy = len > 0 ? d2i_X509(NULL, &p, len) : NULL;

  OPENSSL_free(der);
  return copy;
}

/* The key to certify: the spec's own (a new reference) or a new one. */
static EVP_PKEY *subject_key(const struct xca_tcert_spec *spec)
{
  if (spec->use_key != NULL) {
    return EVP_PKEY_up_ref(spec->use_key) ? spec->use_key : NULL;
  }
  return xca_certgen_key(spec->key);
}

/* Make spec's certificate, valid from now+from_s to now+to_s. */
static int make(struct xca_tcert *out, const struct xca_tcert_spec *spec,
                const struct xca_tcert *issuer, long from_s, long to_s)
{
  EVP_PKEY *key = subject_key(spec);
  X509 *cert = X509_new();
  X509 *copy = NULL;

  if (key != NULL && cert != NULL && fill(cert, key, spec, issuer, from_s, to_s)) {
    copy = reparse(cert);
  }
  X509_free(cert);
  if (copy == NULL) {
    EVP_PKEY_free(key);
    return -1;
  }
  out->cert = copy;
  out->key = key;
  return 0;
}

int xca_certgen_spec(struct xca_tcert *out, const struct xca_tcert_spec *spec,
                     const struct xca_tcert *issuer)
{
  if (spec->from_s == 0 && spec->to_s == 0) {
    return make(out, spec, issuer, -86400L, 365 * 86400L);
  }
  return make(out, spec, issuer, spec->from_s, spec->to_s);
}

int xca_certgen(struct xca_tcert *out, const char *cn, const struct xca_tcert *issuer,
                int is_ca, long from_s, long to_s)
{
  struct xca_tcert_spec spec = {.cn = cn, .is_ca = is_ca};

  return make(out, &spec, issuer, from_s, to_s);
}

int xca_certgen_read(struct xca_tcert *out, const char *cert_path, const char *key_path)
{
  BIO *cb = BIO_new_file(cert_path, "r");
  BIO *kb = key_path != NULL ? BIO_new_file(key_path, "r") : NULL;
  X509 *cert = cb != NULL ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
  EVP_PKEY *key = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;

  BIO_free(cb);
  BIO_free(kb);
  if (cert == NULL || (key_path != NULL && key == NULL)) {
    X509_free(cert);
    EVP_PKEY_free(key);
    return -1;
  }
  out->cert = cert;
  out->key = key;
  return 0;
}

static char *bio_string(BIO *bio)
{
  char *data = NULL;
  long n = BIO_get_mem_data(bio, &data);
  char *copy = malloc((size_t)n + 1);

  if (copy != NULL) {
    memcpy(copy, data, (size_t)n);
    copy[n] = '\0';
  }
  return copy;
}

char *xca_certgen_pem(const struct xca_tcert *c)
{
  BIO *bio = BIO_new(BIO_s_mem());
  char *s = NULL;

  if (bio != NULL && PEM_write_bio_X509(bio, c->cert) == 1) {
    s = bio_string(bio);
  }
  BIO_free(bio);
  return s;
}

char *xca_certgen_key_pem(const struct xca_tcert *c)
{
  BIO *bio = BIO_new(BIO_s_mem());
  char *s = NULL;

  if (bio != NULL && PEM_write_bio_PrivateKey(bio, c->key, NULL, NULL, 0, NULL, NULL) == 1) {
    s = bio_string(bio);
  }
  BIO_free(bio);
  return s;
}

void xca_certgen_free(struct xca_tcert *c)
{
  if (c == NULL) {
    return;
  }
  X509_free(c->cert);
  EVP_PKEY_free(c->key);
  c->cert = NULL;
  c->key = NULL;
}

/* ------------------------------------------------------------------------ */
/* CRLs                                                                      */
/* ------------------------------------------------------------------------ */

/* List serial (copied) in crl, revoked an hour ago. */
static int add_revoked(X509_CRL *crl, const ASN1_INTEGER *serial)
{
  X509_REVOKED *r = X509_REVOKED_new();
  ASN1_TIME *when = X509_gmtime_adj(NULL, -3600);
  int ok = r != NULL && when != NULL && X509_REVOKED_set_serialNumber(r, (ASN1_INTEGER *)serial) &&
           X509_REVOKED_set_revocationDate(r, when) && X509_CRL_add0_revoked(crl, r);

  ASN1_TIME_free(when);
  if (!ok) {
    X509_REVOKED_free(r);
  }
  return ok;
}

static int add_random_serial(X509_CRL *crl)
{
  unsigned char bytes[16];
  BIGNUM *bn;
  ASN1_INTEGER *serial;
  int ok;

  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return 0;
  }
  bytes[0] &= 0x7f;
  bn = BN_bin2bn(bytes, sizeof(bytes), NULL);
  serial = bn != NULL ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
  ok = serial != NULL && add_revoked(crl, serial);
  ASN1_INTEGER_free(serial);
  BN_free(bn);
  return ok;
}

static int set_times(X509_CRL *crl, const struct xca_tcrl_spec *spec)
{
  ASN1_TIME *last = X509_gmtime_adj(NULL, spec->this_s);
  ASN1_TIME *next = spec->no_next ? NULL : X509_gmtime_adj(NULL, spec->next_s);
  int ok = last != NULL && X509_CRL_set1_lastUpdate(crl, last) &&
           (spec->no_next || (next != NULL && X509_CRL_set1_nextUpdate(crl, next)));

  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  return ok;
}

static int fill_crl(X509_CRL *crl, const struct xca_tcert *issuer, const struct xca_tcrl_spec *spec)
{
  EVP_PKEY *key = spec->sign_key ? spec->sign_key : issuer->key;
  int ok = X509_CRL_set_version(crl, 1) &&
           X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer->cert)) &&
           set_times(crl, spec);

  for (int i = 0; ok && i < spec->count; i++) {
    ok = add_revoked(crl, X509_get0_serialNumber(spec->revoked[i]));
  }
  for (int i = 0; ok && i < spec->extra_serials; i++) {
    ok = add_random_serial(crl);
  }
  return ok && X509_CRL_sort(crl) && X509_CRL_sign(crl, key, sign_md(key, spec->md)) > 0;
}

char *xca_certgen_crl(const struct xca_tcert *issuer, const struct xca_tcrl_spec *spec)
{
  X509_CRL *crl = X509_CRL_new();
  BIO *bio = BIO_new(BIO_s_mem());
  char *s = NULL;

  if (crl != NULL && bio != NULL && fill_crl(crl, issuer, spec) &&
      PEM_write_bio_X509_CRL(bio, crl) == 1) {
    s = bio_string(bio);
  }
  BIO_free(bio);
  X509_CRL_free(crl);
  return s;
}
