/* client.c - the connect decision and topic confinement of devices. */
#include <stdio.h>
#include <string.h>

#include "acl.h"
#include "xca_err.h"
#include "xca_plugin.h"

/* Registry changes are applied on TICK; warn once if none ever came. */
static void warn_without_ticks(void)
{
  if (xca_g.ticks == 0 && !xca_g.warned_no_tick && xca_now_ms() - xca_g.loaded_ms > 5000) {
    xca_g.warned_no_tick = 1;
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                         "no TICK events from the broker: registry changes cannot drop live "
                         "sessions; set per_listener_settings false");
  }
}

/* True when rc is the chain check's verdict, which facts->chain explains. */
static int chain_refusal(const struct xca_cert_facts *facts, int rc)
{
  return facts != NULL && !facts->chain_ok &&
         (rc == XCA_E_CHAIN || (rc != XCA_OK && rc == facts->chain.policy_error));
}

/* One line saying which identity was refused and why (for a chain: what
 * failed at which depth; client-chosen text sanitised, no secret), logged,
 * counted and audited with that text. */
static void refuse(const char *client_id, const struct xca_cert_facts *facts, int rc)
{
  char id_text[XCA_IDENTITY_MAX];
  char cn_text[XCA_CN_MAX];
  char why[256];
  char line[XCA_IDENTITY_MAX + XCA_CN_MAX + 300];

  xca_log_sanitize(client_id, id_text, sizeof(id_text));
  xca_log_sanitize(facts ? facts->cn : "", cn_text, sizeof(cn_text));
  if (chain_refusal(facts, rc)) {
    xca_chain_describe(&facts->chain, why, sizeof(why));
  } else if (rc == XCA_E_GROUP_DISABLED) {
    xca_enroll_describe(&xca_g.enroller, rc, why, sizeof(why));
  } else {
    snprintf(why, sizeof(why), "%s", xca_strerror(rc));
  }
  snprintf(line, sizeof(line), "refused client '%s' (CN '%s'): %s", id_text, cn_text, why);
  mosquitto_log_printf(MOSQ_LOG_NOTICE, XCA_LOG_PREFIX "%s", line);
  xca_observe_refused(client_id, rc, line);
}

int xca_basic_auth_cb(int event, void *event_data, void *userdata)
{
  struct mosquitto_evt_basic_auth *ed = event_data;
  char id_text[XCA_IDENTITY_MAX];
  const char *client_id = mosquitto_client_id(ed->client);
  X509 *leaf = mosquitto_client_certificate(ed->client);
  const struct xca_cert_facts *facts;
  struct xca_ident ident;
  int rc;

  (void)event;
  (void)userdata;
  /* Mosquitto reuses the memory of freed client objects: a closed session
   * held under this token belonged to a connection that is gone. */
  xca_sessions_forget_token(xca_g.sessions, ed->client);
  if (leaf == NULL) {
    return MOSQ_ERR_PLUGIN_DEFER; /* not ours: password_file etc. decide */
  }
  warn_without_ticks();
  facts = xca_tls_facts(leaf, XCA_FACTS_CURRENT);
  xca_prefetch_connect(facts);
  rc = xca_groups_decide(facts, client_id, ed->username, &ident);
  /* An enrollment evicted the identity's cache entry: a prefetch still in
   * flight (read before the entry existed) must not bring it back. */
  if (xca_g.enroller.created || xca_g.enroller.found_meanwhile) {
    xca_prefetch_invalidate_all();
  }
  /* Without the CA set (Redis has not answered yet) no chain can verify:
   * say so rather than blame the chain. */
  if (rc == XCA_E_CHAIN && !xca_g.cas_loaded) {
    rc = XCA_E_REGISTRY_UNAVAILABLE;
  }
  if (rc == XCA_OK) {
    /* A connection taking this client id over: the one it replaces keeps
     * confining its will (the broker may publish it right after this). */
    struct xca_session *old = xca_sessions_get(xca_g.sessions, ident.full);
    if (old != NULL && old->token != ed->client) {
      xca_end_session(ident.full, old->token, 0);
    }
    rc = xca_sessions_add(xca_g.sessions, &ident, ed->client, ed->username, leaf, &facts->chain);
  }
  if (rc != XCA_OK) {
    refuse(client_id, facts, rc);
    X509_free(leaf);
    return MOSQ_ERR_AUTH;
  }
  mosquitto_log_printf(MOSQ_LOG_INFO, XCA_LOG_PREFIX "accepted client '%s'",
                       xca_log_sanitize(client_id, id_text, sizeof(id_text)));
  xca_observe_accepted(client_id, &ident, facts);
  X509_free(leaf);
  return MOSQ_ERR_SUCCESS;
}

static int admin_topic(const char *topic)
{
  return strncmp(topic, XCA_CONTROL_TOPIC, strlen(XCA_CONTROL_TOPIC)) == 0;
}

static enum xca_access map_access(int access)
{
  switch (access) {
  case MOSQ_ACL_WRITE:
    return XCA_ACCESS_PUBLISH;
  case MOSQ_ACL_SUBSCRIBE:
    return XCA_ACCESS_SUBSCRIBE;
  case MOSQ_ACL_UNSUBSCRIBE:
    return XCA_ACCESS_UNSUBSCRIBE;
  default:
    return XCA_ACCESS_RECEIVE;
  }
}

/* Whether a certificate of the verified chain is revoked by thumbprint now
 * (a closed session keeps no certificates to check CRLs on; a CRL that
 * listed one marked its session, which is then refused, will included). */
static int chain_revoked(const struct xca_chain_result *chain)
{
  for (int i = 0; i < chain->chain_len && i < XCA_CHAIN_MAX; i++) {
    if (xca_revocation_has(xca_g.revocation, chain->chain_sha256[i])) {
      return 1;
    }
  }
  return 0;
}

/* Whether a closed session's will may be published on topic: inside its
 * topics, and its identity would still be admitted with the facts of its
 * handshake (the registry, the CA set and the revocations of now decide: a
 * device disabled, a CA deleted or a certificate revoked since refuses its
 * pending will). */
static int will_allowed(struct xca_session *closed, const char *topic)
{
  struct xca_cert_facts facts = closed->facts;
  struct xca_ident ident;
  int rc;

  if (closed->refused || !xca_acl_allowed(&closed->ident, XCA_ACCESS_PUBLISH, topic)) {
    return MOSQ_ERR_ACL_DENIED;
  }
  facts.chain_ok = facts.chain_ok && xca_sessions_anchors_trusted(closed, xca_g.trust) &&
                  !chain_revoked(&facts.chain);
  rc = xca_auth_decide(&facts, closed->ident.full, NULL, NULL, xca_lookup_identity,
                       &xca_g.lookup, &ident);
  if (rc != XCA_OK) {
    char id_text[XCA_IDENTITY_MAX];
    mosquitto_log_printf(MOSQ_LOG_NOTICE, XCA_LOG_PREFIX "refused the will of client '%s': %s",
                         xca_log_sanitize(closed->ident.full, id_text, sizeof(id_text)),
                         xca_strerror(rc));
    closed->refused = 1;
    return MOSQ_ERR_ACL_DENIED;
  }
  return MOSQ_ERR_SUCCESS;
}

static int same_text(const char *a, const char *b)
{
  return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The closed session held under client's token, when this check can only be
 * that closed connection's will: the same client id and username, a
 * publish. Anything else proves the token now belongs to a connection we
 * did not see authenticate (another plugin accepted it): forget it. */
static struct xca_session *closed_session_of(const struct mosquitto_evt_acl_check *ed,
                                             const char *client_id)
{
  struct xca_session *closed = xca_sessions_closed(xca_g.sessions, ed->client);

  if (closed == NULL) {
    return NULL;
  }
  if (ed->access == MOSQ_ACL_WRITE && same_text(closed->ident.full, client_id) &&
      same_text(closed->username, mosquitto_client_username(ed->client))) {
    return closed;
  }
  xca_sessions_forget_token(xca_g.sessions, ed->client);
  return NULL;
}

int xca_acl_check_cb(int event, void *event_data, void *userdata)
{
  struct mosquitto_evt_acl_check *ed = event_data;
  const char *client_id = mosquitto_client_id(ed->client);
  X509 *leaf = mosquitto_client_certificate(ed->client);
  struct xca_session *sess;

  (void)event;
  (void)userdata;
  if (leaf != NULL) {
    X509_free(leaf);
    sess = xca_sessions_get(xca_g.sessions, client_id);
    if (sess != NULL && sess->token == ed->client) {
      return xca_acl_allowed(&sess->ident, map_access(ed->access), ed->topic)
               ? MOSQ_ERR_SUCCESS
               : MOSQ_ERR_ACL_DENIED;
    }
    /* Still connected but taken over by a newer connection: only its will. */
    sess = closed_session_of(ed, client_id);
    /* A certificate client without a session of ours was never accepted by
     * us: nothing is allowed (fail closed). */
    return sess != NULL ? will_allowed(sess, ed->topic) : MOSQ_ERR_ACL_DENIED;
  }
  /* No certificate: never judged by an open device session. Only the will
   * of the exact connection that closed is confined by its closed session. */
  sess = closed_session_of(ed, client_id);
  if (sess != NULL) {
    return will_allowed(sess, ed->topic);
  }
  if (admin_topic(ed->topic)) {
    return xca_config_is_admin(&xca_g.cfg, mosquitto_client_username(ed->client))
             ? MOSQ_ERR_SUCCESS
             : MOSQ_ERR_ACL_DENIED;
  }
  return MOSQ_ERR_PLUGIN_DEFER;
}

void xca_end_session(const char *client_id, const void *token, int refused)
{
  struct xca_session *sess = xca_sessions_get(xca_g.sessions, client_id);

  if (sess == NULL || sess->token != token) {
    return;
  }
  if (refused) {
    xca_sessions_refuse(xca_g.sessions, client_id, token, xca_now_ms());
  } else {
    xca_sessions_close(xca_g.sessions, client_id, token,
                       xca_tls_facts(sess->leaf, XCA_FACTS_AS_CHECKED), xca_now_ms());
  }
}

int xca_disconnect_cb(int event, void *event_data, void *userdata)
{
  struct mosquitto_evt_disconnect *ed = event_data;

  (void)event;
  (void)userdata;
  /* Kept, closed, for a while: the broker may still publish the client's
   * will in its name, and that must stay inside its topics. */
  xca_end_session(mosquitto_client_id(ed->client), ed->client, 0);
  return MOSQ_ERR_SUCCESS;
}
