/* fake_kv.h - an in-memory implementation of the xca_kv seam for unit tests.
 *
 * Keys keep their insertion slot (deletes leave a hole), so SCAN cursors are
 * slot indexes and keep Redis's guarantee: a key present for a whole
 * iteration is returned. MATCH patterns use fnmatch (backslash escapes, as
 * in Redis globs). Not thread-safe.
 */
#ifndef XCA_FAKE_KV_H
#define XCA_FAKE_KV_H

#include "registry.h"

struct xca_fake_kv;

/* Create an empty store. Returns NULL on allocation failure. */
struct xca_fake_kv *xca_fake_kv_new(void);

/* Free the store and everything in it. NULL-safe. */
void xca_fake_kv_free(struct xca_fake_kv *f);

/* The seam backed by f. */
struct xca_kv xca_fake_kv(struct xca_fake_kv *f);

/* While down is non-zero every call fails with XCA_E_REGISTRY_UNAVAILABLE. */
void xca_fake_kv_set_down(struct xca_fake_kv *f, int down);

/* Set one field directly (as redis-cli HSET would). Returns XCA_OK or
 * XCA_E_NOMEM. */
int xca_fake_kv_hset(struct xca_fake_kv *f, const char *key, const char *name, const char *value);

/* Return the value of key's field name (borrowed) or NULL. */
const char *xca_fake_kv_hget(struct xca_fake_kv *f, const char *key, const char *name);

/* Return 1 if key exists, else 0. */
int xca_fake_kv_exists(struct xca_fake_kv *f, const char *key);

/* Number of keys. */
int xca_fake_kv_count(struct xca_fake_kv *f);

/* Number of scan calls so far. */
int xca_fake_kv_scans(struct xca_fake_kv *f);

/* Number of create_if calls so far that reached the store (not down). */
int xca_fake_kv_creates_if(struct xca_fake_kv *f);

#endif
