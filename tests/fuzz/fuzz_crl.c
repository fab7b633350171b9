/* fuzz_crl.c - CRL intake (README "Revocation"): the text an operator
 * uploads with uploadCRL, through the project's own intake in
 * common/revocation.c: xca_crl_parse_pem (exactly one PEM "X509 CRL"
 * block, no key), xca_crl_check (issuer name, signature, digest, dates)
 * and xca_crl_new (the serials in a hash set), then xca_crl_lists.
 *
 * Checked on every input: nothing crashes, leaks or reads out of bounds;
 * the intake answers one of its documented codes and leaves OpenSSL's
 * error queue empty; a CRL accepted for one issuer is refused for another
 * key; xca_crl_new agrees with xca_crl_check; every serial the CRL lists is
 * found in the set, a serial it does not list is not, and the count is the
 * number of distinct listed serials; the info's dates are ordered.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "certinfo.h"
#include "fuzz.h"
#include "revocation.h"
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


static X509 *cert_of(const char *pem)
{
  X509 *cert = NULL;

  if (xca_cert_from_pem(pem, strlen(pem), &cert) != XCA_OK) {
    abort();
  }
  return cert;
}

/* Every serial crl lists is in the set; the issuer's own serial, unless
 * listed, is not. */
static void check_lookups(const struct xca_crl *held, X509_CRL *crl, X509 *issuer)
{
  STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
  int n = sk_X509_REVOKED_num(revoked);
  X509_REVOKED *found = NULL;
  const ASN1_INTEGER *own = X509_get0_serialNumber(issuer);

  FUZZ_CHECK(xca_crl_info(held)->count <= (unsigned)(n < 0 ? 0 : n));
  for (int i = 0; i < n && i < MAX_ENTRIES_CHECKED; i++) {
    const ASN1_INTEGER *serial = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i));
    FUZZ_CHECK(ASN1_STRING_length(serial) >= 127 || xca_crl_lists(held, serial));
  }
  FUZZ_CHECK(xca_crl_lists(held, own) == (X509_CRL_get0_by_serial(crl, &found, own) > 0));
}

/* The whole intake for a CRL that one issuer signed. */
static void check_accepted(const uint8_t *data, size_t size, X509 *issuer,
                           const struct xca_crl_info *info)
{
  struct xca_crl *held = NULL;
  X509_CRL *parsed = NULL;

  FUZZ_CHECK(info->next_update == 0 || info->next_update >= info->this_update);
  FUZZ_CHECK(strlen(info->issuer_sha256) == 64);
  FUZZ_CHECK(xca_crl_new((const char *)data, size, issuer, &held, &parsed) == XCA_OK);
  FUZZ_CHECK(xca_crl_info(held)->this_update == info->this_update);
  check_lookups(held, parsed, issuer);
  xca_crl_free(held);
  X509_CRL_free(parsed);
}

static int known_intake_code(int rc)
{
  return rc == XCA_OK || rc == XCA_E_BAD_CRL || rc == XCA_E_PRIVATE_KEY || rc == XCA_E_NOMEM;
}

static int known_check_code(int rc)
{
  return rc == XCA_OK || rc == XCA_E_BAD_CRL || rc == XCA_E_CRL_SIGNATURE ||
         rc == XCA_E_WEAK_DIGEST;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static X509 *issuer;
  static X509 *other;
  struct xca_crl_info info_issuer;
  struct xca_crl_info info_other;
  X509_CRL *crl = NULL;
  int rc_issuer;
  int rc_other;
  int rc;

  if (issuer == NULL) {
    issuer = cert_of(int_pem);
    other = cert_of(root_pem);
    ERR_clear_error(); /* what reading the certificates left is not the CRL's */
  }
  rc = xca_crl_parse_pem((const char *)data, size, &crl);
  FUZZ_CHECK(known_intake_code(rc));
  FUZZ_CHECK(ERR_peek_error() == 0);
  if (rc != XCA_OK) {
    return 0;
  }
  rc_issuer = xca_crl_check(crl, issuer, &info_issuer);
  rc_other = xca_crl_check(crl, other, &info_other);
  FUZZ_CHECK(known_check_code(rc_issuer) && known_check_code(rc_other));
  FUZZ_CHECK(ERR_peek_error() == 0);
  /* At most one of two different keys signed it. */
  FUZZ_CHECK(!(rc_issuer == XCA_OK && rc_other == XCA_OK));
  if (rc_issuer == XCA_OK) {
    check_accepted(data, size, issuer, &info_issuer);
  } else if (rc_other == XCA_OK) {
    check_accepted(data, size, other, &info_other);
  } else {
    struct xca_crl *held = NULL;
    FUZZ_CHECK(xca_crl_new((const char *)data, size, issuer, &held, NULL) == rc_issuer);
  }
  X509_CRL_free(crl);
  FUZZ_CHECK(ERR_peek_error() == 0);
  return 0;
}
