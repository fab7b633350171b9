#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trust.h"
#include "xca_err.h"

int xca_fields_set(struct xca_fields *f, const char *name, const char *value)
{
  char *v = strdup(value);
  char *n;

  if (v == NULL) {
    return XCA_E_NOMEM;
  }
  for (int i = 0; i < f->count; i++) {
    if (strcmp(f->name[i], name) == 0) {
      free(f->value[i]);
      f->value[i] = v;
      return XCA_OK;
    }
  }
  if (f->count == f->cap) {
    int cap = f->cap ? f->cap * 2 : 8;
    char **names = realloc(f->name, (size_t)cap * sizeof(char *));
    if (names != NULL) {
      f->name = names;
    }
    char **values = names ? realloc(f->value, (size_t)cap * sizeof(char *)) : NULL;
    if (values == NULL) {
      free(v);
      return XCA_E_NOMEM;
    }
    f->value = values;
    f->cap = cap;
  }
  n = strdup(name);
  if (n == NULL) {
    free(v);
    return XCA_E_NOMEM;
  }
  f->name[f->count] = n;
  f->value[f->count] = v;
  f->count++;
  return XCA_OK;
}

const char *xca_fields_get(const struct xca_fields *f, const char *name)
{
  for (int i = 0; i < f->count; i++) {
    if (strcmp(f->name[i], name) == 0) {
      return f->value[i];
    }
  }
  return NULL;
}

void xca_fields_free(struct xca_fields *f)
{
  if (f == NULL) {
    return;
  }
  for (int i = 0; i < f->count; i++) {
    free(f->name[i]);
    free(f->value[i]);
  }
  free(f->name);
  free(f->value);
  memset(f, 0, sizeof(*f));
}

static int make_key(const struct xca_registry *reg, const char *kind, const char *id, char *buf,
                    size_t buflen)
{
  int n = snprintf(buf, buflen, "%s%s%s", reg->prefix, kind, id);
  return (n < 0 || (size_t)n >= buflen) ? XCA_E_INVAL : XCA_OK;
}

int xca_registry_identity_key(const struct xca_registry *reg, const char *identity, char *buf,
                              size_t buflen)
{
  return make_key(reg, "device:", identity, buf, buflen);
}

int xca_registry_ca_key(const struct xca_registry *reg, const char *name, char *buf,
                        size_t buflen)
{
  return make_key(reg, "ca:", name, buf, buflen);
}

const char *xca_auth_type_name(enum xca_auth_type auth)
{
  switch (auth) {
  case XCA_AUTH_CA:
    return "certificateAuthority";
  case XCA_AUTH_SELF_SIGNED:
    return "selfSigned";
  default:
    return "invalid";
  }
}

void xca_identity_from_fields(const struct xca_fields *f, struct xca_identity_rec *out)
{
  const char *status = xca_fields_get(f, "status");
  const char *auth = xca_fields_get(f, "authentication");

  memset(out, 0, sizeof(*out));
  out->enabled = status == NULL || strcmp(status, "enabled") == 0;
  if (auth == NULL || strcmp(auth, "certificateAuthority") == 0) {
    out->auth = XCA_AUTH_CA;
  } else if (strcmp(auth, "selfSigned") == 0) {
    out->auth = XCA_AUTH_SELF_SIGNED;
  } else {
    out->auth = XCA_AUTH_INVALID;
  }
  /* An invalid stored thumbprint normalises to "", which never matches. */
  xca_thumbprint_normalize(xca_fields_get(f, "primaryThumbprint"), out->primary);
  xca_thumbprint_normalize(xca_fields_get(f, "secondaryThumbprint"), out->secondary);
}

int xca_registry_get_identity(const struct xca_registry *reg, const char *identity,
                              struct xca_identity_rec *out)
{
  char key[XCA_KEY_MAX];
  struct xca_fields f = {0};
  int rc = xca_registry_identity_key(reg, identity, key, sizeof(key));

  if (rc != XCA_OK) {
    return rc;
  }
  rc = reg->kv.ops->hgetall(reg->kv.impl, key, &f);
  if (rc == XCA_OK) {
    xca_identity_from_fields(&f, out);
  }
  xca_fields_free(&f);
  return rc;
}

static int thumb_eq(const char *stored, const char *sha1, const char *sha256)
{
  if (stored[0] == '\0') {
    return 0;
  }
  return (sha1 != NULL && strcmp(stored, sha1) == 0) ||
         (sha256 != NULL && strcmp(stored, sha256) == 0);
}

int xca_identity_thumbprint_matches(const struct xca_identity_rec *rec, const char *sha1,
                                    const char *sha256)
{
  return thumb_eq(rec->primary, sha1, sha256) || thumb_eq(rec->secondary, sha1, sha256);
}
