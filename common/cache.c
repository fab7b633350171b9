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

/* One bounded LRU list: uthash keeps insertion order, head = least recent. */
struct part {
  struct entry *table;
  unsigned capacity;
};

/* A key is in at most one of the two. Not-found entries have their own
 * list so that any number of them (clients naming ids that do not exist)
 * can only evict each other, never an identity that exists. */
struct xca_cache {
  struct part found;
  struct part missing;
};

static unsigned missing_capacity(unsigned capacity)
{
  unsigned share = capacity / XCA_CACHE_MISSING_SHARE;
  return (capacity > 0 && share == 0) ? 1 : share;
}

struct xca_cache *xca_cache_new(int capacity)
{
  struct xca_cache *c = calloc(1, sizeof(*c));
  unsigned cap = capacity > 0 ? (unsigned)capacity : 0;

  if (c != NULL) {
    c->found.capacity = cap;
    c->missing.capacity = missing_capacity(cap);
  }
  return c;
}

static void entry_drop(struct part *p, struct entry *e)
{
  HASH_DEL(p->table, e);
  free(e->key);
  free(e);
}

static void part_clear(struct part *p)
{
  struct entry *e;
  struct entry *tmp;

  HASH_ITER(hh, p->table, e, tmp) {
    entry_drop(p, e);
  }
}

void xca_cache_clear(struct xca_cache *c)
{
  if (c != NULL) {
    part_clear(&c->found);
    part_clear(&c->missing);
  }
}

void xca_cache_free(struct xca_cache *c)
{
  xca_cache_clear(c);
  free(c);
}

/* The list holding key and its entry, or NULL. */
static struct part *find(struct xca_cache *c, const char *key, struct entry **out)
{
  struct entry *e = NULL;

  HASH_FIND_STR(c->found.table, key, e);
  if (e != NULL) {
    *out = e;
    return &c->found;
  }
  HASH_FIND_STR(c->missing.table, key, e);
  *out = e;
  return e != NULL ? &c->missing : NULL;
}

int xca_cache_get(struct xca_cache *c, const char *key, long long min_fetched_ms, int *found,
                  struct xca_identity_rec *rec)
{
  struct entry *e = NULL;
  struct part *p = find(c, key, &e);

  if (p == NULL || e->fetched_ms < min_fetched_ms) {
    return 0;
  }
  /* Move to the tail of its list: most recently used. */
  HASH_DEL(p->table, e);
  HASH_ADD_KEYPTR(hh, p->table, e->key, strlen(e->key), e);
  *found = e->found;
  if (e->found) {
    *rec = e->rec;
  }
  return 1;
}

int xca_cache_has(struct xca_cache *c, const char *key)
{
  struct entry *e = NULL;
  return find(c, key, &e) != NULL;
}

int xca_cache_put(struct xca_cache *c, const char *key, int found,
                  const struct xca_identity_rec *rec, long long fetched_ms)
{
  struct part *p = found ? &c->found : &c->missing;
  struct entry *e;

  xca_cache_remove(c, key); /* it may sit in the other list */
  if (p->capacity == 0) {
    return XCA_OK;
  }
  if (HASH_COUNT(p->table) >= p->capacity) {
    entry_drop(p, p->table);
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
  HASH_ADD_KEYPTR(hh, p->table, e->key, strlen(e->key), e);
  return XCA_OK;
}

void xca_cache_remove(struct xca_cache *c, const char *key)
{
  struct entry *e = NULL;
  struct part *p = find(c, key, &e);

  if (p != NULL) {
    entry_drop(p, e);
  }
}

unsigned xca_cache_count(const struct xca_cache *c)
{
  return HASH_COUNT(c->found.table) + HASH_COUNT(c->missing.table);
}
