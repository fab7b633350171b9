/* tick.c - keep the broker in step with the registry.
 *
 * On every MOSQ_EVT_TICK (about 10 times a second): reconnect Redis when the
 * breaker allows it, apply the changes the watcher thread queued, and
 * re-check a batch of the live sessions those changes affect, kicking those
 * no longer allowed. Everything here runs on the broker's main thread.
 */
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "xca_err.h"
#include "xca_plugin.h"

#define RECHECK_BATCH 2000 /* sessions re-checked per tick at most */
/* How long a closed session keeps confining what is published in its name
 * (its will, possibly delayed by the client's Will Delay Interval). */
#define CLOSED_KEEP_MS (3600LL * 1000)

/* Return 1 if the verified CA name may be trusted: its certificate is
 * usable and keeps the certificate policy. Otherwise log why, once per load. */
static int ca_trustable(const char *name, X509 *cert)
{
  char detail[XCA_POLICY_DETAIL_MAX];
  int rc;

  if (cert == NULL) {
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                         "CA '%s' is marked verified but its certificate is unusable; not trusted",
                         name);
    return 0;
  }
  rc = xca_policy_check_cert(xca_trust_policy(xca_g.trust), cert, detail, sizeof(detail));
  if (rc != XCA_OK) {
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                         "CA '%s' is marked verified but breaks the certificate policy: %s (%s); "
                         "not trusted",
                         name, xca_strerror(rc), detail);
    return 0;
  }
  return 1;
}

/* Load the CA name from Redis into the trust set (or drop it when it is
 * gone, not verified or not trustable). Returns 1 if the set lost or
 * replaced it. */
static int reload_ca(const char *name)
{
  char key[XCA_KEY_MAX];
  struct xca_fields f = {0};
  X509 *cert = NULL;
  int had = xca_trust_has(xca_g.trust, name);
  int rc;

  if (xca_registry_ca_key(&xca_g.registry, name, key, sizeof(key)) != XCA_OK) {
    return 0;
  }
  rc = xca_g.registry.kv.ops->hgetall(xca_g.registry.kv.impl, key, &f);
  if (rc == XCA_E_REGISTRY) {
    /* Unknown state: stop trusting it until Redis answers (fail closed). */
    xca_trust_remove(xca_g.trust, name);
    xca_g.cas_loaded = 0;
    return had;
  }
  const char *status = xca_fields_get(&f, "status");
  const char *pem = xca_fields_get(&f, "certificate");
  int verified = rc == XCA_OK && status != NULL && strcmp(status, "verified") == 0;
  if (verified && pem != NULL) {
    xca_cert_from_pem(pem, strlen(pem), &cert);
  }
  if (verified && ca_trustable(name, cert) && xca_trust_put(xca_g.trust, name, cert) == XCA_OK) {
    X509_free(cert);
    xca_fields_free(&f);
    return had;
  }
  X509_free(cert);
  xca_fields_free(&f);
  xca_trust_remove(xca_g.trust, name);
  return had;
}

static const char *ca_name_of(const char *key)
{
  size_t plen = strlen(xca_g.cfg.key_prefix) + 3;
  return key + plen;
}

int xca_load_cas(void)
{
  char match[300];
  unsigned long long cursor = 0;

  snprintf(match, sizeof(match), "%sca:*", xca_g.cfg.key_prefix);
  xca_trust_clear(xca_g.trust);
  xca_g.cas_loaded = 1;
  do {
    char **keys = NULL;
    int n = 0;
    if (xca_g.registry.kv.ops->scan(xca_g.registry.kv.impl, match, &cursor, 1000, &keys, &n) !=
        XCA_OK) {
      xca_g.cas_loaded = 0;
      return XCA_E_REGISTRY;
    }
    for (int i = 0; i < n; i++) {
      /* Only names the admin API can also see and delete are trusted. */
      if (xca_ca_name_valid(ca_name_of(keys[i]))) {
        reload_ca(ca_name_of(keys[i]));
      }
      free(keys[i]);
    }
    free(keys);
  } while (cursor != 0 && xca_g.cas_loaded);
  if (!xca_g.cas_loaded) {
    return XCA_E_REGISTRY;
  }
  mosquitto_log_printf(MOSQ_LOG_INFO, XCA_LOG_PREFIX "%u verified CA(s) trusted",
                       xca_trust_count(xca_g.trust));
  return XCA_OK;
}

/* Rebuild the trust set from the CA names the watcher listed (its thread
 * scanned the keyspace, so this one does not have to). */
static void load_named_cas(const char *names)
{
  char name[XCA_CA_NAME_MAX + 2];

  xca_trust_clear(xca_g.trust);
  xca_g.cas_loaded = 1;
  for (const char *p = names ? names : ""; *p != '\0';) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    if (n < sizeof(name)) {
      memcpy(name, p, n);
      name[n] = '\0';
      if (xca_ca_name_valid(name)) {
        reload_ca(name);
      }
    }
    p += n + (nl ? 1 : 0);
  }
  mosquitto_log_printf(MOSQ_LOG_INFO, XCA_LOG_PREFIX "%u verified CA(s) trusted",
                       xca_trust_count(xca_g.trust));
}

void xca_key_changed(const char *key)
{
  if (strncmp(key, "device:", 7) == 0) {
    xca_cache_remove(xca_g.cache, key + 7);
    xca_sessions_mark_identity(xca_g.sessions, key + 7);
  } else if (strncmp(key, "ca:", 3) == 0 && xca_ca_name_valid(key + 3)) {
    if (reload_ca(key + 3)) {
      xca_sessions_mark_anchor(xca_g.sessions, key + 3);
    }
  }
}

static void apply_change(const struct xca_change *c)
{
  switch (c->kind) {
  case XCA_CHANGE_KEY:
    xca_key_changed(c->key);
    break;
  case XCA_CHANGE_RESYNC:
    /* Changes may have been missed: forget the cache, reread the CAs and
     * re-check every live session. */
    mosquitto_log_printf(MOSQ_LOG_NOTICE, XCA_LOG_PREFIX "following registry changes in Redis");
    /* The feed may follow a new primary (Redis restarted, or a Sentinel
     * failover): reread from where it comes from, not a dead connection. */
    xca_redis_reconnect(xca_g.redis);
    xca_cache_clear(xca_g.cache);
    load_named_cas(c->key);
    xca_sessions_mark_all(xca_g.sessions);
    break;
  case XCA_CHANGE_LOST:
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
  if (rc == XCA_E_REGISTRY) {
    xca_sessions_mark_identity(xca_g.sessions, client_id);
    return 0;
  }
  if (rc == XCA_OK) {
    xca_sessions_add(xca_g.sessions, &ident, sess->token, sess->username, sess->leaf,
                     &facts->chain);
    return 1;
  }
  char id_text[XCA_IDENTITY_MAX];
  mosquitto_log_printf(MOSQ_LOG_NOTICE, XCA_LOG_PREFIX "disconnecting client '%s': %s",
                       xca_log_sanitize(client_id, id_text, sizeof(id_text)), xca_strerror(rc));
  /* Its will, published when the kick closes it, is refused too. */
  xca_end_session(client_id, sess->token, 1);
  mosquitto_kick_client_by_clientid(client_id, false);
  return 1;
}

int xca_tick_cb(int event, void *event_data, void *userdata)
{
  char client_id[XCA_IDENTITY_MAX];
  struct xca_change *changes;

  (void)event;
  (void)event_data;
  (void)userdata;
  xca_g.ticks++;
  xca_sessions_purge_closed(xca_g.sessions, xca_now_ms() - CLOSED_KEEP_MS);
  if (!xca_redis_is_up(xca_g.redis)) {
    xca_redis_connect(xca_g.redis, 0);
  }
  if (!xca_g.cas_loaded && xca_redis_is_up(xca_g.redis)) {
    if (xca_load_cas() == XCA_OK) {
      xca_sessions_mark_all(xca_g.sessions);
    }
  }
  changes = xca_watcher_drain(xca_g.watcher);
  for (struct xca_change *c = changes; c != NULL; c = c->next) {
    apply_change(c);
  }
  xca_changes_free(changes);
  for (int i = 0; i < RECHECK_BATCH && xca_sessions_pop_dirty(xca_g.sessions, client_id); i++) {
    if (!recheck(client_id)) {
      break;
    }
  }
  return MOSQ_ERR_SUCCESS;
}
