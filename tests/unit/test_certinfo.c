/* Certificate facts: PEM checks, CN, thumbprints, CA flag, validity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>

#include "certinfo.h"
#include "pki_fixture.h"
#include "xca_err.h"

static const struct xca_fixture_entry pki[] = {
  {"root", NULL, {.cn = "Company-X Root CA", .profile = XCA_TCERT_CA}},
  {"dev", "root", {.profile = XCA_TCERT_DEVICE}},
  {"dev-expired", "root", {.profile = XCA_TCERT_DEVICE, XCA_FIXTURE_EXPIRED}},
  {"dev--mod", "root", {.cn = "dev/mod", .profile = XCA_TCERT_DEVICE}},
  {"lonely", NULL, {.profile = XCA_TCERT_DEVICE}},
  {"other", NULL, {.profile = XCA_TCERT_CA}},
};

/* A self-signed device made by `scripts/x509ca-pki --days 36500 selfsigned
 * thumb-dev`, and the thumbprints it printed (openssl dgst of the DER). */
static const char THUMB_DEV_PEM[] =
  "-----BEGIN CERTIFICATE-----\n"
  "MIIBtTCCAVugAwIBAgIQUHd86aubsR4D23NkItwFQjAKBggqhkjOPQQDAjAUMRIw\n"
  "EAYDVQQDDAl0aHVtYi1kZXYwIBcNMjYxMjAxMjMxOTI4WhgPMjEyNjExMDcyMzE5\n"
  "MjhaMBQxEjAQBgNVBAMMCXRodW1iLWRldjBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
  "A0IABIL/oO07Rw60KGEM1Ablk7AlGgsZ+RY5jwTow3f0rHm6WlTPwgAg/sXN5vlB\n"
  "kvMHuh6ALB58IfP5L7VKGHN09TmjgYwwgYkwDAYDVR0TAQH/BAIwADAOBgNVHQ8B\n"
  "Af8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwIwHQYDVR0OBBYEFI74BwUeVF8f\n"
  "a894Pk8XXAtnjLCHMDUGA1UdIwQuMCyhGKQWMBQxEjAQBgNVBAMMCXRodW1iLWRl\n"
  "doIQUHd86aubsR4D23NkItwFQjAKBggqhkjOPQQDAgNIADBFAiB75iS6wKhBbCIO\n"
  "EtMJyj63wTpLf6dRX6SI676/1Ce8GAIhAIiGww9FOkM8mkYlsk0EwLLOzBQY5mzY\n"
  "oRV+wvEmlPdP\n"
  "-----END CERTIFICATE-----\n";
static const char THUMB_DEV_SHA1[] = "2e150c9327fd9e06147247be95e6d9a0b0d3b613";
static const char THUMB_DEV_SHA256[] =
  "365ff51825f9eb780ce2e2c7d864b5a2a3711fe394ff1e206e641bfd0db16fbe";

static char *concat(const char *a, const char *b)
{
  char *out = malloc(strlen(a) + strlen(b) + 1);
  strcpy(out, a);
  strcat(out, b);
  return out;
}

static void single_pem_certificate_parses(void **state)
{
  char *pem = xca_fixture_pem("root");
  X509 *cert = NULL;

  (void)state;
  assert_int_equal(xca_cert_from_pem(pem, strlen(pem), &cert), XCA_OK);
  assert_non_null(cert);
  X509_free(cert);
  free(pem);
}

static void private_key_anywhere_is_refused(void **state)
{
  char *pem = xca_fixture_pem("root");
  char *key = xca_fixture_key_pem("root");
  char *both = concat(pem, key);
  char *key_first = concat(key, pem);
  X509 *cert = NULL;

  (void)state;
  assert_int_equal(xca_cert_from_pem(both, strlen(both), &cert), XCA_E_PRIVATE_KEY);
  assert_int_equal(xca_cert_from_pem(key_first, strlen(key_first), &cert), XCA_E_PRIVATE_KEY);
  assert_int_equal(xca_cert_from_pem(key, strlen(key), &cert), XCA_E_PRIVATE_KEY);
  assert_null(cert);
  free(pem);
  free(key);
  free(both);
  free(key_first);
}

static void two_certificates_are_refused(void **state)
{
  char *a = xca_fixture_pem("root");
  char *b = xca_fixture_pem("other");
  char *two = concat(a, b);
  X509 *cert = NULL;

  (void)state;
  assert_int_equal(xca_cert_from_pem(two, strlen(two), &cert), XCA_E_MULTIPLE_CERTS);
  assert_null(cert);
  free(a);
  free(b);
  free(two);
}

static void garbage_is_refused(void **state)
{
  const char *junk = "hello";
  const char *broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  const char *other = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
  X509 *cert = NULL;

  (void)state;
  assert_int_equal(xca_cert_from_pem(junk, strlen(junk), &cert), XCA_E_BAD_PEM);
  assert_int_equal(xca_cert_from_pem(broken, strlen(broken), &cert), XCA_E_BAD_PEM);
  assert_int_equal(xca_cert_from_pem(other, strlen(other), &cert), XCA_E_BAD_PEM);
  assert_int_equal(xca_cert_from_pem("", 0, &cert), XCA_E_BAD_PEM);
  assert_int_equal(xca_cert_from_pem(NULL, 10, &cert), XCA_E_BAD_PEM);
  assert_null(cert);
}

static void certificate_followed_by_a_broken_block_is_refused(void **state)
{
  char *pem = xca_fixture_pem("root");
  char *tail = concat(pem, "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
  char *truncated = concat(pem, "-----BEGIN CERTIFICATE-----\nMIIB\n");
  X509 *cert = NULL;

  (void)state;
  assert_int_equal(xca_cert_from_pem(tail, strlen(tail), &cert), XCA_E_BAD_PEM);
  assert_int_equal(xca_cert_from_pem(truncated, strlen(truncated), &cert), XCA_E_BAD_PEM);
  assert_null(cert);
  free(pem);
  free(tail);
  free(truncated);
}

static void pem_round_trip(void **state)
{
  char *pem = xca_fixture_pem("root");
  X509 *cert = NULL;
  char *again;

  (void)state;
  xca_cert_from_pem(pem, strlen(pem), &cert);
  again = xca_cert_to_pem(cert);
  assert_string_equal(again, pem);
  free(again);
  free(pem);
  X509_free(cert);
}

static void cn_of_device_and_module(void **state)
{
  X509 *dev = xca_fixture_cert("dev");
  X509 *mod = xca_fixture_cert("dev--mod");
  char cn[XCA_CN_MAX];
  char tiny[4];

  (void)state;
  assert_int_equal(xca_cert_cn(dev, cn, sizeof(cn)), XCA_OK);
  assert_string_equal(cn, "dev");
  assert_int_equal(xca_cert_cn(mod, cn, sizeof(cn)), XCA_OK);
  assert_string_equal(cn, "dev/mod");
  assert_int_equal(xca_cert_cn(mod, tiny, sizeof(tiny)), XCA_E_CN_MISMATCH);
  assert_string_equal(tiny, "");
  X509_free(dev);
  X509_free(mod);
}

static void subject_and_not_after_are_readable(void **state)
{
  X509 *root = xca_fixture_cert("root");
  char subject[256];
  char not_after[32];

  (void)state;
  xca_cert_subject(root, subject, sizeof(subject));
  assert_string_equal(subject, "CN=Company-X Root CA");
  xca_cert_not_after(root, not_after, sizeof(not_after));
  assert_int_equal(strlen(not_after), 20);
  assert_int_equal(not_after[19], 'Z');
  assert_int_equal(not_after[10], 'T');
  X509_free(root);
}

static void thumbprints_match_openssl(void **state)
{
  X509 *cert = NULL;
  char sha1[XCA_SHA1_HEX];
  char sha256[XCA_SHA256_HEX];

  (void)state;
  assert_int_equal(xca_cert_from_pem(THUMB_DEV_PEM, strlen(THUMB_DEV_PEM), &cert), XCA_OK);
  xca_cert_sha1(cert, sha1);
  xca_cert_sha256(cert, sha256);
  assert_string_equal(sha1, THUMB_DEV_SHA1);
  assert_string_equal(sha256, THUMB_DEV_SHA256);
  X509_free(cert);
}

static void thumbprint_normalisation(void **state)
{
  char out[XCA_SHA256_HEX];

  (void)state;
  assert_int_equal(xca_thumbprint_normalize("AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01", out), XCA_OK);
  assert_string_equal(out, "abcdef0123456789abcdef0123456789abcdef01");
  assert_int_equal(xca_thumbprint_normalize("abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", out), XCA_OK);
  assert_int_equal(strlen(out), 64);
  assert_int_equal(xca_thumbprint_normalize("abcdef", out), XCA_E_BAD_THUMBPRINT);
  assert_string_equal(out, "");
  assert_int_equal(xca_thumbprint_normalize("zz:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01", out), XCA_E_BAD_THUMBPRINT);
  assert_int_equal(xca_thumbprint_normalize(NULL, out), XCA_E_BAD_THUMBPRINT);
  assert_int_equal(xca_thumbprint_normalize("abcdef0123456789abcdef0123456789abcdef0123456789abcdef012345678900", out), XCA_E_BAD_THUMBPRINT);
}

static void ca_flag_and_validity(void **state)
{
  X509 *root = xca_fixture_cert("root");
  X509 *dev = xca_fixture_cert("dev");
  X509 *expired = xca_fixture_cert("dev-expired");
  X509 *lonely = xca_fixture_cert("lonely");
  time_t now = time(NULL);

  (void)state;
  assert_true(xca_cert_is_ca(root));
  assert_false(xca_cert_is_ca(dev));
  assert_false(xca_cert_is_ca(lonely));
  assert_true(xca_cert_time_valid(dev, now));
  assert_false(xca_cert_time_valid(expired, now));
  assert_false(xca_cert_time_valid(dev, now + 2 * 365 * 86400));
  X509_free(root);
  X509_free(dev);
  X509_free(expired);
  X509_free(lonely);
}

static void signature_check(void **state)
{
  X509 *root = xca_fixture_cert("root");
  X509 *other = xca_fixture_cert("other");
  X509 *dev = xca_fixture_cert("dev");

  (void)state;
  assert_true(xca_cert_signed_by(dev, root));
  assert_false(xca_cert_signed_by(dev, other));
  X509_free(root);
  X509_free(other);
  X509_free(dev);
}

/* A self-signed device (keyUsage digitalSignature only) and a root are
 * self-signed; a CA-issued device is not, nor is a certificate
 * naming itself as issuer but signed by another key of the same name. */
static void self_signed_check(void **state)
{
  X509 *lonely = xca_fixture_cert("lonely");
  X509 *root = xca_fixture_cert("root");
  X509 *dev = xca_fixture_cert("dev");
  struct xca_tcert twin_ca = {0};
  struct xca_tcert twin = {0};

  (void)state;
  assert_int_equal(xca_certgen(&twin_ca, "twin", NULL, 1, -60, 3600), 0);
  assert_int_equal(xca_certgen(&twin, "twin", &twin_ca, 0, -60, 3600), 0);
  ERR_clear_error(); /* what earlier tests left */
  assert_true(xca_cert_self_signed(lonely));
  assert_true(xca_cert_self_signed(root));
  assert_true(xca_cert_self_signed(twin_ca.cert));
  assert_false(xca_cert_self_signed(dev));
  assert_false(xca_cert_self_signed(twin.cert));
  assert_int_equal(ERR_peek_error(), 0); /* the failed self-signature left no error */
  xca_certgen_free(&twin);
  xca_certgen_free(&twin_ca);
  X509_free(lonely);
  X509_free(root);
  X509_free(dev);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(single_pem_certificate_parses),
    cmocka_unit_test(private_key_anywhere_is_refused),
    cmocka_unit_test(two_certificates_are_refused),
    cmocka_unit_test(garbage_is_refused),
    cmocka_unit_test(certificate_followed_by_a_broken_block_is_refused),
    cmocka_unit_test(pem_round_trip),
    cmocka_unit_test(cn_of_device_and_module),
    cmocka_unit_test(subject_and_not_after_are_readable),
    cmocka_unit_test(thumbprints_match_openssl),
    cmocka_unit_test(thumbprint_normalisation),
    cmocka_unit_test(ca_flag_and_validity),
    cmocka_unit_test(signature_check),
    cmocka_unit_test(self_signed_check),
  };
  xca_fixture_use(pki, (int)(sizeof(pki) / sizeof(pki[0])));
  return cmocka_run_group_tests(tests, xca_fixture_setup, xca_fixture_teardown);
}
