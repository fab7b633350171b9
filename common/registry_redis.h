/* registry_redis.h - the Redis implementation of the xca_kv seam.
 *
 * One synchronous hiredis connection with a short timeout on every call, and
 * a breaker: after a failure the connection is dropped and calls fail at once
 * with XCA_E_REGISTRY_UNAVAILABLE until redis_retry_ms has passed, when one reconnect is
 * tried. So an outage costs at most one timeout per retry interval instead
 * of one per connect. With Sentinels configured every (re)connect asks them
 * where the primary is and checks its ROLE (sentinel.h); a READONLY reply
 * (the node was demoted) drops the connection like a failure. Not
 * thread-safe: one owner thread.
 */
#ifndef XCA_REGISTRY_REDIS_H
#define XCA_REGISTRY_REDIS_H

#include "config.h"
#include "registry.h"
#include "stats.h"

struct xca_redis;
struct redisContext; /* hiredis */

/* Open a new connection to cfg's Redis with timeout_ms on the connect and
 * on every later call, authenticated (AUTH when redis_password is set),
 * checked to be the primary (ROLE, when Sentinels are configured) and with
 * redis_db selected: the one way every thread of the plugin connects (the
 * broker thread's client below, the watcher's two connections, the audit
 * writer), so whatever decides which server to reach is here alone: with
 * Sentinels configured the primary is asked of them first (sentinel.h).
 * Returns the connection (the caller redisFree()s it), or NULL with a short
 * reason without secrets in why (why may be NULL). */
struct redisContext *xca_redis_open(const struct xca_config *cfg, int timeout_ms, char *why,
                                    size_t whylen);

/* The same, to the node at addr (resolved by the caller with
 * xca_sentinel_resolve, so that several connections reach the same node). */
struct redisContext *xca_redis_open_at(const struct xca_config *cfg,
                                       const struct xca_hostport *addr, int timeout_ms,
                                       char *why, size_t whylen);

/* Called when the connection is lost (up = 0) or (re)established (up = 1);
 * why is a short reason without secrets. */
typedef void (*xca_redis_state_fn)(void *arg, int up, const char *why);

/* Create a client for cfg's Redis (cfg must outlive it). Does not connect.
 * Returns NULL on allocation failure. */
struct xca_redis *xca_redis_new(const struct xca_config *cfg, xca_redis_state_fn on_state,
                                void *arg);

/* Count this client's calls (latency, errors) in stats (borrowed; NULL
 * counts nothing). */
void xca_redis_set_stats(struct xca_redis *r, struct xca_stats *stats);
/* Make the breaker read now_ms (milliseconds of a monotonic clock) instead
 * of xca_now_ms; NULL restores xca_now_ms. For tests, which drive the retry
 * interval with a fake clock. */
void xca_redis_set_clock(struct xca_redis *r, long long (*now_ms)(void));

/* A client over ctx, a connection its caller opened (xca_redis_open) and
 * keeps: no breaker and no reconnect, a failed call fails and marks it
 * down, and xca_redis_free leaves ctx open. So a thread that holds its own
 * connection (the watcher) reaches the registry through the same seam.
 * Returns NULL on allocation failure. */
struct xca_redis *xca_redis_wrap(struct redisContext *ctx);

/* Free the client (and its connection, unless wrapped). NULL-safe. */
void xca_redis_free(struct xca_redis *r);

/* Connect now if not connected and the breaker allows it (force = 1 ignores
 * the retry interval). Returns XCA_OK when connected, else
 * XCA_E_REGISTRY_UNAVAILABLE. */
int xca_redis_connect(struct xca_redis *r, int force);

/* Drop the connection and connect again now, ignoring the breaker (a loss
 * is reported only if that fails). For when the change feed has just come
 * back: this connection may still point at a node that died or was
 * demoted, without knowing it until its next call fails. Returns as
 * xca_redis_connect. */
int xca_redis_reconnect(struct xca_redis *r);

/* The node connected to, or last tried: with Sentinels configured, the
 * primary they named (see sentinel.h); else redis_host:redis_port. */
const struct xca_hostport *xca_redis_address(const struct xca_redis *r);

/* Return 1 if the last call succeeded and the connection is open. */
int xca_redis_is_up(const struct xca_redis *r);

/* The kv seam backed by this client. */
struct xca_kv xca_redis_kv(struct xca_redis *r);

#endif
