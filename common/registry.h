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
#include <time.h>

#include "certinfo.h"
#include "config.h"
#include "ids.h"
#include "strlist.h"
#include "trust.h"

/* Most fields one create or update writes (reads have no limit). */
#define XCA_FIELDS_MAX 16

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
  /* All fields of key into *out (caller frees). XCA_E_NOT_FOUND if absent,
   * XCA_E_WRONG_TYPE if key holds another type than a hash. */
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
  /* Create key with the fields of set, atomically, only if key is absent
   * and every field of cond equals its value in the hash cond_key (a value
   * of "" in cond also matches an absent field or key). Absence of key is
   * checked first: XCA_E_EXISTS if it exists, else XCA_E_CODE_MISMATCH if
   * a condition fails; nothing is written then. */
  int (*create_if)(void *impl, const char *key, const struct xca_fields *set,
                   const char *cond_key, const struct xca_fields *cond);
  /* One SCAN step over keys matching the glob match, count a COUNT hint.
   * *cursor is 0 to start and 0 again when done. On XCA_OK the keys the
   * step returned are appended to keys; on error keys may hold some of them.
   * The caller frees keys either way. */
  int (*scan)(void *impl, const char *match, unsigned long long *cursor, int count,
              struct xca_strlist *keys);
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

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */
/* ------------------------------------------------------------------------ */

/* Every key is "<prefix><kind text><name>": the prefix (key_prefix, at most
 * XCA_KEY_PREFIX_MAX characters), the text of one kind of XCA_KEY_KINDS,
 * and for a named kind a name of at most XCA_KEY_NAME_MAX characters (an
 * identity "deviceId/moduleId" is the longest). Nothing outside registry.c
 * spells a kind's text or counts its length: keys are built with
 * xca_registry_key, classified with xca_registry_key_kind and scanned with
 * xca_registry_scan_begin. */
#define XCA_KEY_NAME_MAX (XCA_IDENTITY_MAX - 1)
#define XCA_KEY_KIND_MAX 24 /* longest kind text; registry.c checks each */
/* "<kind text><name>" and its NUL: a key as change events name it. */
#define XCA_KEY_UNPREFIXED_MAX (XCA_KEY_KIND_MAX + XCA_KEY_NAME_MAX + 1)
/* A whole key and its NUL. */
#define XCA_KEY_MAX (XCA_KEY_PREFIX_MAX + XCA_KEY_UNPREFIXED_MAX)
/* A SCAN pattern: a key with every character escaped, "*" and the NUL. */
#define XCA_KEY_MATCH_MAX (2 * XCA_KEY_MAX)

/* X(KIND, text, named): the kinds of key under the prefix. The text of a
 * named kind is followed by a name; an unnamed kind's text is the whole
 * key after the prefix. */
#define XCA_KEY_KINDS(X)                                                                       \
  X(DEVICE, "device:", 1)   /* hash: an identity, "deviceId" or "deviceId/moduleId" */        \
  X(CA, "ca:", 1)           /* hash: a CA, named [A-Za-z0-9._-]{1,64} */                      \
  X(GROUP, "group:", 1)     /* hash: an enrollment group, named as a CA is */                 \
  X(REVOKED, "revoked:", 1) /* hash: a revoked certificate, named by its SHA-256 */           \
  X(CRL, "crl:", 1)         /* hash: a CRL, named by the SHA-256 of its issuer */             \
  X(WATCHER, "watcher:", 1) /* string: one broker's heartbeat (watcher.c) */                  \
  X(EPOCH, "epoch", 0)      /* string: names the database's contents (watcher.c) */

enum xca_key_kind {
#define XCA_KEY_KIND_ENUM(kind, text, named) XCA_KEY_##kind,
  XCA_KEY_KINDS(XCA_KEY_KIND_ENUM)
#undef XCA_KEY_KIND_ENUM
  XCA_KEY_UNKNOWN /* a key under the prefix of none of the kinds */
};

/* Write "<prefix><kind text><name>" into key (name "" or NULL for an
 * unnamed kind). Returns XCA_OK, or XCA_E_INVAL with key "" when the prefix
 * is longer than XCA_KEY_PREFIX_MAX, the name longer than XCA_KEY_NAME_MAX,
 * an unnamed kind is given a name, or kind is XCA_KEY_UNKNOWN. */
int xca_registry_key(const struct xca_registry *reg, enum xca_key_kind kind, const char *name,
                     char key[XCA_KEY_MAX]);

/* The same without the prefix: "<kind text><name>", as change events and
 * audit lines name a key. Same errors, the prefix aside. */
int xca_registry_key_unprefixed(enum xca_key_kind kind, const char *name,
                                char key[XCA_KEY_UNPREFIXED_MAX]);

/* Classify key, a key without the prefix ("device:d/m", "epoch"). Returns
 * its kind and, when name is non-NULL, sets *name to what follows the
 * kind's text (borrowed from key; "" for an unnamed kind). A key of no kind
 * gives XCA_KEY_UNKNOWN and *name = key. */
enum xca_key_kind xca_registry_key_kind(const char *key, const char **name);

/* Write text into buf with every glob metacharacter of Redis patterns
 * (* ? [ ] \) escaped by a backslash, so that a pattern matches it
 * literally. Returns XCA_OK, or XCA_E_INVAL with buf "" when it does not
 * fit buflen (> 0). */
int xca_registry_glob_escape(const char *text, char *buf, size_t buflen);

/* ------------------------------------------------------------------------ */
/* Scanning the keyspace                                                     */
/* ------------------------------------------------------------------------ */

/* One SCAN iteration over the keys of one kind, a step at a time. */
struct xca_registry_scan {
  const struct xca_registry *reg; /* borrowed */
  unsigned long long cursor;      /* Redis's cursor: pass it back to resume; 0 when done */
  int count;                      /* COUNT hint of each step */
  int done;                       /* a step completed the iteration */
  size_t head_len;                /* strlen(head) */
  char head[XCA_KEY_MAX];         /* "<prefix><kind text>": where the names start */
  char match[XCA_KEY_MATCH_MAX];  /* head and name_prefix, escaped, then "*" */
};

/* Prepare s to scan reg for the keys of a named kind whose name starts with
 * name_prefix (NULL or "" = every name), from cursor (0 = the start), count
 * keys per step as a hint. Returns XCA_OK, or XCA_E_INVAL when kind is not
 * named or the pattern does not fit. */
int xca_registry_scan_begin(struct xca_registry_scan *s, const struct xca_registry *reg,
                            enum xca_key_kind kind, const char *name_prefix,
                            unsigned long long cursor, int count);

/* Take one SCAN step: append to names the name (the key without prefix and
 * kind text) of every key it returned, in order; s->done is set once the
 * iteration is complete. Returns XCA_OK, XCA_E_REGISTRY_UNAVAILABLE or XCA_E_NOMEM
 * (names may then hold some of this step's names). */
int xca_registry_scan_step(struct xca_registry_scan *s, struct xca_strlist *names);

/* Scan to the end: append to names every name of kind under name_prefix
 * for which keep (NULL = keep all) returns 1, stopping once names holds max
 * (0 = no limit). Errors as xca_registry_scan_begin and _step. */
int xca_registry_scan_all(const struct xca_registry *reg, enum xca_key_kind kind,
                          const char *name_prefix, int count, int (*keep)(const char *name),
                          int max, struct xca_strlist *names);

/* ------------------------------------------------------------------------ */
/* Identities                                                                */
/* ------------------------------------------------------------------------ */

/* Interpret stored fields as an identity (never fails: unknown values fail
 * closed as disabled / XCA_AUTH_INVALID). */
void xca_identity_from_fields(const struct xca_fields *f, struct xca_identity_rec *out);

/* Read one identity ("device" or "device/module"). Returns XCA_OK,
 * XCA_E_NOT_FOUND (also when the key holds another type than a hash: no
 * such identity), or XCA_E_REGISTRY_UNAVAILABLE. */
int xca_registry_get_identity(const struct xca_registry *reg, const char *identity,
                              struct xca_identity_rec *out);

/* Return the name of an authentication type as stored. */
const char *xca_auth_type_name(enum xca_auth_type auth);

/* Return 1 if thumbprint (normalised) equals the primary or secondary of rec
 * (SHA-1 and SHA-256 both compared), else 0. */
int xca_identity_thumbprint_matches(const struct xca_identity_rec *rec, const char *sha1,
                                    const char *sha256);

/* ------------------------------------------------------------------------ */
/* CAs                                                                       */
/* ------------------------------------------------------------------------ */

/* One CA as stored, interpreted with the schema's defaults. The strings
 * point into fields (NULL when absent); release with xca_ca_rec_free. */
struct xca_ca_rec {
  int verified;             /* status is exactly "verified"; any other value or none: unverified */
  const char *certificate;  /* the CA certificate (PEM) */
  const char *subject;      /* subject, thumbprint and notAfter as uploadCA stored them */
  const char *thumbprint;
  const char *not_after;
  const char *code;         /* verificationCode */
  long long code_expiry;    /* verificationCodeExpiry (unix seconds); LLONG_MIN when absent
                               or unreadable, so that it has always expired */
  struct xca_fields fields; /* the hash as stored: owns the strings above */
};

/* Interpret rec->fields (as read, or as the caller set them) into the other
 * members of rec. Call it again after changing a field the members point
 * at. Never fails. */
void xca_ca_rec_parse(struct xca_ca_rec *rec);

/* Read the CA name into *out (release with xca_ca_rec_free). Returns
 * XCA_OK, XCA_E_NOT_FOUND, XCA_E_REGISTRY_UNAVAILABLE, XCA_E_NOMEM or XCA_E_INVAL (the
 * name makes no key); on error *out is zeroed. */
int xca_registry_get_ca(const struct xca_registry *reg, const char *name,
                        struct xca_ca_rec *out);

/* Release the fields of rec and zero it. NULL-safe. */
void xca_ca_rec_free(struct xca_ca_rec *rec);

/* ------------------------------------------------------------------------ */
/* Enrollment groups (README "Enrollment groups")                            */
/* ------------------------------------------------------------------------ */

#define XCA_GROUP_STATUS_MAX 16 /* stored status values kept verbatim, NUL included */
#define XCA_GROUP_THUMB_MAX 128 /* a stored thumbprint field kept verbatim, NUL included */

/* One enrollment group as stored under "<prefix>group:<name>", interpreted
 * with the schema's defaults: status and initialStatus absent = enabled,
 * any other value but "enabled" = disabled. */
struct xca_group_rec {
  char name[XCA_CA_NAME_MAX + 1];
  char thumbprint[XCA_SHA256_HEX]; /* SHA-256 of its certificate, lowercase hex */
  int enabled;                     /* status: it enrolls devices */
  int initial_enabled;             /* initialStatus: the status of what it enrolls */
  /* The stored fields verbatim ("" when absent): an enrollment creates an
   * identity only while they are unchanged (xca_group_condition_fields). */
  char status_raw[XCA_GROUP_STATUS_MAX];
  char initial_raw[XCA_GROUP_STATUS_MAX];
  char thumbprint_raw[XCA_GROUP_THUMB_MAX];
};

/* Interpret the stored fields f of the group name. Its certificate decides
 * its thumbprint; a stored thumbprint field must name the same certificate.
 * Returns XCA_OK (*out filled), XCA_E_BAD_NAME (name outside
 * [A-Za-z0-9._-]{1,64}), XCA_E_BAD_PEM (no usable certificate; also when
 * out of memory), XCA_E_BAD_THUMBPRINT (the thumbprint field is invalid or
 * names another certificate) or XCA_E_BAD_STATUS (a status or
 * initialStatus value too long to be valid). *out is zeroed on error. */
int xca_group_from_fields(const char *name, const struct xca_fields *f,
                          struct xca_group_rec *out);

/* Read the group name (key of kind XCA_KEY_GROUP) into *out. Returns
 * XCA_OK, XCA_E_NOT_FOUND, XCA_E_REGISTRY_UNAVAILABLE, XCA_E_INVAL (the name
 * makes no key) or an error of xca_group_from_fields; *out is zeroed on
 * error. */
int xca_registry_get_group(const struct xca_registry *reg, const char *name,
                           struct xca_group_rec *out);

/* The fields of an identity that group g enrolls at time now:
 * status = g's initialStatus, authentication certificateAuthority,
 * enrollmentGroup, enrolledAt (unix seconds). Returns XCA_OK or
 * XCA_E_NOMEM (*out may hold some of them: free it either way). */
int xca_group_identity_fields(const struct xca_group_rec *g, time_t now,
                              struct xca_fields *out);

/* The fields of g's key that must still hold their stored values for an
 * enrollment through g to create an identity (the kv create_if condition:
 * status, initialStatus, thumbprint, "" for an absent one). Returns XCA_OK
 * or XCA_E_NOMEM (free *out either way). */
int xca_group_condition_fields(const struct xca_group_rec *g, struct xca_fields *out);

/* ------------------------------------------------------------------------ */
/* Revocation (README "Revocation")                                          */
/* ------------------------------------------------------------------------ */

/* A thumbprint argument (revokeCertificate, unrevokeCertificate,
 * deleteCRL): name normalised (':' separators dropped, lowercased) to 64
 * hex digits into out (key names: xca_revocation_key_name). Returns
 * XCA_OK or XCA_E_BAD_THUMBPRINT (out ""; a SHA-1 is refused: revocation
 * names certificates by SHA-256 alone). */
int xca_revocation_name_parse(const char *name, char out[XCA_SHA256_HEX]);

/* The thumbprint the name of a key of kind XCA_KEY_REVOKED or XCA_KEY_CRL
 * stands for: name itself when it is canonical, 64 lowercase hex digits
 * (what the admin commands write; INTERFACE: the key holds the lowercase
 * SHA-256), copied into out. Any other name (uppercase, ':' separators, a
 * SHA-1, garbage) stands for nothing: XCA_E_BAD_THUMBPRINT, out "". The
 * one rule for key names at start-up, resync and change alike, so that a
 * key revokes, and is listed and deleted, exactly when its name is
 * canonical (an argument, by contrast, is normalised:
 * xca_revocation_name_parse). */
int xca_revocation_key_name(const char *name, char out[XCA_SHA256_HEX]);

/* A revocation as stored under "<prefix>revoked:<sha256>": the key's
 * existence revokes; every field is optional ("" when absent, truncated
 * to fit). */
struct xca_revoked_rec {
  char thumbprint[XCA_SHA256_HEX];
  char reason[XCA_REVOKE_REASON_MAX];
  char subject[XCA_CRL_SUBJECT_MAX];
  long long revoked_at; /* revokedAt; 0 when absent or unreadable */
};

/* Interpret the fields f stored for thumbprint sha256 (copied). Never fails. */
void xca_revoked_from_fields(const char *sha256, const struct xca_fields *f,
                             struct xca_revoked_rec *out);

/* Read the revocation of sha256 (normalised as xca_revocation_name_parse
 * does). Returns XCA_OK, XCA_E_NOT_FOUND (not revoked),
 * XCA_E_BAD_THUMBPRINT or XCA_E_REGISTRY_UNAVAILABLE. */
int xca_registry_get_revoked(const struct xca_registry *reg, const char *sha256,
                             struct xca_revoked_rec *out);

/* The fields of a new revocation: reason, revokedAt, and subject unless
 * NULL. Returns XCA_OK or XCA_E_NOMEM (free *out either way). */
int xca_revoked_fields(const char *reason, time_t revoked_at, const char *subject,
                       struct xca_fields *out);

/* Read the CRL held under "<prefix>crl:<issuer_sha256>" and check it as an
 * upload is (xca_crl_new) against its stored issuer certificate, whose
 * SHA-256 must be issuer_sha256. On XCA_OK *out is owned (xca_crl_free).
 * Returns XCA_OK, XCA_E_NOT_FOUND, XCA_E_REGISTRY_UNAVAILABLE,
 * XCA_E_BAD_THUMBPRINT (the stored issuer is another certificate),
 * XCA_E_BAD_PEM (no usable issuer) or an error of xca_crl_new. */
int xca_registry_get_crl(const struct xca_registry *reg, const char *issuer_sha256,
                         struct xca_crl **out);

/* The fields of a CRL key: crl (crl_pem), issuer (issuer_pem),
 * issuerSubject, thisUpdate, nextUpdate ("" when none), count. Returns
 * XCA_OK or XCA_E_NOMEM (free *out either way). */
int xca_crl_fields(const struct xca_crl_info *info, const char *crl_pem, const char *issuer_pem,
                   struct xca_fields *out);

#endif
