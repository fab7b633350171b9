#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void xca_stats_init(struct xca_stats *s)
{
  if (s != NULL) {
    memset(s, 0, sizeof(*s));
  }
}

void xca_stats_accepted(struct xca_stats *s)
{
  if (s != NULL) {
    s->accepted++;
  }
}

/* Codes outside the table share slot 0 (XCA_OK is never a refusal). */
static int reason_slot(int err)
{
  return (err > XCA_OK && err < XCA_E_MAX_) ? err : 0;
}

void xca_stats_refused(struct xca_stats *s, int err)
{
  if (s != NULL) {
    s->refused++;
    s->refused_by[reason_slot(err)]++;
  }
}

void xca_stats_dropped(struct xca_stats *s)
{
  if (s != NULL) {
    s->dropped++;
  }
}

void xca_stats_enrolled(struct xca_stats *s)
{
  if (s != NULL) {
    s->enrolled++;
  }
}

void xca_stats_cache(struct xca_stats *s, int hit)
{
  if (s == NULL) {
    return;
  }
  if (hit) {
    s->cache_hits++;
  } else {
    s->cache_misses++;
  }
}

void xca_stats_chain(struct xca_stats *s, int hit, int leaf)
{
  if (s == NULL) {
    return;
  }
  if (hit) {
    s->chain_hits++;
  } else if (leaf) {
    s->chain_leaf++;
  } else {
    s->chain_misses++;
  }
}

void xca_stats_redis_call(struct xca_stats *s, long long latency_us, int failed)
{
  if (s == NULL) {
    return;
  }
  if (latency_us < 0) {
    latency_us = 0;
  }
  s->latency_us[s->latency_next] = latency_us > (long long)~0u ? ~0u : (unsigned)latency_us;
  s->latency_next = (s->latency_next + 1) % XCA_STATS_LATENCY_SAMPLES;
  if (s->latency_count < XCA_STATS_LATENCY_SAMPLES) {
    s->latency_count++;
  }
  if (failed) {
    s->redis_errors++;
  }
}

void xca_stats_redis_error(struct xca_stats *s)
{
  if (s != NULL) {
    s->redis_errors++;
  }
}

void xca_stats_set_gauge(struct xca_stats *s, enum xca_gauge g, unsigned long long value)
{
  if (s != NULL && (int)g >= 0 && g < XCA_GAUGE_MAX_) {
    s->gauge[g] = value;
  }
}

static int cmp_unsigned(const void *a, const void *b)
{
  unsigned x = *(const unsigned *)a;
  unsigned y = *(const unsigned *)b;
  return (x > y) - (x < y);
}

unsigned long long xca_stats_latency_percentile(const struct xca_stats *s, int pct)
{
  unsigned sorted[XCA_STATS_LATENCY_SAMPLES];
  unsigned n;
  unsigned rank;

  if (s == NULL || s->latency_count == 0 || pct < 1 || pct > 100) {
    return 0;
  }
  n = s->latency_count;
  memcpy(sorted, s->latency_us, n * sizeof(sorted[0]));
  qsort(sorted, n, sizeof(sorted[0]), cmp_unsigned);
  /* Nearest rank: the smallest sample with at least pct% of them at or below it. */
  rank = ((unsigned)pct * n + 99) / 100;
  return sorted[rank - 1];
}

char *xca_stats_slug(int err, char *buf, size_t len)
{
  const char *name = reason_slot(err) != 0 ? xca_err_name(err) : "UNKNOWN";
  size_t n = 0;

  for (; name[n] != '\0' && n + 1 < len; n++) {
    buf[n] = (name[n] >= 'A' && name[n] <= 'Z') ? (char)(name[n] - 'A' + 'a') : name[n];
  }
  buf[n] = '\0';
  return buf;
}

/* Visit refused/<slug> for every reason refused at least once. */
static int each_reason(const struct xca_stats *s, xca_stats_visit_fn fn, void *arg)
{
  char slug[XCA_STATS_SLUG_MAX];
  char name[XCA_STATS_NAME_MAX];
  int rc = 0;

  for (int err = 0; rc == 0 && err < XCA_E_MAX_; err++) {
    if (s->refused_by[err] != 0) {
      snprintf(name, sizeof(name), "refused/%s", xca_stats_slug(err, slug, sizeof(slug)));
      rc = fn(arg, name, s->refused_by[err]);
    }
  }
  return rc;
}

int xca_stats_each(const struct xca_stats *s, xca_stats_visit_fn fn, void *arg)
{
  int rc;

  if (s == NULL || fn == NULL) {
    return 0;
  }
  rc = fn(arg, "connects/accepted", s->accepted);
  rc = rc ? rc : fn(arg, "connects/refused", s->refused);
  rc = rc ? rc : each_reason(s, fn, arg);
  rc = rc ? rc : fn(arg, "dropped", s->dropped);
  rc = rc ? rc : fn(arg, "enrolled", s->enrolled);
  rc = rc ? rc : fn(arg, "cache/hits", s->cache_hits);
  rc = rc ? rc : fn(arg, "cache/misses", s->cache_misses);
  rc = rc ? rc : fn(arg, "chaincache/hits", s->chain_hits);
  rc = rc ? rc : fn(arg, "chaincache/misses", s->chain_leaf + s->chain_misses);
  rc = rc ? rc : fn(arg, "chaincache/leaf", s->chain_leaf);
  rc = rc ? rc : fn(arg, "prefetch/requests", s->prefetch_requests);
  rc = rc ? rc : fn(arg, "prefetch/applied", s->prefetch_applied);
  rc = rc ? rc : fn(arg, "prefetch/hits", s->prefetch_hits);
  rc = rc ? rc : fn(arg, "prefetch/late", s->prefetch_late);
  rc = rc ? rc : fn(arg, "prefetch/discarded", s->prefetch_discarded);
  rc = rc ? rc : fn(arg, "prefetch/dropped", s->prefetch_dropped);
  rc = rc ? rc : fn(arg, "redis/errors", s->redis_errors);
  rc = rc ? rc : fn(arg, "redis/latency_us/p50", xca_stats_latency_percentile(s, 50));
  rc = rc ? rc : fn(arg, "redis/latency_us/p99", xca_stats_latency_percentile(s, 99));
  rc = rc ? rc : fn(arg, "sessions", s->gauge[XCA_GAUGE_SESSIONS]);
  rc = rc ? rc : fn(arg, "cas", s->gauge[XCA_GAUGE_CAS]);
  rc = rc ? rc : fn(arg, "audit/dropped", s->gauge[XCA_GAUGE_AUDIT_DROPPED]);
  rc = rc ? rc : fn(arg, "crl/expired", s->gauge[XCA_GAUGE_CRL_EXPIRED]);
  return rc;
}
