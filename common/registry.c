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

/* ------------------------------------------------------------------------ */
/* Enrollment groups                                                         */
/* ------------------------------------------------------------------------ */

int xca_registry_group_key(const struct xca_registry *reg, const char *name, char *buf,
                           size_t buflen)
{
  return make_key(reg, "group:", name, buf, buflen);
}

/* Copy the stored value of name ("" when absent) into buf; 0 when it does
 * not fit (then it cannot be a valid value). */
static int copy_raw(const struct xca_fields *f, const char *name, char *buf, size_t buflen)
{
  const char *v = xca_fields_get(f, name);
  int n = snprintf(buf, buflen, "%s", v ? v : "");
  return n >= 0 && (size_t)n < buflen;
}

/* SHA-256 of the group's stored certificate. */
static int group_cert_sha256(const struct xca_fields *f, char out[XCA_SHA256_HEX])
{
  const char *pem = xca_fields_get(f, "certificate");
  X509 *cert = NULL;

  if (pem == NULL || xca_cert_from_pem(pem, strlen(pem), &cert) != XCA_OK) {
    return XCA_E_BAD_PEM;
  }
  xca_cert_sha256(cert, out);
  X509_free(cert);
  return XCA_OK;
}

static int parse_group(const char *name, const struct xca_fields *f, struct xca_group_rec *out)
{
  char stored[XCA_SHA256_HEX];

  if (!xca_ca_name_valid(name)) {
    return XCA_E_BAD_NAME;
  }
  strcpy(out->name, name);
  if (group_cert_sha256(f, out->thumbprint) != XCA_OK) {
    return XCA_E_BAD_PEM;
  }
  if (!copy_raw(f, "thumbprint", out->thumbprint_raw, sizeof(out->thumbprint_raw)) ||
      (out->thumbprint_raw[0] != '\0' &&
       (xca_thumbprint_normalize(out->thumbprint_raw, stored) != XCA_OK ||
        strcmp(stored, out->thumbprint) != 0))) {
    return XCA_E_BAD_THUMBPRINT;
  }
  if (!copy_raw(f, "status", out->status_raw, sizeof(out->status_raw)) ||
      !copy_raw(f, "initialStatus", out->initial_raw, sizeof(out->initial_raw))) {
    return XCA_E_BAD_STATUS;
  }
  out->enabled = out->status_raw[0] == '\0' || strcmp(out->status_raw, "enabled") == 0;
  out->initial_enabled = out->initial_raw[0] == '\0' || strcmp(out->initial_raw, "enabled") == 0;
  return XCA_OK;
}

int xca_group_from_fields(const char *name, const struct xca_fields *f,
                          struct xca_group_rec *out)
{
  int rc;

  memset(out, 0, sizeof(*out));
  rc = parse_group(name, f, out);
  if (rc != XCA_OK) {
    memset(out, 0, sizeof(*out));
  }
  return rc;
}

int xca_group_identity_fields(const struct xca_group_rec *g, time_t now,
                              struct xca_fields *out)
{
  char at[32];
  int rc = xca_fields_set(out, "status", g->initial_enabled ? "enabled" : "disabled");

  snprintf(at, sizeof(at), "%lld", (long long)now);
  if (rc == XCA_OK) {
    rc = xca_fields_set(out, "authentication", "certificateAuthority");
  }
  if (rc == XCA_OK) {
    rc = xca_fields_set(out, "enrollmentGroup", g->name);
  }
  if (rc == XCA_OK) {
    rc = xca_fields_set(out, "enrolledAt", at);
  }
  return rc;
}

int xca_group_condition_fields(const struct xca_group_rec *g, struct xca_fields *out)
{
  int rc = xca_fields_set(out, "status", g->status_raw);

  if (rc == XCA_OK) {
    rc = xca_fields_set(out, "initialStatus", g->initial_raw);
  }
  if (rc == XCA_OK) {
    rc = xca_fields_set(out, "thumbprint", g->thumbprint_raw);
  }
  return rc;
}
