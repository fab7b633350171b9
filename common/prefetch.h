/* prefetch.h - registry entries fetched ahead of CONNECT (README "Registry
 * prefetch").
 *
 * A device's CN is known at its TLS handshake, one round trip before its
 * MQTT CONNECT needs its registry entry. The broker's thread asks for it
 * then (xca_prefetch_request, never blocking); a worker thread with its
 * own registry connection reads it; the broker's thread later moves the
 * answers into the lookup cache (xca_prefetch_apply) - only those whose
 * identity was not invalidated since they were asked for (one identity:
 * xca_prefetch_invalidate; every one: a new generation), so that an entry
 * read before a change can never be put into the cache after that change
 * evicted it. Nothing here decides a connect: a prefetch that is late,
 * failed or discarded leaves the cache as it was and the lookup reads
 * Redis itself, as without prefetch.
 *
 * Threads: every function but the worker runs on one owner thread (the
 * broker's), except xca_prefetch_in_flight (any thread).
 */
#ifndef XCA_PREFETCH_H
#define XCA_PREFETCH_H

#include "cache.h"
#include "registry.h"

/* Marks of identities asked for or prefetched, at most this many times
 * queue_max: beyond, requests are dropped. */
#define XCA_PREFETCH_MARKS_SHARE 4

struct xca_prefetch;

/* A prefetcher of at most queue_max (>= 1) requests waiting, reading
 * through reg (its kv is used by the worker thread alone once started;
 * reg.prefix is borrowed and must outlive the prefetcher). release (may
 * be NULL) is called with release_arg when the prefetcher is freed, after
 * the worker ended (e.g. to close its connection). Returns NULL on
 * failure (release is then called too). */
struct xca_prefetch *xca_prefetch_new(int queue_max, struct xca_registry reg,
                                      void (*release)(void *arg), void *release_arg);

/* Start the worker. Returns XCA_OK or XCA_E_NOMEM. */
int xca_prefetch_start(struct xca_prefetch *pf);

/* Stop the worker (a read in progress is finished), join it, free
 * everything. NULL-safe. */
void xca_prefetch_free(struct xca_prefetch *pf);

/* Ask for identity's entry under invalidation generation gen (an answer
 * applied earlier and not claimed is forgotten). Returns XCA_OK (queued),
 * XCA_E_EXISTS (already asked for, not answered yet) or XCA_E_TOO_LARGE
 * (queue or marks full, or out of memory: dropped). */
int xca_prefetch_request(struct xca_prefetch *pf, const char *identity, unsigned long gen);

/* identity's cache entry is being invalidated (a change evicts it): an
 * answer for it asked for before now, read or not, will be discarded. */
void xca_prefetch_invalidate(struct xca_prefetch *pf, const char *identity);

/* What xca_prefetch_apply did. */
struct xca_prefetch_applied {
  unsigned applied;   /* put into the cache */
  unsigned discarded; /* asked under an older generation or invalidated since, while
                         changes were not followed, or the read failed: not cached */
  unsigned skipped;   /* the cache held the identity already (as current as the answer) */
};

/* Move the answers read so far into cache (each dated when its read
 * began, on xca_now_ms's clock; now_ms dates the marks): each asked
 * under gen_now, its identity not invalidated since, while live (changes are being followed, as lookup.h
 * caches only then) whose read succeeded (found or not found) and whose
 * identity the cache does not hold yet. *out (may be NULL) counts what
 * happened. */
void xca_prefetch_apply(struct xca_prefetch *pf, struct xca_cache *cache, unsigned long gen_now,
                        int live, long long now_ms, struct xca_prefetch_applied *out);

enum xca_prefetch_claim {
  XCA_PREFETCH_NONE, /* not asked for (or its answer was not cached) */
  XCA_PREFETCH_HIT,  /* its answer was put into the cache */
  XCA_PREFETCH_LATE, /* asked for, not answered yet */
};

/* A CONNECT is about to look identity up in cache (call
 * xca_prefetch_apply first): say whether its prefetch made it - its answer
 * was applied and cache still holds the identity - and forget the mark (a
 * late answer is still applied when it comes). */
enum xca_prefetch_claim xca_prefetch_claim(struct xca_prefetch *pf, struct xca_cache *cache,
                                           const char *identity);

/* Forget the marks of answers applied before before_ms that no CONNECT
 * claimed (the device never sent one). */
void xca_prefetch_expire(struct xca_prefetch *pf, long long before_ms);

/* Requests queued or being read. Any thread. */
int xca_prefetch_in_flight(struct xca_prefetch *pf);

#endif
