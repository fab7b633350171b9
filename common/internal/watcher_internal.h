/* watcher_internal.h - the watcher's state and the helpers of watcher.c that
 * do no Redis I/O and start no thread, for tests/unit/test_watcher.c. Not a
 * public API: names carry the xca_watcher__ prefix. */
#ifndef XCA_WATCHER_INTERNAL_H
#define XCA_WATCHER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "registry.h"
#include "watcher.h"

#define XCA_WATCHER_EPOCH_MAX 64 /* longest epoch value compared in full */

struct xca_watcher {
  const struct xca_config *cfg;
  pthread_t thread;
  pthread_mutex_t lock;
  struct xca_change *head; /* queue, guarded by lock */
  struct xca_change *tail;
  atomic_int stop;
  atomic_int healthy;
  /* "__keyspace@<db>__:<prefix>" */
  char channel_prefix[sizeof("__keyspace@-2147483648__:") + XCA_KEY_PREFIX_MAX];
  char canary_id[40];       /* "<pid>-<time>": the name of this watcher's heartbeat key */
  char canary_key[XCA_KEY_MAX]; /* that key (kind XCA_KEY_WATCHER) */
  char epoch_key[XCA_KEY_MAX];  /* the key of kind XCA_KEY_EPOCH: changes at every flush */
  long long canary_seen_ms; /* when its notification last arrived */
  int warned;               /* a CONFIG warning was queued since the feed last worked */
  struct xca_change *spare; /* the LOST change, held while healthy so that losing
                               the feed is reported even when memory is out */
  char epoch_seen[XCA_WATCHER_EPOCH_MAX + 1]; /* epoch value last seen; "" = none yet */
  char epoch_mine[XCA_WATCHER_EPOCH_MAX + 1]; /* the value written when it is missing */
};

/* The allocator of queued changes and their keys: calloc unless a unit test
 * points it at a failing one to reach the out-of-memory paths. Whatever it
 * returns is released with free(). Change it only while no watcher thread
 * runs. */
extern void *(*xca_watcher__calloc)(size_t nmemb, size_t size);

/* A watcher for cfg with an empty queue, not healthy, and no thread (what
 * xca_watcher_start starts one on). Returns NULL when out of memory (or
 * when cfg's key_prefix makes no key). */
struct xca_watcher *xca_watcher__new(const struct xca_config *cfg);

/* Free w, its queue and its spare change; the thread must not run. NULL-safe. */
void xca_watcher__free(struct xca_watcher *w);

/* Queue a change (key copied; NULL allowed). Returns 1, or 0 when memory is
 * out: the change is lost, so the feed is marked unhealthy as if the
 * subscription had been lost (a LOST change is queued when it was healthy),
 * which stops the cache being trusted until the next resync. */
int xca_watcher__push(struct xca_watcher *w, enum xca_change_kind kind, const char *key);

/* Mark the feed unhealthy; on the transition from healthy, queue the LOST
 * change (the spare: no allocation). */
void xca_watcher__set_unhealthy(struct xca_watcher *w);

/* Queue a RESYNC carrying the CA names and the enrollment-group names, and
 * mark the feed healthy. Returns 1 with both lists moved into the change
 * (they are then empty), or 0 when memory is out: nothing is queued, the
 * lists are left to the caller and the feed stays unhealthy (the caller
 * tries again later). */
int xca_watcher__resync(struct xca_watcher *w, struct xca_strlist *names,
                        struct xca_strlist *group_names);

/* The same with the names of the revocation keys too (revoked: and crl:
 * keys), moved into the change likewise. */
int xca_watcher__resync_all(struct xca_watcher *w, struct xca_strlist *names,
                            struct xca_strlist *group_names, struct xca_strlist *revoked_names,
                            struct xca_strlist *crl_names);

/* Write into out (outlen bytes) the notify-keyspace-events flags have plus
 * the ones the watcher needs (K, g, h, x, e; "A" already covers all but K). */
void xca_watcher__merge_flags(const char *have, char *out, size_t outlen);

/* Handle one message of the subscription: the canary's notification records
 * when it came back, the watcher's own keys (heartbeats, the epoch) are
 * ignored, any other key under the prefix is queued as a KEY change
 * (without the prefix); anything else is ignored. */
void xca_watcher__handle_message(struct xca_watcher *w, const redisReply *reply);

enum xca_epoch_verdict {
  XCA_EPOCH_FIRST,   /* nothing was seen before: remembered, nothing to do */
  XCA_EPOCH_SAME,    /* the database is the one this watcher followed */
  XCA_EPOCH_CHANGED, /* flushed or swapped since the last check: resync */
};

/* Record the epoch value Redis holds now (value; NULL when missing) after a
 * SET NX that created it (created = 1) or not, and say what it means. A new
 * value for the next SET NX is chosen when this one was used. */
enum xca_epoch_verdict xca_watcher__note_epoch(struct xca_watcher *w, const char *value,
                                               int created);

#endif
