#include "redis_connect.h"

#include <stdio.h>

#include <hiredis/hiredis.h>

#include "xca_err.h"

static struct timeval ms_to_tv(int ms)
{
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  return tv;
}

/* Run one command whose reply only has to be a success. */
static int command_ok(redisContext *ctx, int argc, const char **argv)
{
  redisReply *reply = redisCommandArgv(ctx, argc, argv, NULL);
  int ok = reply != NULL && reply->type != REDIS_REPLY_ERROR;

  freeReplyObject(reply);
  return ok;
}

/* AUTH (when a password is set), then SELECT. */
static int handshake(const struct xca_config *cfg, redisContext *ctx, char *why, size_t whylen)
{
  char db[16];
  const char *auth[] = {"AUTH", cfg->redis_password};
  const char *select[] = {"SELECT", db};

  if (cfg->redis_password != NULL && !command_ok(ctx, 2, auth)) {
    snprintf(why, whylen, "AUTH failed");
    return XCA_E_REGISTRY;
  }
  snprintf(db, sizeof(db), "%d", cfg->redis_db);
  if (!command_ok(ctx, 2, select)) {
    snprintf(why, whylen, "SELECT %s failed", db);
    return XCA_E_REGISTRY;
  }
  return XCA_OK;
}

int xca_redis_open(const struct xca_config *cfg, int timeout_ms, struct redisContext **out,
                   char *why, size_t whylen)
{
  struct timeval tv = ms_to_tv(timeout_ms);
  redisContext *ctx = redisConnectWithTimeout(cfg->redis_host, cfg->redis_port, tv);
  int rc = XCA_E_REGISTRY;

  if (ctx == NULL || ctx->err) {
    snprintf(why, whylen, "%s", ctx ? ctx->errstr : "out of memory");
  } else if (redisSetTimeout(ctx, tv) != REDIS_OK) {
    snprintf(why, whylen, "cannot set timeout");
  } else {
    rc = handshake(cfg, ctx, why, whylen);
  }
  if (rc != XCA_OK) {
    if (ctx != NULL) {
      redisFree(ctx);
    }
    return rc;
  }
  *out = ctx;
  return XCA_OK;
}
