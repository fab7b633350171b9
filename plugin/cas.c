/* cas.c - the verified-CA set: loaded from Redis, reloaded one CA at a
 * time as the registry changes. What a CA record says is read by
 * xca_registry_get_ca and held to the certificate policy by xca_policy
 * (common/); this file decides what the broker trusts and logs why not.
 * Everything here runs on the broker's main thread.
 */
#include <string.h>

#include "policy.h"
#include "xca_err.h"
#include "xca_plugin.h"

#define SCAN_COUNT 1000 /* SCAN COUNT hint while loading every CA */

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

int xca_cas_reload(const char *name)
{
  struct xca_ca_rec rec;
  X509 *cert = NULL;
  int had = xca_trust_has(xca_g.trust, name);
  int rc = xca_registry_get_ca(&xca_g.registry, name, &rec);

  if (rc == XCA_E_REGISTRY_UNAVAILABLE) {
    /* Unknown state: stop trusting it until Redis answers (fail closed). */
    xca_trust_remove(xca_g.trust, name);
    xca_g.cas_loaded = 0;
    return had;
  }
  if (rc == XCA_OK && rec.verified && rec.certificate != NULL) {
    xca_cert_from_pem(rec.certificate, strlen(rec.certificate), &cert);
  }
  if (rc != XCA_OK || !rec.verified || !ca_trustable(name, cert) ||
      xca_trust_put(xca_g.trust, name, cert) != XCA_OK) {
    xca_trust_remove(xca_g.trust, name);
  }
  X509_free(cert);
  xca_ca_rec_free(&rec);
  return had;
}

static void log_loaded(void)
{
  mosquitto_log_printf(MOSQ_LOG_INFO, XCA_LOG_PREFIX "%u verified CA(s) trusted",
                       xca_trust_count(xca_g.trust));
}

int xca_cas_load_all(void)
{
  struct xca_strlist names = {0};
  int rc;

  xca_trust_clear(xca_g.trust);
  xca_g.cas_loaded = 1;
  /* Only names the admin API can also see and delete are trusted. */
  rc = xca_registry_scan_all(&xca_g.registry, XCA_KEY_CA, NULL, SCAN_COUNT, xca_ca_name_valid, 0,
                             &names);
  for (int i = 0; rc == XCA_OK && xca_g.cas_loaded && i < names.count; i++) {
    xca_cas_reload(names.item[i]);
  }
  xca_strlist_free(&names);
  if (rc != XCA_OK || !xca_g.cas_loaded) {
    xca_g.cas_loaded = 0;
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  log_loaded();
  return XCA_OK;
}

void xca_cas_load_named(const struct xca_strlist *names)
{
  xca_trust_clear(xca_g.trust);
  xca_g.cas_loaded = 1;
  for (int i = 0; i < names->count; i++) {
    if (xca_ca_name_valid(names->item[i])) {
      xca_cas_reload(names->item[i]);
    }
  }
  log_loaded();
}
