/* fuzz_pem.c - common/certinfo.h on hostile text: an uploaded CA or proof
 * certificate (uploadCA, verifyCA) and a thumbprint argument.
 *
 * The input is parsed with xca_cert_from_pem; an accepted certificate goes
 * through every accessor and a PEM round trip. The input as a string goes
 * through xca_thumbprint_normalize, checked against a model.
 */
#define _GNU_SOURCE /* memmem() */

#include <ctype.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "certinfo.h"
#include "fuzz.h"
#include "xca_err.h"

#define FIXED_NOW ((time_t)1800000000) /* 2027-01-15T08:00:00Z */

/* 1 if s is exactly n lowercase hex digits. */
static int is_lower_hex(const char *s, size_t n)
{
  if (strlen(s) != n) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) {
      return 0;
    }
  }
  return 1;
}

/* The contract of xca_thumbprint_normalize, written independently. */
static int model_normalize(const char *in, char *out)
{
  size_t n = 0;
  char buf[1024];

  for (; *in != '\0'; in++) {
    if (*in == ':') {
      continue;
    }
    if (!isxdigit((unsigned char)*in) || n >= sizeof(buf) - 1) {
      return XCA_E_BAD_THUMBPRINT;
    }
    buf[n++] = (char)tolower((unsigned char)*in);
  }
  buf[n] = '\0';
  if (n != 40 && n != 64) {
    return XCA_E_BAD_THUMBPRINT;
  }
  memcpy(out, buf, n + 1);
  return XCA_OK;
}

static void check_thumbprint(const char *text)
{
  char out[XCA_SHA256_HEX];
  char want[XCA_SHA256_HEX] = "";
  int rc;

  memset(out, 'x', sizeof(out));
  rc = xca_thumbprint_normalize(text, out);
  FUZZ_CHECK(rc == model_normalize(text, want));
  if (rc == XCA_OK) {
    FUZZ_CHECK(strcmp(out, want) == 0);
  } else {
    FUZZ_CHECK(rc == XCA_E_BAD_THUMBPRINT && out[0] == '\0');
  }
}

/* Every accessor on an accepted certificate, with the buffer sizes the
 * admin handlers use and with tight ones. */
static void check_cert(X509 *cert)
{
  char cn[XCA_CN_MAX];
  char tiny[4];
  char subject[512];
  char small_subject[16];
  char not_after[32];
  char sha1[XCA_SHA1_HEX];
  char sha256[XCA_SHA256_HEX];
  char norm[XCA_SHA256_HEX];
  char *pem;
  X509 *again = NULL;

  if (xca_cert_cn(cert, cn, sizeof(cn)) == XCA_OK) {
    FUZZ_CHECK(cn[0] != '\0' && strlen(cn) < sizeof(cn));
  } else {
    FUZZ_CHECK(cn[0] == '\0');
  }
  if (xca_cert_cn(cert, tiny, sizeof(tiny)) == XCA_OK) {
    FUZZ_CHECK(strlen(tiny) < sizeof(tiny));
  }
  xca_cert_subject(cert, subject, sizeof(subject));
  FUZZ_CHECK(strlen(subject) < sizeof(subject));
  xca_cert_subject(cert, small_subject, sizeof(small_subject));
  FUZZ_CHECK(strncmp(small_subject, subject, strlen(small_subject)) == 0);
  xca_cert_not_after(cert, not_after, sizeof(not_after));
  FUZZ_CHECK(memchr(not_after, '\0', sizeof(not_after)) != NULL);
  FUZZ_CHECK(not_after[0] == '\0' || not_after[strlen(not_after) - 1] == 'Z');

  xca_cert_sha1(cert, sha1);
  xca_cert_sha256(cert, sha256);
  FUZZ_CHECK(is_lower_hex(sha1, 40) && is_lower_hex(sha256, 64));
  FUZZ_CHECK(xca_thumbprint_normalize(sha1, norm) == XCA_OK && strcmp(norm, sha1) == 0);
  FUZZ_CHECK(xca_thumbprint_normalize(sha256, norm) == XCA_OK && strcmp(norm, sha256) == 0);

  FUZZ_CHECK(xca_cert_is_ca(cert) == 0 || xca_cert_is_ca(cert) == 1);
  FUZZ_CHECK(xca_cert_time_valid(cert, FIXED_NOW) == 0 || xca_cert_time_valid(cert, FIXED_NOW) == 1);
  FUZZ_CHECK(xca_cert_signed_by(cert, cert) == 0 || xca_cert_signed_by(cert, cert) == 1);

  /* uploadCA stores the re-encoded PEM: it must parse back to the same DER. */
  pem = xca_cert_to_pem(cert);
  FUZZ_CHECK(pem != NULL);
  FUZZ_CHECK(xca_cert_from_pem(pem, strlen(pem), &again) == XCA_OK);
  xca_cert_sha256(again, norm);
  FUZZ_CHECK(strcmp(norm, sha256) == 0);
  X509_free(again);
  free(pem);
}

/* OpenSSL reads PEM text line by line with BIO_gets(bio, buf, 255)
 * (LINESIZE in crypto/pem/pem_lib.c): a physical line longer than 253
 * bytes plus its '\n' arrives as several lines of at most 254 bytes. */
#define OPENSSL_PEM_LINE 254

/* The number of lines of data that open a PEM block, as OpenSSL reads
 * them: "-----BEGIN <label>-----" plus trailing bytes <= ' ' as a signed
 * char, on the lines BIO_gets hands it (see OPENSSL_PEM_LINE). */
static int begin_lines(const uint8_t *data, size_t size)
{
  static const char begin[] = "-----BEGIN ";
  size_t blen = sizeof(begin) - 1;
  int n = 0;

  for (size_t i = 0; i < size;) {
    const uint8_t *nl = memchr(data + i, '\n', size - i);
    size_t end = nl ? (size_t)(nl - data) + 1 : size; /* one past the '\n' */
    size_t len;
    if (end - i > OPENSSL_PEM_LINE) {
      end = i + OPENSSL_PEM_LINE;
    }
    len = end - i;
    while (len > 0 && (data[i + len - 1] <= ' ' || data[i + len - 1] >= 0x80)) {
      len--;
    }
    if (len >= blen + 5 && memcmp(data + i, begin, blen) == 0 &&
        memcmp(data + i + len - 5, "-----", 5) == 0) {
      n++;
    }
    i = end;
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  X509 *cert = NULL;
  char *text;
  int rc = xca_cert_from_pem((const char *)data, size, &cert);

  if (rc == XCA_OK) {
    FUZZ_CHECK(cert != NULL);
    /* "exactly one PEM CERTIFICATE block and nothing else PEM-shaped" */
    FUZZ_CHECK(begin_lines(data, size) == 1);
    check_cert(cert);
    X509_free(cert);
  } else {
    /* Outputs are written only on success. */
    FUZZ_CHECK(cert == NULL);
    FUZZ_CHECK(rc == XCA_E_BAD_PEM || rc == XCA_E_PRIVATE_KEY || rc == XCA_E_MULTIPLE_CERTS);
  }
  /* A key label anywhere refuses the upload. */
  if (size > 0 && size <= 1024 * 1024 && memmem(data, size, "PRIVATE KEY", 11) != NULL) {
    FUZZ_CHECK(rc == XCA_E_PRIVATE_KEY);
  }
  text = fuzz_strndup(data, size);
  check_thumbprint(text);
  free(text);
  ERR_clear_error();
  return 0;
}
