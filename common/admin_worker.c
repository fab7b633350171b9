#include "admin_worker.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certinfo.h"
#include "registry_redis.h"
#include "trust.h"
#include "xca_err.h"

#define CA_SCAN_COUNT 1000 /* SCAN COUNT hint while listing every CA */
#define RENOTIFY_MS 10     /* finished jobs not drained: notify again this often */

/* ------------------------------------------------------------------------ */
/* Jobs                                                                      */
/* ------------------------------------------------------------------------ */

void xca_ca_load_free(struct xca_ca_load *load)
{
  if (load == NULL) {
    return;
  }
  for (int i = 0; i < load->count; i++) {
    X509_free(load->cas[i].cert);
  }
  free(load->cas);
  memset(load, 0, sizeof(*load));
}

void xca_job_free(struct xca_job *job)
{
  if (job == NULL) {
    return;
  }
  free(job->payload);
  free(job->admin);
  xca_admin_result_free(&job->res);
  if (job->token_free != NULL) {
    job->token_free(job->token);
  }
  xca_strlist_free(&job->names);
  xca_ca_load_free(&job->load);
  free(job);
}

void xca_jobs_free(struct xca_job *list)
{
  while (list != NULL) {
    struct xca_job *next = list->next;
    xca_job_free(list);
    list = next;
  }
}

/* ------------------------------------------------------------------------ */
/* CA loads                                                                  */
/* ------------------------------------------------------------------------ */

/* Append one verified CA (its certificate parsed and held to the policy). */
static int add_loaded(struct xca_ca_load *out, const char *name, const char *pem,
                      const struct xca_policy *policy)
{
  struct xca_ca_loaded *grown = realloc(out->cas, (size_t)(out->count + 1) * sizeof(*grown));
  struct xca_ca_loaded *ca;
  X509 *cert = NULL;

  if (grown == NULL) {
    return XCA_E_NOMEM;
  }
  out->cas = grown;
  ca = &out->cas[out->count++];
  memset(ca, 0, sizeof(*ca));
  snprintf(ca->name, sizeof(ca->name), "%s", name);
  if (pem == NULL || xca_cert_from_pem(pem, strlen(pem), &cert) != XCA_OK) {
    ca->err = XCA_E_BAD_PEM;
    return XCA_OK;
  }
  ca->err = xca_policy_check_cert(policy, cert, ca->detail, sizeof(ca->detail));
  if (ca->err == XCA_OK) {
    ca->cert = cert;
  } else {
    X509_free(cert);
  }
  return XCA_OK;
}

/* Read the CA name into out when it is verified. */
static int read_one(const struct xca_registry *reg, const char *name,
                    const struct xca_policy *policy, struct xca_ca_load *out)
{
  struct xca_ca_rec rec;
  int rc = xca_registry_get_ca(reg, name, &rec);

  if (rc == XCA_E_NOT_FOUND) {
    return XCA_OK; /* deleted since it was listed */
  }
  if (rc == XCA_OK && rec.verified) {
    rc = add_loaded(out, name, rec.certificate, policy);
  }
  xca_ca_rec_free(&rec);
  return rc;
}

int xca_ca_load_read(const struct xca_registry *reg, int scan, const struct xca_strlist *names,
                     const struct xca_policy *policy, struct xca_ca_load *out)
{
  struct xca_strlist scanned = {0};
  const struct xca_strlist *list = names;
  int rc = XCA_OK;

  memset(out, 0, sizeof(*out));
  if (scan) {
    /* Only names the admin API can also see and delete are trusted. */
    rc = xca_registry_scan_all(reg, XCA_KEY_CA, NULL, CA_SCAN_COUNT, xca_ca_name_valid, 0,
                               &scanned);
    list = &scanned;
  }
  for (int i = 0; rc == XCA_OK && list != NULL && i < list->count; i++) {
    if (xca_ca_name_valid(list->item[i])) {
      rc = read_one(reg, list->item[i], policy, out);
    }
  }
  xca_strlist_free(&scanned);
  if (rc != XCA_OK) {
    xca_ca_load_free(out);
    return rc == XCA_E_NOMEM ? XCA_E_NOMEM : XCA_E_REGISTRY_UNAVAILABLE;
  }
  return XCA_OK;
}

/* ------------------------------------------------------------------------ */
/* The worker                                                                */
/* ------------------------------------------------------------------------ */

struct xca_admin_worker {
  const struct xca_config *cfg;  /* borrowed: what admin commands read */
  struct xca_config conn_cfg;    /* a shallow copy of cfg with the worker's timeout */
  struct xca_redis *redis;       /* own client (kv NULL), used on the thread only */
  struct xca_kv inner;           /* the seam the jobs reach storage through */
  struct xca_registry reg;       /* over guarded_ops: fails at once once stopping */
  int queue_max;
  void (*notify)(void *arg);     /* called after each finished job, on the thread */
  void *notify_arg;
  pthread_t thread;
  int started;
  atomic_int stop;
  atomic_int reconnect;          /* reconnect before the next job */
  pthread_mutex_t lock;
  pthread_cond_t wake;           /* a job was queued, or stop was asked */
  struct xca_job *head, *tail;   /* waiting, oldest first (lock) */
  int waiting;                   /* jobs in head..tail (lock) */
  int running;                   /* 1 while the thread runs a job (lock) */
  struct xca_job *done_head, *done_tail; /* finished, not drained (lock) */
  int done;                      /* jobs in done_head..done_tail (lock) */
};

/* The seam the jobs see: the inner one, except that once stop is asked
 * every call fails at once, so that a long command (a scan over millions
 * of keys) ends within the call in flight instead of running on. */
static int stopping(void *impl)
{
  return atomic_load(&((struct xca_admin_worker *)impl)->stop);
}

static const struct xca_kv *inner(void *impl)
{
  return &((struct xca_admin_worker *)impl)->inner;
}

static int g_hgetall(void *impl, const char *key, struct xca_fields *out)
{
  return stopping(impl) ? XCA_E_REGISTRY_UNAVAILABLE
                        : inner(impl)->ops->hgetall(inner(impl)->impl, key, out);
}

static int g_create(void *impl, const char *key, const struct xca_fields *set)
{
  return stopping(impl) ? XCA_E_REGISTRY_UNAVAILABLE
                        : inner(impl)->ops->create(inner(impl)->impl, key, set);
}

static int g_update(void *impl, const char *key, const char *expect_name,
                    const char *expect_value, const struct xca_fields *set, const char *const *del,
                    int ndel)
{
  return stopping(impl) ? XCA_E_REGISTRY_UNAVAILABLE
                        : inner(impl)->ops->update(inner(impl)->impl, key, expect_name,
                                                   expect_value, set, del, ndel);
}

static int g_del(void *impl, const char *key)
{
  return stopping(impl) ? XCA_E_REGISTRY_UNAVAILABLE : inner(impl)->ops->del(inner(impl)->impl, key);
}

static int g_create_if(void *impl, const char *key, const struct xca_fields *set,
                       const char *cond_key, const struct xca_fields *cond)
{
  return stopping(impl) ? XCA_E_REGISTRY_UNAVAILABLE
                        : inner(impl)->ops->create_if(inner(impl)->impl, key, set, cond_key, cond);
}

static int g_scan(void *impl, const char *match, unsigned long long *cursor, int count,
                  struct xca_strlist *keys)
{
  return stopping(impl) ? XCA_E_REGISTRY_UNAVAILABLE
                        : inner(impl)->ops->scan(inner(impl)->impl, match, cursor, count, keys);
}

static const struct xca_kv_ops guarded_ops = {
  .hgetall = g_hgetall,
  .create = g_create,
  .update = g_update,
  .del = g_del,
  .create_if = g_create_if,
  .scan = g_scan,
};

static void run_job(struct xca_admin_worker *w, struct xca_job *job)
{
  if (atomic_exchange(&w->reconnect, 0) && w->redis != NULL) {
    xca_redis_reconnect(w->redis);
  }
  if (job->kind == XCA_JOB_ADMIN) {
    /* Without a snapshot getStats must fail, not answer zeros. */
    struct xca_admin_ctx ctx = {
      .reg = &w->reg, .cfg = w->cfg, .stats = job->has_stats ? &job->stats : NULL};
    job->rc = xca_admin_handle(&ctx, job->payload, job->len, job->admin, &job->res);
  } else {
    job->rc = xca_ca_load_read(&w->reg, job->scan, &job->names, &job->policy, &job->load);
  }
}

/* Wait on w->wake for at most ms (lock held). */
static void wait_ms(struct xca_admin_worker *w, long ms)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_nsec += ms * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_cond_timedwait(&w->wake, &w->lock, &ts);
}

/* Take the oldest waiting job (lock held), or NULL once stopping. While
 * finished jobs are not drained, notify again every RENOTIFY_MS: a wake-up
 * that came just before the drainer started waiting may have been lost. */
static struct xca_job *next_job(struct xca_admin_worker *w)
{
  struct xca_job *job;

  while (w->head == NULL && !atomic_load(&w->stop)) {
    if (w->done == 0 || w->notify == NULL) {
      pthread_cond_wait(&w->wake, &w->lock);
      continue;
    }
    wait_ms(w, RENOTIFY_MS);
    if (w->done > 0 && w->head == NULL && !atomic_load(&w->stop)) {
      pthread_mutex_unlock(&w->lock);
      w->notify(w->notify_arg);
      pthread_mutex_lock(&w->lock);
    }
  }
  if (atomic_load(&w->stop)) {
    return NULL;
  }
  job = w->head;
  w->head = job->next;
  if (w->head == NULL) {
    w->tail = NULL;
  }
  job->next = NULL;
  w->waiting--;
  w->running = 1;
  return job;
}

/* Put job on the finished list (lock held). */
static void append_done(struct xca_admin_worker *w, struct xca_job *job)
{
  if (w->done_tail != NULL) {
    w->done_tail->next = job;
  } else {
    w->done_head = job;
  }
  w->done_tail = job;
  w->done++;
}

static void finish(struct xca_admin_worker *w, struct xca_job *job)
{
  append_done(w, job);
  w->running = 0;
}

/* The worker's own client changed state (on the worker's thread, inside a
 * registry call: the lock is not held). Lost for want of memory: the
 * error replies still say so. */
static void on_conn_state(void *arg, int up, const char *why)
{
  struct xca_admin_worker *w = arg;
  struct xca_job *job = calloc(1, sizeof(*job));

  if (job == NULL) {
    return;
  }
  job->kind = XCA_JOB_STATE;
  job->up = up;
  job->node = *xca_redis_address(w->redis);
  snprintf(job->why, sizeof(job->why), "%s", why != NULL ? why : "");
  pthread_mutex_lock(&w->lock);
  append_done(w, job);
  pthread_mutex_unlock(&w->lock);
}

static void *worker_main(void *arg)
{
  struct xca_admin_worker *w = arg;
  struct xca_job *job;

  pthread_mutex_lock(&w->lock);
  while ((job = next_job(w)) != NULL) {
    pthread_mutex_unlock(&w->lock);
    run_job(w, job);
    pthread_mutex_lock(&w->lock);
    if (atomic_load(&w->stop)) {
      w->running = 0;
      xca_job_free(job); /* gave up half-way: nobody will drain it */
      break;
    }
    finish(w, job);
    if (w->notify != NULL) {
      pthread_mutex_unlock(&w->lock);
      w->notify(w->notify_arg);
      pthread_mutex_lock(&w->lock);
    }
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

struct xca_admin_worker *xca_admin_worker_new(const struct xca_config *cfg, int queue_max,
                                              const struct xca_kv *kv)
{
  struct xca_admin_worker *w;

  if (cfg == NULL || queue_max < 1) {
    return NULL;
  }
  w = calloc(1, sizeof(*w));
  if (w == NULL) {
    return NULL;
  }
  w->cfg = cfg;
  w->queue_max = queue_max;
  /* Borrowed pointers only: the copy is never freed as a config. */
  w->conn_cfg = *cfg;
  if (w->conn_cfg.redis_timeout_ms < XCA_WORKER_TIMEOUT_MS) {
    w->conn_cfg.redis_timeout_ms = XCA_WORKER_TIMEOUT_MS;
  }
  if (kv != NULL) {
    w->inner = *kv;
  } else {
    w->redis = xca_redis_new(&w->conn_cfg, on_conn_state, w);
    if (w->redis == NULL) {
      free(w);
      return NULL;
    }
    w->inner = xca_redis_kv(w->redis);
  }
  w->reg.kv.ops = &guarded_ops;
  w->reg.kv.impl = w;
  w->reg.prefix = cfg->key_prefix;
  atomic_init(&w->stop, 0);
  atomic_init(&w->reconnect, 0);
  pthread_mutex_init(&w->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* the wait must not jump with the wall clock */
  pthread_cond_init(&w->wake, &attr);
  pthread_condattr_destroy(&attr);
  return w;
}

void xca_admin_worker_set_notify(struct xca_admin_worker *w, void (*fn)(void *arg), void *arg)
{
  w->notify = fn;
  w->notify_arg = arg;
}

int xca_admin_worker_start(struct xca_admin_worker *w)
{
  /* The broker's signals must reach the broker's thread. */
  static const int broker_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE,
                                       SIGALRM, SIGCHLD};
  sigset_t block;
  sigset_t old;
  int rc;

  if (w == NULL || w->started) {
    return XCA_OK;
  }
  sigemptyset(&block);
  for (size_t i = 0; i < sizeof(broker_signals) / sizeof(broker_signals[0]); i++) {
    sigaddset(&block, broker_signals[i]);
  }
  pthread_sigmask(SIG_BLOCK, &block, &old);
  rc = pthread_create(&w->thread, NULL, worker_main, w);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    return XCA_E_NOMEM;
  }
  w->started = 1;
  return XCA_OK;
}

/* Queue job, or return XCA_E_BUSY when the queue is full. */
static int enqueue(struct xca_admin_worker *w, struct xca_job *job)
{
  int rc = XCA_OK;

  pthread_mutex_lock(&w->lock);
  if (w->waiting >= w->queue_max) {
    rc = XCA_E_BUSY;
  } else {
    if (w->tail != NULL) {
      w->tail->next = job;
    } else {
      w->head = job;
    }
    w->tail = job;
    w->waiting++;
    pthread_cond_signal(&w->wake);
  }
  pthread_mutex_unlock(&w->lock);
  return rc;
}

static char *dup_bytes(const char *s, size_t len)
{
  char *copy = malloc(len + 1);

  if (copy != NULL) {
    if (len > 0) {
      memcpy(copy, s, len);
    }
    copy[len] = '\0';
  }
  return copy;
}

int xca_admin_worker_submit(struct xca_admin_worker *w, const char *payload, size_t len,
                            const char *admin, const struct xca_stats *stats, void *token,
                            void (*token_free)(void *token))
{
  struct xca_job *job = calloc(1, sizeof(*job));
  int rc;

  if (job == NULL) {
    return XCA_E_NOMEM;
  }
  job->kind = XCA_JOB_ADMIN;
  job->len = len;
  job->payload = dup_bytes(payload != NULL ? payload : "", payload != NULL ? len : 0);
  job->admin = admin != NULL ? strdup(admin) : NULL;
  if (job->payload == NULL || (admin != NULL && job->admin == NULL)) {
    xca_job_free(job);
    return XCA_E_NOMEM;
  }
  if (stats != NULL) {
    job->stats = *stats;
    job->has_stats = 1;
  }
  job->token = token;
  job->token_free = token_free;
  rc = enqueue(w, job);
  if (rc != XCA_OK) {
    job->token_free = NULL; /* not taken: still the caller's */
    xca_job_free(job);
  }
  return rc;
}

int xca_admin_worker_load_cas(struct xca_admin_worker *w, const struct xca_strlist *names,
                              const struct xca_policy *policy)
{
  struct xca_job *job = calloc(1, sizeof(*job));
  int rc = job != NULL ? XCA_OK : XCA_E_NOMEM;

  if (rc == XCA_OK) {
    job->kind = XCA_JOB_CA_LOAD;
    job->scan = names == NULL;
    job->policy = *policy;
  }
  for (int i = 0; rc == XCA_OK && names != NULL && i < names->count; i++) {
    rc = xca_strlist_add(&job->names, names->item[i]);
  }
  if (rc == XCA_OK) {
    rc = enqueue(w, job);
  }
  if (rc != XCA_OK) {
    xca_job_free(job);
  }
  return rc;
}

struct xca_job *xca_admin_worker_drain(struct xca_admin_worker *w)
{
  struct xca_job *list;

  pthread_mutex_lock(&w->lock);
  list = w->done_head;
  w->done_head = w->done_tail = NULL;
  w->done = 0;
  pthread_mutex_unlock(&w->lock);
  return list;
}

void xca_admin_worker_reconnect(struct xca_admin_worker *w)
{
  atomic_store(&w->reconnect, 1);
}

int xca_admin_worker_pending(struct xca_admin_worker *w)
{
  int n;

  pthread_mutex_lock(&w->lock);
  n = w->waiting + w->running + w->done;
  pthread_mutex_unlock(&w->lock);
  return n;
}

int xca_admin_worker_stop(struct xca_admin_worker *w)
{
  int dropped;

  if (w == NULL) {
    return 0;
  }
  pthread_mutex_lock(&w->lock);
  atomic_store(&w->stop, 1);
  dropped = w->waiting + w->running + w->done;
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->lock);
  if (w->started) {
    pthread_join(w->thread, NULL);
  }
  xca_jobs_free(w->head);
  xca_jobs_free(w->done_head);
  xca_redis_free(w->redis);
  pthread_cond_destroy(&w->wake);
  pthread_mutex_destroy(&w->lock);
  free(w);
  return dropped;
}
