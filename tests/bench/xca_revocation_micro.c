/* xca_revocation_micro - the cost of the revocation check, and whether it
 * grows with what is revoked.
 *
 *   xca_revocation_micro [--iterations K] [--revoked N] [--serials S]
 *                        [--sessions M]
 *
 * Makes root -> Factory-Y -> Technician-Z -> device in-process
 * (tests/lib/certgen), then times K checks of the device's verified chain
 * [5000] in four states of the revocation set: empty (the check returns
 * at once); one revoked thumbprint; N revoked thumbprints [100000] (none
 * of the chain); and those plus a CRL of S serials [100000] held for
 * Technician-Z (not listing the device). Each state is timed for
 * the check alone (xca_revocation_check_chain, four hash lookups and a CRL
 * lookup) and for the whole chain verification (xca_trust_verify: the
 * signatures, the policy and the check). Also the one-off costs: adding the
 * N thumbprints, and the intake of the S-serial CRL (parse, signature,
 * serial set). And the cost of marking the sessions a revocation affects
 * (xca_sessions_mark_thumbprint) with M open sessions [10000], each with a
 * verified chain of 4 certificates (leaf, two intermediates, root): a
 * thumbprint in no chain, and a leaf's (one session marked), 1000 marks
 * each, in thread CPU time (so a busy machine does not inflate it).
 * Prints one JSON object. No Redis, no broker; run by hand or by
 * scripts/bench, never by ctest (a timing is no assertion). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "certgen.h"
#include "certinfo.h"
#include "revocation.h"
#include "sessions.h"
#include "trust.h"
#include "xca_err.h"

struct stats {
  double p50, p99, max;
};

static double now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* CPU time of this thread: a mark's own cost, not the machine's load. */
static double cpu_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a;
  double y = *(const double *)b;
  return (x > y) - (x < y);
}

static struct stats summarize(double *v, int n)
{
  struct stats s;
  qsort(v, (size_t)n, sizeof(double), cmp_double);
  s.p50 = v[n / 2];
  s.p99 = v[(int)((double)n * 0.99)];
  s.max = v[n - 1];
  return s;
}

struct pki {
  struct xca_tcert root, fy, tz, dev;
  STACK_OF(X509) *sent;  /* what the device sends: leaf's intermediates */
  STACK_OF(X509) *chain; /* the verified chain, leaf first */
  char sha[4][XCA_SHA256_HEX];
};

static int make_pki(struct pki *p)
{
  const struct xca_tcert_spec ca = {.profile = XCA_TCERT_CA};
  struct xca_tcert_spec dev = {.profile = XCA_TCERT_DEVICE, .cn = "widget"};
  struct xca_tcert_spec fy = ca;
  struct xca_tcert_spec tz = ca;
  struct xca_tcert_spec root = ca;

  root.cn = "Company-X Root CA";
  fy.cn = "Factory-Y CA";
  tz.cn = "Technician-Z CA";
  if (xca_certgen_spec(&p->root, &root, NULL) || xca_certgen_spec(&p->fy, &fy, &p->root) ||
      xca_certgen_spec(&p->tz, &tz, &p->fy) || xca_certgen_spec(&p->dev, &dev, &p->tz)) {
    return -1;
  }
  p->sent = sk_X509_new_null();
  p->chain = sk_X509_new_null();
  sk_X509_push(p->sent, p->tz.cert);
  sk_X509_push(p->sent, p->fy.cert);
  sk_X509_push(p->chain, p->dev.cert);
  sk_X509_push(p->chain, p->tz.cert);
  sk_X509_push(p->chain, p->fy.cert);
  sk_X509_push(p->chain, p->root.cert);
  for (int i = 0; i < 4; i++) {
    xca_cert_sha256(sk_X509_value(p->chain, i), p->sha[i]);
  }
  return 0;
}

/* Time k checks of the chain alone and k whole verifications. */
static int time_state(struct pki *p, struct xca_trust *trust, struct xca_revocation *rev, int k,
                      struct stats *check, struct stats *verify)
{
  double *v = malloc((size_t)k * sizeof(double));
  struct xca_chain_result res;
  char why[XCA_REVOKED_WHY_MAX];
  int depth;

  for (int i = 0; i < k; i++) {
    double t0 = now_us();
    if (xca_revocation_check_chain(rev, p->chain, (const char(*)[XCA_SHA256_HEX])p->sha, 0,
                                   &depth, why, sizeof(why)) != XCA_OK) {
      free(v);
      return -1;
    }
    v[i] = now_us() - t0;
  }
  *check = summarize(v, k);
  for (int i = 0; i < k; i++) {
    double t0 = now_us();
    if (xca_trust_verify(trust, p->dev.cert, p->sent, 5, 0, &res) != XCA_OK) {
      free(v);
      return -1;
    }
    v[i] = now_us() - t0;
  }
  *verify = summarize(v, k);
  free(v);
  return 0;
}

static void print_state(const char *name, const struct stats *c, const struct stats *v, int last)
{
  printf("\"%s\":{\"check_us\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.1f},"
         "\"verify_us\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}}%s",
         name, c->p50, c->p99, c->max, v->p50, v->p99, v->max, last ? "" : ",");
}

static double add_thumbprints(struct xca_revocation *rev, int n)
{
  char sha[XCA_SHA256_HEX];
  double t0 = now_us();

  for (int i = 0; i < n; i++) {
    snprintf(sha, sizeof(sha), "%016x%048x", 0xbadc0de, i + 1);
    xca_revocation_add(rev, sha, NULL);
  }
  return (now_us() - t0) / 1000.0;
}

/* A CRL of s random serials by Technician-Z, taken in: its intake time. */
static double add_crl(struct pki *p, struct xca_revocation *rev, int s, size_t *pem_len)
{
  struct xca_tcrl_spec spec = {.extra_serials = s, .this_s = -60, .next_s = 86400};
  char *pem = xca_certgen_crl(&p->tz, &spec);
  struct xca_crl *crl = NULL;
  double t0;
  double ms;

  if (pem == NULL) {
    return -1;
  }
  *pem_len = strlen(pem);
  t0 = now_us();
  if (xca_crl_new(pem, strlen(pem), p->tz.cert, &crl, NULL) != XCA_OK) {
    free(pem);
    return -1;
  }
  ms = (now_us() - t0) / 1000.0;
  xca_revocation_put_crl(rev, crl);
  free(pem);
  return ms;
}

/* sha256 hex of the numbers (i, j): distinct, as real thumbprints are. */
static void fake_sha(unsigned i, unsigned j, char *out)
{
  snprintf(out, XCA_SHA256_HEX, "%08x%08x%048x", i, j, i * 2654435761u + j);
}

/* M sessions of 4-certificate chains; times 1000 marks of a thumbprint in
 * no chain (miss) and of one leaf (hit); per mark, in CPU microseconds. */
static int time_marks(int m, struct stats *miss, struct stats *hit)
{
  enum { MARKS = 1000 };
  static double tm[MARKS];
  static double th[MARKS];
  struct xca_sessions *s = xca_sessions_new();
  struct xca_chain_result ch;
  struct xca_ident id;
  char name[32];
  char sha[XCA_SHA256_HEX];
  char buf[XCA_IDENTITY_MAX];

  if (s == NULL) {
    return -1;
  }
  memset(&ch, 0, sizeof(ch));
  ch.chain_len = 4;
  fake_sha(0, 2, ch.chain_sha256[2]); /* shared intermediate */
  fake_sha(0, 3, ch.chain_sha256[3]); /* shared root */
  for (int i = 0; i < m; i++) {
    fake_sha((unsigned)i + 1, 0, ch.chain_sha256[0]);
    fake_sha((unsigned)(i % 100) + 1, 1, ch.chain_sha256[1]); /* 100 intermediates */
    snprintf(name, sizeof(name), "dev-%d", i);
    if (xca_ident_make(name, NULL, &id) != XCA_OK ||
        xca_sessions_add(s, &id, (void *)(size_t)(i + 1), NULL, NULL, &ch) != XCA_OK) {
      xca_sessions_free(s);
      return -1;
    }
  }
  for (int k = 0; k < MARKS; k++) {
    fake_sha(0xffff0000u + (unsigned)k, 9, sha);
    double t0 = cpu_us();
    xca_sessions_mark_thumbprint(s, sha);
    tm[k] = cpu_us() - t0;
    fake_sha((unsigned)(k % m) + 1, 0, sha);
    t0 = cpu_us();
    xca_sessions_mark_thumbprint(s, sha);
    th[k] = cpu_us() - t0;
    while (xca_sessions_pop_dirty(s, buf)) {
    }
  }
  *miss = summarize(tm, MARKS);
  *hit = summarize(th, MARKS);
  xca_sessions_free(s);
  return 0;
}

int main(int argc, char **argv)
{
  int k = 5000;
  int n = 100000;
  int s = 100000;
  int m = 10000;
  struct stats mark_miss, mark_hit;
  struct pki p;
  struct stats c0, v0, c1, v1, c2, v2, c3, v3;
  size_t crl_len = 0;

  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--iterations") == 0) {
      k = atoi(argv[i + 1]);
    } else if (strcmp(argv[i], "--revoked") == 0) {
      n = atoi(argv[i + 1]);
    } else if (strcmp(argv[i], "--serials") == 0) {
      s = atoi(argv[i + 1]);
    } else if (strcmp(argv[i], "--sessions") == 0) {
      m = atoi(argv[i + 1]);
    }
  }
  if (k < 100 || n < 0 || s < 0 || m < 1 || make_pki(&p) != 0) {
    fprintf(stderr,
            "usage: %s [--iterations K>=100] [--revoked N] [--serials S] [--sessions M>=1]\n",
            argv[0]);
    return 2;
  }
  struct xca_trust *trust = xca_trust_new();
  struct xca_revocation *rev = xca_revocation_new();
  xca_trust_put(trust, "company-x", p.root.cert);
  xca_trust_set_revocation(trust, rev);
  if (time_state(&p, trust, rev, k, &c0, &v0) != 0) {
    fprintf(stderr, "the chain did not verify\n");
    return 1;
  }
  add_thumbprints(rev, 1);
  if (time_state(&p, trust, rev, k, &c3, &v3) != 0) {
    return 1;
  }
  xca_revocation_clear(rev);
  double add_ms = add_thumbprints(rev, n);
  if (time_state(&p, trust, rev, k, &c1, &v1) != 0) {
    return 1;
  }
  double crl_ms = add_crl(&p, rev, s, &crl_len);
  if (crl_ms < 0 || time_state(&p, trust, rev, k, &c2, &v2) != 0) {
    fprintf(stderr, "the CRL was not taken in\n");
    return 1;
  }
  if (time_marks(m, &mark_miss, &mark_hit) != 0) {
    fprintf(stderr, "the sessions could not be made\n");
    return 1;
  }
  printf("{\"iterations\":%d,\"revoked\":%d,\"crl_serials\":%d,\"crl_pem_bytes\":%zu,"
         "\"add_thumbprints_ms\":%.1f,\"crl_intake_ms\":%.1f,",
         k, n, s, crl_len, add_ms, crl_ms);
  print_state("empty", &c0, &v0, 0);
  print_state("one_thumbprint", &c3, &v3, 0);
  print_state("thumbprints", &c1, &v1, 0);
  print_state("thumbprints_and_crl", &c2, &v2, 0);
  printf("\"sessions\":%d,\"mark_cpu_us\":{\"miss\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
         "\"hit\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}}",
         m, mark_miss.p50, mark_miss.p99, mark_miss.max, mark_hit.p50, mark_hit.p99, mark_hit.max);
  printf("}\n");
  xca_trust_free(trust);
  xca_revocation_free(rev);
  return 0;
}
