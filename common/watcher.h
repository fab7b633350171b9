/* watcher.h - a thread that follows registry changes in Redis.
 *
 * It subscribes to keyspace notifications for keys under the prefix (turning
 * them on in Redis at every (re)connect, since a restarted Redis forgets a
 * CONFIG SET) and queues what changed. The broker's main thread drains the
 * queue (xca_watcher_drain) on each tick; the thread never calls anything
 * but hiredis and the queue. FLUSHDB, FLUSHALL and SWAPDB send no
 * notification: the thread sees them within about half a second through the
 * <prefix>epoch key (see "The registry in Redis" in README.md) and resyncs.
 * With Sentinels configured, every (re)connect first asks them where the
 * primary is and checks its ROLE (sentinel.h): after a failover the thread
 * follows the new primary, and its reconnect is a resync.
 */
#ifndef XCA_WATCHER_H
#define XCA_WATCHER_H

#include "config.h"
#include "strlist.h"

enum xca_change_kind {
  XCA_CHANGE_KEY,    /* key (without the prefix) changed: "device:d", "ca:n", "group:g" */
  XCA_CHANGE_RESYNC, /* (re)subscribed, or the database was flushed or
                        swapped: anything may have changed before; names
                        holds every CA name, group_names every
                        enrollment group's, revoked_names every revoked
                        thumbprint's, crl_names every CRL issuer's */
  XCA_CHANGE_LOST,   /* subscription lost, or a change could not be queued
                        (out of memory): changes may go unseen from now */
  XCA_CHANGE_WARN,   /* key holds a warning to log (e.g. notifications off) */
};

struct xca_change {
  enum xca_change_kind kind;
  char *key;                /* KEY: the key; WARN: the warning; else NULL */
  struct xca_strlist names;       /* RESYNC: the name of every CA key */
  struct xca_strlist group_names; /* RESYNC: the name of every enrollment-group key */
  struct xca_strlist revoked_names; /* RESYNC: the name of every revoked: key */
  struct xca_strlist crl_names;     /* RESYNC: the name of every crl: key */
  struct xca_change *next;
};

struct xca_watcher;

/* Start the thread for cfg (cfg must outlive the watcher). Returns NULL on
 * failure to allocate or start. */
struct xca_watcher *xca_watcher_start(const struct xca_config *cfg);

/* Stop the thread (within about half a second) and free everything.
 * NULL-safe. */
void xca_watcher_stop(struct xca_watcher *w);

/* Take every queued change, oldest first; the caller frees the list with
 * xca_changes_free. Returns NULL when nothing is queued. */
struct xca_change *xca_watcher_drain(struct xca_watcher *w);

/* Return 1 while subscribed (changes are being seen), else 0: also from a
 * change lost for want of memory, or a flush seen, until the resync. */
int xca_watcher_healthy(struct xca_watcher *w);

/* Free a list of changes. NULL-safe. */
void xca_changes_free(struct xca_change *list);

#endif
