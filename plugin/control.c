/* control.c - $CONTROL/x509ca/v1: admin commands from admin users.
 *
 * The commands themselves live in common/admin.c and run on the admin
 * worker's thread (common/admin_worker.h) with its own Redis connection, so
 * that a command scanning a large registry never stalls connects. This file
 * checks who is asking, queues the request with where its reply goes (the
 * MQTT 5 Response Topic and Correlation Data, copied now) and, on TICK,
 * logs the audit lines of each finished request, lets this broker react to
 * the changes at once and publishes the reply on $CONTROL/x509ca/v1/response
 * and, for an MQTT 5 request with a Response Topic, on that topic with the
 * request's Correlation Data. A request that runs nothing is answered at
 * once: one larger than max_admin_payload, and every request while
 * admin_queue_max of them are waiting ("busy").
 */
#include <stdlib.h>
#include <string.h>

#include <mqtt_protocol.h>

#include "admin.h"
#include "admin_worker.h"
#include "xca_err.h"
#include "xca_plugin.h"

/* Log one audit line per command and append its entry to the audit
 * stream; neither holds secrets. */
static void log_audit(const char *client_id, const struct xca_admin_result *res)
{
  for (int i = 0; i < res->audit.count; i++) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE, XCA_LOG_PREFIX "audit %s", res->audit.item[i]);
    xca_observe_admin(client_id, &res->records[i]);
  }
}

/* A command from someone who is not an admin: logged and audited, not run. */
static void audit_ignored(const char *client_id, const char *user)
{
  struct xca_admin_audit rec = {.command = "-", .target = "-", .detail = "",
                                .result = "error (not an admin)"};
  char id_text[XCA_IDENTITY_MAX];

  xca_log_sanitize(user ? user : "-", rec.admin, sizeof(rec.admin));
  xca_log_sanitize(client_id, id_text, sizeof(id_text));
  mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                       "audit admin command from client %s ignored: user %s is not an admin",
                       id_text, rec.admin);
  xca_observe_admin(client_id, &rec);
}

/* Where a reply goes, copied from the request (MQTT properties belong to
 * the broker's message, which is gone once the callback returns). */
struct reply_to {
  char *client_id;   /* the admin's client id, for the audit entries */
  char *topic;       /* the request's valid Response Topic, or NULL */
  void *corr;        /* its Correlation Data (may be NULL with has_corr) */
  uint16_t corr_len;
  int has_corr;
};

static void reply_to_free(void *arg)
{
  struct reply_to *r = arg;

  if (r != NULL) {
    free(r->client_id);
    free(r->topic); /* the property read functions allocate with plain calloc */
    free(r->corr);
    free(r);
  }
}

/* Copy what the reply needs of the request. NULL when memory is short. */
static struct reply_to *reply_to_new(const char *client_id, const mosquitto_property *req)
{
  struct reply_to *r = calloc(1, sizeof(*r));
  char *topic = NULL;

  if (r == NULL || (r->client_id = strdup(client_id ? client_id : "")) == NULL) {
    reply_to_free(r);
    return NULL;
  }
  if (mosquitto_property_read_string(req, MQTT_PROP_RESPONSE_TOPIC, &topic, false) != NULL &&
      mosquitto_pub_topic_check(topic) == MOSQ_ERR_SUCCESS) {
    r->topic = topic;
  } else {
    free(topic);
  }
  r->has_corr = mosquitto_property_read_binary(req, MQTT_PROP_CORRELATION_DATA, &r->corr,
                                               &r->corr_len, false) != NULL;
  return r;
}

/* The request's Correlation Data as a new property list (NULL when the
 * request had none or on failure). */
static mosquitto_property *correlation_props(const struct reply_to *r)
{
  mosquitto_property *props = NULL;

  if (!r->has_corr) {
    return NULL;
  }
  if (mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, r->corr, r->corr_len) !=
      MOSQ_ERR_SUCCESS) {
    mosquitto_property_free_all(&props);
  }
  return props;
}

/* Publish the reply to topic; props (may be NULL) are consumed. */
static void publish(const char *topic, const struct xca_admin_result *res, mosquitto_property *props)
{
  int rc = mosquitto_broker_publish_copy(NULL, topic, (int)res->response_len, res->response, 0,
                                         false, props);
  if (rc != MOSQ_ERR_SUCCESS) {
    mosquitto_property_free_all(&props); /* not taken over by the broker */
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX "could not publish the admin reply to %s (%s)",
                         topic, mosquitto_strerror(rc));
  }
}

/* Send the reply to the fixed response topic and, when the request named
 * one, to its Response Topic (once when both are the same). */
static void send_reply(const struct reply_to *r, const struct xca_admin_result *res)
{
  if (r->topic != NULL) {
    publish(r->topic, res, correlation_props(r));
  }
  if (r->topic == NULL || strcmp(r->topic, XCA_CONTROL_RESPONSE_TOPIC) != 0) {
    publish(XCA_CONTROL_RESPONSE_TOPIC, res, NULL);
  }
}

/* A request's outcome: audit lines, this broker's reaction to what changed
 * (before the reply, so that an admin who got it can rely on it), reply. */
static void finish(const struct reply_to *r, const char *user, int rc,
                   const struct xca_admin_result *res)
{
  if (rc != XCA_OK) {
    mosquitto_log_printf(MOSQ_LOG_ERR, XCA_LOG_PREFIX "admin command from %s failed: %s",
                         user ? user : "-", xca_strerror(rc));
    return;
  }
  log_audit(r->client_id, res);
  for (int i = 0; i < res->changed.count; i++) {
    xca_key_changed(res->changed.item[i]);
  }
  send_reply(r, res);
}

/* Answer a request that runs nothing, here and now: too large (refuse
 * XCA_OK: xca_admin_handle says so without reading anything) or refused
 * with refuse (XCA_E_BUSY). */
static void answer_now(const struct reply_to *r, const char *user, const void *payload, size_t len,
                       int refuse)
{
  struct xca_admin_ctx ctx = {
    .reg = &xca_g.registry, .cfg = &xca_g.cfg, .stats = xca_observe_stats(), .refuse = refuse};
  struct xca_admin_result res;
  int rc = xca_admin_handle(&ctx, payload, len, user, &res);

  finish(r, user, rc, &res);
  xca_admin_result_free(&res);
}

int xca_control_cb(int event, void *event_data, void *userdata)
{
  struct mosquitto_evt_control *ed = event_data;
  const char *user = mosquitto_client_username(ed->client);
  const char *client_id = mosquitto_client_id(ed->client);
  struct reply_to *r;
  int rc;

  (void)event;
  (void)userdata;
  /* The ACL check already keeps others off this topic; defence in depth:
   * an admin authenticates by password, never as a certificate device. */
  X509 *cert = mosquitto_client_certificate(ed->client);
  X509_free(cert);
  if (cert != NULL || !xca_config_is_admin(&xca_g.cfg, user)) {
    audit_ignored(client_id, user);
    return MOSQ_ERR_SUCCESS;
  }
  r = reply_to_new(client_id, ed->properties);
  if (r == NULL) {
    mosquitto_log_printf(MOSQ_LOG_ERR, XCA_LOG_PREFIX "admin command from %s failed: %s", user,
                         xca_strerror(XCA_E_NOMEM));
    return MOSQ_ERR_SUCCESS;
  }
  if (ed->payloadlen > (uint32_t)xca_g.cfg.max_admin_payload) {
    answer_now(r, user, ed->payload, ed->payloadlen, XCA_OK); /* never copied into the queue */
    reply_to_free(r);
    return MOSQ_ERR_SUCCESS;
  }
  /* getStats answers the counters as they are now, not when it runs. */
  rc = xca_admin_worker_submit(xca_g.admin_worker, ed->payload, ed->payloadlen, user,
                               xca_observe_stats(), r, reply_to_free);
  if (rc != XCA_OK) {
    answer_now(r, user, ed->payload, ed->payloadlen, rc);
    reply_to_free(r);
  }
  return MOSQ_ERR_SUCCESS;
}

void xca_control_tick(void)
{
  struct xca_job *jobs = xca_admin_worker_drain(xca_g.admin_worker);

  for (struct xca_job *j = jobs; j != NULL; j = j->next) {
    if (j->kind == XCA_JOB_STATE) {
      xca_log_worker_state("admin worker", j);
    } else {
      finish(j->token, j->admin, j->rc, &j->res);
    }
  }
  xca_jobs_free(jobs);
}
