/* redis_connect.h - the one place a connection to the registry's Redis is
 * opened: the broker thread's client (registry_redis.c), the watcher's
 * subscriber and writer, and any other thread that needs its own. Whatever
 * decides which server to reach (today the configured host and port) lives
 * behind xca_redis_open alone.
 */
#ifndef XCA_REDIS_CONNECT_H
#define XCA_REDIS_CONNECT_H

#include <stddef.h>

#include "config.h"

struct redisContext;

/* Connect to cfg's Redis (redis_host, redis_port) with timeout_ms bounding
 * the connect and every later call on the connection, authenticate with
 * redis_password when one is set, and select redis_db. Blocks for at most
 * about three timeouts. Returns XCA_OK with *out an owned connection
 * (release it with redisFree), or XCA_E_REGISTRY with *out untouched and a
 * short reason in why (whylen > 0), which never holds the password. */
int xca_redis_open(const struct xca_config *cfg, int timeout_ms, struct redisContext **out,
                   char *why, size_t whylen);

#endif
