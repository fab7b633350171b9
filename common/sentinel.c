#include "sentinel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xca_err.h"

int xca_sentinel_parse_addr(const redisReply *reply, struct xca_hostport *out)
{
  const redisReply *host;
  const redisReply *port;
  char *end = NULL;
  long p;

  if (reply != NULL && reply->type == REDIS_REPLY_NIL) {
    return XCA_E_NOT_FOUND;
  }
  if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  host = reply->element[0];
  port = reply->element[1];
  if (host->type != REDIS_REPLY_STRING || port->type != REDIS_REPLY_STRING || host->len == 0 ||
      host->len > XCA_HOST_MAX || memchr(host->str, '\0', host->len) != NULL) {
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  p = strtol(port->str, &end, 10);
  if (port->len == 0 || *end != '\0' || p < 1 || p > 65535) {
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  memcpy(out->host, host->str, host->len);
  out->host[host->len] = '\0';
  out->port = (int)p;
  return XCA_OK;
}

int xca_sentinel_role_is_primary(const redisReply *reply)
{
  return reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
         reply->element[0]->type == REDIS_REPLY_STRING &&
         strcmp(reply->element[0]->str, "master") == 0;
}

/* Ask one Sentinel. Returns XCA_OK with *out filled, else an error with
 * the reason in why. */
static int ask_sentinel(const struct xca_config *cfg, const struct xca_hostport *s,
                        struct timeval tv, struct xca_hostport *out, char *why, size_t whylen)
{
  const char *argv[] = {"SENTINEL", "get-master-addr-by-name", cfg->sentinel_master};
  redisContext *ctx = redisConnectWithTimeout(s->host, s->port, tv);
  redisReply *reply = NULL;
  int rc = XCA_E_REGISTRY_UNAVAILABLE;

  if (ctx == NULL || ctx->err) {
    snprintf(why, whylen, "Sentinel %s:%d: %s", s->host, s->port, ctx ? ctx->errstr : "out of memory");
  } else if (redisSetTimeout(ctx, tv) != REDIS_OK) {
    snprintf(why, whylen, "Sentinel %s:%d: cannot set timeout", s->host, s->port);
  } else {
    reply = redisCommandArgv(ctx, 3, argv, NULL);
    rc = xca_sentinel_parse_addr(reply, out);
    if (rc == XCA_E_NOT_FOUND) {
      snprintf(why, whylen, "Sentinel %s:%d does not know master '%s'", s->host, s->port,
               cfg->sentinel_master);
    } else if (rc != XCA_OK) {
      snprintf(why, whylen, "Sentinel %s:%d: %s", s->host, s->port,
               reply == NULL ? (ctx->errstr[0] ? ctx->errstr : "no reply")
               : reply->type == REDIS_REPLY_ERROR ? reply->str
                                                  : "unexpected reply");
    }
  }
  freeReplyObject(reply);
  if (ctx != NULL) {
    redisFree(ctx);
  }
  return rc;
}

int xca_sentinel_resolve(const struct xca_config *cfg, int timeout_ms, struct xca_hostport *out,
                         char *why, size_t whylen)
{
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  char last[200] = "no Sentinel configured";

  if (cfg->sentinel_count == 0) {
    snprintf(out->host, sizeof(out->host), "%s", cfg->redis_host);
    out->port = cfg->redis_port;
    return XCA_OK;
  }
  for (int i = 0; i < cfg->sentinel_count; i++) {
    if (ask_sentinel(cfg, &cfg->sentinels[i], tv, out, last, sizeof(last)) == XCA_OK) {
      return XCA_OK;
    }
  }
  snprintf(why, whylen, "no Sentinel gave the primary of '%s' (last: %s)", cfg->sentinel_master,
           last);
  return XCA_E_REGISTRY_UNAVAILABLE;
}

int xca_sentinel_check_role(const struct xca_config *cfg, redisContext *ctx, char *why,
                            size_t whylen)
{
  redisReply *reply;
  int primary;

  if (cfg->sentinel_count == 0) {
    return XCA_OK;
  }
  reply = redisCommand(ctx, "ROLE");
  primary = xca_sentinel_role_is_primary(reply);
  if (!primary) {
    const char *role = "no answer";
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
      role = reply->str;
    } else if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
               reply->element[0]->type == REDIS_REPLY_STRING) {
      role = reply->element[0]->str;
    }
    snprintf(why, whylen, "%s:%d is not the primary (ROLE: %.40s)", ctx->tcp.host, ctx->tcp.port,
             role);
  }
  freeReplyObject(reply);
  return primary ? XCA_OK : XCA_E_REGISTRY_UNAVAILABLE;
}
