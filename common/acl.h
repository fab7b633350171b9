/* acl.h - confinement of an identity to its IoT-Hub-style topics. */
#ifndef XCA_ACL_H
#define XCA_ACL_H

#include "ids.h"

enum xca_access {
  XCA_ACCESS_PUBLISH,     /* the client publishes to a topic */
  XCA_ACCESS_SUBSCRIBE,   /* the client subscribes with a filter */
  XCA_ACCESS_RECEIVE,     /* a message on a topic is delivered to the client */
  XCA_ACCESS_UNSUBSCRIBE, /* the client removes a subscription */
};

/* Return 1 if identity id may perform access on topic (a topic name, or a
 * filter for SUBSCRIBE/UNSUBSCRIBE), else 0.
 *
 * A device d publishes to devices/d/messages/events/ and below, and
 * subscribes/receives devices/d/messages/devicebound/#. A module d/m
 * publishes to devices/d/modules/m/messages/events/ and below, and
 * subscribes/receives devices/d/modules/m/#. A filter is allowed only if
 * every topic it can match is allowed (no wildcard may stand where the
 * namespace is fixed). Everything else, including $CONTROL and $SYS, is
 * denied. Unsubscribing is always allowed (it grants nothing). */
int xca_acl_allowed(const struct xca_ident *id, enum xca_access access, const char *topic);

#endif
