/* tick.c - keep the broker in step with the registry.
 *
 * On every MOSQ_EVT_TICK (about 10 times a second): reconnect Redis when the
 * breaker allows it, swap in a CA set the CA loader read, apply the changes
 * the watcher thread queued, answer the admin requests the admin worker
 * finished, and re-check a batch of the live sessions those changes
 * affect, kicking those no longer allowed. Everything here runs on the
 * broker's main thread.
 */
#include <stdio.h>

#include "xca_err.h"
#include "xca_plugin.h"

#define RECHECK_BATCH 2000 /* sessions re-checked per tick at most */
/* How long a closed session keeps confining what is published in its name
 * (its will, possibly delayed by the client's Will Delay Interval). */
#define CLOSED_KEEP_MS (3600LL * 1000)

void xca_key_changed(const char *key)
{
  const char *name;

  switch (xca_registry_key_kind(key, &name)) {
  case XCA_KEY_DEVICE:
    xca_prefetch_invalidate_identity(name); /* an answer in flight may predate the change */
    xca_cache_remove(xca_g.cache, name);
    xca_sessions_mark_identity(xca_g.sessions, name);
    break;
  case XCA_KEY_CA:
    if (xca_ca_name_valid(name) && xca_cas_reload(name)) {
      xca_sessions_mark_anchor(xca_g.sessions, name);
    }
    break;
  case XCA_KEY_GROUP:
    xca_group_changed(name);
    break;
  case XCA_KEY_REVOKED:
    xca_revoked_changed(name);
    break;
  case XCA_KEY_CRL:
    xca_crl_changed(name);
    break;
  default:
    break; /* not a key the broker's decisions depend on */
  }
}

static void apply_change(const struct xca_change *c)
{
  switch (c->kind) {
  case XCA_CHANGE_KEY:
    xca_key_changed(c->key);
    break;
  case XCA_CHANGE_RESYNC:
    /* Changes may have been missed: forget the cache, reread the CAs, the
     * enrollment groups and the revocations, and re-check every live
     * session. */
    mosquitto_log_printf(MOSQ_LOG_NOTICE, XCA_LOG_PREFIX "following registry changes in Redis");
    /* The feed may follow a new primary (Redis restarted, or a Sentinel
     * failover): reread from where it comes from, not a dead connection. */
    xca_redis_reconnect(xca_g.redis);
    xca_admin_worker_reconnect(xca_g.admin_worker);
    xca_admin_worker_reconnect(xca_g.ca_loader);
    xca_prefetch_invalidate_all();
    xca_cache_clear(xca_g.cache);
    /* Read on the CA loader's thread; the set in force stays until then. */
    xca_cas_request_load(&c->names);
    xca_groups_load_named(&c->group_names);
    xca_revoked_load_named(&c->revoked_names, &c->crl_names);
    xca_sessions_mark_all(xca_g.sessions);
    break;
  case XCA_CHANGE_LOST:
    xca_prefetch_invalidate_all();
    xca_g.lookup.lost_ms = xca_now_ms();
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                         "lost the Redis change feed; cached identities are trusted for %d s at most",
                         xca_g.cfg.stale_max_s);
    break;
  case XCA_CHANGE_WARN:
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX "%s", c->key ? c->key : "");
    break;
  }
}

/* Decide again for one live session; kick it when no longer allowed.
 * Returns 0 when Redis could not answer (stop the batch), else 1. */
static int recheck(const char *client_id)
{
  struct xca_session *sess = xca_sessions_get(xca_g.sessions, client_id);
  const struct xca_cert_facts *facts;
  struct xca_ident ident;
  int rc;

  if (sess == NULL || sess->leaf == NULL) {
    return 1;
  }
  facts = xca_tls_facts(sess->leaf, XCA_FACTS_REVERIFY);
  rc = xca_auth_decide(facts, client_id, NULL, NULL, xca_lookup_identity, &xca_g.lookup, &ident);
  if (rc == XCA_E_REGISTRY_UNAVAILABLE) {
    xca_sessions_mark_identity(xca_g.sessions, client_id);
    return 0;
  }
  if (rc == XCA_OK) {
    xca_sessions_add(xca_g.sessions, &ident, sess->token, sess->username, sess->leaf,
                     &facts->chain);
    return 1;
  }
  char id_text[XCA_IDENTITY_MAX];
  char why[XCA_REVOKED_WHY_MAX + 96];
  char line[XCA_IDENTITY_MAX + sizeof(why) + 32];
  /* A revocation names the certificate and why; other reasons keep their
   * short form. */
  if (facts != NULL && (rc == XCA_E_REVOKED || rc == XCA_E_CRL_EXPIRED) &&
      rc == facts->chain.policy_error) {
    xca_chain_describe(&facts->chain, why, sizeof(why));
  } else {
    snprintf(why, sizeof(why), "%s", xca_strerror(rc));
  }
  snprintf(line, sizeof(line), "disconnecting client '%s': %s",
           xca_log_sanitize(client_id, id_text, sizeof(id_text)), why);
  mosquitto_log_printf(MOSQ_LOG_NOTICE, XCA_LOG_PREFIX "%s", line);
  xca_observe_dropped(client_id, rc, line);
  /* Its will, published when the kick closes it, is refused too. */
  xca_end_session(client_id, sess->token, 1);
  mosquitto_kick_client_by_clientid(client_id, false);
  return 1;
}

int xca_tick_cb(int event, void *event_data, void *userdata)
{
  char client_id[XCA_IDENTITY_MAX];
  struct xca_change *changes;
  int was_loaded;

  (void)event;
  (void)event_data;
  (void)userdata;
  xca_g.ticks++;
  xca_sessions_purge_closed(xca_g.sessions, xca_now_ms() - CLOSED_KEEP_MS);
  if (!xca_redis_is_up(xca_g.redis)) {
    xca_redis_connect(xca_g.redis, 0);
  }
  was_loaded = xca_g.cas_loaded;
  xca_cas_tick();
  if (!was_loaded && xca_g.cas_loaded) {
    /* The CA set is back after an outage: no chain verified while it was
     * missing, so none was checked against revocations not loaded yet
     * either; read them before any chain is verified under the new set
     * (a failure stops trusting the set again: fail closed). */
    xca_revoked_load_all();
  }
  xca_cas_load_if_needed();
  changes = xca_watcher_drain(xca_g.watcher);
  for (struct xca_change *c = changes; c != NULL; c = c->next) {
    apply_change(c);
  }
  xca_changes_free(changes);
  xca_control_tick();
  xca_prefetch_drain();
  xca_observe_tick();
  xca_revoked_tick();
  for (int i = 0; i < RECHECK_BATCH && xca_sessions_pop_dirty(xca_g.sessions, client_id); i++) {
    if (!recheck(client_id)) {
      break;
    }
  }
  return MOSQ_ERR_SUCCESS;
}
