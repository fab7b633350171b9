/* cache.h - a bounded LRU cache of registry lookups (positive and negative).
 *
 * Entries carry the time they were fetched; whether an entry is still fresh
 * enough is the caller's policy (see xca_cache_get). Capacity 0 disables the
 * cache: every get misses and put stores nothing. Not thread-safe.
 */
#ifndef XCA_CACHE_H
#define XCA_CACHE_H

#include "registry.h"

struct xca_cache;

/* Create a cache of at most capacity entries. Returns NULL on failure. */
struct xca_cache *xca_cache_new(int capacity);

/* Free the cache and its entries. NULL-safe. */
void xca_cache_free(struct xca_cache *c);

/* Look up key. When present and fetched at or after min_fetched_ms, returns 1
 * with *found (0 = a cached "does not exist") and *rec (when found) filled,
 * and marks the entry recently used; otherwise returns 0. */
int xca_cache_get(struct xca_cache *c, const char *key, long long min_fetched_ms, int *found,
                  struct xca_identity_rec *rec);

/* Store the lookup result for key (rec ignored when found is 0), fetched at
 * fetched_ms, evicting the least recently used entry when full. Returns
 * XCA_OK or XCA_E_NOMEM (the cache then holds no entry for key). */
int xca_cache_put(struct xca_cache *c, const char *key, int found,
                  const struct xca_identity_rec *rec, long long fetched_ms);

/* Drop key if cached. */
void xca_cache_remove(struct xca_cache *c, const char *key);

/* Drop every entry. */
void xca_cache_clear(struct xca_cache *c);

/* Number of entries held. */
unsigned xca_cache_count(const struct xca_cache *c);

#endif
