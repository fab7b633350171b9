#include "watcher.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "registry_redis.h"
#include "xca_err.h"

struct xca_watcher {
  const struct xca_config *cfg;
  pthread_t thread;
  pthread_mutex_t lock;
  struct xca_change *head; /* queue, guarded by lock */
  struct xca_change *tail;
  atomic_int stop;
  atomic_int healthy;
  char channel_prefix[320]; /* "__keyspace@<db>__:<prefix>" */
  char canary[40];          /* "watcher:<random>": this watcher's heartbeat key, after the prefix */
  long long canary_seen_ms; /* when its notification last arrived */
  int warned;               /* a CONFIG warning was queued since the feed last worked */
};

/* Health is proven, not assumed: every CANARY_EVERY_MS the watcher writes its
 * own canary key and expects the notification back within CANARY_GRACE_MS.
 * Notifications switched off, a half-open connection or a stalled Redis
 * all end up here as "not following", which stops the cache being trusted. */
#define CANARY_EVERY_MS 1000
#define CANARY_GRACE_MS 3000
#define CANARY_TTL_MS "10000"

static void push(struct xca_watcher *w, enum xca_change_kind kind, const char *key)
{
  struct xca_change *c = calloc(1, sizeof(*c));

  if (c == NULL) {
    return;
  }
  c->kind = kind;
  c->key = key ? strdup(key) : NULL;
  pthread_mutex_lock(&w->lock);
  if (w->tail != NULL) {
    w->tail->next = c;
  } else {
    w->head = c;
  }
  w->tail = c;
  pthread_mutex_unlock(&w->lock);
}

static void set_unhealthy(struct xca_watcher *w)
{
  if (atomic_exchange(&w->healthy, 0) != 0) {
    push(w, XCA_CHANGE_LOST, NULL);
  }
}

static redisReply *command(redisContext *ctx, int argc, const char **argv)
{
  redisReply *reply = redisCommandArgv(ctx, argc, argv, NULL);
  if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
    freeReplyObject(reply);
    return NULL;
  }
  return reply;
}

/* Union of the flags Redis has and the ones we need: K (keyspace), g (DEL,
 * EXPIRE, RENAME...), h (hash commands), x (expired), e (evicted). */
static void merge_flags(const char *have, char *out, size_t outlen)
{
  size_t n = (size_t)snprintf(out, outlen, "%s", have);

  for (const char *p = "Kghxe"; *p != '\0' && n + 1 < outlen; p++) {
    if (strchr(out, *p) == NULL && !(strchr(out, 'A') != NULL && *p != 'K')) {
      out[n++] = *p;
      out[n] = '\0';
    }
  }
}

/* Turn keyspace notifications on (a restarted Redis has forgotten them).
 * When Redis refuses, queue a warning: changes made with redis-cli would
 * then go unseen until notify-keyspace-events is set in redis.conf. */
static void warn_once(struct xca_watcher *w, const char *text)
{
  if (!w->warned) {
    w->warned = 1;
    push(w, XCA_CHANGE_WARN, text);
  }
}

static void ensure_notifications(struct xca_watcher *w, redisContext *ctx)
{
  const char *get[] = {"CONFIG", "GET", "notify-keyspace-events"};
  redisReply *reply = command(ctx, 3, get);
  char flags[64];

  if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[1]->type != REDIS_REPLY_STRING) {
    freeReplyObject(reply);
    warn_once(w, "CONFIG GET notify-keyspace-events refused; unless redis.conf sets "
                 "notify-keyspace-events KA, registry changes cannot be followed");
    return;
  }
  merge_flags(reply->element[1]->str, flags, sizeof(flags));
  if (strcmp(flags, reply->element[1]->str) != 0) {
    const char *set[] = {"CONFIG", "SET", "notify-keyspace-events", flags};
    redisReply *ok = command(ctx, 4, set);
    if (ok == NULL) {
      warn_once(w, "CONFIG SET notify-keyspace-events refused; set notify-keyspace-events KA "
                   "in redis.conf, or registry changes cannot be followed");
    }
    freeReplyObject(ok);
  }
  freeReplyObject(reply);
}

/* Run a command whose reply does not matter beyond success. */
static int run_ok(redisContext *ctx, int argc, const char **argv)
{
  redisReply *reply = command(ctx, argc, argv);
  freeReplyObject(reply);
  return reply != NULL;
}

/* Connect with a 1 s timeout, authenticated, the database selected.
 * Returns NULL on any failure. */
static redisContext *connect_to_registry(const struct xca_config *cfg)
{
  return xca_redis_open(cfg, 1000, NULL, 0);
}

/* Connect, turn notifications on and subscribe to the prefix's keyspace
 * channel (which names the database, so SELECT does not matter to it). */
static redisContext *subscribe(struct xca_watcher *w)
{
  redisContext *ctx = connect_to_registry(w->cfg);
  char pattern[340];
  const char *sub[] = {"PSUBSCRIBE", pattern};

  if (ctx == NULL) {
    return NULL;
  }
  ensure_notifications(w, ctx);
  snprintf(pattern, sizeof(pattern), "%s*", w->channel_prefix);
  if (!run_ok(ctx, 2, sub)) {
    redisFree(ctx);
    return NULL;
  }
  return ctx;
}

/* Queue the key of one pmessage: ["pmessage", pattern, channel, event]. */
static void handle_message(struct xca_watcher *w, redisReply *reply)
{
  size_t plen = strlen(w->channel_prefix);
  const char *channel;

  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 ||
      reply->element[2]->type != REDIS_REPLY_STRING) {
    return;
  }
  channel = reply->element[2]->str;
  if (strncmp(channel, w->channel_prefix, plen) != 0) {
    return;
  }
  if (strcmp(channel + plen, w->canary) == 0) {
    w->canary_seen_ms = xca_now_ms();
  } else if (strncmp(channel + plen, "watcher:", 8) != 0) {
    push(w, XCA_CHANGE_KEY, channel + plen);
  }
}

static int write_canary(struct xca_watcher *w, redisContext *writer)
{
  char key[400];

  snprintf(key, sizeof(key), "%s%s", w->cfg->key_prefix, w->canary);
  const char *set[] = {"SET", key, "1", "PX", CANARY_TTL_MS};
  return run_ok(writer, 5, set);
}

/* Append the CA names of one SCAN reply to *names ("\n"-separated). */
static int append_names(struct xca_watcher *w, const redisReply *keys, char **names, size_t *len)
{
  size_t skip = strlen(w->cfg->key_prefix) + 3;

  for (size_t i = 0; i < keys->elements; i++) {
    const redisReply *k = keys->element[i];
    if (k->type != REDIS_REPLY_STRING || k->len <= skip || memchr(k->str, '\n', k->len)) {
      continue;
    }
    size_t n = k->len - skip;
    char *grown = realloc(*names, *len + n + 2);
    if (grown == NULL) {
      return 0;
    }
    *names = grown;
    memcpy(*names + *len, k->str + skip, n);
    *len += n;
    (*names)[(*len)++] = '\n';
    (*names)[*len] = '\0';
  }
  return 1;
}

/* The names of every CA key, "\n"-separated (malloc'ed; "" when none), or
 * NULL on failure. Scanning the keyspace happens here, off the broker's
 * thread: with millions of device keys it takes a noticeable time. */
static char *scan_ca_names(struct xca_watcher *w, redisContext *writer)
{
  char match[340];
  char cursor[32] = "0";
  char *names = calloc(1, 1);
  size_t len = 0;
  int ok = names != NULL;

  snprintf(match, sizeof(match), "%sca:*", w->cfg->key_prefix);
  do {
    const char *scan[] = {"SCAN", cursor, "MATCH", match, "COUNT", "1000"};
    redisReply *reply = ok ? command(writer, 6, scan) : NULL;
    ok = reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
         reply->element[0]->type == REDIS_REPLY_STRING &&
         reply->element[1]->type == REDIS_REPLY_ARRAY &&
         append_names(w, reply->element[1], &names, &len);
    if (ok) {
      snprintf(cursor, sizeof(cursor), "%s", reply->element[0]->str);
    }
    freeReplyObject(reply);
  } while (ok && strcmp(cursor, "0") != 0 && !atomic_load(&w->stop));
  if (!ok) {
    free(names);
    return NULL;
  }
  return names;
}

/* Changes are proven to arrive: hand the main thread a full resync (with
 * the CA names as they are now; later changes follow as KEY events). */
static int become_healthy(struct xca_watcher *w, redisContext *writer)
{
  char *names = scan_ca_names(w, writer);

  if (names == NULL) {
    return 0;
  }
  push(w, XCA_CHANGE_RESYNC, names);
  free(names);
  w->warned = 0;
  atomic_store(&w->healthy, 1);
  return 1;
}

/* Read messages until the connection fails, the canary stops coming back,
 * or stop is requested. Polls so that a quiet connection never looks like a
 * failure. */
static void follow(struct xca_watcher *w, redisContext *ctx, redisContext *writer)
{
  struct pollfd pfd = {.fd = ctx->fd, .events = POLLIN};
  long long since = xca_now_ms();
  long long sent = 0;

  w->canary_seen_ms = 0;
  while (!atomic_load(&w->stop)) {
    void *reply = NULL;
    long long now = xca_now_ms();
    long long proven = w->canary_seen_ms > since ? w->canary_seen_ms : since;

    if (now - proven > CANARY_GRACE_MS) {
      return; /* notifications are not arriving: reconnect, re-enable */
    }
    if (!atomic_load(&w->healthy) && w->canary_seen_ms != 0 && !become_healthy(w, writer)) {
      return;
    }
    if (now - sent >= CANARY_EVERY_MS) {
      if (!write_canary(w, writer)) {
        return;
      }
      sent = now;
    }
    if (redisGetReplyFromReader(ctx, &reply) != REDIS_OK) {
      return;
    }
    if (reply != NULL) {
      handle_message(w, reply);
      freeReplyObject(reply);
      continue;
    }
    int n = poll(&pfd, 1, 100);
    if (n < 0 || (n > 0 && redisBufferRead(ctx) != REDIS_OK)) {
      return;
    }
  }
}

static void *watcher_main(void *arg)
{
  struct xca_watcher *w = arg;
  int backoff_ms = 100;

  while (!atomic_load(&w->stop)) {
    redisContext *ctx = subscribe(w);
    /* A second, plain connection for the canary writes and the CA scan: a
     * subscribed connection can run neither. */
    redisContext *writer = ctx != NULL ? connect_to_registry(w->cfg) : NULL;
    if (writer != NULL) {
      backoff_ms = 100;
      follow(w, ctx, writer); /* healthy only while canaries come back */
    }
    if (writer != NULL) {
      redisFree(writer);
    }
    if (ctx != NULL) {
      redisFree(ctx);
    }
    set_unhealthy(w);
    for (int slept = 0; slept < backoff_ms && !atomic_load(&w->stop); slept += 50) {
      usleep(50 * 1000);
    }
    backoff_ms = backoff_ms < 1000 ? backoff_ms * 2 : 1000;
  }
  return NULL;
}

struct xca_watcher *xca_watcher_start(const struct xca_config *cfg)
{
  struct xca_watcher *w = calloc(1, sizeof(*w));

  if (w == NULL) {
    return NULL;
  }
  w->cfg = cfg;
  snprintf(w->channel_prefix, sizeof(w->channel_prefix), "__keyspace@%d__:%s", cfg->redis_db,
           cfg->key_prefix);
  snprintf(w->canary, sizeof(w->canary), "watcher:%lx-%llx", (unsigned long)getpid(),
           (unsigned long long)xca_now_ms());
  pthread_mutex_init(&w->lock, NULL);
  if (pthread_create(&w->thread, NULL, watcher_main, w) != 0) {
    pthread_mutex_destroy(&w->lock);
    free(w);
    return NULL;
  }
  return w;
}

void xca_watcher_stop(struct xca_watcher *w)
{
  if (w == NULL) {
    return;
  }
  atomic_store(&w->stop, 1);
  pthread_join(w->thread, NULL);
  xca_changes_free(w->head);
  pthread_mutex_destroy(&w->lock);
  free(w);
}

struct xca_change *xca_watcher_drain(struct xca_watcher *w)
{
  struct xca_change *list;

  pthread_mutex_lock(&w->lock);
  list = w->head;
  w->head = w->tail = NULL;
  pthread_mutex_unlock(&w->lock);
  return list;
}

int xca_watcher_healthy(struct xca_watcher *w)
{
  return atomic_load(&w->healthy);
}

void xca_changes_free(struct xca_change *list)
{
  while (list != NULL) {
    struct xca_change *next = list->next;
    free(list->key);
    free(list);
    list = next;
  }
}
