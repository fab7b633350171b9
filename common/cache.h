/* cache.h - a bounded LRU cache of registry lookups (positive and negative).
 *
 * Found entries (the identity exists) and not-found entries live in two
 * separate LRU lists, each with its own bound: a put evicts only the least
 * recently used entry of its own kind, so no number of not-found entries
 * (e.g. a flood of clients naming ids that do not exist) ever evicts a
 * found one. Entries carry the time they were fetched; whether an entry is
 * still fresh enough is the caller's policy (see xca_cache_get). Capacity 0
 * disables the cache: every get misses and put stores nothing. Not
 * thread-safe.
 */
#ifndef XCA_CACHE_H
#define XCA_CACHE_H

#include "registry.h"

/* The not-found list holds capacity / XCA_CACHE_MISSING_SHARE entries (at
 * least 1 when capacity > 0), on top of the capacity found ones. */
#define XCA_CACHE_MISSING_SHARE 4

struct xca_cache;

/* Create a cache of at most capacity found entries plus capacity / 4 (at
 * least 1) not-found entries. Returns NULL on failure. */
struct xca_cache *xca_cache_new(int capacity);

/* Free the cache and its entries. NULL-safe. */
void xca_cache_free(struct xca_cache *c);

/* Look up key. When present and fetched at or after min_fetched_ms, returns 1
 * with *found (0 = a cached "does not exist") and *rec (when found) filled,
 * and marks the entry recently used; otherwise returns 0. */
int xca_cache_get(struct xca_cache *c, const char *key, long long min_fetched_ms, int *found,
                  struct xca_identity_rec *rec);

/* Return 1 if key is cached (of either kind, whenever fetched), else 0.
 * Does not change its place in the LRU order. */
int xca_cache_has(struct xca_cache *c, const char *key);

/* Store the lookup result for key (rec ignored when found is 0), fetched at
 * fetched_ms, replacing any entry for key (of either kind). When the list
 * of its kind is full, its least recently used entry is evicted; the other
 * list is untouched. Returns XCA_OK or XCA_E_NOMEM (the cache then holds no
 * entry for key). */
int xca_cache_put(struct xca_cache *c, const char *key, int found,
                  const struct xca_identity_rec *rec, long long fetched_ms);

/* Drop key if cached. */
void xca_cache_remove(struct xca_cache *c, const char *key);

/* Drop every entry. */
void xca_cache_clear(struct xca_cache *c);

/* Number of entries held, of both kinds. */
unsigned xca_cache_count(const struct xca_cache *c);

#endif
