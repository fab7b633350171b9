/* audit.h - the audit stream "<prefix>audit" in Redis (README "Audit
 * stream and stats").
 *
 * The broker's thread turns each event (a connect accepted or refused, a
 * session dropped, an enrollment, an admin command) into an entry and
 * pushes it onto a bounded queue: that never blocks and never talks to
 * Redis, so appending never delays a connect. A writer thread with its own
 * Redis connection appends the entries, oldest first, with
 *   XADD <prefix>audit MAXLEN ~ <audit_stream_max> * field value ...
 * a batch at a time (pipelined): it waits up to XCA_AUDIT_LINGER_MS after
 * the first entry for more to come, so an entry reaches Redis about that
 * much later than it was queued. While Redis cannot be written the entries
 * wait in the queue and the writer retries every retry interval,
 * reconnecting by itself; an entry that finds the queue full is dropped
 * and counted (xca_audit_dropped). An entry leaves the queue only once
 * Redis acknowledged it.
 *
 * Every value is stored as it would be logged: control characters, DEL and
 * non-ASCII bytes become '?', and it is cut at XCA_AUDIT_VALUE_MAX bytes.
 */
#ifndef XCA_AUDIT_H
#define XCA_AUDIT_H

#include <stddef.h>

#include "config.h"

#define XCA_AUDIT_FIELDS_MAX 13   /* fields of one entry at most */
#define XCA_AUDIT_VALUE_MAX 2048  /* bytes of one value at most */
#define XCA_AUDIT_BATCH 64        /* entries the writer sends in one round trip */
#define XCA_AUDIT_LINGER_MS 20    /* longest the writer waits for a batch to fill */
#define XCA_AUDIT_STREAM "audit"  /* the stream's key, after the prefix */

/* What happened. A NULL member is left out of the entry; the entry's
 * fields come in this order, after "event" and "broker". */
struct xca_audit_event {
  const char *event;     /* "accepted", "refused", "dropped", "enrolled", "admin" */
  const char *client_id; /* "clientId": the MQTT client id */
  const char *identity;  /* "identity": deviceId or deviceId/moduleId */
  const char *code;      /* "code": the refusal's slug (refused/<code> in the stats) */
  const char *reason;    /* "reason": the text of the broker's log line */
  const char *chain;     /* "chain": SHA-256 thumbprints, leaf first, comma-separated */
  const char *group;     /* "group": the enrollment group */
  const char *admin;     /* "admin": the admin user */
  const char *command;   /* "command": the admin command */
  const char *target;    /* "target": what the command acted on ("ca:n", "device:d") */
  const char *detail;    /* "detail": masked extras of the audit line ("verificationCode=*****") */
  const char *result;    /* "result": "ok" or "error (<reason>)" */
};

/* One stream entry: count field/value pairs, in one allocation. */
struct xca_audit_entry {
  int count;
  const char *name[XCA_AUDIT_FIELDS_MAX];  /* static field names */
  const char *value[XCA_AUDIT_FIELDS_MAX]; /* inside the entry's own storage */
  size_t len[XCA_AUDIT_FIELDS_MAX];
  char text[];                             /* the values, NUL-terminated */
};

/* Build the entry of ev for broker ("event", "broker", then the non-NULL
 * members of ev). Returns it (free with xca_audit_entry_free) or NULL when
 * ev->event or broker is NULL or memory is short. */
struct xca_audit_entry *xca_audit_entry_new(const struct xca_audit_event *ev, const char *broker);

/* The value of field name in e (borrowed), or NULL. */
const char *xca_audit_entry_get(const struct xca_audit_entry *e, const char *name);

/* Free an entry. NULL-safe. */
void xca_audit_entry_free(struct xca_audit_entry *e);

/* Where the writer puts entries. write() appends entries[0..n) in order
 * and returns how many of the first ones were stored; fewer than n means
 * it failed (the writer waits the retry interval and tries the rest
 * again). free() releases arg. Both run on the writer thread only (free
 * after it ended). */
struct xca_audit_sink {
  int (*write)(void *arg, struct xca_audit_entry *const *entries, int n);
  void (*free)(void *arg);
  void *arg;
};

/* The Redis sink for cfg (cfg must outlive it): its own connection (made
 * with xca_redis_open, 1 s timeout), XADD to "<key_prefix>audit" with
 * MAXLEN ~ audit_stream_max. Returns XCA_OK with *out filled, or
 * XCA_E_NOMEM. */
int xca_audit_redis_sink(const struct xca_config *cfg, struct xca_audit_sink *out);

struct xca_audit;

/* A queue of at most capacity (>= 1) entries for broker (copied), drained
 * into sink (taken over: freed with the queue, also on failure) once
 * xca_audit_start ran; after a failed write the writer waits retry_ms.
 * Returns NULL on failure. */
struct xca_audit *xca_audit_new(const char *broker, int capacity, int retry_ms,
                                struct xca_audit_sink sink);

/* Start the writer thread. Returns XCA_OK or XCA_E_NOMEM. */
int xca_audit_start(struct xca_audit *a);

/* Queue entry e (taken over). When the queue is full e is freed and
 * counted as dropped. Returns XCA_OK or XCA_E_TOO_LARGE (dropped).
 * a NULL (the stream is off) frees e and returns XCA_OK. */
int xca_audit_push(struct xca_audit *a, struct xca_audit_entry *e);

/* Build the entry of ev and queue it. Returns XCA_OK, XCA_E_TOO_LARGE
 * (dropped: queue full) or XCA_E_NOMEM (dropped too). a NULL: XCA_OK. */
int xca_audit_append(struct xca_audit *a, const struct xca_audit_event *ev);

/* The events, each a shorthand for xca_audit_append. err is the refusal's
 * error code (its slug becomes "code"); reason the text the broker logged;
 * chain the verified chain's thumbprints. */
int xca_audit_accepted(struct xca_audit *a, const char *client_id, const char *identity,
                       const char *chain);
int xca_audit_refused(struct xca_audit *a, const char *client_id, const char *identity, int err,
                      const char *reason);
int xca_audit_dropped(struct xca_audit *a, const char *client_id, const char *identity, int err,
                      const char *reason);
/* An enrollment group (group) created identity on its first connect. */
int xca_audit_enrolled(struct xca_audit *a, const char *client_id, const char *identity,
                       const char *group, const char *chain);
/* An admin command, as its audit line says (detail may be NULL). */
int xca_audit_admin(struct xca_audit *a, const char *client_id, const char *admin,
                    const char *command, const char *target, const char *detail,
                    const char *result);

/* Entries dropped so far (queue full, out of memory, or left unwritten at
 * stop). a NULL: 0. Any thread. */
unsigned long long xca_audit_dropped_count(struct xca_audit *a);

/* Entries waiting in the queue. a NULL: 0. Any thread. */
int xca_audit_queued(struct xca_audit *a);

/* 1 until a write fails and again once one succeeds, else 0. a NULL: 0. */
int xca_audit_writing(struct xca_audit *a);

/* Stop the writer: it keeps writing what is queued for at most flush_ms
 * (and gives up at the first failure), then ends and is joined. Frees
 * everything. Returns the number of entries left unwritten. NULL-safe. */
unsigned long long xca_audit_stop(struct xca_audit *a, int flush_ms);

#endif
