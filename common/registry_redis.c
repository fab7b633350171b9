#include "registry_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "sentinel.h"
#include "xca_err.h"

struct xca_redis {
  const struct xca_config *cfg; /* NULL when wrapped */
  redisContext *ctx;
  int wrapped; /* ctx is the caller's: never freed, never reopened */
  struct xca_hostport addr;  /* the node connected to, or last tried */
  long long next_attempt_ms; /* breaker: no reconnect before this */
  long long (*now_ms)(void); /* the breaker's clock; NULL = xca_now_ms */
  int up;
  int down_reported; /* the current outage has been reported */
  xca_redis_state_fn on_state;
  void *arg;
  struct xca_stats *stats; /* borrowed, may be NULL */
};

/* Create only if absent; fields come as ARGV pairs. */
static const char CREATE_LUA[] =
  "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
  "redis.call('HSET', KEYS[1], unpack(ARGV)) return 1";

/* Create KEYS[1] only if absent and KEYS[2]'s fields match; ARGV: ncond,
 * cond pairs..., set pairs... Returns 1 created, 0 exists, -1 mismatch. */
static const char CREATE_IF_LUA[] =
  "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
  "local n = tonumber(ARGV[1]) "
  "for i = 0, n - 1 do "
  "if (redis.call('HGET', KEYS[2], ARGV[2 + 2 * i]) or '') ~= ARGV[3 + 2 * i] then return -1 end "
  "end "
  "redis.call('HSET', KEYS[1], unpack(ARGV, 2 + 2 * n)) return 1";

/* ARGV: expect_name, expect_value (or ''), nset, set pairs..., del names... */
static const char UPDATE_LUA[] =
  "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end "
  "if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return -1 end "
  "local n = tonumber(ARGV[3]) "
  "if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + 2 * n)) end "
  "if #ARGV > 3 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 4 + 2 * n)) end "
  "return 1";

static long long now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long breaker_now(const struct xca_redis *r)
{
  return r->now_ms != NULL ? r->now_ms() : xca_now_ms();
}

static void set_down(struct xca_redis *r, const char *why)
{
  if (r->wrapped) {
    r->up = 0; /* its owner notices and reconnects */
    return;
  }
  if (r->ctx != NULL) {
    redisFree(r->ctx);
    r->ctx = NULL;
  }
  r->next_attempt_ms = breaker_now(r) + r->cfg->redis_retry_ms;
  /* Report a loss once, not at every failed reconnect attempt. */
  if (r->up || !r->down_reported) {
    r->up = 0;
    r->down_reported = 1;
    if (r->on_state != NULL) {
      r->on_state(r->arg, 0, why);
    }
  }
}

struct xca_redis *xca_redis_new(const struct xca_config *cfg, xca_redis_state_fn on_state,
                                void *arg)
{
  struct xca_redis *r = calloc(1, sizeof(*r));
  if (r == NULL) {
    return NULL;
  }
  r->cfg = cfg;
  snprintf(r->addr.host, sizeof(r->addr.host), "%s", cfg->redis_host);
  r->addr.port = cfg->redis_port;
  r->on_state = on_state;
  r->arg = arg;
  return r;
}

void xca_redis_set_stats(struct xca_redis *r, struct xca_stats *stats)
{
  r->stats = stats;
}

void xca_redis_set_clock(struct xca_redis *r, long long (*now_ms)(void))
{
  r->now_ms = now_ms;
}

struct xca_redis *xca_redis_wrap(struct redisContext *ctx)
{
  struct xca_redis *r = calloc(1, sizeof(*r));
  if (r == NULL) {
    return NULL;
  }
  r->ctx = ctx;
  r->wrapped = 1;
  r->up = 1;
  return r;
}

void xca_redis_free(struct xca_redis *r)
{
  if (r == NULL) {
    return;
  }
  if (r->ctx != NULL && !r->wrapped) {
    redisFree(r->ctx);
  }
  free(r);
}

/* Run a command; on any transport error trip the breaker. Returns the reply
 * (caller frees) or NULL. Error replies from Redis are returned as such. */
static redisReply *run(struct xca_redis *r, int argc, const char **argv, const size_t *lens)
{
  redisReply *reply;
  long long start;

  if (xca_redis_connect(r, 0) != XCA_OK) {
    return NULL;
  }
  start = now_us();
  reply = redisCommandArgv(r->ctx, argc, argv, lens);
  xca_stats_redis_call(r->stats, now_us() - start,
                       reply == NULL || reply->type == REDIS_REPLY_ERROR);
  if (reply == NULL) {
    char why[160];
    snprintf(why, sizeof(why), "%s", r->ctx->errstr[0] ? r->ctx->errstr : "I/O error");
    set_down(r, why);
  } else if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "READONLY", 8) == 0) {
    /* The node was demoted to a replica: reconnect (through the Sentinels,
     * when configured) instead of failing every write until it goes away. */
    set_down(r, "the node became a replica (READONLY)");
  }
  return reply;
}

static struct timeval ms_to_tv(int ms)
{
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  return tv;
}

/* Run one command on a fresh connection; 1 when Redis accepted it. */
static int handshake_step(redisContext *ctx, const char *cmd, const char *arg)
{
  const char *argv[] = {cmd, arg};
  redisReply *reply = redisCommandArgv(ctx, 2, argv, NULL);
  int ok = reply != NULL && reply->type != REDIS_REPLY_ERROR;

  freeReplyObject(reply);
  return ok;
}

static void set_why(char *why, size_t whylen, const char *text)
{
  if (why != NULL && whylen > 0) {
    snprintf(why, whylen, "%s", text);
  }
}

redisContext *xca_redis_open_at(const struct xca_config *cfg, const struct xca_hostport *addr,
                                int timeout_ms, char *why, size_t whylen)
{
  struct timeval tv = ms_to_tv(timeout_ms);
  redisContext *ctx = redisConnectWithTimeout(addr->host, addr->port, tv);
  char db[16];
  char role_why[160];

  snprintf(db, sizeof(db), "%d", cfg->redis_db);
  if (ctx == NULL || ctx->err) {
    set_why(why, whylen, ctx ? ctx->errstr : "out of memory");
  } else if (redisSetTimeout(ctx, tv) != REDIS_OK) {
    set_why(why, whylen, "cannot set timeout");
  } else if (cfg->redis_password != NULL && !handshake_step(ctx, "AUTH", cfg->redis_password)) {
    set_why(why, whylen, "AUTH failed");
  } else if (xca_sentinel_check_role(cfg, ctx, role_why, sizeof(role_why)) != XCA_OK) {
    set_why(why, whylen, role_why);
  } else if (!handshake_step(ctx, "SELECT", db)) {
    char text[32];
    snprintf(text, sizeof(text), "SELECT %s failed", db);
    set_why(why, whylen, text);
  } else {
    return ctx;
  }
  if (ctx != NULL) {
    redisFree(ctx);
  }
  return NULL;
}

redisContext *xca_redis_open(const struct xca_config *cfg, int timeout_ms, char *why,
                             size_t whylen)
{
  struct xca_hostport addr;
  char resolve_why[160];

  if (xca_sentinel_resolve(cfg, timeout_ms, &addr, resolve_why, sizeof(resolve_why)) != XCA_OK) {
    set_why(why, whylen, resolve_why);
    return NULL;
  }
  return xca_redis_open_at(cfg, &addr, timeout_ms, why, whylen);
}

int xca_redis_connect(struct xca_redis *r, int force)
{
  char why[160] = "";
  struct xca_hostport before = r->addr;

  if (r->ctx != NULL) {
    return XCA_OK;
  }
  if (!force && breaker_now(r) < r->next_attempt_ms) {
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  if (xca_sentinel_resolve(r->cfg, r->cfg->redis_timeout_ms, &r->addr, why, sizeof(why)) ==
      XCA_OK) {
    r->ctx = xca_redis_open_at(r->cfg, &r->addr, r->cfg->redis_timeout_ms, why, sizeof(why));
  }
  if (r->ctx == NULL) {
    xca_stats_redis_error(r->stats);
    set_down(r, why);
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  /* A reconnect to the node already in use is no news. */
  int news = !r->up || before.port != r->addr.port || strcmp(before.host, r->addr.host) != 0;
  r->up = 1;
  r->down_reported = 0;
  if (news && r->on_state != NULL) {
    r->on_state(r->arg, 1, "connected");
  }
  return XCA_OK;
}

int xca_redis_reconnect(struct xca_redis *r)
{
  if (r->ctx != NULL) {
    redisFree(r->ctx);
    r->ctx = NULL;
  }
  return xca_redis_connect(r, 1);
}

const struct xca_hostport *xca_redis_address(const struct xca_redis *r)
{
  return &r->addr;
}

int xca_redis_is_up(const struct xca_redis *r)
{
  return r->ctx != NULL && r->up;
}

static int reply_error(redisReply *reply)
{
  if (reply == NULL) {
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    freeReplyObject(reply);
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  return XCA_OK;
}

/* Add one field of a reply. A name holding a NUL byte cannot be a schema
 * field and is skipped; a value holding one is stored as "" - invalid for
 * every schema field, so it fails closed (disabled, refused). */
static int add_field(struct xca_fields *out, const redisReply *name, const redisReply *value)
{
  if (name->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING ||
      memchr(name->str, '\0', name->len) != NULL) {
    return XCA_OK;
  }
  if (memchr(value->str, '\0', value->len) != NULL) {
    return xca_fields_set(out, name->str, "");
  }
  return xca_fields_set(out, name->str, value->str);
}

static int kv_hgetall(void *impl, const char *key, struct xca_fields *out)
{
  const char *argv[] = {"HGETALL", key};
  redisReply *reply = run(impl, 2, argv, NULL);
  int rc;

  /* A key overwritten with another type (redis-cli SET) holds no record;
   * the caller decides what that means for its kind (registry.c). */
  if (reply != NULL && reply->type == REDIS_REPLY_ERROR &&
      strncmp(reply->str, "WRONGTYPE", 9) == 0) {
    freeReplyObject(reply);
    return XCA_E_WRONG_TYPE;
  }
  rc = reply_error(reply);

  if (rc != XCA_OK) {
    return rc;
  }
  if (reply->type != REDIS_REPLY_ARRAY) {
    freeReplyObject(reply);
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  rc = reply->elements == 0 ? XCA_E_NOT_FOUND : XCA_OK;
  for (size_t i = 0; rc == XCA_OK && i + 1 < reply->elements; i += 2) {
    rc = add_field(out, reply->element[i], reply->element[i + 1]);
  }
  freeReplyObject(reply);
  if (rc != XCA_OK) {
    xca_fields_free(out);
  }
  return rc;
}

static long long eval_int(struct xca_redis *r, int argc, const char **argv, int *rc)
{
  redisReply *reply = run(r, argc, argv, NULL);
  long long v;

  *rc = reply_error(reply);
  if (*rc != XCA_OK) {
    return 0;
  }
  if (reply->type != REDIS_REPLY_INTEGER) {
    freeReplyObject(reply);
    *rc = XCA_E_REGISTRY_UNAVAILABLE;
    return 0;
  }
  v = reply->integer;
  freeReplyObject(reply);
  return v;
}

static int kv_create(void *impl, const char *key, const struct xca_fields *set)
{
  const char *argv[4 + 2 * XCA_FIELDS_MAX];
  int argc = 0;
  int rc;
  long long v;

  if (set->count == 0 || set->count > XCA_FIELDS_MAX) {
    return XCA_E_INVAL;
  }
  argv[argc++] = "EVAL";
  argv[argc++] = CREATE_LUA;
  argv[argc++] = "1";
  argv[argc++] = key;
  for (int i = 0; i < set->count; i++) {
    argv[argc++] = set->name[i];
    argv[argc++] = set->value[i];
  }
  v = eval_int(impl, argc, argv, &rc);
  if (rc != XCA_OK) {
    return rc;
  }
  return v == 1 ? XCA_OK : XCA_E_EXISTS;
}

static int kv_create_if(void *impl, const char *key, const struct xca_fields *set,
                        const char *cond_key, const struct xca_fields *cond)
{
  const char *argv[6 + 2 * XCA_FIELDS_MAX + 2 * XCA_FIELDS_MAX];
  char ncond[16];
  int argc = 0;
  int rc;
  long long v;

  if (set->count == 0 || set->count > XCA_FIELDS_MAX || cond->count > XCA_FIELDS_MAX) {
    return XCA_E_INVAL;
  }
  snprintf(ncond, sizeof(ncond), "%d", cond->count);
  argv[argc++] = "EVAL";
  argv[argc++] = CREATE_IF_LUA;
  argv[argc++] = "2";
  argv[argc++] = key;
  argv[argc++] = cond_key;
  argv[argc++] = ncond;
  for (int i = 0; i < cond->count; i++) {
    argv[argc++] = cond->name[i];
    argv[argc++] = cond->value[i];
  }
  for (int i = 0; i < set->count; i++) {
    argv[argc++] = set->name[i];
    argv[argc++] = set->value[i];
  }
  v = eval_int(impl, argc, argv, &rc);
  if (rc != XCA_OK) {
    return rc;
  }
  return v == 1 ? XCA_OK : v == 0 ? XCA_E_EXISTS : XCA_E_CODE_MISMATCH;
}

static int kv_update(void *impl, const char *key, const char *expect_name,
                     const char *expect_value, const struct xca_fields *set,
                     const char *const *del, int ndel)
{
  const char *argv[7 + 2 * XCA_FIELDS_MAX + XCA_FIELDS_MAX];
  char nset[16];
  int argc = 0;
  int rc;
  long long v;

  if (ndel < 0 || ndel > XCA_FIELDS_MAX || (set != NULL && set->count > XCA_FIELDS_MAX)) {
    return XCA_E_INVAL;
  }
  snprintf(nset, sizeof(nset), "%d", set ? set->count : 0);
  argv[argc++] = "EVAL";
  argv[argc++] = UPDATE_LUA;
  argv[argc++] = "1";
  argv[argc++] = key;
  argv[argc++] = expect_name ? expect_name : "";
  argv[argc++] = expect_value ? expect_value : "";
  argv[argc++] = nset;
  for (int i = 0; set != NULL && i < set->count; i++) {
    argv[argc++] = set->name[i];
    argv[argc++] = set->value[i];
  }
  for (int i = 0; i < ndel; i++) {
    argv[argc++] = del[i];
  }
  v = eval_int(impl, argc, argv, &rc);
  if (rc != XCA_OK) {
    return rc;
  }
  return v == 1 ? XCA_OK : v == 0 ? XCA_E_NOT_FOUND : XCA_E_CODE_MISMATCH;
}

static int kv_del(void *impl, const char *key)
{
  const char *argv[] = {"DEL", key};
  int rc;
  long long v = eval_int(impl, 2, argv, &rc);

  if (rc != XCA_OK) {
    return rc;
  }
  return v == 1 ? XCA_OK : XCA_E_NOT_FOUND;
}

/* Append the string elements of a SCAN reply's key array to keys. */
static int copy_keys(const redisReply *arr, struct xca_strlist *keys)
{
  int rc = XCA_OK;

  for (size_t i = 0; rc == XCA_OK && i < arr->elements; i++) {
    if (arr->element[i]->type == REDIS_REPLY_STRING) {
      rc = xca_strlist_add(keys, arr->element[i]->str);
    }
  }
  return rc;
}

static int kv_scan(void *impl, const char *match, unsigned long long *cursor, int count,
                   struct xca_strlist *keys)
{
  char cur[32];
  char cnt[16];
  const char *argv[] = {"SCAN", cur, "MATCH", match, "COUNT", cnt};
  redisReply *reply;
  int rc;

  snprintf(cur, sizeof(cur), "%llu", *cursor);
  snprintf(cnt, sizeof(cnt), "%d", count > 0 ? count : 100);
  reply = run(impl, 6, argv, NULL);
  rc = reply_error(reply);
  if (rc != XCA_OK) {
    return rc;
  }
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[0]->type != REDIS_REPLY_STRING ||
      reply->element[1]->type != REDIS_REPLY_ARRAY) {
    freeReplyObject(reply);
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  rc = copy_keys(reply->element[1], keys);
  if (rc == XCA_OK) {
    *cursor = strtoull(reply->element[0]->str, NULL, 10);
  }
  freeReplyObject(reply);
  return rc;
}

static const struct xca_kv_ops redis_ops = {
  .hgetall = kv_hgetall,
  .create = kv_create,
  .create_if = kv_create_if,
  .update = kv_update,
  .del = kv_del,
  .scan = kv_scan,
};

struct xca_kv xca_redis_kv(struct xca_redis *r)
{
  struct xca_kv kv = {&redis_ops, r};
  return kv;
}
