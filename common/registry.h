/* registry.h - the identity and CA registry, over a small key/hash seam.
 *
 * The seam (struct xca_kv) is the only thing that talks to storage: Redis in
 * production (registry_redis.c), an in-memory fake in unit tests. Everything
 * above it - key names, field meanings, defaults - lives here, so redis-cli
 * edits and admin commands see the same schema (README "The registry in
 * Redis").
 */
#ifndef XCA_REGISTRY_H
#define XCA_REGISTRY_H

#include <stddef.h>

#include "certinfo.h"
#include "trust.h"

/* Most fields one create or update writes (reads have no limit). */
#define XCA_FIELDS_MAX 16

/* Longest Redis key the plugin builds: prefix, kind, "device/module". */
#define XCA_KEY_MAX 600

/* A set of hash fields; names and values are owned copies. */
struct xca_fields {
  int count;
  int cap;
  char **name;
  char **value;
};

/* Set name to value (both copied), replacing an existing value. Returns
 * XCA_OK or XCA_E_NOMEM; f is unchanged on error. */
int xca_fields_set(struct xca_fields *f, const char *name, const char *value);

/* Return the value of name (borrowed) or NULL. */
const char *xca_fields_get(const struct xca_fields *f, const char *name);

/* Release every name and value and zero f. NULL-safe. */
void xca_fields_free(struct xca_fields *f);

/* The storage seam. Every call returns XCA_OK or an error code;
 * XCA_E_REGISTRY_UNAVAILABLE means storage could not be reached (nothing is
 * known to have changed). */
struct xca_kv_ops {
  /* All fields of key into *out (caller frees). XCA_E_NOT_FOUND if absent. */
  int (*hgetall)(void *impl, const char *key, struct xca_fields *out);
  /* Create key with fields, atomically; XCA_E_EXISTS if it exists. */
  int (*create)(void *impl, const char *key, const struct xca_fields *set);
  /* Atomically, if key exists (and, when expect_name is non-NULL, its field
   * expect_name equals expect_value): set the fields of set, delete the
   * fields named in del[0..ndel). XCA_E_NOT_FOUND if key is absent,
   * XCA_E_CODE_MISMATCH if the expectation fails. */
  int (*update)(void *impl, const char *key, const char *expect_name, const char *expect_value,
                const struct xca_fields *set, const char *const *del, int ndel);
  /* Delete key. XCA_E_NOT_FOUND if absent. */
  int (*del)(void *impl, const char *key);
  /* One SCAN step over keys matching the glob match. *cursor is 0 to start
   * and 0 again when done. On XCA_OK *keys is a malloc'ed array of *nkeys
   * malloc'ed strings (free each, then the array). */
  int (*scan)(void *impl, const char *match, unsigned long long *cursor, int count, char ***keys,
              int *nkeys);
};

struct xca_kv {
  const struct xca_kv_ops *ops;
  void *impl;
};

enum xca_auth_type {
  XCA_AUTH_CA,          /* "certificateAuthority" (the default when absent) */
  XCA_AUTH_SELF_SIGNED, /* "selfSigned" */
  XCA_AUTH_INVALID,     /* any other stored value: refused */
};

/* One identity (device or module) as stored, interpreted with the schema's
 * defaults: status absent = enabled, any value but "enabled" = disabled. */
struct xca_identity_rec {
  int enabled;
  enum xca_auth_type auth;
  char primary[XCA_SHA256_HEX];   /* normalised; "" when absent or invalid */
  char secondary[XCA_SHA256_HEX]; /* normalised; "" when absent or invalid */
};

struct xca_registry {
  struct xca_kv kv;
  const char *prefix; /* borrowed, e.g. "x509ca:" */
};

/* Write "<prefix>device:<identity>" / "<prefix>ca:<name>" into buf. Returns
 * XCA_OK or XCA_E_INVAL when it does not fit. */
int xca_registry_identity_key(const struct xca_registry *reg, const char *identity, char *buf,
                              size_t buflen);
int xca_registry_ca_key(const struct xca_registry *reg, const char *name, char *buf,
                        size_t buflen);

/* Interpret stored fields as an identity (never fails: unknown values fail
 * closed as disabled / XCA_AUTH_INVALID). */
void xca_identity_from_fields(const struct xca_fields *f, struct xca_identity_rec *out);

/* Read one identity ("device" or "device/module"). Returns XCA_OK,
 * XCA_E_NOT_FOUND, or XCA_E_REGISTRY_UNAVAILABLE. */
int xca_registry_get_identity(const struct xca_registry *reg, const char *identity,
                              struct xca_identity_rec *out);

/* Return the name of an authentication type as stored. */
const char *xca_auth_type_name(enum xca_auth_type auth);

/* Return 1 if thumbprint (normalised) equals the primary or secondary of rec
 * (SHA-1 and SHA-256 both compared), else 0. */
int xca_identity_thumbprint_matches(const struct xca_identity_rec *rec, const char *sha1,
                                    const char *sha256);


#endif
