/* revoked.c - revocation in the broker (README "Revocation").
 *
 * The revocation set (common/revocation.c) holds the thumbprints of every
 * x509ca:revoked: key and the CRL of every x509ca:crl: key. At start-up
 * both are scanned; at every resync the watcher's thread has scanned the
 * key names already: a thumbprint needs no read (the key's existence
 * revokes; its reason is read once, when a chain is refused for it), a
 * CRL one read each (they are few). A change of one key updates that one
 * entry and marks the sessions whose verified chain holds the certificate
 * (the revoked one, or the CRL's issuer): tick.c re-checks only those.
 * Everything here runs on the broker's main thread.
 */
#include <stdio.h>

#include "xca_err.h"
#include "xca_plugin.h"

#define SCAN_COUNT 1000       /* SCAN COUNT hint while loading at start-up */
#define CRL_CHECK_EVERY_MS 1000 /* how often expired CRLs are looked for */

static int stored_reason(void *arg, const char *sha256, char *reason, size_t len)
{
  struct xca_revoked_rec r;

  (void)arg;
  if (xca_registry_get_revoked(&xca_g.registry, sha256, &r) != XCA_OK) {
    return 0;
  }
  snprintf(reason, len, "%s", r.reason);
  return 1;
}

void xca_revoked_setup(void)
{
  xca_revocation_set_reason_fn(xca_g.revocation, stored_reason, NULL);
  xca_revocation_set_expired_policy(xca_g.revocation, xca_g.cfg.crl_expired_refuse
                                                          ? XCA_CRL_EXPIRED_REFUSE
                                                          : XCA_CRL_EXPIRED_ACCEPT);
  xca_trust_set_revocation(xca_g.trust, xca_g.revocation);
}

static void log_count(void)
{
  mosquitto_log_printf(MOSQ_LOG_INFO, XCA_LOG_PREFIX "%u revoked certificate(s), %u CRL(s) held",
                       xca_revocation_count(xca_g.revocation),
                       xca_revocation_crl_count(xca_g.revocation));
}

/* Read the CRL of issuer sha256 into the set. A CRL Redis cannot give now,
 * or one that became unusable, leaves what was held (it revokes no less). */
static void reload_crl(const char *sha256)
{
  struct xca_crl *crl = NULL;
  int rc = xca_registry_get_crl(&xca_g.registry, sha256, &crl);

  if (rc == XCA_OK) {
    const struct xca_crl_info *info = xca_crl_info(crl);
    char subject[XCA_CRL_SUBJECT_MAX];
    mosquitto_log_printf(MOSQ_LOG_INFO, XCA_LOG_PREFIX "holding the CRL of %s (%u serial(s))",
                         xca_log_sanitize(info->issuer_subject, subject, sizeof(subject)),
                         info->count);
    xca_revocation_put_crl(xca_g.revocation, crl);
  } else if (rc == XCA_E_NOT_FOUND) {
    xca_revocation_remove_crl(xca_g.revocation, sha256);
  } else if (rc != XCA_E_REGISTRY_UNAVAILABLE) {
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                         "the CRL stored for issuer %.16s is unusable (%s); %s", sha256,
                         xca_strerror(rc),
                         xca_revocation_crl(xca_g.revocation, sha256) ? "the one held stays"
                                                                      : "none held");
  }
}

/* Hold every thumbprint of names, without its reason (read when needed). */
static void add_names(const struct xca_strlist *names)
{
  char sha[XCA_SHA256_HEX];

  for (int i = 0; i < names->count; i++) {
    if (xca_revocation_name_parse(names->item[i], sha) == XCA_OK) {
      xca_revocation_add(xca_g.revocation, sha, NULL);
    }
  }
}

static void load_crls(const struct xca_strlist *names)
{
  char sha[XCA_SHA256_HEX];

  for (int i = 0; i < names->count; i++) {
    if (xca_revocation_name_parse(names->item[i], sha) == XCA_OK) {
      reload_crl(sha);
    }
  }
}

void xca_revoked_load_named(const struct xca_strlist *revoked, const struct xca_strlist *crls)
{
  xca_revocation_clear(xca_g.revocation);
  add_names(revoked);
  xca_revocation_clear_crls(xca_g.revocation);
  load_crls(crls);
  log_count();
}

int xca_revoked_load_all(void)
{
  struct xca_strlist revoked = {0};
  struct xca_strlist crls = {0};
  int rc = xca_registry_scan_all(&xca_g.registry, XCA_KEY_REVOKED, NULL, SCAN_COUNT, NULL, 0,
                                 &revoked);

  if (rc == XCA_OK) {
    rc = xca_registry_scan_all(&xca_g.registry, XCA_KEY_CRL, NULL, SCAN_COUNT, NULL, 0, &crls);
  }
  if (rc == XCA_OK) {
    xca_revoked_load_named(&revoked, &crls);
  }
  xca_strlist_free(&revoked);
  xca_strlist_free(&crls);
  if (rc != XCA_OK) {
    /* Fail closed: no chain verifies (the CA set is not loaded) until the
     * revocations are known too (the next load, or the watcher's resync). */
    xca_trust_clear(xca_g.trust);
    xca_g.cas_loaded = 0;
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  return XCA_OK;
}

void xca_revoked_changed(const char *name)
{
  struct xca_revoked_rec r;
  char sha[XCA_SHA256_HEX];
  int rc;

  if (xca_revocation_name_parse(name, sha) != XCA_OK) {
    return;
  }
  rc = xca_registry_get_revoked(&xca_g.registry, sha, &r);
  if (rc == XCA_E_NOT_FOUND) {
    xca_revocation_remove(xca_g.revocation, sha);
  } else {
    /* Unreadable now: the key changed, so it may have been created; hold
     * it revoked (fail closed) until it is read again (the resync). */
    xca_revocation_add(xca_g.revocation, sha, rc == XCA_OK ? r.reason : NULL);
  }
  xca_sessions_mark_thumbprint(xca_g.sessions, sha);
}

void xca_crl_changed(const char *name)
{
  char sha[XCA_SHA256_HEX];

  if (xca_revocation_name_parse(name, sha) != XCA_OK) {
    return;
  }
  reload_crl(sha);
  xca_sessions_mark_thumbprint(xca_g.sessions, sha);
}

static void report_expired(void *arg, const struct xca_crl_info *info)
{
  char subject[XCA_CRL_SUBJECT_MAX];

  (void)arg;
  mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                       "the CRL of %s (issuer %.16s) is past its nextUpdate (%lld); %s",
                       xca_log_sanitize(info->issuer_subject, subject, sizeof(subject)),
                       info->issuer_sha256, (long long)info->next_update,
                       xca_g.cfg.crl_expired_refuse
                         ? "chains through its issuer are refused until a newer CRL is uploaded"
                         : "it is still enforced (crl_expired accept)");
  if (xca_g.cfg.crl_expired_refuse) {
    xca_sessions_mark_thumbprint(xca_g.sessions, info->issuer_sha256);
  }
}

void xca_revoked_tick(void)
{
  long long now = xca_now_ms();

  if (now < xca_g.crl_check_due_ms) {
    return;
  }
  xca_g.crl_check_due_ms = now + CRL_CHECK_EVERY_MS;
  xca_revocation_expire(xca_g.revocation, time(NULL), report_expired, NULL);
}
