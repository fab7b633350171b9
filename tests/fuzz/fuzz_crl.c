/* fuzz_crl.c - CRL intake: the text an operator uploads as a CA's
 * certificate revocation list, PEM ("-----BEGIN X509 CRL-----") or DER.
 *
 * NOTE: this branch has no CRL parser of the project's own yet (README
 * "Revocation" is being built elsewhere), so crl_from_text() and
 * crl_verify() below call OpenSSL directly - PEM_read_bio_X509_CRL, then
 * d2i_X509_CRL, then X509_CRL_verify - the path such a parser rests on. When
 * the project's parser lands they are to call it instead (its PEM intake
 * and signature check), keeping the checks below.
 *
 * Checked on every input: parsing never crashes, leaks or reads out of
 * bounds; a parsed CRL's signature check against its issuer gives a
 * verdict (and a valid one only for the issuer's key); every listed
 * serial is found again by lookup; its dates are readable; a DER and a PEM
 * round trip give back the same list.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certinfo.h"
#include "fuzz.h"
#include "xca_err.h"

#define MAX_ENTRIES_CHECKED 4096 /* lookups per input, to stay fast */

/* scripts/x509ca-pki --days 3650 root fuzz-der-root --cn "Fuzz DER Root CA" */
static const char root_pem[] =
  "-----BEGIN CERTIFICATE-----\n"
  "MIIBlzCCAT6gAwIBAgIRANO8A8tTHuiH1+mfnihXX8gwCgYIKoZIzj0EAwIwGzEZ\n"
  "MBcGA1UEAwwQRnV6eiBERVIgUm9vdCBDQTAeFw0yNjEyMDIwMDAxMzFaFw0zNjEx\n"
  "MjkwMDAxMzFaMBsxGTAXBgNVBAMMEEZ1enogREVSIFJvb3QgQ0EwWTATBgcqhkjO\n"
  "PQIBBggqhkjOPQMBBwNCAATl7EP/Y8+vjenHlYx+J0JbnYhRReMu6nZY3EBq5h4o\n"
  "fi2Xux4dmX2kFo8j38oKv2LhjfRBa+HYNRlCs7NW5DjWo2MwYTAPBgNVHRMBAf8E\n"
  "BTADAQH/MA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUZkOmQzqq9SLWm9HmQK+B\n"
  "NdC0ssIwHwYDVR0jBBgwFoAUZkOmQzqq9SLWm9HmQK+BNdC0ssIwCgYIKoZIzj0E\n"
  "AwIDRwAwRAIgUgPaz+rPG3TjVpg2l/Y+gV3G26i41MzVNl7gNjSzHIYCIHSMKIo0\n"
  "GqIQJ3TnqmToe7cbJ45e4cOn39G0nnjcfqLf\n"
  "-----END CERTIFICATE-----\n";

/* scripts/x509ca-pki --days 3650 intermediate fuzz-der-int --ca fuzz-der-root */
static const char int_pem[] =
  "-----BEGIN CERTIFICATE-----\n"
  "MIIBoDCCAUagAwIBAgIRAJ8YvS8/so8NA1LNYnQaV/EwCgYIKoZIzj0EAwIwGzEZ\n"
  "MBcGA1UEAwwQRnV6eiBERVIgUm9vdCBDQTAeFw0yNjEyMDIwMDAxMzJaFw0zNjEx\n"
  "MjkwMDAxMzJaMCMxITAfBgNVBAMMGEZ1enogREVSIEludGVybWVkaWF0ZSBDQTBZ\n"
  "MBMGByqGSM49AgEGCCqGSM49AwEHA0IABJ0UbNLsxwcB9wj2EuaJO0yoRwjUGxjO\n"
  "gtXoVrW1L38pKlD7HEH9NvLHyuj+nwNUN8BefBixeP1hCbZr2cwOrqujYzBhMA8G\n"
  "A1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBQUNinGTkvV\n"
  "gnjn1S78Cp+yKoG6OjAfBgNVHSMEGDAWgBRmQ6ZDOqr1Itab0eZAr4E10LSywjAK\n"
  "BggqhkjOPQQDAgNIADBFAiBEuhyPUx6+EP1Va8NNFWz+U1PDewfo+8UD5pfB+Vt4\n"
  "hAIhAKHRYhrmDTwM7ge1Hbt27/oSC68va2N2NsEbdVf59Fkk\n"
  "-----END CERTIFICATE-----\n";


/* The CRL held in text[0..len): one PEM X509 CRL block, else DER. Returns
 * an owned X509_CRL or NULL. */
static X509_CRL *crl_from_text(const uint8_t *text, size_t len)
{
  BIO *bio;
  X509_CRL *crl;
  const unsigned char *p = text;

  if (len == 0 || len > 1024 * 1024) {
    return NULL;
  }
  bio = BIO_new_mem_buf(text, (int)len);
  if (bio == NULL) {
    abort();
  }
  crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
  BIO_free(bio);
  if (crl == NULL) {
    crl = d2i_X509_CRL(NULL, &p, (long)len);
  }
  return crl;
}

/* 1: crl is signed by issuer's key, 0: it is not (or cannot be checked). */
static int crl_verify(X509_CRL *crl, X509 *issuer)
{
  EVP_PKEY *key = X509_get0_pubkey(issuer);

  return key != NULL && X509_CRL_verify(crl, key) == 1;
}

static X509 *cert_of(const char *pem)
{
  X509 *cert = NULL;

  if (xca_cert_from_pem(pem, strlen(pem), &cert) != XCA_OK) {
    abort();
  }
  return cert;
}

/* The revoked entries of a CRL re-read after an encoding round trip: as
 * many, and each serial of a listed in b. (Order is not compared: a lookup
 * sorts the list in place.) */
static void check_same_entries(X509_CRL *a, X509_CRL *b)
{
  STACK_OF(X509_REVOKED) *ra = X509_CRL_get_REVOKED(a);
  int n = sk_X509_REVOKED_num(ra);

  FUZZ_CHECK(n == sk_X509_REVOKED_num(X509_CRL_get_REVOKED(b)));
  for (int i = 0; i < n && i < MAX_ENTRIES_CHECKED; i++) {
    X509_REVOKED *found = NULL;
    const ASN1_INTEGER *serial = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(ra, i));
    int rc = X509_CRL_get0_by_serial(b, &found, serial);
    FUZZ_CHECK(rc == 1 || rc == 2);
  }
}

static void check_round_trips(X509_CRL *crl)
{
  unsigned char *der = NULL;
  const unsigned char *p;
  int len = i2d_X509_CRL(crl, &der);
  X509_CRL *again;
  BIO *bio;

  if (len <= 0) {
    return; /* a CRL OpenSSL cannot re-encode is not a finding here */
  }
  p = der;
  again = d2i_X509_CRL(NULL, &p, len);
  FUZZ_CHECK(again != NULL && p == der + len);
  check_same_entries(crl, again);
  X509_CRL_free(again);
  OPENSSL_free(der);

  bio = BIO_new(BIO_s_mem());
  if (bio == NULL) {
    abort();
  }
  if (PEM_write_bio_X509_CRL(bio, crl) == 1) {
    again = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
    FUZZ_CHECK(again != NULL);
    check_same_entries(crl, again);
    X509_CRL_free(again);
  }
  BIO_free(bio);
}

static void check_entries(X509_CRL *crl)
{
  STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
  int n = sk_X509_REVOKED_num(revoked);

  for (int i = 0; i < n && i < MAX_ENTRIES_CHECKED; i++) {
    X509_REVOKED *entry = sk_X509_REVOKED_value(revoked, i);
    X509_REVOKED *found = NULL;
    const ASN1_INTEGER *serial = X509_REVOKED_get0_serialNumber(entry);
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    struct tm when;
    int rc;

    if (bn != NULL) {
      char *hex = BN_bn2hex(bn);
      FUZZ_CHECK(hex != NULL && hex[0] != '\0');
      OPENSSL_free(hex);
      BN_free(bn);
    }
    /* A listed serial is found again (2: listed as removeFromCRL). */
    rc = X509_CRL_get0_by_serial(crl, &found, serial);
    FUZZ_CHECK(rc == 1 || rc == 2);
    FUZZ_CHECK(found != NULL &&
               ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(found), serial) == 0);
    if (X509_REVOKED_get0_revocationDate(entry) != NULL) {
      (void)ASN1_TIME_to_tm(X509_REVOKED_get0_revocationDate(entry), &when);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static X509 *issuer;
  static X509 *other;
  X509_CRL *crl;
  struct tm when;

  if (issuer == NULL) {
    issuer = cert_of(int_pem);
    other = cert_of(root_pem);
  }
  crl = crl_from_text(data, size);
  if (crl == NULL) {
    ERR_clear_error();
    return 0;
  }
  /* At most one of two different keys signed it. */
  FUZZ_CHECK(!(crl_verify(crl, issuer) && crl_verify(crl, other)));
  if (X509_CRL_get0_lastUpdate(crl) != NULL) {
    (void)ASN1_TIME_to_tm(X509_CRL_get0_lastUpdate(crl), &when);
  }
  if (X509_CRL_get0_nextUpdate(crl) != NULL) {
    (void)ASN1_TIME_to_tm(X509_CRL_get0_nextUpdate(crl), &when);
  }
  (void)X509_NAME_hash_ex(X509_CRL_get_issuer(crl), NULL, NULL, NULL);
  check_entries(crl);
  check_round_trips(crl);
  X509_CRL_free(crl);
  ERR_clear_error();
  return 0;
}
