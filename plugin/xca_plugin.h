/* xca_plugin.h - the plugin's one state and the glue between its files.
 *
 * plugin.c     init/cleanup, options, callback registration
 * tls_hook.c   owns client-certificate verification on TLS server listeners
 * client.c     BASIC_AUTH, ACL_CHECK, DISCONNECT: the connect decision and topics
 * tick.c       applies registry changes, re-checks live sessions, kicks
 * cas.c        the verified-CA set: loads it from Redis (on the CA loader's
 *              thread), reloads one CA
 * control.c    $CONTROL/x509ca/v1 admin commands (run on the admin worker's
 *              thread, answered from TICK)
 * groups.c     enrollment groups: held in memory, following the registry;
 *              the enrollment step of BASIC_AUTH
 * revoked.c    revoked thumbprints and CRLs: held in memory, following the
 *              registry; expired CRLs reported
 * observe.c    counters ($SYS, getStats) and the audit stream
 * prefetch.c   registry entries read ahead, from the handshake to CONNECT
 * Every callback runs on the broker's main thread, and so does every
 * Mosquitto function the plugin calls. The helper threads (the watcher,
 * the audit writer, the prefetcher, the admin worker and the CA loader)
 * hand their results over through locked queues that TICK drains.
 */
#ifndef XCA_PLUGIN_H
#define XCA_PLUGIN_H

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include "admin.h"
#include "admin_worker.h"
#include "audit.h"
#include "auth.h"
#include "cache.h"
#include "chaincache.h"
#include "clock.h"
#include "config.h"
#include "enroll.h"
#include "lookup.h"
#include "prefetch.h"
#include "registry.h"
#include "registry_redis.h"
#include "revocation.h"
#include "sessions.h"
#include "stats.h"
#include "trust.h"
#include "watcher.h"

#define XCA_LOG_PREFIX "x509ca: "
#define XCA_CONTROL_TOPIC "$CONTROL/x509ca/v1"
#define XCA_CONTROL_RESPONSE_TOPIC "$CONTROL/x509ca/v1/response"

struct xca_plugin {
  mosquitto_plugin_id_t *id;
  struct xca_config cfg;
  struct xca_redis *redis;
  struct xca_registry registry;
  struct xca_cache *cache;
  struct xca_trust *trust;
  struct xca_chaincache *chaincache; /* verified chains and paths (tls_hook.c) */
  struct xca_watcher *watcher;
  struct xca_sessions *sessions;
  int cas_loaded;            /* the CA set has been read from Redis */
  struct xca_lookup lookup;  /* identity lookups: cache, Redis, outage policy */
  struct xca_groups *groups; /* enrollment groups, by the SHA-256 of their CA */
  struct xca_enroller enroller; /* enrollment through groups, and its last outcome */
  /* Revoked thumbprints and CRLs (also xca_trust_revocation(trust)): every
   * chain verified is checked against it; its generation keys verdicts. */
  struct xca_revocation *revocation;
  long long crl_check_due_ms; /* next look for expired CRLs */
  long long loaded_ms;       /* when the plugin was initialised */
  unsigned long ticks;       /* TICK events seen: none means changes are never applied */
  int warned_no_tick;
  struct xca_stats stats;    /* $SYS/broker/x509ca/... and getStats */
  struct xca_audit *audit;   /* the audit stream's queue; NULL when it is off */
  long long stats_due_ms;    /* next $SYS publication */
  int audit_down_reported;   /* the audit writer's failure has been logged */
  struct xca_admin_worker *admin_worker; /* runs admin requests off this thread */
  struct xca_admin_worker *ca_loader;    /* reads whole CA sets off this thread */
  int ca_loads;              /* CA loads queued and not yet applied */
  int ca_reload_wanted;      /* a load could not be queued: queue one when none is in flight */
  long long ca_retry_ms;     /* after a failed load, no new one before this */
  struct xca_strlist ca_changed; /* CA names changed while a load was in flight */
  struct xca_prefetch *prefetch; /* NULL when prefetch is off */
  unsigned long prefetch_gen;    /* bumped by every identity invalidation (prefetch.c) */
};

extern struct xca_plugin xca_g;

/* plugin.c */
/* Log a change of a worker's own Redis connection (an XCA_JOB_STATE of
 * xca_admin_worker_drain): "<who>: lost Redis at ..." as the broker
 * thread's own "lost Redis at ..." line, prefixed. */
void xca_log_worker_state(const char *who, const struct xca_job *state);

/* tls_hook.c */
int xca_tls_hook_install(void);
void xca_tls_hook_remove(void);
/* How up to date xca_tls_facts must make the facts it returns. */
enum xca_facts_mode {
  XCA_FACTS_CURRENT,    /* verified again when the CA set or the second changed since */
  XCA_FACTS_REVERIFY,   /* verified again now */
  XCA_FACTS_AS_CHECKED  /* as last checked: no verification */
};
/* The facts the handshake attached to leaf, brought up to date as mode
 * says. NULL when the handshake attached none (deny). Borrowed. */
const struct xca_cert_facts *xca_tls_facts(X509 *leaf, enum xca_facts_mode mode);

/* prefetch.c */
int xca_prefetch_begin(void); /* in init: XCA_OK (also when off) or XCA_E_NOMEM */
void xca_prefetch_end(void);  /* in cleanup, with the other threads */
/* Every cached identity was invalidated (resync, change feed lost, an
 * enrollment) / identity's was (its key changed): no answer asked for
 * before may be cached now. */
void xca_prefetch_invalidate_all(void);
void xca_prefetch_invalidate_identity(const char *identity);
/* A handshake established facts: read the CN's entry ahead (never blocks). */
void xca_prefetch_handshake(const struct xca_cert_facts *facts);
/* Move the answers read so far into the cache (TICK, and before CONNECT). */
void xca_prefetch_drain(void);
/* BASIC_AUTH, before its lookup: drain, and count whether the prefetch of
 * facts' CN made it (prefetch/hits) or not yet (prefetch/late). */
void xca_prefetch_connect(const struct xca_cert_facts *facts);

/* client.c */
int xca_basic_auth_cb(int event, void *event_data, void *userdata);
int xca_acl_check_cb(int event, void *event_data, void *userdata);
int xca_disconnect_cb(int event, void *event_data, void *userdata);
/* The open session of client_id held by token ends (its facts are kept to
 * judge its will); with refused set its will is refused too. */
void xca_end_session(const char *client_id, const void *token, int refused);

/* tick.c */
int xca_tick_cb(int event, void *event_data, void *userdata);
/* A registry key (without the prefix, e.g. "device:d", "ca:n") changed:
 * invalidate and re-check what depends on it. Safe to call from any
 * callback on the main thread (admin commands call it so that their own
 * broker reacts even before Redis notifies it). */
void xca_key_changed(const char *key);

/* cas.c */
/* Load the CA name from Redis into the trust set (one read, on this
 * thread), or drop it when it is gone, not verified or not trustable; when
 * Redis cannot answer, stop trusting it and mark the set not loaded.
 * Returns 1 if the set held name before (it was dropped or replaced), else 0. */
int xca_cas_reload(const char *name);
/* Rebuild the trust set from every CA in Redis, on this thread: for
 * start-up only, before any listener is open. Returns XCA_OK, or
 * XCA_E_REGISTRY_UNAVAILABLE with the set not loaded (a TICK tries again). */
int xca_cas_load_all(void);
/* Have the CA loader read every CA (names NULL) or those of names (the
 * watcher's thread listed them at a resync); TICK swaps the set in when it
 * is read (xca_cas_tick). Until then the current set stays in force. */
void xca_cas_request_load(const struct xca_strlist *names);
/* On every TICK: while the set is not loaded (an outage), ask for a load
 * when none is in flight, Redis answers and the retry interval has passed. */
void xca_cas_load_if_needed(void);
/* On every TICK: apply the loads that finished. */
void xca_cas_tick(void);

/* control.c */
int xca_control_cb(int event, void *event_data, void *userdata);
/* On every TICK: publish the replies the admin worker finished, with
 * their audit lines, and react to the keys they changed. */
void xca_control_tick(void);

/* groups.c */
/* Load every enrollment group from Redis (start-up). Returns XCA_OK or
 * XCA_E_REGISTRY_UNAVAILABLE (the watcher's resync loads them later). */
int xca_groups_load_all(void);
/* Replace the groups with these names (a resync's group_names: the
 * watcher's thread scanned the keyspace), each as stored now. */
void xca_groups_load_named(const struct xca_strlist *names);
/* The key of the group name changed: reload that group (or drop it). */
void xca_group_changed(const char *name);
/* The BASIC_AUTH decision: xca_auth_decide with enrollment through the
 * groups (README "Enrollment groups"); logs and observes
 * (xca_observe_enrolled) each identity it creates. After an
 * XCA_E_GROUP_DISABLED, xca_enroll_describe(&xca_g.enroller, ...) names
 * the group. */
int xca_groups_decide(const struct xca_cert_facts *facts, const char *client_id,
                      const char *username, struct xca_ident *ident);

/* revoked.c */
/* Make the revocation set ask the registry for reasons and apply
 * crl_expired (init, once the state exists). */
void xca_revoked_setup(void);
/* Load every revoked thumbprint and CRL from Redis (after the CAs loaded).
 * Returns XCA_OK, or XCA_E_REGISTRY_UNAVAILABLE with the CA set dropped
 * and marked not loaded (fail closed: it is loaded again, with the
 * revocations, on a later TICK or at the watcher's resync). */
int xca_revoked_load_all(void);
/* Replace the revoked thumbprints with these key names and the CRLs with
 * those of these issuers (a resync: the watcher's thread scanned the
 * keyspace; thumbprints need no read, CRLs one each). */
void xca_revoked_load_named(const struct xca_strlist *revoked, const struct xca_strlist *crls);
/* The key revoked:<name> / crl:<name> changed: update that one entry and
 * mark the sessions whose chain holds that certificate. */
void xca_revoked_changed(const char *name);
void xca_crl_changed(const char *name);
/* On every TICK: once a second, report CRLs past their nextUpdate (one log
 * line each) and, under crl_expired refuse, mark their sessions. */
void xca_revoked_tick(void);

/* observe.c: each call counts the event and, when the stream is on,
 * queues its audit entry (never waits for Redis). line is the text the
 * broker logged for it (without the log prefix). */
int xca_observe_start(void); /* in init, once the state exists: XCA_OK or XCA_E_NOMEM */
void xca_observe_stop(void); /* in cleanup: stop the writer (flushing for up to 1 s) */
/* An accepted connect; its audit entry names the verified chain's
 * thumbprints (facts->chain), or for a selfSigned identity its leaf's. */
void xca_observe_accepted(const char *client_id, const struct xca_ident *ident,
                          const struct xca_cert_facts *facts);
void xca_observe_refused(const char *client_id, int err, const char *line);
void xca_observe_dropped(const char *client_id, int err, const char *line);
/* An enrollment group (group) created identity for the client whose
 * certificate facts are facts (the chain it enrolled through); call it
 * after creating the entry, before the connect is decided. */
void xca_observe_enrolled(const char *client_id, const char *identity, const char *group,
                          const struct xca_cert_facts *facts);
void xca_observe_admin(const char *client_id, const struct xca_admin_audit *rec);
/* The counters, gauges brought up to date. Borrowed. */
const struct xca_stats *xca_observe_stats(void);
/* On every TICK: publish $SYS when due, report the audit writer's state. */
void xca_observe_tick(void);

#endif
