/* observe.c - what the broker tells about its decisions: the counters
 * ($SYS/broker/x509ca/... every stats_interval seconds, and getStats) and
 * the audit stream (README "Audit stream and stats"). Every function runs
 * on the broker's main thread; appending to the stream only queues.
 */
#include <stdio.h>
#include <string.h>

#include "xca_err.h"
#include "xca_plugin.h"

#define SYS_PREFIX "$SYS/broker/x509ca/"
#define AUDIT_FLUSH_MS 1000 /* at unload, the writer gets this long to empty its queue */

static void log_settings(void)
{
  char audit[400] = "audit stream off";
  char stats[64] = "stats off";

  if (xca_g.audit != NULL) {
    snprintf(audit, sizeof(audit), "audit stream %s%s (MAXLEN ~ %d, queue of %d)",
             xca_g.cfg.key_prefix, XCA_AUDIT_STREAM, xca_g.cfg.audit_stream_max,
             xca_g.cfg.audit_queue_max);
  }
  if (xca_g.cfg.stats_interval > 0) {
    snprintf(stats, sizeof(stats), "stats every %d s", xca_g.cfg.stats_interval);
  }
  mosquitto_log_printf(MOSQ_LOG_NOTICE, XCA_LOG_PREFIX "broker id '%s'; %s; %s",
                       xca_g.cfg.broker_id, audit, stats);
}

int xca_observe_start(void)
{
  struct xca_audit_sink sink;

  xca_stats_init(&xca_g.stats);
  xca_redis_set_stats(xca_g.redis, &xca_g.stats);
  xca_g.lookup.stats = &xca_g.stats;
  if (xca_g.cfg.audit_stream_max > 0) {
    if (xca_audit_redis_sink(&xca_g.cfg, &sink) != XCA_OK) {
      return XCA_E_NOMEM;
    }
    xca_g.audit = xca_audit_new(xca_g.cfg.broker_id, xca_g.cfg.audit_queue_max,
                                xca_g.cfg.redis_retry_ms, sink);
    if (xca_g.audit == NULL || xca_audit_start(xca_g.audit) != XCA_OK) {
      return XCA_E_NOMEM;
    }
  }
  log_settings();
  return XCA_OK;
}

void xca_observe_stop(void)
{
  unsigned long long lost;

  if (xca_g.audit == NULL) {
    return;
  }
  lost = xca_audit_stop(xca_g.audit, AUDIT_FLUSH_MS);
  xca_g.audit = NULL;
  if (lost > 0) {
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                         "audit stream: %llu entries could not be written before unloading", lost);
  }
}

/* The identity the client id names, or NULL when it names none. */
static const char *identity_of(const char *client_id, struct xca_ident *buf)
{
  return xca_ident_parse(client_id, buf) == XCA_OK ? buf->full : NULL;
}

/* The thumbprints of facts' verified chain into buf, or NULL when the chain
 * did not verify. */
static const char *chain_text(const struct xca_cert_facts *facts, char buf[XCA_CHAIN_TEXT_MAX])
{
  if (!facts->chain_ok) {
    return NULL;
  }
  xca_chain_thumbprints(&facts->chain, buf, XCA_CHAIN_TEXT_MAX);
  return buf;
}

void xca_observe_accepted(const char *client_id, const struct xca_ident *ident,
                          const struct xca_cert_facts *facts)
{
  char buf[XCA_CHAIN_TEXT_MAX];
  const char *chain;

  xca_stats_accepted(&xca_g.stats);
  if (xca_g.audit == NULL) {
    return;
  }
  chain = chain_text(facts, buf);
  /* A selfSigned identity is proven by its leaf alone. */
  xca_audit_accepted(xca_g.audit, client_id, ident->full, chain ? chain : facts->sha256);
}

void xca_observe_refused(const char *client_id, int err, const char *line)
{
  struct xca_ident id;

  xca_stats_refused(&xca_g.stats, err);
  if (xca_g.audit != NULL) {
    xca_audit_refused(xca_g.audit, client_id, identity_of(client_id, &id), err, line);
  }
}

void xca_observe_dropped(const char *client_id, int err, const char *line)
{
  struct xca_ident id;

  xca_stats_dropped(&xca_g.stats);
  if (xca_g.audit != NULL) {
    xca_audit_dropped(xca_g.audit, client_id, identity_of(client_id, &id), err, line);
  }
}

void xca_observe_enrolled(const char *client_id, const char *identity, const char *group,
                          const struct xca_cert_facts *facts)
{
  char buf[XCA_CHAIN_TEXT_MAX];

  xca_stats_enrolled(&xca_g.stats);
  if (xca_g.audit != NULL) {
    xca_audit_enrolled(xca_g.audit, client_id, identity, group, chain_text(facts, buf));
  }
}

void xca_observe_admin(const char *client_id, const struct xca_admin_audit *rec)
{
  xca_audit_admin(xca_g.audit, client_id, rec->admin, rec->command, rec->target,
                  rec->detail[0] ? rec->detail : NULL, rec->result);
}

const struct xca_stats *xca_observe_stats(void)
{
  xca_stats_set_gauge(&xca_g.stats, XCA_GAUGE_SESSIONS, xca_sessions_count(xca_g.sessions));
  xca_stats_set_gauge(&xca_g.stats, XCA_GAUGE_CAS, xca_trust_count(xca_g.trust));
  xca_stats_set_gauge(&xca_g.stats, XCA_GAUGE_AUDIT_DROPPED,
                      xca_audit_dropped_count(xca_g.audit));
  xca_stats_set_gauge(&xca_g.stats, XCA_GAUGE_CRL_EXPIRED,
                      xca_revocation_expired_count(xca_g.revocation));
  return &xca_g.stats;
}

/* Publish one counter as a retained $SYS message (decimal text, as
 * Mosquitto's own $SYS topics). */
static int publish_counter(void *arg, const char *name, unsigned long long value)
{
  char topic[sizeof(SYS_PREFIX) + XCA_STATS_NAME_MAX];
  char payload[24];
  int len;

  (void)arg;
  snprintf(topic, sizeof(topic), SYS_PREFIX "%s", name);
  len = snprintf(payload, sizeof(payload), "%llu", value);
  mosquitto_broker_publish_copy(NULL, topic, len, payload, 0, true, NULL);
  return 0;
}

/* Say once when the audit writer stops reaching Redis, and when it is back. */
static void report_audit_writer(void)
{
  int writing = xca_audit_writing(xca_g.audit);

  if (!writing && !xca_g.audit_down_reported) {
    xca_g.audit_down_reported = 1;
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                         "audit stream: cannot write to Redis; entries wait in a queue of %d, "
                         "what does not fit is dropped (audit/dropped)",
                         xca_g.cfg.audit_queue_max);
  } else if (writing && xca_g.audit_down_reported) {
    xca_g.audit_down_reported = 0;
    mosquitto_log_printf(MOSQ_LOG_NOTICE, XCA_LOG_PREFIX "audit stream: writing to Redis again");
  }
}

void xca_observe_tick(void)
{
  long long now = xca_now_ms();

  if (xca_g.audit != NULL) {
    report_audit_writer();
  }
  if (xca_g.cfg.stats_interval <= 0 || now < xca_g.stats_due_ms) {
    return;
  }
  /* The first tick publishes at once, so that the retained values exist. */
  xca_g.stats_due_ms = now + (long long)xca_g.cfg.stats_interval * 1000;
  xca_stats_each(xca_observe_stats(), publish_counter, NULL);
}
