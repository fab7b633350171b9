/* lookup.h - registry lookups through the cache, with the outage policy.
 *
 * While registry changes are being followed (the watcher is subscribed), a
 * cached entry is current: every change evicts it. When changes cannot be
 * followed, entries are no longer cached, Redis is asked first, and if it
 * cannot answer an entry is used only while it is known to have been
 * current within stale_max_s seconds (fail closed beyond that).
 */
#ifndef XCA_LOOKUP_H
#define XCA_LOOKUP_H

#include "cache.h"
#include "registry.h"
#include "stats.h"

struct xca_lookup {
  struct xca_cache *cache;             /* borrowed */
  const struct xca_registry *registry; /* borrowed */
  int (*following)(void *arg);         /* 1 while changes are being seen */
  void *following_arg;
  long long lost_ms;                   /* when changes stopped being seen (0 = never) */
  int stale_max_s;
  long long (*now_ms)(void);           /* NULL = xca_now_ms (monotonic) */
  struct xca_stats *stats;             /* borrowed; counts cache hits and misses (NULL: none) */
};

/* Look up one identity ("device" or "device/module") for lk (a struct
 * xca_lookup *; the signature is xca_lookup_fn's). A lookup the cache
 * answers while changes are followed counts as a cache hit; one that asks
 * Redis counts as a miss, whatever Redis answers. Returns XCA_OK (*out
 * filled), XCA_E_NOT_FOUND, XCA_E_REGISTRY_UNAVAILABLE (Redis cannot answer and nothing
 * usable is cached) or XCA_E_STALE (only an entry older than stale_max_s is
 * cached). */
int xca_lookup_identity(void *lk, const char *identity, struct xca_identity_rec *out);

#endif
