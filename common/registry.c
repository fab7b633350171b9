#include "registry.h"

#include <limits.h>
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

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */
/* ------------------------------------------------------------------------ */

static const struct {
  const char *text;
  size_t len;
  int named; /* a name follows the text */
} kinds[] = {
#define KIND_ROW(kind, text, named) {text, sizeof(text) - 1, named},
  XCA_KEY_KINDS(KIND_ROW)
#undef KIND_ROW
};

#define KIND_FITS(kind, text, named) \
  _Static_assert(sizeof(text) - 1 <= XCA_KEY_KIND_MAX, "kind text longer than XCA_KEY_KIND_MAX");
XCA_KEY_KINDS(KIND_FITS)
#undef KIND_FITS

/* Write "<prefix><kind text><name>" into key; prefix may be "". */
static int build_key(const char *prefix, enum xca_key_kind kind, const char *name, char *key)
{
  size_t plen = strlen(prefix);
  size_t nlen = name != NULL ? strlen(name) : 0;

  key[0] = '\0';
  if ((unsigned)kind >= XCA_KEY_UNKNOWN || plen > XCA_KEY_PREFIX_MAX || nlen > XCA_KEY_NAME_MAX ||
      (nlen > 0 && !kinds[kind].named)) {
    return XCA_E_INVAL;
  }
  memcpy(key, prefix, plen);
  memcpy(key + plen, kinds[kind].text, kinds[kind].len);
  memcpy(key + plen + kinds[kind].len, name != NULL ? name : "", nlen + 1);
  return XCA_OK;
}

int xca_registry_key(const struct xca_registry *reg, enum xca_key_kind kind, const char *name,
                     char key[XCA_KEY_MAX])
{
  return build_key(reg->prefix, kind, name, key);
}

int xca_registry_key_unprefixed(enum xca_key_kind kind, const char *name,
                                char key[XCA_KEY_UNPREFIXED_MAX])
{
  return build_key("", kind, name, key);
}

enum xca_key_kind xca_registry_key_kind(const char *key, const char **name)
{
  for (int kind = 0; kind < XCA_KEY_UNKNOWN; kind++) {
    const char *text = kinds[kind].text;
    if (kinds[kind].named ? strncmp(key, text, kinds[kind].len) == 0 : strcmp(key, text) == 0) {
      if (name != NULL) {
        *name = key + kinds[kind].len;
      }
      return (enum xca_key_kind)kind;
    }
  }
  if (name != NULL) {
    *name = key;
  }
  return XCA_KEY_UNKNOWN;
}

/* Append text, escaped, to buf at *pos. */
static int glob_append(const char *text, char *buf, size_t buflen, size_t *pos)
{
  for (; text != NULL && *text != '\0'; text++) {
    int special = strchr("*?[]\\", *text) != NULL;
    if (*pos + (size_t)special + 1 >= buflen) {
      buf[0] = '\0';
      return XCA_E_INVAL;
    }
    if (special) {
      buf[(*pos)++] = '\\';
    }
    buf[(*pos)++] = *text;
  }
  buf[*pos] = '\0';
  return XCA_OK;
}

int xca_registry_glob_escape(const char *text, char *buf, size_t buflen)
{
  size_t pos = 0;

  buf[0] = '\0';
  return glob_append(text, buf, buflen, &pos);
}

/* ------------------------------------------------------------------------ */
/* Scanning the keyspace                                                     */
/* ------------------------------------------------------------------------ */

/* Return 1 if kind is one of XCA_KEY_KINDS and takes a name, else 0. */
static int named_kind(enum xca_key_kind kind)
{
  return (unsigned)kind < XCA_KEY_UNKNOWN && kinds[kind].named;
}

int xca_registry_scan_begin(struct xca_registry_scan *s, const struct xca_registry *reg,
                            enum xca_key_kind kind, const char *name_prefix,
                            unsigned long long cursor, int count)
{
  size_t pos = 0;

  memset(s, 0, sizeof(*s));
  s->reg = reg;
  s->cursor = cursor;
  s->count = count;
  if (!named_kind(kind) || (name_prefix != NULL && strlen(name_prefix) > XCA_KEY_NAME_MAX) ||
      xca_registry_key(reg, kind, NULL, s->head) != XCA_OK) {
    return XCA_E_INVAL;
  }
  /* Room is left for the final "*". */
  if (glob_append(s->head, s->match, sizeof(s->match) - 1, &pos) != XCA_OK ||
      glob_append(name_prefix, s->match, sizeof(s->match) - 1, &pos) != XCA_OK) {
    return XCA_E_INVAL;
  }
  s->match[pos++] = '*';
  s->match[pos] = '\0';
  s->head_len = strlen(s->head);
  return XCA_OK;
}

int xca_registry_scan_step(struct xca_registry_scan *s, struct xca_strlist *names)
{
  const struct xca_kv *kv = &s->reg->kv;
  struct xca_strlist keys = {0};
  int rc = kv->ops->scan(kv->impl, s->match, &s->cursor, s->count, &keys);

  for (int i = 0; rc == XCA_OK && i < keys.count; i++) {
    if (strncmp(keys.item[i], s->head, s->head_len) == 0) {
      rc = xca_strlist_add(names, keys.item[i] + s->head_len);
    }
  }
  xca_strlist_free(&keys);
  if (rc == XCA_OK && s->cursor == 0) {
    s->done = 1;
  }
  return rc;
}

/* Append the names of page that keep accepts to names, up to max. */
static int keep_names(const struct xca_strlist *page, int (*keep)(const char *name), int max,
                      struct xca_strlist *names)
{
  int rc = XCA_OK;

  for (int i = 0; rc == XCA_OK && i < page->count && (max == 0 || names->count < max); i++) {
    if (keep == NULL || keep(page->item[i])) {
      rc = xca_strlist_add(names, page->item[i]);
    }
  }
  return rc;
}

int xca_registry_scan_all(const struct xca_registry *reg, enum xca_key_kind kind,
                          const char *name_prefix, int count, int (*keep)(const char *name),
                          int max, struct xca_strlist *names)
{
  struct xca_registry_scan s;
  int rc = xca_registry_scan_begin(&s, reg, kind, name_prefix, 0, count);

  while (rc == XCA_OK && !s.done && (max == 0 || names->count < max)) {
    struct xca_strlist page = {0};
    rc = xca_registry_scan_step(&s, &page);
    if (rc == XCA_OK) {
      rc = keep_names(&page, keep, max, names);
    }
    xca_strlist_free(&page);
  }
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Identities                                                                */
/* ------------------------------------------------------------------------ */

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

/* A key of an identity, CA or group that holds another type than a hash
 * (overwritten with redis-cli SET) is no record: the identity is not
 * registered, the CA not trusted, the group absent (each fails closed). */
static int not_a_record(int rc)
{
  return rc == XCA_E_WRONG_TYPE ? XCA_E_NOT_FOUND : rc;
}

/* A revocation or CRL key of another type cannot be read, but its key
 * exists: treated as unreadable (revoked.c holds a revocation it cannot
 * read), never as absent. */
static int unreadable_record(int rc)
{
  return rc == XCA_E_WRONG_TYPE ? XCA_E_REGISTRY_UNAVAILABLE : rc;
}

int xca_registry_get_identity(const struct xca_registry *reg, const char *identity,
                              struct xca_identity_rec *out)
{
  char key[XCA_KEY_MAX];
  struct xca_fields f = {0};
  int rc = xca_registry_key(reg, XCA_KEY_DEVICE, identity, key);

  if (rc != XCA_OK) {
    return rc;
  }
  rc = not_a_record(reg->kv.ops->hgetall(reg->kv.impl, key, &f));
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
/* CAs                                                                       */
/* ------------------------------------------------------------------------ */

/* An expiry as stored: unix seconds; anything unreadable has expired. */
static long long parse_expiry(const char *text)
{
  char *end = NULL;
  long long v = text != NULL ? strtoll(text, &end, 10) : 0;

  if (text == NULL || end == text || *end != '\0') {
    return LLONG_MIN;
  }
  return v;
}

void xca_ca_rec_parse(struct xca_ca_rec *rec)
{
  const struct xca_fields *f = &rec->fields;
  const char *status = xca_fields_get(f, "status");

  rec->verified = status != NULL && strcmp(status, "verified") == 0;
  rec->certificate = xca_fields_get(f, "certificate");
  rec->subject = xca_fields_get(f, "subject");
  rec->thumbprint = xca_fields_get(f, "thumbprint");
  rec->not_after = xca_fields_get(f, "notAfter");
  rec->code = xca_fields_get(f, "verificationCode");
  rec->code_expiry = parse_expiry(xca_fields_get(f, "verificationCodeExpiry"));
}

int xca_registry_get_ca(const struct xca_registry *reg, const char *name,
                        struct xca_ca_rec *out)
{
  char key[XCA_KEY_MAX];
  int rc = xca_registry_key(reg, XCA_KEY_CA, name, key);

  memset(out, 0, sizeof(*out));
  if (rc == XCA_OK) {
    rc = not_a_record(reg->kv.ops->hgetall(reg->kv.impl, key, &out->fields));
  }
  if (rc != XCA_OK) {
    xca_ca_rec_free(out);
    return rc;
  }
  xca_ca_rec_parse(out);
  return XCA_OK;
}

void xca_ca_rec_free(struct xca_ca_rec *rec)
{
  if (rec == NULL) {
    return;
  }
  xca_fields_free(&rec->fields);
  memset(rec, 0, sizeof(*rec));
}

/* ------------------------------------------------------------------------ */
/* Enrollment groups                                                         */
/* ------------------------------------------------------------------------ */

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

int xca_registry_get_group(const struct xca_registry *reg, const char *name,
                           struct xca_group_rec *out)
{
  char key[XCA_KEY_MAX];
  struct xca_fields f = {0};
  int rc = xca_registry_key(reg, XCA_KEY_GROUP, name, key);

  memset(out, 0, sizeof(*out));
  if (rc == XCA_OK) {
    rc = not_a_record(reg->kv.ops->hgetall(reg->kv.impl, key, &f));
  }
  if (rc == XCA_OK) {
    rc = xca_group_from_fields(name, &f, out);
  }
  xca_fields_free(&f);
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

/* ------------------------------------------------------------------------ */
/* Revocation                                                                */
/* ------------------------------------------------------------------------ */

int xca_revocation_name_parse(const char *name, char out[XCA_SHA256_HEX])
{
  if (xca_thumbprint_normalize(name, out) != XCA_OK || strlen(out) != 64) {
    out[0] = '\0';
    return XCA_E_BAD_THUMBPRINT;
  }
  return XCA_OK;
}

int xca_revocation_key_name(const char *name, char out[XCA_SHA256_HEX])
{
  if (name == NULL || strlen(name) != 64 || strspn(name, "0123456789abcdef") != 64) {
    out[0] = '\0';
    return XCA_E_BAD_THUMBPRINT;
  }
  memcpy(out, name, XCA_SHA256_HEX);
  return XCA_OK;
}

void xca_revoked_from_fields(const char *sha256, const struct xca_fields *f,
                             struct xca_revoked_rec *out)
{
  memset(out, 0, sizeof(*out));
  snprintf(out->thumbprint, sizeof(out->thumbprint), "%s", sha256);
  copy_raw(f, "subject", out->subject, sizeof(out->subject));
  copy_raw(f, "reason", out->reason, sizeof(out->reason));
  out->revoked_at = parse_expiry(xca_fields_get(f, "revokedAt"));
  if (out->revoked_at == LLONG_MIN) {
    out->revoked_at = 0;
  }
}

int xca_registry_get_revoked(const struct xca_registry *reg, const char *sha256,
                             struct xca_revoked_rec *out)
{
  char thumb[XCA_SHA256_HEX];
  char key[XCA_KEY_MAX];
  struct xca_fields f = {0};
  int rc = xca_revocation_name_parse(sha256, thumb);

  if (rc == XCA_OK) {
    rc = xca_registry_key(reg, XCA_KEY_REVOKED, thumb, key);
  }
  if (rc == XCA_OK) {
    rc = unreadable_record(reg->kv.ops->hgetall(reg->kv.impl, key, &f));
  }
  if (rc == XCA_OK) {
    xca_revoked_from_fields(thumb, &f, out);
  }
  xca_fields_free(&f);
  return rc;
}

int xca_revoked_fields(const char *reason, time_t revoked_at, const char *subject,
                       struct xca_fields *out)
{
  char at[32];
  int rc = xca_fields_set(out, "reason", reason);

  snprintf(at, sizeof(at), "%lld", (long long)revoked_at);
  if (rc == XCA_OK) {
    rc = xca_fields_set(out, "revokedAt", at);
  }
  if (rc == XCA_OK && subject != NULL) {
    rc = xca_fields_set(out, "subject", subject);
  }
  return rc;
}

/* The issuer certificate stored in a CRL key, which must be issuer_sha256. */
static int crl_issuer(const struct xca_fields *f, const char *issuer_sha256, X509 **out)
{
  const char *pem = xca_fields_get(f, "issuer");
  char sha[XCA_SHA256_HEX];

  if (pem == NULL || xca_cert_from_pem(pem, strlen(pem), out) != XCA_OK) {
    return XCA_E_BAD_PEM;
  }
  xca_cert_sha256(*out, sha);
  if (strcmp(sha, issuer_sha256) != 0) {
    X509_free(*out);
    *out = NULL;
    return XCA_E_BAD_THUMBPRINT;
  }
  return XCA_OK;
}

int xca_registry_get_crl(const struct xca_registry *reg, const char *issuer_sha256,
                         struct xca_crl **out)
{
  char thumb[XCA_SHA256_HEX];
  char key[XCA_KEY_MAX];
  struct xca_fields f = {0};
  X509 *issuer = NULL;
  const char *pem;
  int rc = xca_revocation_name_parse(issuer_sha256, thumb);

  if (rc == XCA_OK) {
    rc = xca_registry_key(reg, XCA_KEY_CRL, thumb, key);
  }
  if (rc == XCA_OK) {
    rc = unreadable_record(reg->kv.ops->hgetall(reg->kv.impl, key, &f));
  }
  if (rc == XCA_OK) {
    rc = crl_issuer(&f, thumb, &issuer);
  }
  if (rc == XCA_OK) {
    pem = xca_fields_get(&f, "crl");
    rc = pem != NULL ? xca_crl_new(pem, strlen(pem), issuer, out, NULL) : XCA_E_BAD_CRL;
  }
  X509_free(issuer);
  xca_fields_free(&f);
  return rc;
}

int xca_crl_fields(const struct xca_crl_info *info, const char *crl_pem, const char *issuer_pem,
                   struct xca_fields *out)
{
  char this_update[32];
  char next_update[32] = "";
  char count[16];
  int rc = xca_fields_set(out, "crl", crl_pem);

  snprintf(this_update, sizeof(this_update), "%lld", (long long)info->this_update);
  if (info->next_update != 0) {
    snprintf(next_update, sizeof(next_update), "%lld", (long long)info->next_update);
  }
  snprintf(count, sizeof(count), "%u", info->count);
  if (rc == XCA_OK) {
    rc = xca_fields_set(out, "issuer", issuer_pem);
  }
  if (rc == XCA_OK) {
    rc = xca_fields_set(out, "issuerSubject", info->issuer_subject);
  }
  if (rc == XCA_OK) {
    rc = xca_fields_set(out, "thisUpdate", this_update);
  }
  if (rc == XCA_OK) {
    rc = xca_fields_set(out, "nextUpdate", next_update);
  }
  if (rc == XCA_OK) {
    rc = xca_fields_set(out, "count", count);
  }
  return rc;
}
