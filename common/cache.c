#include "cache.h"

#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "xca_err.h"

struct entry {
  char *key;
  int found;
  struct xca_identity_rec rec;
  long long fetched_ms;
  UT_hash_handle hh;
};

struct xca_cache {
  struct entry *table; /* uthash keeps insertion order: head = least recent */
  unsigned capacity;
};

struct xca_cache *xca_cache_new(int capacity)
{
  struct xca_cache *c = calloc(1, sizeof(*c));
  if (c != NULL) {
    c->capacity = capacity > 0 ? (unsigned)capacity : 0;
  }
  return c;
}

static void entry_drop(struct xca_cache *c, struct entry *e)
{
  HASH_DEL(c->table, e);
  free(e->key);
  free(e);
}

void xca_cache_clear(struct xca_cache *c)
{
  struct entry *e;
  struct entry *tmp;

  if (c == NULL) {
    return;
  }
  HASH_ITER(hh, c->table, e, tmp) {
    entry_drop(c, e);
  }
}

void xca_cache_free(struct xca_cache *c)
{
  xca_cache_clear(c);
  free(c);
}

int xca_cache_get(struct xca_cache *c, const char *key, long long min_fetched_ms, int *found,
                  struct xca_identity_rec *rec)
{
  struct entry *e = NULL;

  HASH_FIND_STR(c->table, key, e);
  if (e == NULL || e->fetched_ms < min_fetched_ms) {
    return 0;
  }
  /* Move to the tail: most recently used. */
  HASH_DEL(c->table, e);
  HASH_ADD_KEYPTR(hh, c->table, e->key, strlen(e->key), e);
  *found = e->found;
  if (e->found) {
    *rec = e->rec;
  }
  return 1;
}

int xca_cache_put(struct xca_cache *c, const char *key, int found,
                  const struct xca_identity_rec *rec, long long fetched_ms)
{
  struct entry *e;

  if (c->capacity == 0) {
    return XCA_OK;
  }
  xca_cache_remove(c, key);
  if (HASH_COUNT(c->table) >= c->capacity) {
    entry_drop(c, c->table);
  }
  e = calloc(1, sizeof(*e));
  if (e == NULL || (e->key = strdup(key)) == NULL) {
    free(e);
    return XCA_E_NOMEM;
  }
  e->found = found;
  if (found) {
    e->rec = *rec;
  }
  e->fetched_ms = fetched_ms;
  HASH_ADD_KEYPTR(hh, c->table, e->key, strlen(e->key), e);
  return XCA_OK;
}

void xca_cache_remove(struct xca_cache *c, const char *key)
{
  struct entry *e = NULL;

  HASH_FIND_STR(c->table, key, e);
  if (e != NULL) {
    entry_drop(c, e);
  }
}

unsigned xca_cache_count(const struct xca_cache *c)
{
  return HASH_COUNT(c->table);
}
