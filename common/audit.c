#include "audit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "registry_redis.h"
#include "stats.h"
#include "xca_err.h"

/* ------------------------------------------------------------------------ */
/* Entries                                                                   */
/* ------------------------------------------------------------------------ */

/* The optional members of an event, with their field names, in entry order. */
struct member {
  const char *field;
  size_t offset;
};

static const struct member members[] = {
  {"clientId", offsetof(struct xca_audit_event, client_id)},
  {"identity", offsetof(struct xca_audit_event, identity)},
  {"code", offsetof(struct xca_audit_event, code)},
  {"reason", offsetof(struct xca_audit_event, reason)},
  {"chain", offsetof(struct xca_audit_event, chain)},
  {"group", offsetof(struct xca_audit_event, group)},
  {"admin", offsetof(struct xca_audit_event, admin)},
  {"command", offsetof(struct xca_audit_event, command)},
  {"target", offsetof(struct xca_audit_event, target)},
  {"detail", offsetof(struct xca_audit_event, detail)},
  {"result", offsetof(struct xca_audit_event, result)},
};
#define MEMBER_COUNT (sizeof(members) / sizeof(members[0]))

static const char *member_value(const struct xca_audit_event *ev, const struct member *m)
{
  return *(const char *const *)((const char *)ev + m->offset);
}

static size_t value_len(const char *v)
{
  size_t n = strlen(v);
  return n < XCA_AUDIT_VALUE_MAX ? n : XCA_AUDIT_VALUE_MAX;
}

/* Collect the fields of ev: event, broker, then the members set. */
static int collect(const struct xca_audit_event *ev, const char *broker,
                   const char *names[XCA_AUDIT_FIELDS_MAX],
                   const char *values[XCA_AUDIT_FIELDS_MAX])
{
  int n = 0;

  names[n] = "event";
  values[n++] = ev->event;
  names[n] = "broker";
  values[n++] = broker;
  for (size_t i = 0; i < MEMBER_COUNT; i++) {
    const char *v = member_value(ev, &members[i]);
    if (v != NULL) {
      names[n] = members[i].field;
      values[n++] = v;
    }
  }
  return n;
}

struct xca_audit_entry *xca_audit_entry_new(const struct xca_audit_event *ev, const char *broker)
{
  const char *names[XCA_AUDIT_FIELDS_MAX];
  const char *values[XCA_AUDIT_FIELDS_MAX];
  struct xca_audit_entry *e;
  size_t total = 0;
  char *p;
  int n;

  if (ev == NULL || ev->event == NULL || broker == NULL) {
    return NULL;
  }
  n = collect(ev, broker, names, values);
  for (int i = 0; i < n; i++) {
    total += value_len(values[i]) + 1;
  }
  e = malloc(sizeof(*e) + total);
  if (e == NULL) {
    return NULL;
  }
  e->count = n;
  p = e->text;
  for (int i = 0; i < n; i++) {
    size_t len = value_len(values[i]);
    /* Sanitised as log lines are: stream readers see what the log shows. */
    xca_log_sanitize(values[i], p, len + 1);
    e->name[i] = names[i];
    e->value[i] = p;
    e->len[i] = len;
    p += len + 1;
  }
  return e;
}

const char *xca_audit_entry_get(const struct xca_audit_entry *e, const char *name)
{
  for (int i = 0; e != NULL && i < e->count; i++) {
    if (strcmp(e->name[i], name) == 0) {
      return e->value[i];
    }
  }
  return NULL;
}

void xca_audit_entry_free(struct xca_audit_entry *e)
{
  free(e);
}

/* ------------------------------------------------------------------------ */
/* The Redis sink                                                            */
/* ------------------------------------------------------------------------ */

#define SINK_TIMEOUT_MS 1000

struct redis_sink {
  const struct xca_config *cfg;
  redisContext *ctx; /* NULL until connected, and after a failure */
  char key[320];     /* "<prefix>audit" */
  char maxlen[24];
};

static void sink_disconnect(struct redis_sink *s)
{
  if (s->ctx != NULL) {
    redisFree(s->ctx);
    s->ctx = NULL;
  }
}

/* XADD key MAXLEN ~ max * field value ... for one entry. */
static int append_xadd(struct redis_sink *s, const struct xca_audit_entry *e)
{
  const char *argv[6 + 2 * XCA_AUDIT_FIELDS_MAX] = {"XADD", s->key, "MAXLEN", "~", s->maxlen, "*"};
  size_t lens[6 + 2 * XCA_AUDIT_FIELDS_MAX];
  int argc = 6;

  for (int i = 0; i < argc; i++) {
    lens[i] = strlen(argv[i]);
  }
  for (int i = 0; i < e->count; i++) {
    argv[argc] = e->name[i];
    lens[argc++] = strlen(e->name[i]);
    argv[argc] = e->value[i];
    lens[argc++] = e->len[i];
  }
  return redisAppendCommandArgv(s->ctx, argc, argv, lens) == REDIS_OK;
}

/* Pipelined: send every XADD, then read the replies in order. Any failure
 * (I/O or an error reply) drops the connection, so that no reply is left
 * unread; the entries from the first unacknowledged one are retried. */
static int sink_write(void *arg, struct xca_audit_entry *const *entries, int n)
{
  struct redis_sink *s = arg;
  int sent = 0;
  int done = 0;

  if (s->ctx == NULL) {
    s->ctx = xca_redis_open(s->cfg, SINK_TIMEOUT_MS, NULL, 0);
    if (s->ctx == NULL) {
      return 0;
    }
  }
  while (sent < n && append_xadd(s, entries[sent])) {
    sent++;
  }
  while (done < sent) {
    redisReply *reply = NULL;
    if (redisGetReply(s->ctx, (void **)&reply) != REDIS_OK || reply == NULL ||
        reply->type == REDIS_REPLY_ERROR) {
      freeReplyObject(reply);
      break;
    }
    freeReplyObject(reply);
    done++;
  }
  if (done < n) {
    sink_disconnect(s);
  }
  return done;
}

static void sink_free(void *arg)
{
  struct redis_sink *s = arg;

  if (s != NULL) {
    sink_disconnect(s);
    free(s);
  }
}

int xca_audit_redis_sink(const struct xca_config *cfg, struct xca_audit_sink *out)
{
  struct redis_sink *s = calloc(1, sizeof(*s));

  if (s == NULL) {
    return XCA_E_NOMEM;
  }
  s->cfg = cfg;
  snprintf(s->key, sizeof(s->key), "%s%s", cfg->key_prefix, XCA_AUDIT_STREAM);
  snprintf(s->maxlen, sizeof(s->maxlen), "%d", cfg->audit_stream_max);
  out->write = sink_write;
  out->free = sink_free;
  out->arg = s;
  return XCA_OK;
}

/* ------------------------------------------------------------------------ */
/* The queue and its writer                                                  */
/* ------------------------------------------------------------------------ */

struct xca_audit {
  char *broker;
  struct xca_audit_sink sink;
  int retry_ms;
  pthread_t thread;
  int started;
  pthread_mutex_t lock;
  pthread_cond_t wake;            /* an entry was queued, or stop was asked */
  struct xca_audit_entry **ring;  /* guarded by lock */
  int capacity;
  int head;                       /* oldest entry; advanced by the writer only */
  int count;                      /* entries in the ring, the writer's batch included */
  int stop;                       /* guarded by lock */
  long long deadline_ms;          /* stop: give up writing after this */
  atomic_ullong dropped;
  atomic_int writing;
};

static long long mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait on a->wake for at most ms (lock held). */
static void wait_ms(struct xca_audit *a, long long ms)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += (time_t)(ms / 1000);
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_cond_timedwait(&a->wake, &a->lock, &ts);
}

/* Free the n oldest entries (written). Lock held. */
static void release_oldest(struct xca_audit *a, int n)
{
  for (int i = 0; i < n; i++) {
    xca_audit_entry_free(a->ring[a->head]);
    a->ring[a->head] = NULL;
    a->head = (a->head + 1) % a->capacity;
  }
  a->count -= n;
}

/* Write the oldest entries, at most XCA_AUDIT_BATCH. The slots of the batch
 * stay untouched while the lock is released: pushers only fill slots past
 * count, and only this thread frees. Returns 1 when all were written. */
static int write_batch(struct xca_audit *a)
{
  struct xca_audit_entry *batch[XCA_AUDIT_BATCH];
  int n = a->count < XCA_AUDIT_BATCH ? a->count : XCA_AUDIT_BATCH;
  int done;

  for (int i = 0; i < n; i++) {
    batch[i] = a->ring[(a->head + i) % a->capacity];
  }
  pthread_mutex_unlock(&a->lock);
  done = a->sink.write(a->sink.arg, batch, n);
  pthread_mutex_lock(&a->lock);
  release_oldest(a, done > 0 ? (done < n ? done : n) : 0);
  atomic_store(&a->writing, done >= n);
  return done >= n;
}

/* Let a batch fill: until it is full, stop is asked, or XCA_AUDIT_LINGER_MS
 * passed (lock held). One round trip per batch instead of per entry: the
 * writer shares the broker's CPU, and every wake-up and write system call
 * it spares is time the broker's thread spends on connects. */
static void linger(struct xca_audit *a)
{
  long long until = mono_ms() + XCA_AUDIT_LINGER_MS;

  while (a->count < XCA_AUDIT_BATCH && !a->stop && mono_ms() < until) {
    wait_ms(a, until - mono_ms());
  }
}

static void *writer_main(void *arg)
{
  struct xca_audit *a = arg;

  pthread_mutex_lock(&a->lock);
  for (;;) {
    while (a->count == 0 && !a->stop) {
      pthread_cond_wait(&a->wake, &a->lock);
    }
    if (a->count == 0 || (a->stop && mono_ms() >= a->deadline_ms)) {
      break; /* stopped: everything written, or out of time */
    }
    linger(a);
    if (!write_batch(a)) {
      if (a->stop) {
        break; /* shutting down: no retries */
      }
      wait_ms(a, a->retry_ms); /* until the retry interval passed, or stop */
    }
  }
  pthread_mutex_unlock(&a->lock);
  return NULL;
}

struct xca_audit *xca_audit_new(const char *broker, int capacity, int retry_ms,
                                struct xca_audit_sink sink)
{
  struct xca_audit *a = calloc(1, sizeof(*a));
  pthread_condattr_t attr;

  if (a == NULL || broker == NULL || capacity < 1) {
    free(a);
    if (sink.free != NULL) {
      sink.free(sink.arg);
    }
    return NULL;
  }
  a->sink = sink;
  a->capacity = capacity;
  a->retry_ms = retry_ms > 0 ? retry_ms : 1;
  a->broker = strdup(broker);
  a->ring = calloc((size_t)capacity, sizeof(a->ring[0]));
  atomic_init(&a->dropped, 0);
  atomic_init(&a->writing, 1);
  pthread_mutex_init(&a->lock, NULL);
  /* The retry wait must not jump with the wall clock. */
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&a->wake, &attr);
  pthread_condattr_destroy(&attr);
  if (a->broker == NULL || a->ring == NULL) {
    xca_audit_stop(a, 0);
    return NULL;
  }
  return a;
}

int xca_audit_start(struct xca_audit *a)
{
  if (a == NULL || a->started) {
    return XCA_OK;
  }
  if (pthread_create(&a->thread, NULL, writer_main, a) != 0) {
    return XCA_E_NOMEM;
  }
  a->started = 1;
  return XCA_OK;
}

int xca_audit_push(struct xca_audit *a, struct xca_audit_entry *e)
{
  int rc = XCA_OK;

  if (a == NULL || e == NULL) {
    xca_audit_entry_free(e);
    return XCA_OK;
  }
  pthread_mutex_lock(&a->lock);
  if (a->count == a->capacity) {
    rc = XCA_E_TOO_LARGE;
  } else {
    a->ring[(a->head + a->count) % a->capacity] = e;
    a->count++;
    /* The writer waits for the first entry, then for a full batch; any
     * other signal would only wake it early. */
    if (a->count == 1 || a->count == XCA_AUDIT_BATCH) {
      pthread_cond_signal(&a->wake);
    }
  }
  pthread_mutex_unlock(&a->lock);
  if (rc != XCA_OK) {
    atomic_fetch_add(&a->dropped, 1);
    xca_audit_entry_free(e);
  }
  return rc;
}

int xca_audit_append(struct xca_audit *a, const struct xca_audit_event *ev)
{
  struct xca_audit_entry *e;

  if (a == NULL) {
    return XCA_OK;
  }
  e = xca_audit_entry_new(ev, a->broker);
  if (e == NULL) {
    atomic_fetch_add(&a->dropped, 1);
    return XCA_E_NOMEM;
  }
  return xca_audit_push(a, e);
}

int xca_audit_accepted(struct xca_audit *a, const char *client_id, const char *identity,
                       const char *chain)
{
  struct xca_audit_event ev = {
    .event = "accepted", .client_id = client_id, .identity = identity, .chain = chain};
  return xca_audit_append(a, &ev);
}

/* A refusal or a drop: the error's slug as "code", the log text as "reason". */
static int append_refusal(struct xca_audit *a, const char *event, const char *client_id,
                          const char *identity, int err, const char *reason)
{
  char slug[XCA_STATS_SLUG_MAX];
  struct xca_audit_event ev = {
    .event = event, .client_id = client_id, .identity = identity, .reason = reason};

  if (a == NULL) {
    return XCA_OK;
  }
  ev.code = xca_stats_slug(err, slug, sizeof(slug));
  return xca_audit_append(a, &ev);
}

int xca_audit_refused(struct xca_audit *a, const char *client_id, const char *identity, int err,
                      const char *reason)
{
  return append_refusal(a, "refused", client_id, identity, err, reason);
}

int xca_audit_dropped(struct xca_audit *a, const char *client_id, const char *identity, int err,
                      const char *reason)
{
  return append_refusal(a, "dropped", client_id, identity, err, reason);
}

int xca_audit_enrolled(struct xca_audit *a, const char *client_id, const char *identity,
                       const char *group, const char *chain)
{
  struct xca_audit_event ev = {.event = "enrolled",
                               .client_id = client_id,
                               .identity = identity,
                               .group = group,
                               .chain = chain};
  return xca_audit_append(a, &ev);
}

int xca_audit_admin(struct xca_audit *a, const char *client_id, const char *admin,
                    const char *command, const char *target, const char *detail,
                    const char *result)
{
  struct xca_audit_event ev = {.event = "admin",
                               .client_id = client_id,
                               .admin = admin,
                               .command = command,
                               .target = target,
                               .detail = detail,
                               .result = result};
  return xca_audit_append(a, &ev);
}

unsigned long long xca_audit_dropped_count(struct xca_audit *a)
{
  return a != NULL ? atomic_load(&a->dropped) : 0;
}

int xca_audit_queued(struct xca_audit *a)
{
  int n;

  if (a == NULL) {
    return 0;
  }
  pthread_mutex_lock(&a->lock);
  n = a->count;
  pthread_mutex_unlock(&a->lock);
  return n;
}

int xca_audit_writing(struct xca_audit *a)
{
  return a != NULL ? atomic_load(&a->writing) : 0;
}

unsigned long long xca_audit_stop(struct xca_audit *a, int flush_ms)
{
  unsigned long long lost;

  if (a == NULL) {
    return 0;
  }
  if (a->started) {
    pthread_mutex_lock(&a->lock);
    a->stop = 1;
    a->deadline_ms = mono_ms() + (flush_ms > 0 ? flush_ms : 0);
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
  }
  lost = (unsigned long long)a->count;
  if (a->ring != NULL) {
    release_oldest(a, a->count);
  }
  if (a->sink.free != NULL) {
    a->sink.free(a->sink.arg);
  }
  pthread_cond_destroy(&a->wake);
  pthread_mutex_destroy(&a->lock);
  free(a->ring);
  free(a->broker);
  free(a);
  return lost;
}
