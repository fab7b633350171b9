#include "prefetch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "clock.h"
#include "xca_err.h"

/* One request, and once read, its answer. */
struct job {
  char identity[XCA_IDENTITY_MAX];
  unsigned long gen;
  int rc; /* of xca_registry_get_identity */
  long long fetched_ms; /* when the read began (xca_now_ms) */
  struct xca_identity_rec rec;
  struct job *next;
};

enum mark_state { MARK_PENDING, MARK_APPLIED, MARK_CLAIMED };

/* The owner thread's record of one identity asked for. */
struct mark {
  char identity[XCA_IDENTITY_MAX];
  enum mark_state state;
  int invalidated; /* its cache entry was invalidated while the read was in flight */
  long long applied_ms;
  UT_hash_handle hh;
};

struct xca_prefetch {
  struct xca_registry reg;
  void (*release)(void *arg);
  void *release_arg;
  int queue_max;
  struct mark *marks; /* owner thread only */
  pthread_t thread;
  int started;
  pthread_mutex_t lock; /* guards everything below */
  pthread_cond_t wake;  /* a request was queued, or stop was asked */
  struct job *queue;    /* requests, oldest first */
  struct job **queue_tail;
  int queued;
  int reading;          /* a request is being read */
  struct job *done;     /* answers, any order */
  int stop;
};

/* ------------------------------------------------------------------------ */
/* The worker                                                                */
/* ------------------------------------------------------------------------ */

static struct job *pop_request(struct xca_prefetch *pf)
{
  struct job *j = pf->queue;

  pf->queue = j->next;
  if (pf->queue == NULL) {
    pf->queue_tail = &pf->queue;
  }
  pf->queued--;
  j->next = NULL;
  return j;
}

static void *worker_main(void *arg)
{
  struct xca_prefetch *pf = arg;

  pthread_mutex_lock(&pf->lock);
  for (;;) {
    while (!pf->stop && pf->queue == NULL) {
      pthread_cond_wait(&pf->wake, &pf->lock);
    }
    if (pf->stop) {
      break;
    }
    struct job *j = pop_request(pf);
    pf->reading = 1;
    pthread_mutex_unlock(&pf->lock);
    j->fetched_ms = xca_now_ms();
    j->rc = xca_registry_get_identity(&pf->reg, j->identity, &j->rec);
    pthread_mutex_lock(&pf->lock);
    pf->reading = 0;
    j->next = pf->done;
    pf->done = j;
  }
  pthread_mutex_unlock(&pf->lock);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Life cycle                                                                */
/* ------------------------------------------------------------------------ */

struct xca_prefetch *xca_prefetch_new(int queue_max, struct xca_registry reg,
                                      void (*release)(void *arg), void *release_arg)
{
  struct xca_prefetch *pf = queue_max >= 1 ? calloc(1, sizeof(*pf)) : NULL;

  if (pf == NULL) {
    if (release != NULL) {
      release(release_arg);
    }
    return NULL;
  }
  pf->reg = reg;
  pf->release = release;
  pf->release_arg = release_arg;
  pf->queue_max = queue_max;
  pf->queue_tail = &pf->queue;
  pthread_mutex_init(&pf->lock, NULL);
  pthread_cond_init(&pf->wake, NULL);
  return pf;
}

int xca_prefetch_start(struct xca_prefetch *pf)
{
  if (pthread_create(&pf->thread, NULL, worker_main, pf) != 0) {
    return XCA_E_NOMEM;
  }
  pf->started = 1;
  return XCA_OK;
}

static void free_jobs(struct job *j)
{
  while (j != NULL) {
    struct job *next = j->next;
    free(j);
    j = next;
  }
}

void xca_prefetch_free(struct xca_prefetch *pf)
{
  struct mark *m;
  struct mark *tmp;

  if (pf == NULL) {
    return;
  }
  if (pf->started) {
    pthread_mutex_lock(&pf->lock);
    pf->stop = 1;
    pthread_cond_signal(&pf->wake);
    pthread_mutex_unlock(&pf->lock);
    pthread_join(pf->thread, NULL);
  }
  free_jobs(pf->queue);
  free_jobs(pf->done);
  HASH_ITER(hh, pf->marks, m, tmp) {
    HASH_DEL(pf->marks, m);
    free(m);
  }
  if (pf->release != NULL) {
    pf->release(pf->release_arg);
  }
  pthread_cond_destroy(&pf->wake);
  pthread_mutex_destroy(&pf->lock);
  free(pf);
}

/* ------------------------------------------------------------------------ */
/* The owner thread                                                          */
/* ------------------------------------------------------------------------ */

static struct mark *find_mark(struct xca_prefetch *pf, const char *identity)
{
  struct mark *m = NULL;
  HASH_FIND_STR(pf->marks, identity, m);
  return m;
}

static void drop_mark(struct xca_prefetch *pf, struct mark *m)
{
  HASH_DEL(pf->marks, m);
  free(m);
}

/* Queue j; 0 when the queue is full (j untouched). */
static int enqueue(struct xca_prefetch *pf, struct job *j)
{
  int ok;

  pthread_mutex_lock(&pf->lock);
  ok = pf->queued < pf->queue_max;
  if (ok) {
    *pf->queue_tail = j;
    pf->queue_tail = &j->next;
    pf->queued++;
    pthread_cond_signal(&pf->wake);
  }
  pthread_mutex_unlock(&pf->lock);
  return ok;
}

int xca_prefetch_request(struct xca_prefetch *pf, const char *identity, unsigned long gen)
{
  size_t len = strlen(identity);
  struct mark *m;
  struct job *j;

  m = find_mark(pf, identity);
  if (m != NULL && m->state != MARK_APPLIED) {
    return XCA_E_EXISTS;
  }
  if (m != NULL) {
    drop_mark(pf, m); /* a new handshake: the earlier answer is the cache's business now */
  }
  if (len >= XCA_IDENTITY_MAX ||
      HASH_COUNT(pf->marks) >= (unsigned)pf->queue_max * XCA_PREFETCH_MARKS_SHARE) {
    return XCA_E_TOO_LARGE;
  }
  m = calloc(1, sizeof(*m));
  j = calloc(1, sizeof(*j));
  if (m == NULL || j == NULL) {
    free(m);
    free(j);
    return XCA_E_TOO_LARGE;
  }
  memcpy(j->identity, identity, len + 1);
  j->gen = gen;
  if (!enqueue(pf, j)) {
    free(m);
    free(j);
    return XCA_E_TOO_LARGE;
  }
  memcpy(m->identity, identity, len + 1);
  m->state = MARK_PENDING;
  HASH_ADD_STR(pf->marks, identity, m);
  return XCA_OK;
}

/* Take every answer read so far. */
static struct job *take_done(struct xca_prefetch *pf)
{
  struct job *done;

  pthread_mutex_lock(&pf->lock);
  done = pf->done;
  pf->done = NULL;
  pthread_mutex_unlock(&pf->lock);
  return done;
}

/* Put one answer into cache if it may still be trusted; returns which
 * counter of out it belongs to (0 applied, 1 discarded, 2 skipped). */
static int apply_one(struct xca_cache *cache, const struct job *j, const struct mark *m,
                     unsigned long gen_now, int live)
{
  /* An older generation, or its identity invalidated, means a change came
   * after the request: the answer may have been read before it. */
  if (j->gen != gen_now || (m != NULL && m->invalidated) || !live ||
      (j->rc != XCA_OK && j->rc != XCA_E_NOT_FOUND)) {
    return 1;
  }
  if (xca_cache_has(cache, j->identity)) {
    return 2;
  }
  /* Fetched when the read began, as lookup.c dates its own reads. */
  return xca_cache_put(cache, j->identity, j->rc == XCA_OK, &j->rec, j->fetched_ms) == XCA_OK ? 0
                                                                                             : 1;
}

void xca_prefetch_apply(struct xca_prefetch *pf, struct xca_cache *cache, unsigned long gen_now,
                        int live, long long now_ms, struct xca_prefetch_applied *out)
{
  struct xca_prefetch_applied counts = {0};
  struct job *done = take_done(pf);

  for (struct job *j = done; j != NULL; j = j->next) {
    struct mark *m = find_mark(pf, j->identity);
    int what = apply_one(cache, j, m, gen_now, live);

    counts.applied += what == 0;
    counts.discarded += what == 1;
    counts.skipped += what == 2;
    if (m != NULL && what == 0 && m->state == MARK_PENDING) {
      m->state = MARK_APPLIED;
      m->applied_ms = now_ms;
    } else if (m != NULL) {
      drop_mark(pf, m);
    }
  }
  free_jobs(done);
  if (out != NULL) {
    *out = counts;
  }
}

enum xca_prefetch_claim xca_prefetch_claim(struct xca_prefetch *pf, struct xca_cache *cache,
                                           const char *identity)
{
  struct mark *m = find_mark(pf, identity);
  int cached;

  if (m == NULL || m->state == MARK_CLAIMED) {
    return XCA_PREFETCH_NONE;
  }
  if (m->state == MARK_PENDING) {
    m->state = MARK_CLAIMED; /* its answer is dropped from the marks when it comes */
    return XCA_PREFETCH_LATE;
  }
  /* Applied, but an invalidation may have evicted it since. */
  cached = xca_cache_has(cache, identity);
  drop_mark(pf, m);
  return cached ? XCA_PREFETCH_HIT : XCA_PREFETCH_NONE;
}

void xca_prefetch_invalidate(struct xca_prefetch *pf, const char *identity)
{
  struct mark *m = find_mark(pf, identity);

  if (m != NULL && m->state != MARK_APPLIED) {
    m->invalidated = 1;
  }
}

void xca_prefetch_expire(struct xca_prefetch *pf, long long before_ms)
{
  struct mark *m;
  struct mark *tmp;

  HASH_ITER(hh, pf->marks, m, tmp) {
    if (m->state == MARK_APPLIED && m->applied_ms < before_ms) {
      drop_mark(pf, m);
    }
  }
}

int xca_prefetch_in_flight(struct xca_prefetch *pf)
{
  int n;

  pthread_mutex_lock(&pf->lock);
  n = pf->queued + pf->reading;
  pthread_mutex_unlock(&pf->lock);
  return n;
}
