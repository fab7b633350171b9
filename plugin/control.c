/* control.c - $CONTROL/x509ca/v1: admin commands from admin users.
 *
 * The commands themselves live in common/admin.c; this file checks who is
 * asking, logs the audit lines, lets this broker react to the changes at
 * once, and publishes the reply on $CONTROL/x509ca/v1/response and, for an
 * MQTT 5 request with a Response Topic, on that topic with the request's
 * Correlation Data.
 */
#include <stdlib.h>
#include <string.h>

#include <mqtt_protocol.h>

#include "admin.h"
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

/* The Correlation Data of the request as a new property list (NULL when
 * the request had none or on failure). */
static mosquitto_property *correlation_props(const mosquitto_property *req)
{
  mosquitto_property *props = NULL;
  void *corr = NULL;
  uint16_t len = 0;

  if (mosquitto_property_read_binary(req, MQTT_PROP_CORRELATION_DATA, &corr, &len, false) == NULL) {
    return NULL;
  }
  if (mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr, len) !=
      MOSQ_ERR_SUCCESS) {
    mosquitto_property_free_all(&props);
  }
  free(corr); /* the read functions allocate with plain calloc */
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
static void send_reply(const mosquitto_property *req, const struct xca_admin_result *res)
{
  char *topic = NULL;

  if (mosquitto_property_read_string(req, MQTT_PROP_RESPONSE_TOPIC, &topic, false) != NULL &&
      mosquitto_pub_topic_check(topic) == MOSQ_ERR_SUCCESS) {
    publish(topic, res, correlation_props(req));
  }
  if (topic == NULL || strcmp(topic, XCA_CONTROL_RESPONSE_TOPIC) != 0) {
    publish(XCA_CONTROL_RESPONSE_TOPIC, res, NULL);
  }
  free(topic);
}

int xca_control_cb(int event, void *event_data, void *userdata)
{
  struct mosquitto_evt_control *ed = event_data;
  const char *user = mosquitto_client_username(ed->client);
  struct xca_admin_ctx ctx = {.reg = &xca_g.registry, .cfg = &xca_g.cfg};
  const char *client_id = mosquitto_client_id(ed->client);
  struct xca_admin_result res;
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
  ctx.stats = xca_observe_stats();
  rc = xca_admin_handle(&ctx, ed->payload, ed->payloadlen, user, &res);
  if (rc != XCA_OK) {
    mosquitto_log_printf(MOSQ_LOG_ERR, XCA_LOG_PREFIX "admin command from %s failed: %s", user,
                         xca_strerror(rc));
    return MOSQ_ERR_SUCCESS;
  }
  log_audit(client_id, &res);
  for (int i = 0; i < res.changed.count; i++) {
    xca_key_changed(res.changed.item[i]);
  }
  send_reply(ed->properties, &res);
  xca_admin_result_free(&res);
  return MOSQ_ERR_SUCCESS;
}
