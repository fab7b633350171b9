/* sentinel.h - finding the Redis primary through Redis Sentinel.
 *
 * hiredis knows nothing of Sentinel, so every connection the plugin opens
 * follows the client protocol itself: before each connect (the first and
 * every reconnect) ask the Sentinels, in the configured order, for the
 * master's address (SENTINEL get-master-addr-by-name, short timeout); after
 * connecting, check with ROLE that the node is a primary. A node that is not
 * (a stale answer during a failover, a demoted primary) is refused like an
 * unreachable one, and the caller retries later. See "Redis Sentinel" in
 * README.md. With no Sentinel configured both calls leave cfg's
 * redis_host:redis_port as it is.
 */
#ifndef XCA_SENTINEL_H
#define XCA_SENTINEL_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "config.h"

/* Write into *out where the primary is: cfg->redis_host:redis_port when no
 * Sentinel is configured; else the address the first Sentinel that answers
 * gives for cfg->sentinel_master, each Sentinel getting timeout_ms for its
 * connect and again for its reply. Returns XCA_OK, or XCA_E_REGISTRY_UNAVAILABLE with
 * a one-line reason (no secrets) in why (*out unchanged) when no Sentinel
 * answered with an address. */
int xca_sentinel_resolve(const struct xca_config *cfg, int timeout_ms, struct xca_hostport *out,
                         char *why, size_t whylen);

/* When Sentinels are configured, check with ROLE that ctx (connected and
 * authenticated) talks to a primary. Returns XCA_OK (at once when no
 * Sentinel is configured), or XCA_E_REGISTRY_UNAVAILABLE with the reason in why. */
int xca_sentinel_check_role(const struct xca_config *cfg, redisContext *ctx, char *why,
                            size_t whylen);

/* Read a SENTINEL get-master-addr-by-name reply (an array of the address
 * and the port, as strings) into *out. Returns XCA_OK, or XCA_E_NOT_FOUND
 * for a nil reply (the Sentinel does not monitor that name), or
 * XCA_E_REGISTRY_UNAVAILABLE for an error or malformed reply (*out unchanged). */
int xca_sentinel_parse_addr(const redisReply *reply, struct xca_hostport *out);

/* Return 1 if reply is a ROLE reply of a primary (an array whose first
 * element is "master"), else 0 (also for NULL). */
int xca_sentinel_role_is_primary(const redisReply *reply);

#endif
