/* groups.c - enrollment groups in the broker.
 *
 * The set (common/enroll.c) is loaded at start-up, replaced at every resync
 * from the group names the watcher listed, and follows each change of a
 * group: key, as the CA set does. BASIC_AUTH decides through
 * xca_groups_decide, which enrolls a device without a registry entry
 * through the group of its chain, logs what it created and reports it to
 * observe.c (the enrolled counter and audit entry). Everything here runs on
 * the broker's main thread.
 */
#include "xca_err.h"
#include "xca_plugin.h"

#define SCAN_COUNT 1000 /* SCAN COUNT hint while loading every group */

static void log_count(void)
{
  mosquitto_log_printf(MOSQ_LOG_INFO, XCA_LOG_PREFIX "%u enrollment group(s) held",
                       xca_groups_count(xca_g.groups));
}

/* Reload the group name; say why a stored group cannot be used. */
static void reload(const char *name)
{
  int rc = xca_groups_reload(xca_g.groups, &xca_g.registry, name);

  if (rc != XCA_OK && rc != XCA_E_NOT_FOUND && rc != XCA_E_REGISTRY_UNAVAILABLE) {
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                         "enrollment group '%s' is unusable (%s); it enrolls nothing", name,
                         xca_strerror(rc));
  }
}

int xca_groups_load_all(void)
{
  struct xca_strlist names = {0};
  int rc;

  /* Only names the admin API can also see and delete enroll. */
  rc = xca_registry_scan_all(&xca_g.registry, XCA_KEY_GROUP, NULL, SCAN_COUNT, xca_ca_name_valid,
                             0, &names);
  if (rc == XCA_OK) {
    xca_groups_load_named(&names);
  } else {
    xca_groups_clear(xca_g.groups); /* fail closed until the resync */
  }
  xca_strlist_free(&names);
  return rc == XCA_OK ? XCA_OK : XCA_E_REGISTRY_UNAVAILABLE;
}

void xca_groups_load_named(const struct xca_strlist *names)
{
  xca_groups_clear(xca_g.groups);
  for (int i = 0; i < names->count; i++) {
    if (xca_ca_name_valid(names->item[i])) {
      reload(names->item[i]);
    }
  }
  log_count();
}

void xca_group_changed(const char *name)
{
  if (xca_ca_name_valid(name)) {
    reload(name);
  }
}

int xca_groups_decide(const struct xca_cert_facts *facts, const char *client_id,
                      const char *username, struct xca_ident *ident)
{
  char id_text[XCA_IDENTITY_MAX];
  int rc;

  xca_enroller_begin(&xca_g.enroller);
  rc = xca_auth_decide_enroll(facts, client_id, username, xca_g.cfg.hub_hostname,
                              xca_lookup_identity, &xca_g.lookup, xca_enroll, &xca_g.enroller,
                              ident);
  if (xca_g.enroller.created) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE,
                         XCA_LOG_PREFIX "enrolled client '%s' through group '%s' (status %s)",
                         xca_log_sanitize(client_id, id_text, sizeof(id_text)),
                         xca_g.enroller.group,
                         xca_g.enroller.created_enabled ? "enabled" : "disabled");
    /* Only a device is enrolled (never a module): its identity is the
     * client id. */
    xca_observe_enrolled(client_id, client_id, xca_g.enroller.group, facts);
  } else if (xca_g.enroller.found_meanwhile) {
    mosquitto_log_printf(MOSQ_LOG_INFO,
                         XCA_LOG_PREFIX "client '%s' was enrolled meanwhile (by another broker); "
                         "its entry decides",
                         xca_log_sanitize(client_id, id_text, sizeof(id_text)));
  }
  return rc;
}
