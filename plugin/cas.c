/* cas.c - the verified-CA set: loaded from Redis, reloaded one CA at a
 * time as the registry changes. What a CA record says is read by
 * xca_registry_get_ca and held to the certificate policy by xca_policy
 * (common/); this file decides what the broker trusts and logs why not.
 *
 * A whole set (after an outage, at a resync) is read and parsed on the CA
 * loader's thread (common/admin_worker.h), so that a registry of many CAs
 * never stalls connects; this thread only swaps the parsed certificates
 * in. Only the start-up load runs here, before any listener is open. A CA
 * key that changes while a load is in flight is reloaded again once the
 * load is applied, so that the load's older reading never wins.
 */
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "xca_err.h"
#include "xca_plugin.h"

/* Log why the verified CA name is not trusted (once per load). */
static void log_untrusted(const char *name, int err, const char *detail)
{
  if (err == XCA_E_BAD_PEM) {
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                         "CA '%s' is marked verified but its certificate is unusable; not trusted",
                         name);
  } else {
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                         "CA '%s' is marked verified but breaks the certificate policy: %s (%s); "
                         "not trusted",
                         name, xca_strerror(err), detail);
  }
}

/* Remember, while a load is in flight, that name changed. */
static void note_change(const char *name)
{
  if (xca_g.ca_loads > 0 && xca_strlist_add(&xca_g.ca_changed, name) != XCA_OK) {
    xca_g.ca_reload_wanted = 1; /* out of memory: read the whole set again */
  }
}

int xca_cas_reload(const char *name)
{
  char copy[XCA_CA_NAME_MAX + 1];
  char *item = copy;
  struct xca_strlist one = {.item = &item, .count = 1};
  struct xca_ca_load load;
  int had = xca_trust_has(xca_g.trust, name);
  int rc;

  /* A longer name is not valid: read as none, rather than cut to another. */
  snprintf(copy, sizeof(copy), "%s", strlen(name) <= XCA_CA_NAME_MAX ? name : "");
  /* The same reading and parsing as a whole set's, for one name. */
  rc = xca_ca_load_read(&xca_g.registry, 0, &one, xca_trust_policy(xca_g.trust), &load);

  note_change(name);
  if (rc == XCA_E_REGISTRY_UNAVAILABLE) {
    /* Unknown state: stop trusting it until Redis answers (fail closed). */
    xca_trust_remove(xca_g.trust, name);
    xca_g.cas_loaded = 0;
    return had;
  }
  if (rc == XCA_OK && load.count == 1 && load.cas[0].cert == NULL) {
    log_untrusted(name, load.cas[0].err, load.cas[0].detail);
  }
  /* Gone, not verified, not trustable, not CA:TRUE, or no memory. */
  if (rc != XCA_OK || load.count != 1 || load.cas[0].cert == NULL ||
      xca_trust_put(xca_g.trust, name, load.cas[0].cert) != XCA_OK) {
    xca_trust_remove(xca_g.trust, name);
  }
  xca_ca_load_free(&load);
  return had;
}

static void log_loaded(void)
{
  mosquitto_log_printf(MOSQ_LOG_INFO, XCA_LOG_PREFIX "%u verified CA(s) trusted",
                       xca_trust_count(xca_g.trust));
}

/* Replace the trust set with what a load read. */
static void swap_in(const struct xca_ca_load *load)
{
  xca_trust_clear(xca_g.trust);
  for (int i = 0; i < load->count; i++) {
    const struct xca_ca_loaded *ca = &load->cas[i];
    if (ca->cert == NULL) {
      log_untrusted(ca->name, ca->err, ca->detail);
    } else {
      xca_trust_put(xca_g.trust, ca->name, ca->cert); /* not CA:TRUE: left out */
    }
  }
  xca_g.cas_loaded = 1;
  log_loaded();
}

int xca_cas_load_all(void)
{
  struct xca_ca_load load;
  int rc = xca_ca_load_read(&xca_g.registry, 1, NULL, xca_trust_policy(xca_g.trust), &load);

  if (rc != XCA_OK) {
    xca_trust_clear(xca_g.trust);
    xca_g.cas_loaded = 0;
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  swap_in(&load);
  xca_ca_load_free(&load);
  return XCA_OK;
}

void xca_cas_request_load(const struct xca_strlist *names)
{
  if (xca_admin_worker_load_cas(xca_g.ca_loader, names, xca_trust_policy(xca_g.trust)) ==
      XCA_OK) {
    xca_g.ca_loads++;
  } else {
    xca_g.ca_reload_wanted = 1; /* queue full or no memory: once the loads in flight land */
  }
}

void xca_cas_load_if_needed(void)
{
  /* One load at a time, and after a failed one not before the retry interval. */
  if (!xca_g.cas_loaded && xca_g.ca_loads == 0 && xca_now_ms() >= xca_g.ca_retry_ms &&
      xca_redis_is_up(xca_g.redis)) {
    xca_cas_request_load(NULL);
  }
}

/* Reload (on this thread, one read each) every CA that changed while the
 * load just applied was in flight: its reading may predate the change. */
static void replay_changes(void)
{
  struct xca_strlist changed = xca_g.ca_changed;

  memset(&xca_g.ca_changed, 0, sizeof(xca_g.ca_changed));
  xca_strlist_sort(&changed);
  for (int i = 0; i < changed.count; i++) {
    if (i == 0 || strcmp(changed.item[i], changed.item[i - 1]) != 0) {
      xca_cas_reload(changed.item[i]); /* noted again while other loads are in flight */
    }
  }
  xca_strlist_free(&changed);
}

/* Apply one finished load: swap its set in, or (Redis failed part-way)
 * stop trusting any CA until a load succeeds, as a failed load always did. */
static void apply(const struct xca_job *job)
{
  unsigned long generation = xca_trust_generation(xca_g.trust);

  if (job->rc != XCA_OK) {
    if (xca_g.cas_loaded) {
      mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                           "could not read the CA set from Redis (%s); no CA is trusted until "
                           "it is read",
                           xca_strerror(job->rc));
    }
    xca_trust_clear(xca_g.trust);
    xca_g.cas_loaded = 0;
    xca_g.ca_retry_ms = xca_now_ms() + xca_g.cfg.redis_retry_ms;
  } else {
    swap_in(&job->load);
  }
  replay_changes();
  if (xca_trust_generation(xca_g.trust) != generation) {
    xca_sessions_mark_all(xca_g.sessions); /* re-check them under the new set */
  }
}

void xca_cas_tick(void)
{
  struct xca_job *jobs = xca_admin_worker_drain(xca_g.ca_loader);

  for (struct xca_job *j = jobs; j != NULL; j = j->next) {
    if (j->kind == XCA_JOB_STATE) {
      xca_log_worker_state("CA loader", j);
    } else {
      xca_g.ca_loads--;
      apply(j);
    }
  }
  xca_jobs_free(jobs);
  if (xca_g.ca_loads == 0 && xca_g.ca_reload_wanted) {
    xca_g.ca_reload_wanted = 0;
    xca_cas_request_load(NULL);
  }
}
