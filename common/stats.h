/* stats.h - the counters each broker publishes under $SYS/broker/x509ca/
 * and returns from getStats (README "Audit stream and stats").
 *
 * Counters count since start. Gauges (open sessions, trusted CAs, audit
 * entries dropped) belong to other modules: their owner sets them before
 * the counters are read. Redis latency is a ring of the last
 * XCA_STATS_LATENCY_SAMPLES calls; p50 and p99 are computed from it, by
 * nearest rank, when the counters are read. Every function is NULL-safe (a
 * module given no stats counts nothing). Not thread-safe: the broker's
 * thread owns it.
 */
#ifndef XCA_STATS_H
#define XCA_STATS_H

#include <stddef.h>

#include "xca_err.h"

#define XCA_STATS_LATENCY_SAMPLES 1024 /* Redis calls the percentiles cover */
#define XCA_STATS_SLUG_MAX 64          /* longest refusal slug, with its NUL */
#define XCA_STATS_NAME_MAX 96          /* longest counter name, with its NUL */

enum xca_gauge {
  XCA_GAUGE_SESSIONS,      /* "sessions": open certificate sessions */
  XCA_GAUGE_CAS,           /* "cas": verified CAs trusted */
  XCA_GAUGE_AUDIT_DROPPED, /* "audit/dropped": audit entries that could not be queued */
  XCA_GAUGE_CRL_EXPIRED,   /* "crl/expired": CRLs held past their nextUpdate */
  XCA_GAUGE_MAX_
};

struct xca_stats {
  unsigned long long accepted;     /* connects/accepted */
  unsigned long long refused;      /* connects/refused */
  unsigned long long refused_by[XCA_E_MAX_]; /* refused/<slug>; [0] counts unknown codes */
  unsigned long long dropped;      /* sessions the plugin dropped */
  unsigned long long enrolled;     /* identities created by an enrollment group */
  unsigned long long cache_hits;   /* identity lookups answered by the cache */
  unsigned long long cache_misses; /* identity lookups that asked Redis */
  unsigned long long chain_hits;   /* chain verifications the chain cache answered */
  unsigned long long chain_leaf;   /* of the misses, those verified under a known path */
  unsigned long long chain_misses; /* chain verifications that checked every signature */
  unsigned long long prefetch_requests;  /* registry reads asked of the prefetch worker */
  unsigned long long prefetch_applied;   /* their answers put into the cache */
  unsigned long long prefetch_hits;      /* CONNECTs whose entry a prefetch had put into the cache */
  unsigned long long prefetch_late;      /* CONNECTs that came before their prefetch's answer */
  unsigned long long prefetch_discarded; /* answers not cached: invalidated meanwhile, or failed */
  unsigned long long prefetch_dropped;   /* requests refused: the worker's queue was full */
  unsigned long long redis_errors; /* failed Redis calls and connection attempts */
  unsigned long long gauge[XCA_GAUGE_MAX_];
  unsigned latency_us[XCA_STATS_LATENCY_SAMPLES]; /* ring of recent call latencies */
  unsigned latency_count;          /* samples held (up to the ring's size) */
  unsigned latency_next;           /* where the next sample goes */
};

/* Zero every counter. */
void xca_stats_init(struct xca_stats *s);

/* A connect was accepted / refused with error code err. */
void xca_stats_accepted(struct xca_stats *s);
void xca_stats_refused(struct xca_stats *s, int err);

/* The plugin dropped a live session / an enrollment group created an identity. */
void xca_stats_dropped(struct xca_stats *s);
void xca_stats_enrolled(struct xca_stats *s);

/* An identity lookup was answered by the cache (hit = 1) or asked Redis. */
void xca_stats_cache(struct xca_stats *s, int hit);

/* A chain verification was answered by the chain cache (hit = 1), or
 * verified with its path above the leaf known (leaf = 1, a miss), or in
 * full (both 0). chaincache.h. */
void xca_stats_chain(struct xca_stats *s, int hit, int leaf);

/* One Redis call took latency_us microseconds (negative counts as 0);
 * failed says it brought no usable reply. */
void xca_stats_redis_call(struct xca_stats *s, long long latency_us, int failed);

/* A Redis connection attempt failed (no latency sample). */
void xca_stats_redis_error(struct xca_stats *s);

/* Set gauge g to value. Unknown gauges are ignored. */
void xca_stats_set_gauge(struct xca_stats *s, enum xca_gauge g, unsigned long long value);

/* The pct-th percentile (1..100, nearest rank) of the latency ring in
 * microseconds; 0 when no call was sampled or pct is out of range. */
unsigned long long xca_stats_latency_percentile(const struct xca_stats *s, int pct);

/* Write the stable counter slug of error code err into buf: its name in
 * the error table, lowercased (XCA_E_CN_MISMATCH gives "cn_mismatch"); a
 * code outside the table gives "unknown". Truncated to fit len (> 0).
 * Returns buf. */
char *xca_stats_slug(int err, char *buf, size_t len);

/* Called once per counter with its $SYS suffix (e.g. "connects/accepted")
 * and value; a non-zero return stops the walk and is returned. */
typedef int (*xca_stats_visit_fn)(void *arg, const char *name, unsigned long long value);

/* Visit every counter in a fixed order: connects/accepted,
 * connects/refused, refused/<slug> for each reason refused at least once
 * (in error-table order), dropped, enrolled, cache/hits, cache/misses,
 * chaincache/hits, chaincache/misses, chaincache/leaf, prefetch/requests,
 * prefetch/applied, prefetch/hits, prefetch/late, prefetch/discarded,
 * prefetch/dropped,
 * redis/errors, redis/latency_us/p50, redis/latency_us/p99, sessions, cas,
 * audit/dropped, crl/expired. Returns 0, or the first non-zero value fn returned. */
int xca_stats_each(const struct xca_stats *s, xca_stats_visit_fn fn, void *arg);

#endif
