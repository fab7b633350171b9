#include "sessions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "xca_err.h"

/* The public struct stays free of uthash; the table's node wraps it. */
struct node {
  struct xca_session pub;
  UT_hash_handle hh;
};

struct xca_sessions {
  struct node *table;
  struct xca_session *dirty_head;
  struct xca_session *closed_head; /* oldest first */
  struct xca_session *closed_tail;
  unsigned module_count; /* sessions that are modules: device changes scan only then */
};

struct xca_sessions *xca_sessions_new(void)
{
  return calloc(1, sizeof(struct xca_sessions));
}

static void unlink_dirty(struct xca_sessions *s, struct xca_session *sess)
{
  if (!sess->dirty) {
    return;
  }
  for (struct xca_session **p = &s->dirty_head; *p != NULL; p = &(*p)->next_dirty) {
    if (*p == sess) {
      *p = sess->next_dirty;
      break;
    }
  }
  sess->dirty = 0;
  sess->next_dirty = NULL;
}

static void unlink_closed(struct xca_sessions *s, struct xca_session *sess)
{
  struct xca_session *prev = NULL;

  if (sess->closed_ms == 0) {
    return;
  }
  for (struct xca_session *p = s->closed_head; p != NULL; prev = p, p = p->next_closed) {
    if (p == sess) {
      if (prev != NULL) {
        prev->next_closed = p->next_closed;
      } else {
        s->closed_head = p->next_closed;
      }
      if (s->closed_tail == p) {
        s->closed_tail = prev;
      }
      break;
    }
  }
  sess->next_closed = NULL;
}

static void node_free(struct xca_sessions *s, struct node *n)
{
  HASH_DEL(s->table, n);
  unlink_dirty(s, &n->pub);
  unlink_closed(s, &n->pub);
  if (xca_ident_is_module(&n->pub.ident)) {
    s->module_count--;
  }
  X509_free(n->pub.leaf);
  free(n->pub.anchors);
  free(n);
}

void xca_sessions_free(struct xca_sessions *s)
{
  struct node *n;
  struct node *tmp;

  if (s == NULL) {
    return;
  }
  HASH_ITER(hh, s->table, n, tmp) {
    node_free(s, n);
  }
  free(s);
}

static char *join_anchors(const struct xca_chain_result *chain)
{
  size_t len = 2;
  char *out;

  for (int i = 0; chain != NULL && i < chain->anchor_count; i++) {
    len += strlen(chain->anchors[i]) + 1;
  }
  out = malloc(len);
  if (out == NULL) {
    return NULL;
  }
  strcpy(out, ",");
  for (int i = 0; chain != NULL && i < chain->anchor_count; i++) {
    strcat(out, chain->anchors[i]);
    strcat(out, ",");
  }
  return out;
}

int xca_sessions_add(struct xca_sessions *s, const struct xca_ident *ident, const void *token,
                     X509 *leaf, const struct xca_chain_result *chain)
{
  struct node *n = calloc(1, sizeof(*n));
  struct node *old = NULL;

  if (n == NULL || (n->pub.anchors = join_anchors(chain)) == NULL) {
    free(n);
    return XCA_E_NOMEM;
  }
  /* Take the new reference first: leaf may be the one the old node holds. */
  if (leaf != NULL && X509_up_ref(leaf)) {
    n->pub.leaf = leaf;
  }
  n->pub.ident = *ident;
  n->pub.token = token;
  HASH_FIND_STR(s->table, ident->full, old);
  if (old != NULL) {
    node_free(s, old);
  }
  if (xca_ident_is_module(ident)) {
    s->module_count++;
  }
  HASH_ADD_STR(s->table, pub.ident.full, n);
  return XCA_OK;
}

static struct node *find(struct xca_sessions *s, const char *client_id)
{
  struct node *n = NULL;
  HASH_FIND_STR(s->table, client_id, n);
  return n;
}

void xca_sessions_remove(struct xca_sessions *s, const char *client_id, const void *token)
{
  struct node *n = client_id ? find(s, client_id) : NULL;

  if (n != NULL && n->pub.token == token) {
    node_free(s, n);
  }
}

void xca_sessions_close(struct xca_sessions *s, const char *client_id, const void *token,
                        long long now_ms)
{
  struct node *n = client_id ? find(s, client_id) : NULL;

  if (n == NULL || n->pub.token != token || n->pub.closed_ms != 0) {
    return;
  }
  unlink_dirty(s, &n->pub);
  X509_free(n->pub.leaf);
  n->pub.leaf = NULL;
  n->pub.closed_ms = now_ms > 0 ? now_ms : 1;
  if (s->closed_tail != NULL) {
    s->closed_tail->next_closed = &n->pub;
  } else {
    s->closed_head = &n->pub;
  }
  s->closed_tail = &n->pub;
}

void xca_sessions_purge_closed(struct xca_sessions *s, long long min_closed_ms)
{
  while (s->closed_head != NULL && s->closed_head->closed_ms < min_closed_ms) {
    /* pub is the first member of node */
    node_free(s, (struct node *)(void *)s->closed_head);
  }
}

struct xca_session *xca_sessions_get(struct xca_sessions *s, const char *client_id)
{
  struct node *n = client_id ? find(s, client_id) : NULL;
  return n ? &n->pub : NULL;
}

static void mark(struct xca_sessions *s, struct xca_session *sess)
{
  if (!sess->dirty && sess->closed_ms == 0) {
    sess->dirty = 1;
    sess->next_dirty = s->dirty_head;
    s->dirty_head = sess;
  }
}

void xca_sessions_mark_identity(struct xca_sessions *s, const char *identity)
{
  struct node *n = find(s, identity);
  struct node *tmp;

  if (n != NULL) {
    mark(s, &n->pub);
  }
  if (strchr(identity, '/') != NULL || s->module_count == 0) {
    return;
  }
  HASH_ITER(hh, s->table, n, tmp) {
    if (xca_ident_is_module(&n->pub.ident) && strcmp(n->pub.ident.device, identity) == 0) {
      mark(s, &n->pub);
    }
  }
}

void xca_sessions_mark_anchor(struct xca_sessions *s, const char *ca_name)
{
  char needle[XCA_CA_NAME_MAX + 3];
  struct node *n;
  struct node *tmp;

  snprintf(needle, sizeof(needle), ",%s,", ca_name);
  HASH_ITER(hh, s->table, n, tmp) {
    if (strstr(n->pub.anchors, needle) != NULL) {
      mark(s, &n->pub);
    }
  }
}

void xca_sessions_mark_all(struct xca_sessions *s)
{
  struct node *n;
  struct node *tmp;

  HASH_ITER(hh, s->table, n, tmp) {
    mark(s, &n->pub);
  }
}

int xca_sessions_pop_dirty(struct xca_sessions *s, char *buf)
{
  struct xca_session *sess = s->dirty_head;

  if (sess == NULL) {
    return 0;
  }
  s->dirty_head = sess->next_dirty;
  sess->next_dirty = NULL;
  sess->dirty = 0;
  strcpy(buf, sess->ident.full);
  return 1;
}

unsigned xca_sessions_count(const struct xca_sessions *s)
{
  return HASH_COUNT(s->table);
}
