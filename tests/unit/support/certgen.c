#include "certgen.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
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

static int fill(X509 *cert, EVP_PKEY *key, const char *cn, const struct xca_tcert *issuer,
                int is_ca, long from_s, long to_s)
{
  static long serial = 1000;
  X509_NAME *name = X509_get_subject_name(cert);
  X509 *icert = issuer ? issuer->cert : cert;
  EVP_PKEY *ikey = issuer ? issuer->key : key;

  return X509_set_version(cert, 2) && ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++) &&
         X509_gmtime_adj(X509_getm_notBefore(cert), from_s) &&
         X509_gmtime_adj(X509_getm_notAfter(cert), to_s) && X509_set_pubkey(cert, key) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0) &&
         X509_set_issuer_name(cert, X509_get_subject_name(icert)) &&
         add_ext(cert, icert, NID_basic_constraints,
                 is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
         (!is_ca || add_ext(cert, icert, NID_key_usage, "critical,keyCertSign,cRLSign")) &&
         X509_sign(cert, ikey, EVP_sha256()) > 0;
}

int xca_certgen(struct xca_tcert *out, const char *cn, const struct xca_tcert *issuer,
                int is_ca, long from_s, long to_s)
{
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *cert = X509_new();

  if (key == NULL || cert == NULL || !fill(cert, key, cn, issuer, is_ca, from_s, to_s)) {
    EVP_PKEY_free(key);
    X509_free(cert);
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
