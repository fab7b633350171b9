/* groups.c - enrollment groups in the broker.
 *
 * The set (common/enroll.c) is loaded at start-up, replaced at every resync
 * from the group names the watcher listed, and follows each change of a
 * group: key, as the CA set does. BASIC_AUTH decides through
 * xca_groups_decide, which enrolls a device without a registry entry
 * through the group of its chain and logs what it created. Everything here
 * runs on the broker's main thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xca_err.h"
#include "xca_plugin.h"

#define GROUP_TAG "group:"

static void log_count(void)
{
  mosquitto_log_printf(MOSQ_LOG_INFO, XCA_LOG_PREFIX "%u enrollment group(s) held",
                       xca_groups_count(xca_g.groups));
}

/* Reload the group name; say why a stored group cannot be used. */
static void reload(const char *name)
{
  int rc = xca_groups_reload(xca_g.groups, &xca_g.registry, name);

  if (rc != XCA_OK && rc != XCA_E_NOT_FOUND && rc != XCA_E_REGISTRY) {
    mosquitto_log_printf(MOSQ_LOG_WARNING, XCA_LOG_PREFIX
                         "enrollment group '%s' is unusable (%s); it enrolls nothing", name,
                         xca_strerror(rc));
  }
}

int xca_groups_load(void)
{
  char match[XCA_KEY_MAX];
  size_t skip = strlen(xca_g.cfg.key_prefix) + strlen(GROUP_TAG);
  unsigned long long cursor = 0;

  snprintf(match, sizeof(match), "%s" GROUP_TAG "*", xca_g.cfg.key_prefix);
  xca_groups_clear(xca_g.groups);
  do {
    char **keys = NULL;
    int n = 0;
    if (xca_g.registry.kv.ops->scan(xca_g.registry.kv.impl, match, &cursor, 1000, &keys, &n) !=
        XCA_OK) {
      xca_groups_clear(xca_g.groups);
      return XCA_E_REGISTRY;
    }
    for (int i = 0; i < n; i++) {
      if (strlen(keys[i]) > skip && xca_ca_name_valid(keys[i] + skip)) {
        reload(keys[i] + skip);
      }
      free(keys[i]);
    }
    free(keys);
  } while (cursor != 0);
  log_count();
  return XCA_OK;
}

void xca_groups_resync(const char *names)
{
  char name[XCA_CA_NAME_MAX + 2];
  size_t tag = strlen(GROUP_TAG);

  xca_groups_clear(xca_g.groups);
  for (const char *p = names ? names : ""; *p != '\0';) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    if (n > tag && n - tag < sizeof(name) && strncmp(p, GROUP_TAG, tag) == 0) {
      memcpy(name, p + tag, n - tag);
      name[n - tag] = '\0';
      if (xca_ca_name_valid(name)) {
        reload(name);
      }
    }
    p += n + (nl ? 1 : 0);
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
  } else if (xca_g.enroller.found_meanwhile) {
    mosquitto_log_printf(MOSQ_LOG_INFO,
                         XCA_LOG_PREFIX "client '%s' was enrolled meanwhile (by another broker); "
                         "its entry decides",
                         xca_log_sanitize(client_id, id_text, sizeof(id_text)));
  }
  return rc;
}
