#define _DEFAULT_SOURCE /* usleep() */

#include "watcher_internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "clock.h"
#include "registry_redis.h"
#include "sentinel.h"
#include "xca_err.h"

/* Health is proven, not assumed: every CANARY_EVERY_MS the watcher writes its
 * own canary key and expects the notification back within CANARY_GRACE_MS.
 * Notifications switched off, a half-open connection or a stalled Redis
 * all end up here as "not following", which stops the cache being trusted. */
#define CANARY_EVERY_MS 1000
#define CANARY_GRACE_MS 3000
#define CANARY_TTL_MS "10000"

/* FLUSHDB, FLUSHALL and SWAPDB send no keyspace notification. Every
 * EPOCH_EVERY_MS the watcher reads <prefix>epoch, a random value created
 * with SET NX by whichever broker finds it missing first: missing, or not
 * the value this watcher saw last, means the database was emptied or
 * swapped. The check rides on the heartbeat's round trip when one is due;
 * it runs twice per heartbeat so that a flush is acted on within a second. */
#define EPOCH_EVERY_MS 500

/* The bound of each Redis call of the watcher's thread (the broker's thread
 * never waits on it). */
#define WATCHER_TIMEOUT_MS 1000

void *(*xca_watcher__calloc)(size_t nmemb, size_t size) = calloc;

static struct xca_change *new_change(enum xca_change_kind kind, const char *key)
{
  struct xca_change *c = xca_watcher__calloc(1, sizeof(*c));

  if (c == NULL) {
    return NULL;
  }
  if (key != NULL) {
    size_t n = strlen(key) + 1;
    c->key = xca_watcher__calloc(1, n);
    if (c->key == NULL) {
      free(c);
      return NULL;
    }
    memcpy(c->key, key, n);
  }
  c->kind = kind;
  return c;
}

static void enqueue(struct xca_watcher *w, struct xca_change *c)
{
  pthread_mutex_lock(&w->lock);
  if (w->tail != NULL) {
    w->tail->next = c;
  } else {
    w->head = c;
  }
  w->tail = c;
  pthread_mutex_unlock(&w->lock);
}

void xca_watcher__set_unhealthy(struct xca_watcher *w)
{
  if (atomic_exchange(&w->healthy, 0) != 0 && w->spare != NULL) {
    enqueue(w, w->spare);
    w->spare = NULL;
  }
}

int xca_watcher__push(struct xca_watcher *w, enum xca_change_kind kind, const char *key)
{
  struct xca_change *c = new_change(kind, key);

  if (c == NULL) {
    /* A change that cannot be queued is lost: handle it as a lost feed
     * (follow() resyncs as soon as memory allows). */
    xca_watcher__set_unhealthy(w);
    return 0;
  }
  enqueue(w, c);
  return 1;
}

/* Move list into *slot (list is left empty). */
static void move_list(struct xca_strlist *slot, struct xca_strlist *list)
{
  if (list != NULL) {
    *slot = *list;
    memset(list, 0, sizeof(*list));
  }
}

int xca_watcher__resync_all(struct xca_watcher *w, struct xca_strlist *names,
                            struct xca_strlist *group_names, struct xca_strlist *revoked_names,
                            struct xca_strlist *crl_names)
{
  struct xca_change *c;

  if (w->spare == NULL) {
    w->spare = new_change(XCA_CHANGE_LOST, NULL);
  }
  if (w->spare == NULL) {
    return 0;
  }
  c = new_change(XCA_CHANGE_RESYNC, NULL);
  if (c == NULL) {
    xca_watcher__set_unhealthy(w); /* as for any change that cannot be queued */
    return 0;
  }
  move_list(&c->names, names);
  move_list(&c->group_names, group_names);
  move_list(&c->revoked_names, revoked_names);
  move_list(&c->crl_names, crl_names);
  enqueue(w, c);
  w->warned = 0;
  atomic_store(&w->healthy, 1);
  return 1;
}

int xca_watcher__resync(struct xca_watcher *w, struct xca_strlist *names,
                        struct xca_strlist *group_names)
{
  return xca_watcher__resync_all(w, names, group_names, NULL, NULL);
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
 * EXPIRE, RENAME...), h (hash commands), $ (string commands: a SET that
 * replaces a registry hash sends only "set", no "del"), x (expired), e
 * (evicted). */
void xca_watcher__merge_flags(const char *have, char *out, size_t outlen)
{
  size_t n = (size_t)snprintf(out, outlen, "%s", have);

  for (const char *p = "Kgh$xe"; *p != '\0' && n + 1 < outlen; p++) {
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
    xca_watcher__push(w, XCA_CHANGE_WARN, text);
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
  xca_watcher__merge_flags(reply->element[1]->str, flags, sizeof(flags));
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

/* Connect to addr (the primary the loop resolved) with the watcher's
 * timeout, authenticated, checked to be the primary, the database
 * selected. Returns NULL on any failure (the thread retries). */
static redisContext *connect_to_registry(const struct xca_config *cfg,
                                         const struct xca_hostport *addr)
{
  return xca_redis_open_at(cfg, addr, WATCHER_TIMEOUT_MS, NULL, 0);
}

/* Connect, turn notifications on and subscribe to the prefix's keyspace
 * channel (which names the database, so SELECT does not matter to it); the
 * channel is matched literally, whatever characters the prefix holds. */
static redisContext *subscribe(struct xca_watcher *w, const struct xca_hostport *addr)
{
  redisContext *ctx = connect_to_registry(w->cfg, addr);
  char pattern[2 * sizeof(w->channel_prefix) + 1];
  const char *sub[] = {"PSUBSCRIBE", pattern};
  int subscribed = 0;

  if (ctx == NULL) {
    return NULL;
  }
  ensure_notifications(w, ctx);
  if (xca_registry_glob_escape(w->channel_prefix, pattern, sizeof(pattern) - 1) == XCA_OK) {
    strcat(pattern, "*");
    subscribed = run_ok(ctx, 2, sub);
  }
  if (!subscribed) {
    redisFree(ctx);
    return NULL;
  }
  return ctx;
}

/* One pmessage is ["pmessage", pattern, channel, event]. */
void xca_watcher__handle_message(struct xca_watcher *w, const redisReply *reply)
{
  size_t plen = strlen(w->channel_prefix);
  const char *channel;
  const char *name;
  enum xca_key_kind kind;

  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 ||
      reply->element[2]->type != REDIS_REPLY_STRING) {
    return;
  }
  channel = reply->element[2]->str;
  if (strncmp(channel, w->channel_prefix, plen) != 0) {
    return;
  }
  kind = xca_registry_key_kind(channel + plen, &name);
  if (kind == XCA_KEY_WATCHER && strcmp(name, w->canary_id) == 0) {
    w->canary_seen_ms = xca_now_ms();
  } else if (kind != XCA_KEY_WATCHER && kind != XCA_KEY_EPOCH) {
    /* Not a key the watchers write themselves. */
    xca_watcher__push(w, XCA_CHANGE_KEY, channel + plen);
  }
}

/* Choose the value this watcher writes when it finds the epoch missing:
 * random, so that every re-creation differs from every value seen before. */
static void new_epoch_value(struct xca_watcher *w)
{
  static atomic_uint fallback_counter;
  unsigned char raw[16];

  if (RAND_bytes(raw, sizeof(raw)) == 1) {
    for (size_t i = 0; i < sizeof(raw); i++) {
      snprintf(w->epoch_mine + 2 * i, 3, "%02x", raw[i]);
    }
    return;
  }
  snprintf(w->epoch_mine, sizeof(w->epoch_mine), "%s-%llx-%x", w->canary_id,
           (unsigned long long)xca_now_ms(), atomic_fetch_add(&fallback_counter, 1));
}

enum xca_epoch_verdict xca_watcher__note_epoch(struct xca_watcher *w, const char *value,
                                               int created)
{
  enum xca_epoch_verdict verdict = XCA_EPOCH_CHANGED;

  if (w->epoch_seen[0] == '\0') {
    verdict = XCA_EPOCH_FIRST;
  } else if (!created && value != NULL &&
             strncmp(w->epoch_seen, value, XCA_WATCHER_EPOCH_MAX) == 0) {
    verdict = XCA_EPOCH_SAME;
  }
  snprintf(w->epoch_seen, sizeof(w->epoch_seen), "%s", value != NULL ? value : "");
  if (created) {
    new_epoch_value(w);
  }
  return verdict;
}

/* Send argc/argv without waiting for the reply (a pipeline). */
static int append(redisContext *ctx, int argc, const char **argv)
{
  return redisAppendCommandArgv(ctx, argc, argv, NULL) == REDIS_OK;
}

/* Check the epoch, writing the heartbeat too when with_canary, in one round
 * trip: [SET canary 1 PX ttl], SET epoch <mine> NX, GET epoch. Returns the
 * verdict, or -1 when Redis did not answer as expected. */
static int beat(struct xca_watcher *w, redisContext *writer, int with_canary)
{
  const char *set_canary[] = {"SET", w->canary_key, "1", "PX", CANARY_TTL_MS};
  const char *set_epoch[] = {"SET", w->epoch_key, w->epoch_mine, "NX"};
  const char *get_epoch[] = {"GET", w->epoch_key};
  redisReply *r[3] = {NULL, NULL, NULL};
  int n = with_canary ? 3 : 2;
  int verdict = -1;

  if ((with_canary && !append(writer, 5, set_canary)) || !append(writer, 4, set_epoch) ||
      !append(writer, 2, get_epoch)) {
    return -1;
  }
  for (int i = 0; i < n; i++) {
    if (redisGetReply(writer, (void **)&r[i]) != REDIS_OK) {
      goto cleanup;
    }
  }
  const redisReply *set = r[n - 2];
  const redisReply *get = r[n - 1];
  if ((with_canary && r[0]->type != REDIS_REPLY_STATUS) ||
      (set->type != REDIS_REPLY_STATUS && set->type != REDIS_REPLY_NIL) ||
      (get->type != REDIS_REPLY_STRING && get->type != REDIS_REPLY_NIL)) {
    goto cleanup;
  }
  verdict = (int)xca_watcher__note_epoch(w, get->type == REDIS_REPLY_STRING ? get->str : NULL,
                                         set->type == REDIS_REPLY_STATUS);
cleanup:
  for (int i = 0; i < n; i++) {
    freeReplyObject(r[i]);
  }
  return verdict;
}

/* Append the name of every key of kind (CA, GROUP, REVOKED, CRL) to names (the
 * watcher's connection goes through the registry's scan). Scanning the
 * keyspace happens here, off the broker's thread: with millions of device
 * keys it takes a noticeable time. Returns XCA_OK (also when stopped early),
 * XCA_E_REGISTRY_UNAVAILABLE or XCA_E_NOMEM. */
static int scan_names(struct xca_watcher *w, struct xca_redis *conn, enum xca_key_kind kind,
                      struct xca_strlist *names)
{
  struct xca_registry reg = {.kv = xca_redis_kv(conn), .prefix = w->cfg->key_prefix};
  struct xca_registry_scan s;
  int rc = xca_registry_scan_begin(&s, &reg, kind, NULL, 0, 1000);

  while (rc == XCA_OK && !s.done && !atomic_load(&w->stop)) {
    rc = xca_registry_scan_step(&s, names);
  }
  return rc;
}

/* The names of every key of the kinds a resync reloads: CAs, enrollment
 * groups, revoked thumbprints, CRL issuers (l[0..3]). */
static const enum xca_key_kind resync_kinds[] = {XCA_KEY_CA, XCA_KEY_GROUP, XCA_KEY_REVOKED,
                                                 XCA_KEY_CRL};
#define RESYNC_KINDS (sizeof(resync_kinds) / sizeof(resync_kinds[0]))

static int scan_resync_names(struct xca_watcher *w, redisContext *writer, struct xca_strlist *l)
{
  struct xca_redis *conn = xca_redis_wrap(writer);
  int rc = conn != NULL ? XCA_OK : XCA_E_NOMEM;

  for (size_t i = 0; rc == XCA_OK && i < RESYNC_KINDS; i++) {
    rc = scan_names(w, conn, resync_kinds[i], &l[i]);
  }
  xca_redis_free(conn);
  return rc;
}

/* Changes are proven to arrive: hand the main thread a full resync (with
 * the names as they are now; later changes follow as KEY events). */
static int become_healthy(struct xca_watcher *w, redisContext *writer)
{
  struct xca_strlist l[RESYNC_KINDS];
  int ok;

  memset(l, 0, sizeof(l));
  ok = scan_resync_names(w, writer, l) == XCA_OK &&
       xca_watcher__resync_all(w, &l[0], &l[1], &l[2], &l[3]);
  for (size_t i = 0; i < RESYNC_KINDS; i++) {
    xca_strlist_free(&l[i]);
  }
  return ok;
}

/* The database was emptied or swapped under a healthy feed: every cached
 * answer and trusted CA may be gone. Stop trusting the cache at once, then
 * resync as after a reconnect. */
static int resync_after_flush(struct xca_watcher *w, redisContext *writer)
{
  atomic_store(&w->healthy, 0);
  xca_watcher__push(w, XCA_CHANGE_WARN,
                    "the Redis database was flushed or swapped (FLUSHDB, FLUSHALL or SWAPDB: "
                    "the epoch key vanished or changed); dropping the cache, "
                    "reloading the CAs and re-checking every session");
  return become_healthy(w, writer);
}

/* Read messages until the connection fails, the canary stops coming back,
 * or stop is requested. Polls so that a quiet connection never looks like a
 * failure. */
static void follow(struct xca_watcher *w, redisContext *ctx, redisContext *writer)
{
  struct pollfd pfd = {.fd = ctx->fd, .events = POLLIN};
  long long since = xca_now_ms();
  long long checked = 0;
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
    if (now - checked >= EPOCH_EVERY_MS) {
      int with_canary = now - sent >= CANARY_EVERY_MS;
      int verdict = beat(w, writer, with_canary);
      /* Not yet healthy: becoming healthy resyncs anyway. */
      if (verdict < 0 || (verdict == XCA_EPOCH_CHANGED && atomic_load(&w->healthy) &&
                          !resync_after_flush(w, writer))) {
        return;
      }
      checked = now;
      sent = with_canary ? now : sent;
    }
    if (redisGetReplyFromReader(ctx, &reply) != REDIS_OK) {
      return;
    }
    if (reply != NULL) {
      xca_watcher__handle_message(w, reply);
      freeReplyObject(reply);
      continue;
    }
    int n = poll(&pfd, 1, 100);
    if ((n < 0 && errno != EINTR) || (n > 0 && redisBufferRead(ctx) != REDIS_OK)) {
      return;
    }
  }
}

static void *watcher_main(void *arg)
{
  struct xca_watcher *w = arg;
  int backoff_ms = 100;

  while (!atomic_load(&w->stop)) {
    /* Asked again at every reconnect: after a failover the Sentinels name
     * the new primary, and notifications come from the node written to. */
    struct xca_hostport addr;
    char why[200];
    int found = xca_sentinel_resolve(w->cfg, WATCHER_TIMEOUT_MS, &addr, why, sizeof(why)) == XCA_OK;
    redisContext *ctx = found ? subscribe(w, &addr) : NULL;
    /* A second, plain connection (to the same node) for the canary writes
     * and the CA scan: a subscribed connection can run neither. */
    redisContext *writer = ctx != NULL ? connect_to_registry(w->cfg, &addr) : NULL;
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
    if (atomic_load(&w->stop)) {
      break; /* stopping is not losing the feed: nothing to report */
    }
    xca_watcher__set_unhealthy(w);
    for (int slept = 0; slept < backoff_ms && !atomic_load(&w->stop); slept += 50) {
      usleep(50 * 1000);
    }
    backoff_ms = backoff_ms < 1000 ? backoff_ms * 2 : 1000;
  }
  return NULL;
}

struct xca_watcher *xca_watcher__new(const struct xca_config *cfg)
{
  const struct xca_registry keys = {.prefix = cfg->key_prefix};
  struct xca_watcher *w = calloc(1, sizeof(*w));

  if (w == NULL) {
    return NULL;
  }
  w->spare = new_change(XCA_CHANGE_LOST, NULL);
  if (w->spare == NULL) {
    free(w);
    return NULL;
  }
  w->cfg = cfg;
  snprintf(w->channel_prefix, sizeof(w->channel_prefix), "__keyspace@%d__:%s", cfg->redis_db,
           cfg->key_prefix);
  snprintf(w->canary_id, sizeof(w->canary_id), "%lx-%llx", (unsigned long)getpid(),
           (unsigned long long)xca_now_ms());
  if (xca_registry_key(&keys, XCA_KEY_WATCHER, w->canary_id, w->canary_key) != XCA_OK ||
      xca_registry_key(&keys, XCA_KEY_EPOCH, NULL, w->epoch_key) != XCA_OK) {
    xca_changes_free(w->spare);
    free(w);
    return NULL;
  }
  new_epoch_value(w);
  pthread_mutex_init(&w->lock, NULL);
  return w;
}

void xca_watcher__free(struct xca_watcher *w)
{
  if (w == NULL) {
    return;
  }
  xca_changes_free(w->head);
  xca_changes_free(w->spare);
  pthread_mutex_destroy(&w->lock);
  free(w);
}

/* Start the thread with the broker's signals blocked, so that they reach
 * the broker's own thread: a SIGTERM landing on the watcher's poll() would
 * otherwise look like a lost connection just before a clean shutdown. */
static int start_thread(struct xca_watcher *w)
{
  static const int broker_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE,
                                       SIGALRM, SIGCHLD};
  sigset_t block;
  sigset_t old;
  int rc;

  sigemptyset(&block);
  for (size_t i = 0; i < sizeof(broker_signals) / sizeof(broker_signals[0]); i++) {
    sigaddset(&block, broker_signals[i]);
  }
  pthread_sigmask(SIG_BLOCK, &block, &old);
  rc = pthread_create(&w->thread, NULL, watcher_main, w);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}

struct xca_watcher *xca_watcher_start(const struct xca_config *cfg)
{
  struct xca_watcher *w = xca_watcher__new(cfg);

  if (w != NULL && start_thread(w) != 0) {
    xca_watcher__free(w);
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
  xca_watcher__free(w);
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
    xca_strlist_free(&list->names);
    xca_strlist_free(&list->group_names);
    xca_strlist_free(&list->revoked_names);
    xca_strlist_free(&list->crl_names);
    free(list);
    list = next;
  }
}
