/* enroll.h - enrollment groups: the set held in memory and the enrollment
 * step of the connect decision (README "Enrollment groups").
 *
 * A group is tied to one CA certificate and indexed by its SHA-256
 * thumbprint, so walking a verified chain costs one hash lookup per
 * certificate, and the walk happens only for a device whose own registry
 * entry proved absent: a connect that needs no enrollment never reaches
 * this module. Which entry decides, most specific first: the device's own
 * entry; else the group of the first certificate above the leaf that has
 * one (enabled: the identity is created, atomically and only if still
 * absent; disabled: refused); else not found. Not thread-safe: one owner
 * thread.
 */
#ifndef XCA_ENROLL_H
#define XCA_ENROLL_H

#include <stddef.h>
#include <time.h>

#include "auth.h"
#include "cache.h"
#include "registry.h"

struct xca_groups;

/* Create an empty set. Returns NULL on allocation failure. */
struct xca_groups *xca_groups_new(void);

/* Free the set. NULL-safe. */
void xca_groups_free(struct xca_groups *g);

/* Hold rec (copied) under rec->name, replacing what that name held.
 * Returns XCA_OK or XCA_E_NOMEM (the name is then no longer held). */
int xca_groups_put(struct xca_groups *g, const struct xca_group_rec *rec);

/* Stop holding name. Returns XCA_OK or XCA_E_NOT_FOUND. */
int xca_groups_remove(struct xca_groups *g, const char *name);

/* Drop every group. */
void xca_groups_clear(struct xca_groups *g);

/* Number of groups held. */
unsigned xca_groups_count(const struct xca_groups *g);

/* The group held under name (borrowed, valid until the set changes) or
 * NULL. */
const struct xca_group_rec *xca_groups_get(const struct xca_groups *g, const char *name);

/* The group of the certificate whose SHA-256 (lowercase hex) is sha256, or
 * NULL. Should several groups name one certificate (written with
 * redis-cli; the admin commands refuse it), the smallest name decides, on
 * every broker alike. Borrowed, valid until the set changes. */
const struct xca_group_rec *xca_groups_find(const struct xca_groups *g, const char *sha256);

/* The group of the first certificate above the leaf of a verified chain
 * (depth 1 up to the anchor) that has one, or NULL. Borrowed. */
const struct xca_group_rec *xca_groups_for_chain(const struct xca_groups *g,
                                                 const struct xca_chain_result *chain);

/* Read the group name from the registry into the set. Returns XCA_OK (held
 * as stored now), XCA_E_NOT_FOUND (absent: dropped), XCA_E_REGISTRY_UNAVAILABLE (Redis
 * did not answer: dropped, failing closed until it is read again), or the
 * error of xca_group_from_fields (unusable: dropped). */
int xca_groups_reload(struct xca_groups *g, const struct xca_registry *reg, const char *name);

/* The state xca_enroll works with, and what its last call did. */
struct xca_enroller {
  struct xca_groups *groups;      /* borrowed */
  const struct xca_registry *reg; /* borrowed: identities are created through its seam */
  struct xca_cache *cache;        /* borrowed, may be NULL: the identity's entry is dropped */
  time_t (*now)(void);            /* enrolledAt; NULL = time(NULL) */
  /* Set by each xca_enroll call: */
  int created;                     /* 1 when it created the identity */
  int created_enabled;             /* the created identity's status is enabled */
  int found_meanwhile;             /* 1 when the identity was created meanwhile (by
                                      another broker): its entry decided */
  char group[XCA_CA_NAME_MAX + 1]; /* the group that decided, "" when none did */
};

/* Forget what the last xca_enroll call did (created 0, group ""...): call it
 * before each decision, which may not reach xca_enroll at all. */
void xca_enroller_begin(struct xca_enroller *e);

/* The enrollment hook of xca_auth_decide_enroll (arg is a struct
 * xca_enroller *): enroll identity, a device without a registry entry
 * whose chain verified, through the first group of facts->chain. An
 * enabled group creates the identity (fields of xca_group_identity_fields)
 * only if it is still absent and the group's key still holds what the set
 * loaded (else the group is reloaded and the walk done once more): on
 * XCA_OK, *out is the new identity and created is 1. When the identity
 * exists by then (another broker enrolled it), that entry decides: XCA_OK
 * with *out as stored, created 0, found_meanwhile 1. Either way the cache's entry for
 * identity is dropped, so no stale "not found" outlives the enrollment.
 * Returns XCA_OK, XCA_E_NOT_FOUND (no group, or the entry vanished again),
 * XCA_E_GROUP_DISABLED (group names it) or XCA_E_REGISTRY_UNAVAILABLE (nothing is
 * created: fail closed). */
int xca_enroll(void *enroller, const struct xca_cert_facts *facts, const char *identity,
               struct xca_identity_rec *out);

/* Write why rc refused a device after e's last call into buf: for
 * XCA_E_GROUP_DISABLED "enrollment group '<name>' is disabled", else
 * xca_strerror(rc). Truncated to fit buflen (> 0). */
void xca_enroll_describe(const struct xca_enroller *e, int rc, char *buf, size_t buflen);

#endif
