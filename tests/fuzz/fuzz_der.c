/* fuzz_der.c - a device's certificate chain as the TLS handshake delivers
 * it: DER certificates, each parsed with d2i_X509, verified by
 * xca_trust_verify_thumbprints (common/trust.h, the certificate policy
 * included) and read with the common/certinfo.h accessors the plugin uses
 * on a leaf; and the same DER armoured as PEM, the way an admin upload
 * carries it, through xca_cert_from_pem.
 *
 * The input is a concatenation of DER certificates (leaf first, then the
 * intermediates), as a TLS Certificate message lists them; parsing stops
 * at the first bytes that are not one. Two trust sets are tried: the
 * fixed root alone, and the fixed intermediate alone (an intermediate in
 * the set is a sufficient anchor). Checked: a verified chain runs from
 * the leaf to a CA of the set, has a policy-conforming end-entity leaf
 * within its validity, and its thumbprints are the chain's; a refusal
 * names a known reason, describes itself in one bounded line and leaves no
 * thumbprints; a PEM wrapping of the leaf's exact bytes is accepted and of
 * the whole input only when it is exactly one certificate. Each chain is
 * also verified through a chain cache of each trust set (common/chaincache.h,
 * kept across inputs, so that a fuzzed leaf meets paths verified before):
 * its verdict, cached, under a known path or fresh, must be exactly the one
 * of xca_trust_verify.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certinfo.h"
#include "chaincache.h"
#include "fuzz.h"
#include "policy.h"
#include "trust.h"
#include "xca_err.h"

#define FIXED_NOW ((time_t)1800000000) /* 2027-01-15T08:00:00Z; the seed certs span it */
#define MAX_CERTS 6
#define MAX_DEPTH 5    /* plugin_opt_max_chain_depth's default */
#define MAX_PEM_INPUT (64 * 1024)

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
    abort(); /* the harness's own certificates */
  }
  return cert;
}

/* A trust set holding one CA, made once. */
static struct xca_trust *trust_with(const char *name, X509 *ca)
{
  struct xca_trust *t = xca_trust_new();

  if (t == NULL || xca_trust_put(t, name, ca) != XCA_OK) {
    abort();
  }
  return t;
}

static int is_known_refusal(int rc)
{
  return rc == XCA_E_CHAIN || rc == XCA_E_WEAK_KEY || rc == XCA_E_BAD_CURVE ||
         rc == XCA_E_KEY_TYPE || rc == XCA_E_WEAK_DIGEST || rc == XCA_E_LEAF_IS_CA ||
         rc == XCA_E_LEAF_USAGE || rc == XCA_E_LEAF_EKU;
}

/* thumbprints is "h0,h1,...": 64 lowercase hex digits each; returns how
 * many, or -1 when malformed. */
static int count_thumbprints(const char *s)
{
  int n = 0;

  for (;;) {
    for (int i = 0; i < 64; i++) {
      char c = s[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return -1;
      }
    }
    n++;
    s += 64;
    if (*s == '\0') {
      return n;
    }
    if (*s++ != ',') {
      return -1;
    }
  }
}

static int same_result(const struct xca_chain_result *a, const struct xca_chain_result *b)
{
  int same = a->x509_error == b->x509_error && a->error_depth == b->error_depth &&
             a->policy_error == b->policy_error &&
             strcmp(a->policy_detail, b->policy_detail) == 0 &&
             a->anchor_count == b->anchor_count && a->chain_len == b->chain_len &&
             a->valid_from == b->valid_from && a->valid_until == b->valid_until;

  for (int i = 0; same && i < a->anchor_count; i++) {
    same = strcmp(a->anchors[i], b->anchors[i]) == 0;
  }
  for (int i = 0; same && i < a->chain_len; i++) {
    same = strcmp(a->chain_sha256[i], b->chain_sha256[i]) == 0;
  }
  return same;
}

/* Twice through cc (the second time a hit when the first succeeded): the
 * verdict of a fresh verification each time. */
static void check_cached(struct xca_chaincache *cc, struct xca_trust *trust, X509 *leaf,
                         STACK_OF(X509) *untrusted, int rc, const struct xca_chain_result *fresh)
{
  struct xca_verdict_epoch epoch = {xca_trust_generation(trust), 0};

  for (int round = 0; round < 2; round++) {
    struct xca_chain_result res;
    enum xca_chaincache_how how;
    int crc = xca_chaincache_verify(cc, trust, leaf, untrusted, MAX_DEPTH, &epoch, FIXED_NOW,
                                    &res, &how);
    FUZZ_CHECK(crc == rc && same_result(&res, fresh));
    FUZZ_CHECK(round == 0 || rc != XCA_OK || how == XCA_CHAINCACHE_HIT);
  }
}

static void check_verify(struct xca_trust *trust, struct xca_chaincache *cc, const char *name,
                         X509 *anchor, X509 *leaf, STACK_OF(X509) *untrusted)
{
  struct xca_chain_result res;
  char thumbs[XCA_CHAIN_TEXT_MAX];
  char line[512];
  char tiny[8];
  char leaf_sha[XCA_SHA256_HEX];
  char anchor_sha[XCA_SHA256_HEX];
  int rc;

  memset(&res, 0x5a, sizeof(res));
  rc = xca_trust_verify(trust, leaf, untrusted, MAX_DEPTH, FIXED_NOW, &res);
  FUZZ_CHECK(rc == XCA_OK || is_known_refusal(rc));
  check_cached(cc, trust, leaf, untrusted, rc, &res);
  if (rc != XCA_OK) {
    FUZZ_CHECK(res.chain_len == 0);
    xca_chain_describe(&res, line, sizeof(line));
    FUZZ_CHECK(line[0] != '\0' && strchr(line, '\n') == NULL);
    xca_chain_describe(&res, tiny, sizeof(tiny));
    FUZZ_CHECK(strlen(tiny) < sizeof(tiny));
    return;
  }
  FUZZ_CHECK(res.x509_error == X509_V_OK && res.policy_error == XCA_OK);
  FUZZ_CHECK(res.anchor_count >= 1 && res.anchor_count <= XCA_CHAIN_NAMES_MAX);
  FUZZ_CHECK(strcmp(res.anchors[0], name) == 0);
  /* An end-entity leaf within its validity, under the policy. */
  FUZZ_CHECK(xca_cert_is_ca(leaf) == 0 && xca_cert_time_valid(leaf, FIXED_NOW) == 1);
  FUZZ_CHECK(xca_policy_check_leaf(leaf, line, sizeof(line)) == XCA_OK);
  FUZZ_CHECK(xca_policy_check_cert(xca_trust_policy(trust), leaf, line, sizeof(line)) == XCA_OK);
  /* Thumbprints: leaf first, the anchor of the set last. */
  xca_chain_thumbprints(&res, thumbs, sizeof(thumbs));
  {
    int n = count_thumbprints(thumbs);
    xca_cert_sha256(leaf, leaf_sha);
    xca_cert_sha256(anchor, anchor_sha);
    FUZZ_CHECK(n == res.chain_len && n >= 1 && n <= MAX_DEPTH + 2);
    FUZZ_CHECK(strcmp(res.chain_sha256[0], leaf_sha) == 0);
    FUZZ_CHECK(strncmp(thumbs, leaf_sha, 64) == 0);
    FUZZ_CHECK(strcmp(thumbs + strlen(thumbs) - 64, anchor_sha) == 0);
  }
}

/* The accessors the plugin applies to a device's leaf. */
static void check_accessors(X509 *leaf)
{
  char cn[XCA_CN_MAX];
  char subject[512];
  char not_after[32];
  char sha1[XCA_SHA1_HEX];
  char sha256[XCA_SHA256_HEX];
  char detail[XCA_POLICY_DETAIL_MAX];
  struct xca_policy policy;
  int rc;

  if (xca_cert_cn(leaf, cn, sizeof(cn)) == XCA_OK) {
    FUZZ_CHECK(cn[0] != '\0' && strlen(cn) < sizeof(cn));
  } else {
    FUZZ_CHECK(cn[0] == '\0');
  }
  xca_cert_subject(leaf, subject, sizeof(subject));
  FUZZ_CHECK(strlen(subject) < sizeof(subject));
  xca_cert_not_after(leaf, not_after, sizeof(not_after));
  FUZZ_CHECK(memchr(not_after, '\0', sizeof(not_after)) != NULL);
  xca_cert_sha1(leaf, sha1);
  xca_cert_sha256(leaf, sha256);
  FUZZ_CHECK(strlen(sha1) == 40 && strlen(sha256) == 64);
  FUZZ_CHECK(xca_cert_self_signed(leaf) == 0 || xca_cert_self_signed(leaf) == 1);
  xca_policy_init(&policy);
  rc = xca_policy_check_cert(&policy, leaf, detail, sizeof(detail));
  FUZZ_CHECK(rc == XCA_OK || rc == XCA_E_WEAK_KEY || rc == XCA_E_BAD_CURVE ||
             rc == XCA_E_KEY_TYPE || rc == XCA_E_WEAK_DIGEST);
  FUZZ_CHECK((rc == XCA_OK) == (detail[0] == '\0'));
  FUZZ_CHECK(memchr(detail, '\0', sizeof(detail)) != NULL);
  rc = xca_policy_check_leaf(leaf, detail, sizeof(detail));
  FUZZ_CHECK(rc == XCA_OK || rc == XCA_E_LEAF_IS_CA || rc == XCA_E_LEAF_USAGE ||
             rc == XCA_E_LEAF_EKU);
}

/* data[0..len) armoured as one PEM CERTIFICATE block (64-column base64). */
static char *pem_armour(const uint8_t *data, size_t len)
{
  static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
  static const char end[] = "-----END CERTIFICATE-----\n";
  size_t cap = sizeof(begin) + sizeof(end) + (len + 2) / 3 * 4 + len / 48 + 2;
  char *out = malloc(cap);
  size_t o;

  if (out == NULL) {
    abort();
  }
  memcpy(out, begin, sizeof(begin) - 1);
  o = sizeof(begin) - 1;
  for (size_t i = 0; i < len; i += 48) {
    size_t chunk = len - i < 48 ? len - i : 48;
    o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, data + i, (int)chunk);
    out[o++] = '\n';
  }
  memcpy(out + o, end, sizeof(end));
  return out;
}

/* The PEM armour of bytes[0..len) is accepted exactly when want is set;
 * when accepted, it is the certificate whose SHA-256 is sha. */
static void check_pem(const uint8_t *bytes, size_t len, int want, const char *sha)
{
  char *pem;
  X509 *cert = NULL;
  char got[XCA_SHA256_HEX];
  int rc;

  if (len == 0 || len > MAX_PEM_INPUT) {
    return;
  }
  pem = pem_armour(bytes, len);
  rc = xca_cert_from_pem(pem, strlen(pem), &cert);
  FUZZ_CHECK((rc == XCA_OK) == want);
  if (rc == XCA_OK) {
    xca_cert_sha256(cert, got);
    FUZZ_CHECK(sha == NULL || strcmp(got, sha) == 0);
    X509_free(cert);
  } else {
    FUZZ_CHECK(cert == NULL && (rc == XCA_E_BAD_PEM || rc == XCA_E_PRIVATE_KEY));
  }
  free(pem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static X509 *root;
  static X509 *inter;
  static struct xca_trust *by_root;
  static struct xca_trust *by_int;
  static struct xca_chaincache *cc_root; /* one per trust set: generations are per set */
  static struct xca_chaincache *cc_int;
  const unsigned char *p = data;
  X509 *cert[MAX_CERTS];
  size_t leaf_len = 0;
  int n = 0;
  STACK_OF(X509) *untrusted;
  char leaf_sha[XCA_SHA256_HEX];

  if (root == NULL) {
    root = cert_of(root_pem);
    inter = cert_of(int_pem);
    by_root = trust_with("fuzz-der-root", root);
    by_int = trust_with("fuzz-der-int", inter);
    cc_root = xca_chaincache_new(64);
    cc_int = xca_chaincache_new(64);
    if (cc_root == NULL || cc_int == NULL) {
      abort();
    }
  }
  while (n < MAX_CERTS && p < data + size) {
    const unsigned char *start = p;
    cert[n] = d2i_X509(NULL, &p, (long)(data + size - p));
    if (cert[n] == NULL) {
      break;
    }
    if (n == 0) {
      leaf_len = (size_t)(p - start);
    }
    n++;
  }
  /* The whole input is one PEM upload only if it is one certificate. */
  check_pem(data, size, n == 1 && leaf_len == size, NULL);
  if (n == 0) {
    ERR_clear_error();
    return 0;
  }
  xca_cert_sha256(cert[0], leaf_sha);
  check_pem(data, leaf_len, 1, leaf_sha);
  check_accessors(cert[0]);
  untrusted = sk_X509_new_null();
  if (untrusted == NULL) {
    abort();
  }
  for (int i = 1; i < n; i++) {
    if (!sk_X509_push(untrusted, cert[i])) {
      abort();
    }
  }
  check_verify(by_root, cc_root, "fuzz-der-root", root, cert[0], untrusted);
  check_verify(by_int, cc_int, "fuzz-der-int", inter, cert[0], untrusted);
  check_verify(by_root, cc_root, "fuzz-der-root", root, cert[0], NULL);
  sk_X509_free(untrusted);
  for (int i = 0; i < n; i++) {
    X509_free(cert[i]);
  }
  ERR_clear_error();
  return 0;
}
