#define _GNU_SOURCE /* memmem() */

#include "certinfo.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "xca_err.h"

static int is_private_key_label(const char *name)
{
  return strstr(name, "PRIVATE KEY") != NULL || strstr(name, "PARAMETERS") != NULL;
}

/* Classify one PEM block: count certificates, flag keys and anything else. */
static int scan_block(const char *name, unsigned char *data, long dlen, X509 **first, int *count)
{
  const unsigned char *p = data;
  X509 *cert;

  if (is_private_key_label(name)) {
    return XCA_E_PRIVATE_KEY;
  }
  if (strcmp(name, "CERTIFICATE") != 0) {
    return XCA_E_BAD_PEM;
  }
  if (++*count > 1) {
    return XCA_E_MULTIPLE_CERTS;
  }
  cert = d2i_X509(NULL, &p, dlen);
  if (cert == NULL || p != data + dlen) {
    X509_free(cert);
    return XCA_E_BAD_PEM;
  }
  *first = cert;
  return XCA_OK;
}

int xca_pem_begin_lines(const char *text, size_t len)
{
  int n = 0;

  for (const char *p = text; p != NULL && (size_t)(p - text) < len;) {
    size_t left = len - (size_t)(p - text);
    const char *nl;
    if (left >= 10 && memcmp(p, "-----BEGIN", 10) == 0) {
      n++;
    }
    nl = memchr(p, '\n', left);
    p = nl ? nl + 1 : NULL;
  }
  return n;
}

int xca_cert_from_pem(const char *text, size_t len, X509 **out)
{
  BIO *bio;
  X509 *cert = NULL;
  int count = 0;
  int rc = XCA_OK;
  int saw_key = 0;
  int blocks = 0;

  if (text == NULL || len == 0 || len > 1024 * 1024) {
    return XCA_E_BAD_PEM;
  }
  /* A key label anywhere refuses the upload, even inside a malformed block. */
  if (memmem(text, len, "PRIVATE KEY", 11) != NULL) {
    saw_key = 1;
  }
  bio = BIO_new_mem_buf(text, (int)len);
  if (bio == NULL) {
    return XCA_E_NOMEM;
  }
  for (;;) {
    char *name = NULL;
    char *header = NULL;
    unsigned char *data = NULL;
    long dlen = 0;

    if (!PEM_read_bio(bio, &name, &header, &data, &dlen)) {
      break;
    }
    blocks++;
    int brc = scan_block(name, data, dlen, &cert, &count);
    OPENSSL_clear_free(data, (size_t)dlen);
    OPENSSL_free(name);
    OPENSSL_free(header);
    if (brc != XCA_OK && (rc == XCA_OK || brc == XCA_E_PRIVATE_KEY)) {
      rc = brc;
    }
  }
  BIO_free(bio);
  if (saw_key) {
    rc = XCA_E_PRIVATE_KEY;
  } else if (rc == XCA_OK && (count == 0 || xca_pem_begin_lines(text, len) != blocks)) {
    /* PEM_read_bio stops at the first block it cannot read and skips lines
     * it does not understand, even inside a block: any line opening a block
     * that was not read as one refuses the text. */
    rc = XCA_E_BAD_PEM;
  }
  if (rc != XCA_OK) {
    X509_free(cert);
    return rc;
  }
  *out = cert;
  return XCA_OK;
}

char *xca_cert_to_pem(X509 *cert)
{
  BIO *bio = BIO_new(BIO_s_mem());
  char *data = NULL;
  char *copy = NULL;
  long n;

  if (bio == NULL) {
    return NULL;
  }
  if (PEM_write_bio_X509(bio, cert) == 1) {
    n = BIO_get_mem_data(bio, &data);
    copy = malloc((size_t)n + 1);
    if (copy != NULL) {
      memcpy(copy, data, (size_t)n);
      copy[n] = '\0';
    }
  }
  BIO_free(bio);
  return copy;
}

int xca_cert_cn(X509 *cert, char *buf, size_t buflen)
{
  X509_NAME *subject = X509_get_subject_name(cert);
  int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  ASN1_STRING *value;
  unsigned char *utf8 = NULL;
  int n;

  buf[0] = '\0';
  if (idx < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, idx) >= 0) {
    return XCA_E_CN_MISMATCH;
  }
  value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
  n = ASN1_STRING_to_UTF8(&utf8, value);
  if (n <= 0 || (size_t)n >= buflen || memchr(utf8, '\0', (size_t)n) != NULL) {
    OPENSSL_free(utf8);
    return XCA_E_CN_MISMATCH;
  }
  memcpy(buf, utf8, (size_t)n);
  buf[n] = '\0';
  OPENSSL_free(utf8);
  return XCA_OK;
}

void xca_cert_subject(X509 *cert, char *buf, size_t buflen)
{
  BIO *bio = BIO_new(BIO_s_mem());
  char *data = NULL;
  long n;

  buf[0] = '\0';
  if (bio == NULL) {
    return;
  }
  if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
    n = BIO_get_mem_data(bio, &data);
    snprintf(buf, buflen, "%.*s", (int)n, data);
  }
  BIO_free(bio);
}

void xca_cert_not_after(X509 *cert, char *buf, size_t buflen)
{
  struct tm tm;

  buf[0] = '\0';
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) {
    strftime(buf, buflen, "%Y-%m-%dT%H:%M:%SZ", &tm);
  }
}

static void digest_hex(X509 *cert, const EVP_MD *md, char *hex, size_t hexlen)
{
  static const char digits[] = "0123456789abcdef";
  unsigned char raw[EVP_MAX_MD_SIZE];
  unsigned int n = 0;

  hex[0] = '\0';
  if (md == NULL || X509_digest(cert, md, raw, &n) != 1 || (size_t)n * 2 + 1 > hexlen) {
    return;
  }
  /* Every verified chain is hashed: a table, not snprintf per byte. */
  for (unsigned int i = 0; i < n; i++) {
    hex[2 * i] = digits[raw[i] >> 4];
    hex[2 * i + 1] = digits[raw[i] & 0xf];
  }
  hex[2 * n] = '\0';
}

/* SHA-256, fetched once: OpenSSL 3 fetches a legacy EVP_sha256() anew at
 * every digest, which costs more than hashing a certificate. */
static EVP_MD *sha256_md;
static CRYPTO_ONCE sha256_once = CRYPTO_ONCE_STATIC_INIT;

static void fetch_sha256(void)
{
  sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void xca_cert_sha1(X509 *cert, char hex[XCA_SHA1_HEX])
{
  digest_hex(cert, EVP_sha1(), hex, XCA_SHA1_HEX);
}

void xca_cert_sha256(X509 *cert, char hex[XCA_SHA256_HEX])
{
  const EVP_MD *md = NULL;

  if (CRYPTO_THREAD_run_once(&sha256_once, fetch_sha256) && sha256_md != NULL) {
    md = sha256_md;
  }
  digest_hex(cert, md != NULL ? md : EVP_sha256(), hex, XCA_SHA256_HEX);
}

int xca_thumbprint_normalize(const char *in, char out[XCA_SHA256_HEX])
{
  size_t n = 0;

  out[0] = '\0';
  if (in == NULL) {
    return XCA_E_BAD_THUMBPRINT;
  }
  for (; *in != '\0'; in++) {
    if (*in == ':') {
      continue;
    }
    if (!isxdigit((unsigned char)*in) || n >= XCA_SHA256_HEX - 1) {
      out[0] = '\0';
      return XCA_E_BAD_THUMBPRINT;
    }
    out[n++] = (char)tolower((unsigned char)*in);
  }
  out[n] = '\0';
  if (n != 40 && n != 64) {
    out[0] = '\0';
    return XCA_E_BAD_THUMBPRINT;
  }
  return XCA_OK;
}

int xca_cert_is_ca(X509 *cert)
{
  uint32_t flags = X509_get_extension_flags(cert);
  return (flags & EXFLAG_BCONS) && (flags & EXFLAG_CA) && !(flags & EXFLAG_INVALID);
}

int xca_cert_time_valid(X509 *cert, time_t now)
{
  return X509_cmp_time(X509_get0_notBefore(cert), &now) < 0 &&
         X509_cmp_time(X509_get0_notAfter(cert), &now) > 0;
}

static int asn1_seconds(const ASN1_TIME *t, time_t *out)
{
  struct tm tm;

  if (t == NULL || !ASN1_TIME_to_tm(t, &tm)) {
    return 0;
  }
  *out = timegm(&tm);
  return 1;
}

int xca_cert_validity(X509 *cert, time_t *not_before, time_t *not_after)
{
  time_t from;
  time_t until;

  if (!asn1_seconds(X509_get0_notBefore(cert), &from) ||
      !asn1_seconds(X509_get0_notAfter(cert), &until)) {
    return 0;
  }
  *not_before = from;
  *not_after = until;
  return 1;
}

int xca_cert_signed_by(X509 *cert, X509 *issuer)
{
  EVP_PKEY *key = X509_get0_pubkey(issuer);
  return key != NULL && X509_verify(cert, key) == 1;
}

int xca_cert_self_signed(X509 *cert)
{
  int rc;

  /* Not X509_check_issued(cert, cert): it also demands keyCertSign when
   * keyUsage is present, which self-signed device certificates lack. */
  ERR_set_mark();
  rc = X509_self_signed(cert, 1);
  ERR_pop_to_mark();
  return rc == 1;
}
