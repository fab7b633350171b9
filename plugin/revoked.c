/* revoked.c - revocation in the broker (README "Revocation").
 *
 * The revocation set (common/revocation.c) holds the thumbprints of every
 * x509ca:revoked: key and the CRL of every x509ca:crl: key. At start-up
 * both are scanned; at every resync the watcher's thread has scanned the
 * key names already: a thumbprint needs no read (the key's existence
 * revokes; its reason is read once, when a chain is refused for it), a
 * CRL one read each (they are few). A change of one key updates that one
 * entry and marks the sessions whose verified chain holds the certificate
 * (the revoked one, or the CRL's issuer: any certificate with its key):
 * tick.c re-checks only those. A key name is used only in its canonical
 * form, the lowercase thumbprint (xca_revocation_key_name): any other
 * name under revoked: or crl: is ignored, with a warning, at start-up,
 * resync and change alike.
 * Everything here runs on the broker's main thread.
 */
#include <stdio.h>

#include "xca_err.h"
#include "xca_plugin.h"

#define SCAN_COUNT 1000       /* SCAN COUNT hint while loading at start-up */
#define CRL_CHECK_EVERY_MS 1000 /* how often expired CRLs are looked for */
#define NAME_WARNINGS_MAX 10    /* ignored key names named per load; the rest counted */

static int name_warnings; /* ignored key names warned about during this load */
static int name_ignored;  /* ignored key names during this load */

/* The thumbprint key name of kind kind ("revoked:" or "crl:") stands for,
 * into sha; 0, with a warning naming the key, when it is not canonical
 * (it revokes nothing). during_load: the warnings are bounded. */
static int key_name(const char *kind, const char *name, char sha[XCA_SHA256_HEX],
                    int during_load)
{
  char shown[XCA_KEY_MAX];

  if (xca_revocation_key_name(name, sha) == XCA_OK) {
    return 1;
  }
  name_ignored++;
  if (!during_load || name_warnings++ < NAME_WARNINGS_MAX) {
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                         "ignoring the key %s%s%s: its name must be the lowercase SHA-256 "
                         "thumbprint (64 hex digits), e.g. redis-cli HSET %s%s<sha256> reason R",
                         xca_g.registry.prefix, kind, xca_log_sanitize(name, shown, sizeof(shown)),
                         xca_g.registry.prefix, kind);
  }
  return 0;
}

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
    if (key_name("revoked:", names->item[i], sha, 1)) {
      xca_revocation_add(xca_g.revocation, sha, NULL);
    }
  }
}

static void load_crls(const struct xca_strlist *names)
{
  char sha[XCA_SHA256_HEX];

  for (int i = 0; i < names->count; i++) {
    if (key_name("crl:", names->item[i], sha, 1)) {
      reload_crl(sha);
    }
  }
}

void xca_revoked_load_named(const struct xca_strlist *revoked, const struct xca_strlist *crls)
{
  name_warnings = name_ignored = 0;
  xca_revocation_clear(xca_g.revocation);
  add_names(revoked);
  xca_revocation_clear_crls(xca_g.revocation);
  load_crls(crls);
  if (name_ignored > NAME_WARNINGS_MAX) {
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                         "ignored %d revocation key(s) not named by a lowercase thumbprint "
                         "(the first %d named above)", name_ignored, NAME_WARNINGS_MAX);
  }
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

  if (!key_name("revoked:", name, sha, 0)) {
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

static void mark_if_issued(void *arg, const char *name, X509 *ca)
{
  if (xca_crl_issued(arg, ca)) {
    xca_sessions_mark_anchor(xca_g.sessions, name);
  }
}

/* Mark the open sessions a CRL of issuer sha256 may affect: those whose
 * chain holds the issuer, or any certificate with its key above the leaf
 * (another copy of it: a CRL applies by its issuer's name and key), and
 * those anchored at a verified CA it issued (an intermediate registered
 * without its root). */
static void mark_crl(const char *sha256)
{
  const struct xca_crl *crl = xca_revocation_crl(xca_g.revocation, sha256);
  char tag[XCA_KEY_TAG_HEX];

  xca_sessions_mark_thumbprint(xca_g.sessions, sha256);
  if (crl != NULL) {
    xca_revocation_key_tag(xca_crl_issuer(crl), tag);
    xca_sessions_mark_key(xca_g.sessions, tag);
    xca_trust_foreach(xca_g.trust, mark_if_issued, (void *)crl);
  }
}

void xca_crl_changed(const char *name)
{
  char sha[XCA_SHA256_HEX];

  if (!key_name("crl:", name, sha, 0)) {
    return;
  }
  reload_crl(sha);
  mark_crl(sha);
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
    mark_crl(info->issuer_sha256);
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
