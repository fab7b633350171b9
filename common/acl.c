#include "acl.h"

#include <stdio.h>
#include <string.h>

/* Return 1 if the topic or filter lies entirely under the namespace prefix
 * (given without a trailing '/'): its leading levels equal the prefix's
 * literally, and it has at least as many levels. A wildcard inside the
 * prefix levels would reach other namespaces. */
static int within(const char *topic, const char *prefix)
{
  size_t plen = strlen(prefix);

  if (strncmp(topic, prefix, plen) != 0) {
    return 0;
  }
  /* Exactly the prefix (matched by "prefix/#" as its parent level), or the
   * prefix followed by more levels. */
  return topic[plen] == '\0' || topic[plen] == '/';
}

static int has_wildcard(const char *topic)
{
  return strpbrk(topic, "+#") != NULL;
}

int xca_acl_allowed(const struct xca_ident *id, enum xca_access access, const char *topic)
{
  char events[XCA_IDENTITY_MAX + 64];
  char inbox[XCA_IDENTITY_MAX + 64];

  if (id == NULL || topic == NULL) {
    return 0;
  }
  if (access == XCA_ACCESS_UNSUBSCRIBE) {
    return 1;
  }
  if (xca_ident_is_module(id)) {
    snprintf(events, sizeof(events), "devices/%s/modules/%s/messages/events", id->device, id->module);
    snprintf(inbox, sizeof(inbox), "devices/%s/modules/%s", id->device, id->module);
  } else {
    snprintf(events, sizeof(events), "devices/%s/messages/events", id->device);
    snprintf(inbox, sizeof(inbox), "devices/%s/messages/devicebound", id->device);
  }
  switch (access) {
  case XCA_ACCESS_PUBLISH:
    return !has_wildcard(topic) && within(topic, events);
  case XCA_ACCESS_SUBSCRIBE:
  case XCA_ACCESS_RECEIVE:
    return within(topic, inbox);
  default:
    return 0;
  }
}
