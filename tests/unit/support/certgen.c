#include "certgen.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
  X509V3_CTX ctx;
  X509_EXTENSION *ext;
  int ok;

  X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (ext == NULL) {
    return 0;
  }
  ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok;
}

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

static EVP_PKEY *gen_key(const char *type)
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

static int add_extensions(X509 *cert, X509 *icert, const struct xca_tcert_spec *spec)
{
  const char *bc = spec->basic_constraints;
  const char *ku = spec->key_usage;

  if (bc == NULL) {
    bc = spec->is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE";
  }
  if (ku == NULL && spec->is_ca) {
    ku = "critical,keyCertSign,cRLSign";
  }
  return (bc[0] == '\0' || add_ext(cert, icert, NID_basic_constraints, bc)) &&
         (ku == NULL || add_ext(cert, icert, NID_key_usage, ku)) &&
         (spec->ext_key_usage == NULL ||
          add_ext(cert, icert, NID_ext_key_usage, spec->ext_key_usage));
}

static int fill(X509 *cert, EVP_PKEY *key, const struct xca_tcert_spec *spec,
                const struct xca_tcert *issuer, long from_s, long to_s)
{
  static long serial = 1000;
  X509_NAME *name = X509_get_subject_name(cert);
  X509 *icert = issuer ? issuer->cert : cert;
  EVP_PKEY *ikey = issuer ? issuer->key : key;

  return X509_set_version(cert, 2) && ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++) &&
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

/* Make spec's certificate, valid from now+from_s to now+to_s. */
static int make(struct xca_tcert *out, const struct xca_tcert_spec *spec,
                const struct xca_tcert *issuer, long from_s, long to_s)
{
  EVP_PKEY *key = gen_key(spec->key);
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
