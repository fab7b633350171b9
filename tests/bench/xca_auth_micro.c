/* xca_auth_micro - the cost of the BASIC_AUTH decision without crypto.
 *
 *   xca_auth_micro [--port P] [--ids N] [--iterations K] [--prefix P] [--groups G]
 *
 * Registers N devices (HSET <prefix>device:bench-micro-<i> status enabled)
 * in the Redis on 127.0.0.1:P, then times K decisions as BASIC_AUTH takes
 * them (xca_auth_decide_enroll with the plugin's lookup, common/lookup.c,
 * and enrollment through G enrollment groups held in memory [10], none of
 * them on the chain) for random ids: once with a warm cache (cache hit: no
 * Redis call) and once with the cache disabled (every decision reads Redis
 * over loopback). The certificate facts are prepared up front, as the TLS
 * handshake would leave them (a verified chain of three). Prints one JSON
 * object: {"hit_us":{"p50":..,"p99":..,"max":..},"miss_us":{...},...}.
 *
 *   xca_auth_micro --chain [--iterations K]
 *
 * needs no Redis: times the handshake's chain check on the seed's depth 3
 * (device leaf, Technician-Z, Factory-Y, under the Company-X root; EC
 * P-256, made in-process) for K devices: a full verification
 * (xca_trust_verify), a chain-cache hit (chaincache.h), and a first-seen
 * device under the cached path (leaf signature only), in CPU time of the
 * verifying thread. Prints one JSON object:
 * {"full_us":{...},"cached_us":{...},"leaf_us":{...}}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "auth.h"
#include "certgen.h"
#include "chaincache.h"
#include "enroll.h"
#include "lookup.h"
#include "registry_redis.h"
#include "xca_err.h"

struct stats {
  double p50, p99, max;
};

static int always(void *arg)
{
  (void)arg;
  return 1;
}

static double now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* CPU time of this thread: what a verification costs, whatever else the
 * machine runs meanwhile. */
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

static int seed_registry(int port, const char *prefix, int ids)
{
  redisContext *c = redisConnect("127.0.0.1", port);

  if (c == NULL || c->err) {
    fprintf(stderr, "cannot connect to Redis on port %d\n", port);
    return -1;
  }
  for (int i = 0; i < ids; i++) {
    redisAppendCommand(c, "HSET %sdevice:bench-micro-%d status enabled", prefix, i);
  }
  for (int i = 0; i < ids; i++) {
    void *reply = NULL;
    if (redisGetReply(c, &reply) != REDIS_OK) {
      redisFree(c);
      return -1;
    }
    freeReplyObject(reply);
  }
  redisFree(c);
  return 0;
}

/* Hold n groups whose CAs are not on the benchmark's chain. */
static int add_groups(struct xca_groups *groups, int n)
{
  for (int i = 0; i < n; i++) {
    struct xca_group_rec g;
    memset(&g, 0, sizeof(g));
    snprintf(g.name, sizeof(g.name), "bench-group-%d", i);
    snprintf(g.thumbprint, sizeof(g.thumbprint), "%064x", i + 1);
    g.enabled = g.initial_enabled = 1;
    if (xca_groups_put(groups, &g) != XCA_OK) {
      return -1;
    }
  }
  return 0;
}

/* Time iterations decisions; returns the number refused (should be 0). */
static int run(struct xca_lookup *lk, struct xca_enroller *enroller, int ids, int iterations,
               double *samples)
{
  struct xca_cert_facts facts;
  struct xca_ident ident;
  char client_id[64];
  int refused = 0;

  memset(&facts, 0, sizeof(facts));
  facts.chain_ok = 1;
  facts.cn_ok = 1;
  facts.leaf_time_valid = 1;
  facts.chain.chain_len = 3;
  for (int i = 0; i < 3; i++) {
    snprintf(facts.chain.chain_sha256[i], XCA_SHA256_HEX, "%064x", 0xbe0000 + i);
  }
  for (int i = 0; i < iterations; i++) {
    snprintf(client_id, sizeof(client_id), "bench-micro-%d", rand() % ids);
    strcpy(facts.cn, client_id);
    double t0 = now_us();
    xca_enroller_begin(enroller);
    int rc = xca_auth_decide_enroll(&facts, client_id, NULL, NULL, xca_lookup_identity, lk,
                                    xca_enroll, enroller, &ident);
    samples[i] = now_us() - t0;
    refused += rc != XCA_OK;
  }
  return refused;
}

/* ---- the chain check ---------------------------------------------------- */

struct seed_pki {
  struct xca_tcert root, factory, technician;
  struct xca_tcert *devices;
  int n;
};

static int make_pki(struct seed_pki *p, int n)
{
  struct xca_tcert_spec ca = {.profile = XCA_TCERT_CA};
  struct xca_tcert_spec dev = {.profile = XCA_TCERT_DEVICE};
  char cn[64];

  memset(p, 0, sizeof(*p));
  p->devices = calloc((size_t)n, sizeof(*p->devices));
  p->n = n;
  ca.cn = "Company-X";
  if (p->devices == NULL || xca_certgen_spec(&p->root, &ca, NULL) != 0) {
    return -1;
  }
  ca.cn = "Factory-Y";
  if (xca_certgen_spec(&p->factory, &ca, &p->root) != 0) {
    return -1;
  }
  ca.cn = "Technician-Z";
  if (xca_certgen_spec(&p->technician, &ca, &p->factory) != 0) {
    return -1;
  }
  dev.cn = cn;
  for (int i = 0; i < n; i++) {
    snprintf(cn, sizeof(cn), "bench-chain-%d", i);
    if (xca_certgen_spec(&p->devices[i], &dev, &p->technician) != 0) {
      return -1;
    }
  }
  return 0;
}

/* What device i sends: its leaf, Technician-Z, Factory-Y. */
static STACK_OF(X509) *sent_by(struct seed_pki *p, int i)
{
  STACK_OF(X509) *s = sk_X509_new_null();
  sk_X509_push(s, p->devices[i].cert);
  sk_X509_push(s, p->technician.cert);
  sk_X509_push(s, p->factory.cert);
  return s;
}

enum chain_mode { CHAIN_FULL, CHAIN_CACHED, CHAIN_LEAF };

/* Time one verification of each of the n devices in mode; returns the
 * number that did not verify the expected way. */
static int time_chains(struct seed_pki *p, struct xca_trust *trust, enum chain_mode mode,
                       double *samples)
{
  struct xca_chaincache *cc = xca_chaincache_new(p->n * 2);
  struct xca_verdict_epoch epoch = {xca_trust_generation(trust), 0};
  struct xca_chain_result res;
  enum xca_chaincache_how how;
  enum xca_chaincache_how want = mode == CHAIN_CACHED ? XCA_CHAINCACHE_HIT : XCA_CHAINCACHE_LEAF;
  int bad = 0;

  /* cached: every chain seen once; leaf: only the path (one other device) */
  for (int i = 0; mode != CHAIN_FULL && i < (mode == CHAIN_CACHED ? p->n : 1); i++) {
    STACK_OF(X509) *s = sent_by(p, i);
    xca_chaincache_verify(cc, trust, p->devices[i].cert, s, 5, &epoch, 0, &res, NULL);
    sk_X509_free(s);
  }
  for (int i = 0; i < p->n; i++) {
    int d = mode == CHAIN_LEAF ? (i + 1) % p->n : i; /* device 0 warmed the path */
    STACK_OF(X509) *s = sent_by(p, d);
    double t0 = cpu_us();
    int rc = mode == CHAIN_FULL
               ? xca_trust_verify(trust, p->devices[d].cert, s, 5, 0, &res)
               : xca_chaincache_verify(cc, trust, p->devices[d].cert, s, 5, &epoch, 0, &res, &how);
    samples[i] = cpu_us() - t0;
    bad += rc != XCA_OK || (mode != CHAIN_FULL && how != want && !(mode == CHAIN_LEAF && d == 0));
    sk_X509_free(s);
  }
  xca_chaincache_free(cc);
  return bad;
}

static double mean_of(const double *v, int n)
{
  double sum = 0;
  for (int i = 0; i < n; i++) {
    sum += v[i];
  }
  return sum / n;
}

static int chain_bench(int n)
{
  static const char *const names[] = {"full_us", "cached_us", "leaf_us"};
  struct seed_pki p;
  struct xca_trust *trust = xca_trust_new();
  double *samples = malloc(sizeof(double) * (size_t)n);
  int bad = 0;

  if (trust == NULL || samples == NULL || make_pki(&p, n) != 0 ||
      xca_trust_put(trust, "company-x", p.root.cert) != XCA_OK) {
    fprintf(stderr, "cannot make the seed PKI\n");
    return 2;
  }
  printf("{\"depth\":3,\"devices\":%d", n);
  for (int m = CHAIN_FULL; m <= CHAIN_LEAF; m++) {
    bad += time_chains(&p, trust, (enum chain_mode)m, samples);
    double mean = mean_of(samples, n);
    struct stats s = summarize(samples, n);
    printf(",\"%s\":{\"mean\":%.2f,\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f}", names[m], mean,
           s.p50, s.p99, s.max);
  }
  printf(",\"unexpected\":%d}\n", bad);
  for (int i = 0; i < n; i++) {
    xca_certgen_free(&p.devices[i]);
  }
  free(p.devices);
  xca_certgen_free(&p.technician);
  xca_certgen_free(&p.factory);
  xca_certgen_free(&p.root);
  xca_trust_free(trust);
  free(samples);
  return bad == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
  struct xca_config cfg;
  int ids = 1000;
  int iterations = 100000;
  int ngroups = 10;
  char err[256];

  if (argc > 1 && strcmp(argv[1], "--chain") == 0) {
    int n = (argc == 4 && strcmp(argv[2], "--iterations") == 0) ? atoi(argv[3]) : 2000;
    return chain_bench(n > 10 ? n : 10);
  }
  xca_config_init(&cfg);
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--port") == 0) {
      xca_config_set(&cfg, "redis_port", argv[i + 1], err, sizeof(err));
    } else if (strcmp(argv[i], "--ids") == 0) {
      ids = atoi(argv[i + 1]);
    } else if (strcmp(argv[i], "--iterations") == 0) {
      iterations = atoi(argv[i + 1]);
    } else if (strcmp(argv[i], "--prefix") == 0) {
      xca_config_set(&cfg, "key_prefix", argv[i + 1], err, sizeof(err));
    } else if (strcmp(argv[i], "--groups") == 0) {
      ngroups = atoi(argv[i + 1]);
    } else {
      fprintf(stderr, "usage: %s [--port P] [--ids N] [--iterations K] [--prefix P] [--groups G]\n",
              argv[0]);
      return 2;
    }
  }
  if (ids < 1 || iterations < 100 || seed_registry(cfg.redis_port, cfg.key_prefix, ids) != 0) {
    return 2;
  }
  struct xca_redis *redis = xca_redis_new(&cfg, NULL, NULL);
  struct xca_registry reg = {xca_redis_kv(redis), cfg.key_prefix};
  struct xca_cache *warm = xca_cache_new(ids * 2);
  struct xca_cache *none = xca_cache_new(0);
  struct xca_lookup lk = {.registry = &reg, .following = always, .stale_max_s = 300};
  struct xca_groups *groups = xca_groups_new();
  struct xca_enroller enroller = {.groups = groups, .reg = &reg};
  double *samples = malloc(sizeof(double) * (size_t)iterations);
  struct stats hit, miss;
  int refused;

  if (ngroups < 0 || groups == NULL || add_groups(groups, ngroups) != 0) {
    fprintf(stderr, "cannot hold %d groups\n", ngroups);
    return 2;
  }
  if (xca_redis_connect(redis, 1) != XCA_OK || samples == NULL) {
    fprintf(stderr, "cannot connect to Redis\n");
    return 1;
  }
  srand(42);
  lk.cache = warm;
  run(&lk, &enroller, ids, ids * 3, samples); /* warm up: every id cached */
  refused = run(&lk, &enroller, ids, iterations, samples);
  hit = summarize(samples, iterations);
  lk.cache = none;
  refused += run(&lk, &enroller, ids, iterations / 10, samples);
  miss = summarize(samples, iterations / 10);
  printf("{\"ids\":%d,\"groups\":%d,\"iterations_hit\":%d,\"iterations_miss\":%d,\"refused\":%d,"
         "\"hit_us\":{\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f},"
         "\"miss_us\":{\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f}}\n",
         ids, ngroups, iterations, iterations / 10, refused, hit.p50, hit.p99, hit.max, miss.p50,
         miss.p99, miss.max);
  free(samples);
  xca_cache_free(warm);
  xca_cache_free(none);
  xca_groups_free(groups);
  xca_redis_free(redis);
  xca_config_free(&cfg);
  return refused == 0 ? 0 : 1;
}
