/* plugin.c - load, configure and unload x509ca. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "xca_err.h"
#include "xca_plugin.h"

struct xca_plugin xca_g;

#define CA_LOADS_MAX 4 /* CA loads waiting for the CA loader at most */

/* Waking the broker's thread. The admin worker and the CA loader finish
 * their jobs between two TICKs; left alone, an idle broker sleeps up to
 * 100 ms in its event wait before the next TICK publishes the reply. A
 * signal sent to the broker's thread, whose handler does nothing, ends the
 * wait at once (EINTR) and the loop runs TICK. Only if the signal is
 * already taken is it left alone (replies then wait for the next TICK). */
#define WAKE_SIGNAL (SIGRTMIN + 4)
static pthread_t broker_thread;
static struct sigaction old_wake_action;
static int wake_installed; /* set before the workers start, cleared after they stopped */

static void on_wake_signal(int sig)
{
  (void)sig;
}

static void wake_broker(void *arg)
{
  (void)arg;
  if (wake_installed) {
    pthread_kill(broker_thread, WAKE_SIGNAL);
  }
}

static void install_wake(void)
{
  struct sigaction sa;

  if (sigaction(WAKE_SIGNAL, NULL, &old_wake_action) != 0 ||
      (old_wake_action.sa_flags & SA_SIGINFO) != 0 || old_wake_action.sa_handler != SIG_DFL) {
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX "signal %d is taken: admin replies "
                         "wait for the next tick (up to 100 ms)", WAKE_SIGNAL);
    return;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_wake_signal;
  sa.sa_flags = SA_RESTART; /* what can be restarted is, as if nothing happened */
  sigemptyset(&sa.sa_mask);
  if (sigaction(WAKE_SIGNAL, &sa, NULL) == 0) {
    broker_thread = pthread_self();
    wake_installed = 1;
  }
}

/* After the workers stopped: no wake signal can be on its way. */
static void remove_wake(void)
{
  if (wake_installed) {
    wake_installed = 0;
    sigaction(WAKE_SIGNAL, &old_wake_action, NULL);
  }
}

/* Set while an instance is loaded. With per_listener_settings true Mosquitto
 * initialises a plugin once per listener and never sends it TICK events;
 * a second initialisation is refused so that the broker stops. */
static int loaded;

struct registration {
  int event;
  MOSQ_FUNC_generic_callback cb;
  const char *data;
};

static const struct registration registrations[] = {
  {MOSQ_EVT_BASIC_AUTH, xca_basic_auth_cb, NULL},
  {MOSQ_EVT_ACL_CHECK, xca_acl_check_cb, NULL},
  {MOSQ_EVT_DISCONNECT, xca_disconnect_cb, NULL},
  {MOSQ_EVT_TICK, xca_tick_cb, NULL},
  {MOSQ_EVT_CONTROL, xca_control_cb, XCA_CONTROL_TOPIC},
};
#define REGISTRATION_COUNT (sizeof(registrations) / sizeof(registrations[0]))

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
  for (int i = 0; i < supported_version_count; i++) {
    if (supported_versions[i] == 5) {
      return 5;
    }
  }
  return -1;
}

static int read_options(struct mosquitto_opt *options, int option_count)
{
  char err[512];

  for (int i = 0; i < option_count; i++) {
    if (xca_config_set(&xca_g.cfg, options[i].key, options[i].value, err, sizeof(err)) != XCA_OK) {
      mosquitto_log_printf(MOSQ_LOG_ERR, XCA_LOG_PREFIX "%s", err);
      return MOSQ_ERR_INVAL;
    }
  }
  return MOSQ_ERR_SUCCESS;
}

/* The node a registry connection uses (at): with Sentinels, the primary
 * they named ("host:port (primary of 'name' per Sentinel)"). */
static void describe_node(const struct xca_hostport *at, char *buf, size_t len)
{
  if (xca_g.cfg.sentinel_count > 0) {
    snprintf(buf, len, "%s:%d (primary of '%s' per Sentinel)", at->host, at->port,
             xca_g.cfg.sentinel_master);
  } else {
    snprintf(buf, len, "%s:%d", at->host, at->port);
  }
}

static void on_redis_state(void *arg, int up, const char *why)
{
  char node[2 * XCA_HOST_MAX + 64];

  (void)arg;
  describe_node(xca_redis_address(xca_g.redis), node, sizeof(node));
  if (up) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE, XCA_LOG_PREFIX "connected to Redis at %s", node);
  } else {
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX "lost Redis at %s: %s; retrying every %d ms",
                         node, why, xca_g.cfg.redis_retry_ms);
  }
}

void xca_log_worker_state(const char *who, const struct xca_job *state)
{
  char node[2 * XCA_HOST_MAX + 64];

  describe_node(&state->node, node, sizeof(node));
  if (state->up) {
    mosquitto_log_printf(MOSQ_LOG_INFO, XCA_LOG_PREFIX "%s: connected to Redis at %s", who, node);
  } else {
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX "%s: lost Redis at %s: %s; retrying every %d ms",
                         who, node, state->why, xca_g.cfg.redis_retry_ms);
  }
}

static int following_changes(void *watcher)
{
  return xca_watcher_healthy(watcher);
}

static int create_state(void)
{
  struct xca_policy policy = {.min_rsa_bits = xca_g.cfg.min_rsa_bits};

  xca_g.redis = xca_redis_new(&xca_g.cfg, on_redis_state, NULL);
  xca_g.cache = xca_cache_new(xca_g.cfg.cache_capacity);
  xca_g.trust = xca_trust_new();
  xca_g.chaincache = xca_chaincache_new(xca_g.cfg.chain_cache_capacity);
  xca_g.sessions = xca_sessions_new();
  xca_g.groups = xca_groups_new();
  xca_g.revocation = xca_revocation_new();
  /* Each connects (on its own thread) on its first job. */
  xca_g.admin_worker = xca_admin_worker_new(&xca_g.cfg, xca_g.cfg.admin_queue_max, NULL);
  xca_g.ca_loader = xca_admin_worker_new(&xca_g.cfg, CA_LOADS_MAX, NULL);
  if (xca_g.redis == NULL || xca_g.cache == NULL || xca_g.trust == NULL ||
      xca_g.chaincache == NULL || xca_g.sessions == NULL || xca_g.groups == NULL ||
      xca_g.revocation == NULL || xca_g.admin_worker == NULL || xca_g.ca_loader == NULL) {
    return MOSQ_ERR_NOMEM;
  }
  xca_trust_set_policy(xca_g.trust, &policy);
  xca_revoked_setup();
  xca_g.registry.kv = xca_redis_kv(xca_g.redis);
  xca_g.registry.prefix = xca_g.cfg.key_prefix;
  xca_g.lookup.cache = xca_g.cache;
  xca_g.lookup.registry = &xca_g.registry;
  xca_g.lookup.stale_max_s = xca_g.cfg.stale_max_s;
  xca_g.enroller.groups = xca_g.groups;
  xca_g.enroller.reg = &xca_g.registry;
  xca_g.enroller.cache = xca_g.cache;
  return MOSQ_ERR_SUCCESS;
}

/* Stop a worker; say what it leaves unanswered. */
static void stop_worker(struct xca_admin_worker **w, const char *what)
{
  int dropped = xca_admin_worker_stop(*w);

  *w = NULL;
  if (dropped > 0) {
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX "unloading: %d %s dropped unfinished",
                         dropped, what);
  }
}

/* Stop the helper threads (they use the registry and OpenSSL). */
static void stop_threads(void)
{
  /* First: their audit records go to the stream's queue, flushed next. */
  stop_worker(&xca_g.admin_worker, "admin request(s)");
  stop_worker(&xca_g.ca_loader, "CA load(s)");
  remove_wake();
  xca_prefetch_end();
  xca_observe_stop();
  xca_g.lookup.following = NULL;
  xca_watcher_stop(xca_g.watcher);
  xca_g.watcher = NULL;
}

static void free_state(void)
{
  stop_threads();
  xca_sessions_free(xca_g.sessions);
  xca_groups_free(xca_g.groups);
  xca_chaincache_free(xca_g.chaincache);
  xca_trust_free(xca_g.trust);
  xca_revocation_free(xca_g.revocation);
  xca_cache_free(xca_g.cache);
  xca_strlist_free(&xca_g.ca_changed);
  xca_redis_free(xca_g.redis);
  xca_config_free(&xca_g.cfg);
  memset(&xca_g, 0, sizeof(xca_g));
}

static int register_callbacks(void)
{
  for (size_t i = 0; i < REGISTRATION_COUNT; i++) {
    const struct registration *r = &registrations[i];
    if (mosquitto_callback_register(xca_g.id, r->event, r->cb, r->data, NULL) != MOSQ_ERR_SUCCESS) {
      mosquitto_log_printf(MOSQ_LOG_ERR, XCA_LOG_PREFIX "cannot register callback for event %d",
                           r->event);
      return MOSQ_ERR_UNKNOWN;
    }
  }
  return MOSQ_ERR_SUCCESS;
}

static void unregister_callbacks(void)
{
  for (size_t i = 0; i < REGISTRATION_COUNT; i++) {
    mosquitto_callback_unregister(xca_g.id, registrations[i].event, registrations[i].cb,
                                  registrations[i].data);
  }
}

static void log_loaded(void)
{
  char registry[XCA_HOST_MAX + 64];

  if (xca_g.cfg.sentinel_count > 0) {
    snprintf(registry, sizeof(registry), "primary of '%s' via %d Sentinel(s)",
             xca_g.cfg.sentinel_master, xca_g.cfg.sentinel_count);
  } else {
    snprintf(registry, sizeof(registry), "%s:%d", xca_g.cfg.redis_host, xca_g.cfg.redis_port);
  }
  mosquitto_log_printf(MOSQ_LOG_NOTICE, XCA_LOG_PREFIX "loaded (registry %s db %d, prefix '%s', %d admin user(s))",
                       registry, xca_g.cfg.redis_db, xca_g.cfg.key_prefix,
                       xca_g.cfg.admin_user_count);
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                          struct mosquitto_opt *options, int option_count)
{
  int rc;

  (void)userdata;
  if (loaded) {
    mosquitto_log_printf(MOSQ_LOG_ERR, XCA_LOG_PREFIX "initialised twice: set per_listener_settings false "
                         "(the plugin must serve the whole broker once)");
    /* Mosquitto exits now without cleaning up the first instance: stop its
     * threads, which would otherwise run on into the process's exit. */
    stop_threads();
    return MOSQ_ERR_INVAL;
  }
  memset(&xca_g, 0, sizeof(xca_g));
  xca_g.id = identifier;
  xca_g.loaded_ms = xca_now_ms();
  if (xca_config_init(&xca_g.cfg) != XCA_OK) {
    return MOSQ_ERR_NOMEM;
  }
  rc = read_options(options, option_count);
  if (rc == MOSQ_ERR_SUCCESS) {
    rc = create_state();
  }
  if (rc == MOSQ_ERR_SUCCESS && xca_observe_start() != XCA_OK) {
    rc = MOSQ_ERR_NOMEM;
  }
  if (rc == MOSQ_ERR_SUCCESS) {
    install_wake();
    xca_admin_worker_set_notify(xca_g.admin_worker, wake_broker, NULL);
    xca_admin_worker_set_notify(xca_g.ca_loader, wake_broker, NULL);
    if (xca_admin_worker_start(xca_g.admin_worker) != XCA_OK ||
        xca_admin_worker_start(xca_g.ca_loader) != XCA_OK) {
      rc = MOSQ_ERR_NOMEM;
    }
  }
  if (rc == MOSQ_ERR_SUCCESS && xca_prefetch_begin() != XCA_OK) {
    rc = MOSQ_ERR_NOMEM;
  }
  if (rc == MOSQ_ERR_SUCCESS && xca_tls_hook_install() != XCA_OK) {
    rc = MOSQ_ERR_NOMEM;
  }
  if (rc != MOSQ_ERR_SUCCESS) {
    goto error;
  }
  /* No listener is open yet: nothing waits on this thread while it reads
   * the CA set, and the first connect finds it loaded. */
  if (xca_redis_connect(xca_g.redis, 1) == XCA_OK && xca_cas_load_all() == XCA_OK) {
    xca_groups_load_all();
    xca_revoked_load_all();
  }
  xca_g.watcher = xca_watcher_start(&xca_g.cfg);
  if (xca_g.watcher == NULL) {
    rc = MOSQ_ERR_NOMEM;
    goto error;
  }
  xca_g.lookup.following = following_changes;
  xca_g.lookup.following_arg = xca_g.watcher;
  rc = register_callbacks();
  if (rc != MOSQ_ERR_SUCCESS) {
    goto error;
  }
  log_loaded();
  loaded = 1;
  return MOSQ_ERR_SUCCESS;
error:
  unregister_callbacks();
  free_state();
  xca_tls_hook_remove();
  mosquitto_log_printf(MOSQ_LOG_ERR, XCA_LOG_PREFIX "not loaded; the broker stops");
  return rc;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
  (void)userdata;
  (void)options;
  (void)option_count;
  unregister_callbacks();
  /* State first: the sessions' references to client certificates are
   * released while OpenSSL still calls x509_ex_free for them, so the
   * handshake records attached to them are freed too (a device still
   * connected at shutdown left its record behind otherwise). */
  free_state();
  xca_tls_hook_remove();
  loaded = 0;
  return MOSQ_ERR_SUCCESS;
}
