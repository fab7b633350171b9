#include "enroll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "xca_err.h"

/* One group, reachable by name and, through its bucket, by thumbprint. */
struct group_entry {
  struct xca_group_rec rec;
  struct group_entry *next_same_thumb; /* bucket list, sorted by name */
  UT_hash_handle hh;                   /* by name */
};

struct thumb_bucket {
  char thumbprint[XCA_SHA256_HEX];
  struct group_entry *first; /* the smallest name: the one that decides */
  UT_hash_handle hh;
};

struct xca_groups {
  struct group_entry *by_name;
  struct thumb_bucket *by_thumb;
  unsigned count;
};

/* ------------------------------------------------------------------------ */
/* The set                                                                   */
/* ------------------------------------------------------------------------ */

struct xca_groups *xca_groups_new(void)
{
  return calloc(1, sizeof(struct xca_groups));
}

static struct thumb_bucket *find_bucket(const struct xca_groups *g, const char *sha256)
{
  struct thumb_bucket *bucket = NULL;

  HASH_FIND_STR(g->by_thumb, sha256, bucket);
  return bucket;
}

static void unlink_thumb(struct xca_groups *g, struct group_entry *entry)
{
  struct thumb_bucket *bucket = find_bucket(g, entry->rec.thumbprint);

  if (bucket == NULL) {
    return;
  }
  for (struct group_entry **p = &bucket->first; *p != NULL; p = &(*p)->next_same_thumb) {
    if (*p == entry) {
      *p = entry->next_same_thumb;
      break;
    }
  }
  if (bucket->first == NULL) {
    HASH_DEL(g->by_thumb, bucket);
    free(bucket);
  }
}

static void entry_free(struct xca_groups *g, struct group_entry *entry)
{
  HASH_DEL(g->by_name, entry);
  unlink_thumb(g, entry);
  free(entry);
  g->count--;
}

void xca_groups_clear(struct xca_groups *g)
{
  struct group_entry *e;
  struct group_entry *tmp;

  HASH_ITER(hh, g->by_name, e, tmp) {
    entry_free(g, e);
  }
}

void xca_groups_free(struct xca_groups *g)
{
  if (g == NULL) {
    return;
  }
  xca_groups_clear(g);
  free(g);
}

int xca_groups_remove(struct xca_groups *g, const char *name)
{
  struct group_entry *entry = NULL;

  HASH_FIND_STR(g->by_name, name, entry);
  if (entry == NULL) {
    return XCA_E_NOT_FOUND;
  }
  entry_free(g, entry);
  return XCA_OK;
}

/* Insert entry into its thumbprint's bucket, keeping the list sorted. */
static int link_thumb(struct xca_groups *g, struct group_entry *entry)
{
  struct thumb_bucket *bucket = find_bucket(g, entry->rec.thumbprint);
  struct group_entry **p;

  if (bucket == NULL) {
    bucket = calloc(1, sizeof(*bucket));
    if (bucket == NULL) {
      return XCA_E_NOMEM;
    }
    strcpy(bucket->thumbprint, entry->rec.thumbprint);
    HASH_ADD_STR(g->by_thumb, thumbprint, bucket);
  }
  for (p = &bucket->first; *p != NULL && strcmp((*p)->rec.name, entry->rec.name) < 0;
       p = &(*p)->next_same_thumb) {
  }
  entry->next_same_thumb = *p;
  *p = entry;
  return XCA_OK;
}

int xca_groups_put(struct xca_groups *g, const struct xca_group_rec *rec)
{
  struct group_entry *entry;

  /* Replace first: should memory run out below, the name is then simply
   * not held, and nothing is enrolled through it (fails closed). */
  xca_groups_remove(g, rec->name);
  entry = calloc(1, sizeof(*entry));
  if (entry == NULL) {
    return XCA_E_NOMEM;
  }
  entry->rec = *rec;
  if (link_thumb(g, entry) != XCA_OK) {
    free(entry);
    return XCA_E_NOMEM;
  }
  HASH_ADD_STR(g->by_name, rec.name, entry);
  g->count++;
  return XCA_OK;
}

unsigned xca_groups_count(const struct xca_groups *g)
{
  return g->count;
}

const struct xca_group_rec *xca_groups_get(const struct xca_groups *g, const char *name)
{
  struct group_entry *entry = NULL;

  HASH_FIND_STR(g->by_name, name, entry);
  return entry ? &entry->rec : NULL;
}

const struct xca_group_rec *xca_groups_find(const struct xca_groups *g, const char *sha256)
{
  const struct thumb_bucket *bucket = find_bucket(g, sha256);
  return bucket ? &bucket->first->rec : NULL;
}

const struct xca_group_rec *xca_groups_for_chain(const struct xca_groups *g,
                                                 const struct xca_chain_result *chain)
{
  /* No group at all: the walk costs nothing. */
  if (g->count == 0) {
    return NULL;
  }
  for (int depth = 1; depth < chain->chain_len && depth < XCA_CHAIN_MAX; depth++) {
    const struct xca_group_rec *rec = xca_groups_find(g, chain->chain_sha256[depth]);
    if (rec != NULL) {
      return rec;
    }
  }
  return NULL;
}

int xca_groups_reload(struct xca_groups *g, const struct xca_registry *reg, const char *name)
{
  struct xca_group_rec rec;
  int rc = xca_registry_get_group(reg, name, &rec);

  if (rc == XCA_OK) {
    return xca_groups_put(g, &rec);
  }
  xca_groups_remove(g, name);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Enrollment                                                                */
/* ------------------------------------------------------------------------ */

/* Create identity through g, only if it is absent and g's key still holds
 * what the set loaded. Returns XCA_OK (*out is the new identity),
 * XCA_E_EXISTS, XCA_E_CODE_MISMATCH (g changed) or XCA_E_REGISTRY_UNAVAILABLE. */
static int create_identity(const struct xca_enroller *e, const struct xca_group_rec *g,
                           const char *identity, struct xca_identity_rec *out)
{
  const struct xca_kv *kv = &e->reg->kv;
  char key[XCA_KEY_MAX];
  char group_key[XCA_KEY_MAX];
  struct xca_fields set = {0};
  struct xca_fields cond = {0};
  int rc = xca_registry_key(e->reg, XCA_KEY_DEVICE, identity, key);

  if (rc == XCA_OK) {
    rc = xca_registry_key(e->reg, XCA_KEY_GROUP, g->name, group_key);
  }
  if (rc == XCA_OK) {
    rc = xca_group_identity_fields(g, e->now ? e->now() : time(NULL), &set);
  }
  if (rc == XCA_OK) {
    rc = xca_group_condition_fields(g, &cond);
  }
  if (rc == XCA_OK) {
    rc = kv->ops->create_if(kv->impl, key, &set, group_key, &cond);
  }
  if (rc == XCA_OK) {
    xca_identity_from_fields(&set, out);
  }
  xca_fields_free(&set);
  xca_fields_free(&cond);
  return rc;
}

/* One walk of the chain: find the deciding group and act on it. */
static int enroll_once(struct xca_enroller *e, const struct xca_chain_result *chain,
                       const char *identity, struct xca_identity_rec *out)
{
  const struct xca_group_rec *g = xca_groups_for_chain(e->groups, chain);

  e->group[0] = '\0';
  if (g == NULL) {
    return XCA_E_NOT_FOUND;
  }
  strcpy(e->group, g->name);
  if (!g->enabled) {
    return XCA_E_GROUP_DISABLED;
  }
  return create_identity(e, g, identity, out);
}

void xca_enroller_begin(struct xca_enroller *e)
{
  e->created = 0;
  e->created_enabled = 0;
  e->found_meanwhile = 0;
  e->group[0] = '\0';
}

int xca_enroll(void *enroller, const struct xca_cert_facts *facts, const char *identity,
               struct xca_identity_rec *out)
{
  struct xca_enroller *e = enroller;
  int rc;

  xca_enroller_begin(e);
  if (!facts->chain_ok) {
    return XCA_E_NOT_FOUND; /* only a verified chain names its CAs */
  }
  rc = enroll_once(e, &facts->chain, identity, out);
  if (rc == XCA_E_CODE_MISMATCH) {
    /* The group changed in Redis after it was loaded (e.g. disabled on
     * another broker a moment ago): take it as it is now, walk again. */
    char name[XCA_CA_NAME_MAX + 1];
    strcpy(name, e->group);
    rc = xca_groups_reload(e->groups, e->reg, name);
    rc = rc == XCA_E_REGISTRY_UNAVAILABLE ? rc : enroll_once(e, &facts->chain, identity, out);
    /* Changed again at once: refuse rather than chase it. */
    rc = rc == XCA_E_CODE_MISMATCH ? XCA_E_NOT_FOUND : rc;
  }
  if ((rc == XCA_OK || rc == XCA_E_EXISTS) && e->cache != NULL) {
    xca_cache_remove(e->cache, identity);
  }
  if (rc == XCA_OK) {
    e->created = 1;
    e->created_enabled = out->enabled;
  } else if (rc == XCA_E_EXISTS) {
    /* Another broker enrolled it first: its entry decides, as stored. */
    e->found_meanwhile = 1;
    rc = xca_registry_get_identity(e->reg, identity, out);
  }
  return rc;
}

void xca_enroll_describe(const struct xca_enroller *e, int rc, char *buf, size_t buflen)
{
  if (rc == XCA_E_GROUP_DISABLED && e->group[0] != '\0') {
    snprintf(buf, buflen, "enrollment group '%s' is disabled", e->group);
  } else {
    snprintf(buf, buflen, "%s", xca_strerror(rc));
  }
}
