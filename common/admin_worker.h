/* admin_worker.h - a thread that does the broker's slow registry work:
 * admin commands and CA-set loads (README "Admin topics", "Several
 * brokers, one Redis").
 *
 * The broker has one thread, and every connect waits while it talks to
 * Redis: an admin command that scans a keyspace of a million identities
 * (listDevices, deleteDevice of a device with modules) or a reload of every
 * CA would stall connects for as long. A worker takes that work off it: the
 * broker's thread queues a job (never waiting on Redis), the worker runs
 * the jobs one at a time, oldest first, on its own Redis connection, and
 * puts each finished job on a second queue that the broker's thread drains
 * (on every TICK) to publish replies and apply what changed. One worker
 * runs one job at a time, so jobs finish in the order they were queued.
 *
 * Two kinds of job:
 *   admin    a request payload, run with xca_admin_handle; the result holds
 *            the reply, the audit lines and the changed keys.
 *   CA load  every CA record of the registry (or those of a list of names)
 *            read and parsed: the verified ones that keep the certificate
 *            policy as owned X509 references, the others with the reason
 *            they cannot be trusted. The broker's thread only swaps them
 *            into its trust set.
 *
 * The worker's connection is made as every connection of the plugin is
 * (xca_redis_open_at through registry_redis.c's client: AUTH, the
 * database, Sentinel when configured), with a breaker, and a timeout of
 * XCA_WORKER_TIMEOUT_MS per call (or redis_timeout_ms when that is
 * longer): no connect waits on it. No Mosquitto dependency; nothing here
 * logs.
 */
#ifndef XCA_ADMIN_WORKER_H
#define XCA_ADMIN_WORKER_H

#include <stddef.h>

#include <openssl/x509.h>

#include "admin.h"
#include "config.h"
#include "policy.h"
#include "registry.h"
#include "stats.h"
#include "strlist.h"
#include "trust.h"

#define XCA_WORKER_TIMEOUT_MS 1000 /* bound of one Redis call of the worker, at least */

enum xca_job_kind {
  XCA_JOB_ADMIN,   /* an admin request */
  XCA_JOB_CA_LOAD, /* read and parse CA records */
  XCA_JOB_STATE    /* not queued: the worker's own connection was lost or made
                      (up, node, why), to be logged by the drainer */
};

/* One CA a load read that is verified: cert is set when it may be
 * trusted; otherwise err says why not (XCA_E_BAD_PEM: the certificate is
 * unusable; a policy error, with detail). */
struct xca_ca_loaded {
  char name[XCA_CA_NAME_MAX + 1];
  X509 *cert;                         /* owned; NULL when not trustable */
  int err;                            /* XCA_OK when cert is set */
  char detail[XCA_POLICY_DETAIL_MAX]; /* the policy error's detail, or "" */
};

/* What a CA load produced. */
struct xca_ca_load {
  struct xca_ca_loaded *cas; /* the verified CAs, in the order read */
  int count;
};

/* A job: what the caller queued and, once drained, what the worker made
 * of it. Released with xca_job_free. */
struct xca_job {
  enum xca_job_kind kind;
  int rc; /* done: admin: what xca_admin_handle returned; CA load: XCA_OK, or
             XCA_E_REGISTRY_UNAVAILABLE / XCA_E_NOMEM (nothing usable read) */
  /* admin */
  char *payload;      /* the request (len bytes, NUL-terminated copy) */
  size_t len;
  char *admin;        /* the admin user (NULL: "-" in audit lines) */
  struct xca_stats stats; /* the counters when it was queued: what getStats answers */
  int has_stats;          /* stats was given */
  struct xca_admin_result res; /* done, rc XCA_OK: the reply, audit lines, changed keys */
  void *token;                 /* the caller's: e.g. where to send the reply */
  void (*token_free)(void *token); /* releases token with the job (NULL: not released) */
  /* CA load */
  int scan;                  /* 1: every CA name of the registry; 0: names */
  struct xca_strlist names;  /* the CA names to read when not scan (invalid ones skipped) */
  struct xca_policy policy;  /* what a trusted CA must keep */
  struct xca_ca_load load;   /* done, rc XCA_OK: what was read */
  /* state */
  int up;                    /* 1: connected; 0: lost (or a connect failed) */
  struct xca_hostport node;  /* the node connected to, or last tried */
  char why[160];             /* a short reason without secrets */
  struct xca_job *next;
};

/* Release a job, everything it holds (X509 references of a load included)
 * and its token (token_free). NULL-safe. */
void xca_job_free(struct xca_job *job);

/* Release a list of jobs linked by next. NULL-safe. */
void xca_jobs_free(struct xca_job *list);

/* Read every CA of reg (scan, over the keys "ca:<name>" with a valid name)
 * or those of names (scan 0), each with xca_registry_get_ca, and parse the
 * verified ones under policy into *out (release with xca_ca_load_free). A
 * CA not found or not verified is left out. The worker's CA loads run this;
 * so may the broker's thread where nothing can wait on it (start-up).
 * Returns XCA_OK, or XCA_E_REGISTRY_UNAVAILABLE / XCA_E_NOMEM with *out
 * empty. */
int xca_ca_load_read(const struct xca_registry *reg, int scan, const struct xca_strlist *names,
                     const struct xca_policy *policy, struct xca_ca_load *out);

/* Release every reference of load and zero it. NULL-safe. */
void xca_ca_load_free(struct xca_ca_load *load);

struct xca_admin_worker;

/* A worker for cfg (borrowed: it must outlive the worker), holding at most
 * queue_max (>= 1) jobs waiting (the one it runs not counted). kv NULL:
 * the worker makes its own Redis client for cfg (connected on first use,
 * on the worker's thread); else it uses *kv (copied; its implementation
 * must outlive the worker and be used by no other thread meanwhile: tests
 * pass a fake). Nothing runs before xca_admin_worker_start. Returns NULL on
 * failure. */
struct xca_admin_worker *xca_admin_worker_new(const struct xca_config *cfg, int queue_max,
                                              const struct xca_kv *kv);

/* Have fn(arg) called on the worker's thread each time a job finished (it
 * is then ready to be drained), and again every 10 ms while the worker
 * idles with finished jobs not drained (a wake-up may come just before the
 * drainer starts waiting, and be lost): e.g. to wake the thread that
 * drains. Before xca_admin_worker_start only. */
void xca_admin_worker_set_notify(struct xca_admin_worker *w, void (*fn)(void *arg), void *arg);

/* Start the thread (with the broker's signals blocked on it). Returns
 * XCA_OK or XCA_E_NOMEM. */
int xca_admin_worker_start(struct xca_admin_worker *w);

/* Queue an admin request: a copy of payload (len bytes) and admin, a copy
 * of *stats (NULL: getStats fails), and token, taken over on success (then
 * released by xca_job_free). Returns XCA_OK, XCA_E_BUSY when queue_max
 * jobs are already waiting, or XCA_E_NOMEM; on error token stays the
 * caller's. Never waits on Redis. */
int xca_admin_worker_submit(struct xca_admin_worker *w, const char *payload, size_t len,
                            const char *admin, const struct xca_stats *stats, void *token,
                            void (*token_free)(void *token));

/* Queue a CA load of every CA (names NULL) or of names (copied), under
 * policy. Returns XCA_OK, XCA_E_BUSY or XCA_E_NOMEM. */
int xca_admin_worker_load_cas(struct xca_admin_worker *w, const struct xca_strlist *names,
                              const struct xca_policy *policy);

/* Take every finished job, oldest first, with the state changes of the
 * worker's own connection (XCA_JOB_STATE, reported once per loss as the
 * broker thread's client reports its own) in the order they happened (the
 * caller frees them with xca_jobs_free). NULL when none finished. */
struct xca_job *xca_admin_worker_drain(struct xca_admin_worker *w);

/* Make the next job reconnect first (its own client only: kv NULL), e.g.
 * after a resync, when the primary may have moved. Any thread. */
void xca_admin_worker_reconnect(struct xca_admin_worker *w);

/* Jobs queued and not yet drained: waiting, running or finished. */
int xca_admin_worker_pending(struct xca_admin_worker *w);

/* Stop the worker and free everything: jobs that have not started are
 * dropped, the one running gives up (from then on every registry call it
 * makes fails at once, so it ends within one Redis call's timeout) and is
 * dropped too, finished ones not drained are freed. Returns the number of
 * jobs dropped or not drained. NULL-safe. */
int xca_admin_worker_stop(struct xca_admin_worker *w);

#endif
