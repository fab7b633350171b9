#include "fake_kv.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "xca_err.h"

struct slot {
  char *key; /* NULL = deleted */
  struct xca_fields fields;
};

struct xca_fake_kv {
  struct slot *slots;
  int nslots;
  int cap;
  int down;
  int scans;
  int creates_if;
};

struct xca_fake_kv *xca_fake_kv_new(void)
{
  return calloc(1, sizeof(struct xca_fake_kv));
}

void xca_fake_kv_free(struct xca_fake_kv *f)
{
  if (f == NULL) {
    return;
  }
  for (int i = 0; i < f->nslots; i++) {
    free(f->slots[i].key);
    xca_fields_free(&f->slots[i].fields);
  }
  free(f->slots);
  free(f);
}

void xca_fake_kv_set_down(struct xca_fake_kv *f, int down)
{
  f->down = down;
}

static struct slot *find(struct xca_fake_kv *f, const char *key)
{
  for (int i = 0; i < f->nslots; i++) {
    if (f->slots[i].key != NULL && strcmp(f->slots[i].key, key) == 0) {
      return &f->slots[i];
    }
  }
  return NULL;
}

static struct slot *add(struct xca_fake_kv *f, const char *key)
{
  struct slot *s;

  if (f->nslots == f->cap) {
    int cap = f->cap ? f->cap * 2 : 16;
    struct slot *n = realloc(f->slots, (size_t)cap * sizeof(*n));
    if (n == NULL) {
      return NULL;
    }
    f->slots = n;
    f->cap = cap;
  }
  s = &f->slots[f->nslots];
  memset(s, 0, sizeof(*s));
  s->key = strdup(key);
  if (s->key == NULL) {
    return NULL;
  }
  f->nslots++;
  return s;
}

static void drop(struct slot *s)
{
  free(s->key);
  s->key = NULL;
  xca_fields_free(&s->fields);
}

/* Remove field name from fields (xca_fields has no delete of its own). */
static void unset(struct xca_fields *fl, const char *name)
{
  for (int i = 0; i < fl->count; i++) {
    if (strcmp(fl->name[i], name) == 0) {
      free(fl->name[i]);
      free(fl->value[i]);
      fl->count--;
      fl->name[i] = fl->name[fl->count];
      fl->value[i] = fl->value[fl->count];
      return;
    }
  }
}

static int copy_fields(struct xca_fields *dst, const struct xca_fields *src)
{
  for (int i = 0; i < src->count; i++) {
    int rc = xca_fields_set(dst, src->name[i], src->value[i]);
    if (rc != XCA_OK) {
      return rc;
    }
  }
  return XCA_OK;
}

/* The slot of an existing key, as each call but create and scan starts:
 * XCA_E_REGISTRY_UNAVAILABLE while down, XCA_E_NOT_FOUND without the key, else XCA_OK
 * with *s set. */
static int existing(struct xca_fake_kv *f, const char *key, struct slot **s)
{
  if (f->down) {
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  *s = find(f, key);
  return *s != NULL ? XCA_OK : XCA_E_NOT_FOUND;
}

static int kv_hgetall(void *impl, const char *key, struct xca_fields *out)
{
  struct slot *s;
  int rc = existing(impl, key, &s);

  return rc != XCA_OK ? rc : copy_fields(out, &s->fields);
}

static int kv_create(void *impl, const char *key, const struct xca_fields *set)
{
  struct xca_fake_kv *f = impl;
  struct slot *s;

  if (f->down) {
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  if (set->count == 0) {
    return XCA_E_INVAL;
  }
  if (find(f, key) != NULL) {
    return XCA_E_EXISTS;
  }
  s = add(f, key);
  return s ? copy_fields(&s->fields, set) : XCA_E_NOMEM;
}

/* Whether every field of cond equals key's ("" also matches absence). */
static int cond_holds(struct xca_fake_kv *f, const char *key, const struct xca_fields *cond)
{
  struct slot *s = find(f, key);

  for (int i = 0; i < cond->count; i++) {
    const char *cur = s ? xca_fields_get(&s->fields, cond->name[i]) : NULL;
    if (strcmp(cur ? cur : "", cond->value[i]) != 0) {
      return 0;
    }
  }
  return 1;
}

static int kv_create_if(void *impl, const char *key, const struct xca_fields *set,
                        const char *cond_key, const struct xca_fields *cond)
{
  struct xca_fake_kv *f = impl;

  if (f->down) {
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  f->creates_if++;
  if (set->count == 0) {
    return XCA_E_INVAL;
  }
  if (find(f, key) != NULL) {
    return XCA_E_EXISTS;
  }
  if (!cond_holds(f, cond_key, cond)) {
    return XCA_E_CODE_MISMATCH;
  }
  return kv_create(impl, key, set);
}

static int kv_update(void *impl, const char *key, const char *expect_name,
                     const char *expect_value, const struct xca_fields *set,
                     const char *const *del, int ndel)
{
  struct slot *s;
  const char *cur;
  int rc = existing(impl, key, &s);

  if (rc != XCA_OK) {
    return rc;
  }
  if (expect_name != NULL) {
    cur = xca_fields_get(&s->fields, expect_name);
    if (cur == NULL || strcmp(cur, expect_value ? expect_value : "") != 0) {
      return XCA_E_CODE_MISMATCH;
    }
  }
  if (set != NULL && copy_fields(&s->fields, set) != XCA_OK) {
    return XCA_E_NOMEM;
  }
  for (int i = 0; i < ndel; i++) {
    unset(&s->fields, del[i]);
  }
  if (s->fields.count == 0) {
    drop(s); /* Redis deletes an empty hash */
  }
  return XCA_OK;
}

static int kv_del(void *impl, const char *key)
{
  struct slot *s;
  int rc = existing(impl, key, &s);

  if (rc == XCA_OK) {
    drop(s);
  }
  return rc;
}

static int kv_scan(void *impl, const char *match, unsigned long long *cursor, int count,
                   struct xca_strlist *keys)
{
  struct xca_fake_kv *f = impl;
  unsigned long long i = *cursor;
  int rc = XCA_OK;

  if (f->down) {
    return XCA_E_REGISTRY_UNAVAILABLE;
  }
  f->scans++;
  if (count <= 0) {
    count = 10;
  }
  for (int seen = 0; rc == XCA_OK && i < (unsigned long long)f->nslots && seen < count;
       i++, seen++) {
    const char *k = f->slots[i].key;
    if (k != NULL && fnmatch(match, k, 0) == 0) {
      rc = xca_strlist_add(keys, k);
    }
  }
  if (rc == XCA_OK) {
    *cursor = i >= (unsigned long long)f->nslots ? 0 : i;
  }
  return rc;
}

static const struct xca_kv_ops fake_ops = {
  .hgetall = kv_hgetall,
  .create = kv_create,
  .create_if = kv_create_if,
  .update = kv_update,
  .del = kv_del,
  .scan = kv_scan,
};

struct xca_kv xca_fake_kv(struct xca_fake_kv *f)
{
  struct xca_kv kv = {&fake_ops, f};
  return kv;
}

int xca_fake_kv_hset(struct xca_fake_kv *f, const char *key, const char *name, const char *value)
{
  struct slot *s = find(f, key);

  if (s == NULL) {
    s = add(f, key);
  }
  return s ? xca_fields_set(&s->fields, name, value) : XCA_E_NOMEM;
}

const char *xca_fake_kv_hget(struct xca_fake_kv *f, const char *key, const char *name)
{
  struct slot *s = find(f, key);
  return s ? xca_fields_get(&s->fields, name) : NULL;
}

int xca_fake_kv_exists(struct xca_fake_kv *f, const char *key)
{
  return find(f, key) != NULL;
}

int xca_fake_kv_count(struct xca_fake_kv *f)
{
  int n = 0;
  for (int i = 0; i < f->nslots; i++) {
    n += f->slots[i].key != NULL;
  }
  return n;
}

int xca_fake_kv_scans(struct xca_fake_kv *f)
{
  return f->scans;
}

int xca_fake_kv_creates_if(struct xca_fake_kv *f)
{
  return f->creates_if;
}
