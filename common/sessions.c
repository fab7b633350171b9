#include "sessions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "xca_err.h"

/* The public struct stays free of uthash; the table's node wraps it. A
 * node is in one table at a time: open nodes by client id, closed nodes by
 * token (and on the closed list, oldest first). */
struct node {
  struct xca_session pub;
  UT_hash_handle hh;
  struct node *next_dirty;
  struct node *older;  /* closed list */
  struct node *newer;
};

struct xca_sessions {
  struct node *open;       /* by pub.ident.full */
  struct node *closed;     /* by pub.token */
  struct node *dirty_head;
  struct node *oldest;     /* closed list */
  struct node *newest;
  unsigned module_count;   /* open sessions that are modules: device changes scan only then */
};

struct xca_sessions *xca_sessions_new(void)
{
  return calloc(1, sizeof(struct xca_sessions));
}

static void unlink_dirty(struct xca_sessions *s, struct node *n)
{
  if (!n->pub.dirty) {
    return;
  }
  for (struct node **p = &s->dirty_head; *p != NULL; p = &(*p)->next_dirty) {
    if (*p == n) {
      *p = n->next_dirty;
      break;
    }
  }
  n->pub.dirty = 0;
  n->next_dirty = NULL;
}

static void node_release(struct node *n)
{
  X509_free(n->pub.leaf);
  free(n->pub.anchors);
  free(n->pub.chain);
  free(n->pub.username);
  free(n);
}

/* Take an open node out of the open table (not freed). */
static void unlink_open(struct xca_sessions *s, struct node *n)
{
  HASH_DEL(s->open, n);
  unlink_dirty(s, n);
  if (xca_ident_is_module(&n->pub.ident)) {
    s->module_count--;
  }
}

static void closed_free(struct xca_sessions *s, struct node *n)
{
  HASH_DEL(s->closed, n);
  if (n->older != NULL) {
    n->older->newer = n->newer;
  } else {
    s->oldest = n->newer;
  }
  if (n->newer != NULL) {
    n->newer->older = n->older;
  } else {
    s->newest = n->older;
  }
  node_release(n);
}

void xca_sessions_free(struct xca_sessions *s)
{
  struct node *n;
  struct node *tmp;

  if (s == NULL) {
    return;
  }
  HASH_ITER(hh, s->open, n, tmp) {
    unlink_open(s, n);
    node_release(n);
  }
  while (s->oldest != NULL) {
    closed_free(s, s->oldest);
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

/* ",sha256,sha256," of the verified chain (",," when none). */
static char *join_chain(const struct xca_chain_result *chain)
{
  int n = chain != NULL ? chain->chain_len : 0;
  char *out = malloc((size_t)n * XCA_SHA256_HEX + 2);

  if (out == NULL) {
    return NULL;
  }
  strcpy(out, ",");
  for (int i = 0; i < n && i < XCA_CHAIN_MAX; i++) {
    strcat(out, chain->chain_sha256[i]);
    strcat(out, ",");
  }
  return out;
}

static struct node *find_open(struct xca_sessions *s, const char *client_id)
{
  struct node *n = NULL;

  if (client_id != NULL) {
    HASH_FIND_STR(s->open, client_id, n);
  }
  return n;
}

static struct node *find_closed(struct xca_sessions *s, const void *token)
{
  struct node *n = NULL;

  HASH_FIND(hh, s->closed, &token, sizeof(token), n);
  return n;
}

int xca_sessions_add(struct xca_sessions *s, const struct xca_ident *ident, const void *token,
                     const char *username, X509 *leaf, const struct xca_chain_result *chain)
{
  struct node *n = calloc(1, sizeof(*n));
  struct node *old;

  if (n == NULL || (n->pub.anchors = join_anchors(chain)) == NULL ||
      (n->pub.chain = join_chain(chain)) == NULL ||
      (username != NULL && (n->pub.username = strdup(username)) == NULL)) {
    if (n != NULL) {
      node_release(n);
    }
    return XCA_E_NOMEM;
  }
  /* Take the new reference first: leaf may be the one the old node holds. */
  if (leaf != NULL && X509_up_ref(leaf)) {
    n->pub.leaf = leaf;
  }
  n->pub.ident = *ident;
  n->pub.token = token;
  old = find_open(s, ident->full);
  if (old != NULL) {
    unlink_open(s, old);
    node_release(old);
  }
  if (xca_ident_is_module(ident)) {
    s->module_count++;
  }
  HASH_ADD_STR(s->open, pub.ident.full, n);
  return XCA_OK;
}

/* Move the open node n to the closed table under its token, newest last. */
static void move_to_closed(struct xca_sessions *s, struct node *n, long long now_ms)
{
  unlink_open(s, n);
  X509_free(n->pub.leaf);
  n->pub.leaf = NULL;
  n->pub.closed_ms = now_ms > 0 ? now_ms : 1;
  /* One closed session per token: an older one is no longer that token's. */
  xca_sessions_forget_token(s, n->pub.token);
  HASH_ADD(hh, s->closed, pub.token, sizeof(n->pub.token), n);
  n->older = s->newest;
  n->newer = NULL;
  if (s->newest != NULL) {
    s->newest->newer = n;
  } else {
    s->oldest = n;
  }
  s->newest = n;
}

void xca_sessions_close(struct xca_sessions *s, const char *client_id, const void *token,
                        const struct xca_cert_facts *facts, long long now_ms)
{
  struct node *n = find_open(s, client_id);

  if (n == NULL || n->pub.token != token) {
    return;
  }
  if (facts != NULL) {
    n->pub.facts = *facts;
  } else {
    n->pub.refused = 1;
  }
  move_to_closed(s, n, now_ms);
}

void xca_sessions_refuse(struct xca_sessions *s, const char *client_id, const void *token,
                         long long now_ms)
{
  struct node *n = find_open(s, client_id);

  if (n != NULL && n->pub.token == token) {
    n->pub.refused = 1;
    move_to_closed(s, n, now_ms);
  }
}

struct xca_session *xca_sessions_get(struct xca_sessions *s, const char *client_id)
{
  struct node *n = find_open(s, client_id);
  return n ? &n->pub : NULL;
}

struct xca_session *xca_sessions_closed(struct xca_sessions *s, const void *token)
{
  struct node *n = find_closed(s, token);
  return n ? &n->pub : NULL;
}

void xca_sessions_forget_token(struct xca_sessions *s, const void *token)
{
  struct node *n = s != NULL ? find_closed(s, token) : NULL;

  if (n != NULL) {
    closed_free(s, n);
  }
}

void xca_sessions_purge_closed(struct xca_sessions *s, long long min_closed_ms)
{
  while (s->oldest != NULL && s->oldest->pub.closed_ms < min_closed_ms) {
    closed_free(s, s->oldest);
  }
}

int xca_sessions_anchors_trusted(const struct xca_session *sess, const struct xca_trust *trust)
{
  char name[XCA_CA_NAME_MAX + 1];
  int count = 0;
  const char *p = sess->anchors ? sess->anchors : "";

  while (*p == ',') {
    p++;
  }
  while (*p != '\0') {
    size_t len = strcspn(p, ",");
    if (len > XCA_CA_NAME_MAX) {
      return 0;
    }
    memcpy(name, p, len);
    name[len] = '\0';
    if (!xca_trust_has(trust, name)) {
      return 0;
    }
    count++;
    p += len;
    while (*p == ',') {
      p++;
    }
  }
  return count > 0;
}

static void mark(struct xca_sessions *s, struct node *n)
{
  if (!n->pub.dirty) {
    n->pub.dirty = 1;
    n->next_dirty = s->dirty_head;
    s->dirty_head = n;
  }
}

void xca_sessions_mark_identity(struct xca_sessions *s, const char *identity)
{
  struct node *n = find_open(s, identity);
  struct node *tmp;

  if (n != NULL) {
    mark(s, n);
  }
  if (strchr(identity, '/') != NULL || s->module_count == 0) {
    return;
  }
  HASH_ITER(hh, s->open, n, tmp) {
    if (xca_ident_is_module(&n->pub.ident) && strcmp(n->pub.ident.device, identity) == 0) {
      mark(s, n);
    }
  }
}

void xca_sessions_mark_anchor(struct xca_sessions *s, const char *ca_name)
{
  char needle[XCA_CA_NAME_MAX + 3];
  struct node *n;
  struct node *tmp;

  snprintf(needle, sizeof(needle), ",%s,", ca_name);
  HASH_ITER(hh, s->open, n, tmp) {
    if (strstr(n->pub.anchors, needle) != NULL) {
      mark(s, n);
    }
  }
}

void xca_sessions_mark_thumbprint(struct xca_sessions *s, const char *sha256)
{
  char needle[XCA_SHA256_HEX + 2];
  struct node *n;
  struct node *tmp;

  if (strlen(sha256) != XCA_SHA256_HEX - 1) {
    return;
  }
  snprintf(needle, sizeof(needle), ",%s,", sha256);
  HASH_ITER(hh, s->open, n, tmp) {
    if (strstr(n->pub.chain, needle) != NULL) {
      mark(s, n);
    }
  }
}

void xca_sessions_mark_all(struct xca_sessions *s)
{
  struct node *n;
  struct node *tmp;

  HASH_ITER(hh, s->open, n, tmp) {
    mark(s, n);
  }
}

int xca_sessions_pop_dirty(struct xca_sessions *s, char *buf)
{
  struct node *n = s->dirty_head;

  if (n == NULL) {
    return 0;
  }
  s->dirty_head = n->next_dirty;
  n->next_dirty = NULL;
  n->pub.dirty = 0;
  strcpy(buf, n->pub.ident.full);
  return 1;
}

unsigned xca_sessions_count(const struct xca_sessions *s)
{
  return HASH_COUNT(s->open);
}

unsigned xca_sessions_closed_count(const struct xca_sessions *s)
{
  return HASH_COUNT(s->closed);
}
