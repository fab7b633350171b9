/* admin_revoke.c - the revocation commands: revokeCertificate,
 * unrevokeCertificate, listRevoked, uploadCRL, listCRLs, deleteCRL.
 * Schema: README "Revocation". The brokers follow the keys these commands
 * write (plugin/revoked.c); nothing here holds revocation state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "admin_internal.h"
#include "certinfo.h"
#include "policy.h"
#include "revocation.h"
#include "trust.h"
#include "xca_err.h"

#define REASON_DEFAULT "unspecified"
#define REASON_RULE "must be 1-64 printable ASCII characters"
#define THUMB_RULE "must be a SHA-256 thumbprint (64 hex digits, ':' separators allowed)"
#define LIST_COUNT_DEFAULT 100
#define LIST_COUNT_MAX 1000
#define LIST_STEPS_MAX 16 /* SCAN steps per listRevoked page (as listDevices): bounds one call's work */
/* How far ahead of this broker's clock a CRL's thisUpdate may lie (clock
 * skew). A CRL dated later would be held as "newer" than every real CRL of
 * its issuer until someone deletes it. */
#define CRL_FUTURE_SKEW_S 300
#define LIST_CRLS_MAX 10000
#define SCAN_CAS_MAX 10000 /* CA records a CRL's issuer is looked for among */
#define CURSOR_MAX 24

/* ------------------------------------------------------------------------ */
/* Shared steps                                                              */
/* ------------------------------------------------------------------------ */

/* Read the thumbprint argument arg (required) into sha (normalised). */
static int thumb_arg(struct xca_admin_cmd *c, const char *arg, char sha[XCA_SHA256_HEX])
{
  const char *text;
  int rc = xca_admin__arg_str(c, arg, 1, &text);

  if (rc == XCA_OK && xca_revocation_name_parse(text, sha) != XCA_OK) {
    rc = xca_admin__bad_arg(c, XCA_E_BAD_THUMBPRINT, arg, text, THUMB_RULE);
  }
  return rc;
}

static int read_key(const struct xca_admin_cmd *c, const char *key, struct xca_fields *f)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  return kv->ops->hgetall(kv->impl, key, f);
}

/* A stored decimal field as a number; absent or unreadable: JSON null. */
static int add_stored_num(cJSON *obj, const char *name, const char *text)
{
  char *end = NULL;
  long long v = text != NULL ? strtoll(text, &end, 10) : 0;

  if (text == NULL || end == text || *end != '\0') {
    return cJSON_AddNullToObject(obj, name) ? XCA_OK : XCA_E_NOMEM;
  }
  return xca_admin__add_num(obj, name, (double)v);
}

/* ------------------------------------------------------------------------ */
/* revokeCertificate, unrevokeCertificate                                    */
/* ------------------------------------------------------------------------ */

static int reason_arg(struct xca_admin_cmd *c, const char **reason)
{
  int rc = xca_admin__arg_str(c, "reason", 0, reason);
  size_t n = *reason != NULL ? strlen(*reason) : 0;

  if (rc != XCA_OK) {
    return rc;
  }
  if (*reason == NULL) {
    *reason = REASON_DEFAULT;
    return XCA_OK;
  }
  for (size_t i = 0; i < n; i++) {
    if ((unsigned char)(*reason)[i] < 0x20 || (unsigned char)(*reason)[i] > 0x7e) {
      n = 0;
    }
  }
  if (n == 0 || n > XCA_REVOKE_REASON_MAX - 1) {
    return xca_admin__bad_arg(c, XCA_E_MISSING_ARG, "reason", *reason, REASON_RULE);
  }
  return XCA_OK;
}

/* The certificate to revoke: the certificate argument (its thumbprint and
 * subject) or the thumbprint argument, exactly one of them. */
static int target_arg(struct xca_admin_cmd *c, char sha[XCA_SHA256_HEX], char *subject,
                      size_t subject_len)
{
  const char *pem = NULL;
  X509 *cert = NULL;
  int rc = xca_admin__arg_str(c, "certificate", 0, &pem);

  subject[0] = '\0';
  if (rc == XCA_OK && (pem == NULL) == (xca_admin__arg(c, "thumbprint") == NULL)) {
    return xca_admin__bad_arg(c, XCA_E_MISSING_ARG, "certificate", NULL,
                              "or thumbprint must be given (one of them)");
  }
  if (rc != XCA_OK || pem == NULL) {
    return rc == XCA_OK ? thumb_arg(c, "thumbprint", sha) : rc;
  }
  rc = xca_cert_from_pem(pem, strlen(pem), &cert);
  if (rc == XCA_OK) {
    xca_cert_sha256(cert, sha);
    xca_cert_subject(cert, subject, subject_len);
  }
  X509_free(cert);
  return rc;
}

static int revoked_json(cJSON *obj, const struct xca_revoked_rec *r)
{
  int rc = xca_admin__add_str(obj, "thumbprint", r->thumbprint);

  if (rc == XCA_OK && r->subject[0] != '\0') {
    rc = xca_admin__add_str(obj, "subject", r->subject);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_str(obj, "reason", r->reason);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_num(obj, "revokedAt", (double)r->revoked_at);
  }
  return rc;
}

int xca_admin__revoke_certificate(struct xca_admin_cmd *c)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  struct xca_revoked_rec r = {0};
  struct xca_fields f = {0};
  const char *reason = NULL;
  char key[XCA_KEY_MAX];
  int rc = target_arg(c, r.thumbprint, r.subject, sizeof(r.subject));

  c->what = "revoked certificate";
  if (rc == XCA_OK) {
    xca_admin__target(c, XCA_KEY_REVOKED, r.thumbprint);
    rc = reason_arg(c, &reason);
  }
  if (rc == XCA_OK) {
    snprintf(r.reason, sizeof(r.reason), "%s", reason);
    r.revoked_at = (long long)xca_admin__now(c);
    rc = xca_revoked_fields(r.reason, (time_t)r.revoked_at, r.subject[0] ? r.subject : NULL, &f);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__key(c, XCA_KEY_REVOKED, r.thumbprint, key);
  }
  if (rc == XCA_OK) {
    rc = kv->ops->create(kv->impl, key, &f);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__changed(c, XCA_KEY_REVOKED, r.thumbprint);
  }
  if (rc == XCA_OK) {
    rc = revoked_json(c->data, &r);
  }
  xca_fields_free(&f);
  return rc;
}

int xca_admin__unrevoke_certificate(struct xca_admin_cmd *c)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  char sha[XCA_SHA256_HEX];
  char key[XCA_KEY_MAX];
  int rc = thumb_arg(c, "thumbprint", sha);

  c->what = "revoked certificate";
  if (rc == XCA_OK) {
    xca_admin__target(c, XCA_KEY_REVOKED, sha);
    rc = xca_admin__key(c, XCA_KEY_REVOKED, sha, key);
  }
  if (rc == XCA_OK) {
    rc = kv->ops->del(kv->impl, key);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__changed(c, XCA_KEY_REVOKED, sha);
  }
  return rc;
}

/* ------------------------------------------------------------------------ */
/* listRevoked                                                               */
/* ------------------------------------------------------------------------ */

static int list_args(struct xca_admin_cmd *c, unsigned long long *cursor, int *count)
{
  const char *text;
  const cJSON *n = xca_admin__arg(c, "count");
  char *end = NULL;
  int rc = xca_admin__arg_str(c, "cursor", 0, &text);

  *cursor = 0;
  *count = LIST_COUNT_DEFAULT;
  if (rc == XCA_OK && text != NULL) {
    *cursor = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0') {
      return xca_admin__bad_arg(c, XCA_E_MISSING_ARG, "cursor", text,
                                "must be the decimal cursor of an earlier reply (\"0\" starts)");
    }
  }
  if (rc == XCA_OK && n != NULL) {
    if (!cJSON_IsNumber(n) || n->valuedouble < 1 || n->valuedouble > LIST_COUNT_MAX) {
      return xca_admin__bad_arg(c, XCA_E_MISSING_ARG, "count", NULL,
                                "must be a number from 1 to 1000");
    }
    *count = (int)n->valuedouble;
  }
  return rc;
}

/* Append the revocation named name to arr; a name that is no canonical
 * thumbprint (xca_revocation_key_name: such a key revokes nothing), or a
 * key deleted meanwhile, is skipped. */
static int list_revoked_one(struct xca_admin_cmd *c, const char *name, cJSON *arr)
{
  struct xca_revoked_rec r;
  char sha[XCA_SHA256_HEX];
  cJSON *obj;
  int rc;

  if (xca_revocation_key_name(name, sha) != XCA_OK) {
    return XCA_OK;
  }
  rc = xca_registry_get_revoked(c->ctx->reg, sha, &r);
  if (rc == XCA_E_NOT_FOUND || rc == XCA_E_BAD_THUMBPRINT) {
    return XCA_OK;
  }
  if (rc == XCA_OK) {
    rc = xca_admin__append_object(arr, &obj);
  }
  return rc == XCA_OK ? revoked_json(obj, &r) : rc;
}

static int list_revoked_page(struct xca_admin_cmd *c, struct xca_registry_scan *s, int count,
                             cJSON *arr)
{
  int rc = XCA_OK;

  for (int step = 0; rc == XCA_OK && step < LIST_STEPS_MAX; step++) {
    struct xca_strlist names = {0};
    rc = xca_registry_scan_step(s, &names);
    for (int i = 0; rc == XCA_OK && i < names.count; i++) {
      rc = list_revoked_one(c, names.item[i], arr);
    }
    xca_strlist_free(&names);
    if (s->done || cJSON_GetArraySize(arr) >= count) {
      break;
    }
  }
  return rc;
}

int xca_admin__list_revoked(struct xca_admin_cmd *c)
{
  struct xca_registry_scan s;
  unsigned long long cursor = 0;
  char next[CURSOR_MAX];
  int count = 0;
  cJSON *arr = NULL;
  int rc = list_args(c, &cursor, &count);

  if (rc == XCA_OK) {
    rc = xca_registry_scan_begin(&s, c->ctx->reg, XCA_KEY_REVOKED, NULL, cursor, count);
  }
  if (rc == XCA_OK) {
    arr = cJSON_AddArrayToObject(c->data, "revoked");
    rc = arr != NULL ? list_revoked_page(c, &s, count, arr) : XCA_E_NOMEM;
  }
  if (rc != XCA_OK) {
    return rc;
  }
  snprintf(next, sizeof(next), "%llu", s.cursor);
  return xca_admin__add_str(c->data, "cursor", next);
}

/* ------------------------------------------------------------------------ */
/* uploadCRL: finding and checking the issuer                                */
/* ------------------------------------------------------------------------ */

/* How well cert (a CA record's certificate) fits as the CRL's issuer: 2
 * when it is the given issuer, or (none given) the CA named as the CRL's
 * issuer whose key signed it; 1 when it only has the issuer's name (its
 * signature check then says why the CRL is refused); else 0. */
static int issuer_fit(X509 *cert, X509_CRL *crl, X509 *given)
{
  int ok;

  if (given != NULL) {
    return X509_cmp(cert, given) == 0 ? 2 : 0;
  }
  if (X509_NAME_cmp(X509_get_subject_name(cert), X509_CRL_get_issuer(crl)) != 0) {
    return 0;
  }
  ERR_set_mark();
  ok = X509_CRL_verify(crl, X509_get0_pubkey(cert)) == 1;
  ERR_pop_to_mark();
  return ok ? 2 : 1;
}

/* The certificate of the CA record name, or NULL. */
static X509 *record_cert(struct xca_admin_cmd *c, const char *name)
{
  struct xca_ca_rec rec;
  X509 *cert = NULL;

  if (xca_registry_get_ca(c->ctx->reg, name, &rec) == XCA_OK && rec.certificate != NULL) {
    xca_cert_from_pem(rec.certificate, strlen(rec.certificate), &cert);
  }
  xca_ca_rec_free(&rec);
  return cert;
}

/* Keep cert as the best issuer so far when it fits better; else keep it
 * in others (the CA records help a given issuer's chain). */
static int consider(X509 *cert, int fit, X509 **best, int *best_fit, STACK_OF(X509) *others)
{
  if (fit > *best_fit) {
    X509_free(*best);
    *best = cert;
    *best_fit = fit;
    return XCA_OK;
  }
  if (!sk_X509_push(others, cert)) {
    X509_free(cert);
    return XCA_E_NOMEM;
  }
  return XCA_OK;
}

/* The registered CA (any x509ca:ca: record) that issued crl into *out
 * (NULL when none has its name), the others' certificates into others. */
static int registered_issuer(struct xca_admin_cmd *c, X509_CRL *crl, X509 *given, X509 **out,
                             STACK_OF(X509) *others)
{
  struct xca_strlist names = {0};
  int best_fit = 0;
  int rc = xca_admin__names(c, XCA_KEY_CA, SCAN_CAS_MAX, &names);

  *out = NULL;
  for (int i = 0; rc == XCA_OK && i < names.count && best_fit < 2; i++) {
    X509 *cert = record_cert(c, names.item[i]);
    if (cert != NULL) {
      rc = consider(cert, issuer_fit(cert, crl, given), out, &best_fit, others);
    }
  }
  xca_strlist_free(&names);
  return rc;
}

/* The issuer argument, when given: one CA certificate, no private key. */
static int issuer_arg(struct xca_admin_cmd *c, X509 **given)
{
  const char *pem;
  int rc = xca_admin__arg_str(c, "issuer", 0, &pem);

  *given = NULL;
  if (rc != XCA_OK || pem == NULL) {
    return rc;
  }
  rc = xca_cert_from_pem(pem, strlen(pem), given);
  if (rc == XCA_OK && !xca_cert_is_ca(*given)) {
    rc = XCA_E_NOT_CA;
  }
  return rc;
}

/* The certificate whose key must have signed crl: a registered CA, or the
 * issuer argument when it chains to a verified CA (xca_admin__check_ca_chain).
 * *issuer is owned. */
static int find_issuer(struct xca_admin_cmd *c, X509_CRL *crl, X509 **issuer)
{
  struct xca_policy policy = {.min_rsa_bits = c->ctx->cfg->min_rsa_bits};
  STACK_OF(X509) *others = sk_X509_new_null();
  X509 *given = NULL;
  int rc = others != NULL ? issuer_arg(c, &given) : XCA_E_NOMEM;

  if (rc == XCA_OK) {
    rc = registered_issuer(c, crl, given, issuer, others);
  }
  if (rc == XCA_OK && *issuer == NULL && given == NULL) {
    rc = XCA_E_CRL_ISSUER;
    snprintf(c->detail, sizeof(c->detail), "no registered CA has its name; give its issuer");
  }
  if (rc == XCA_OK && *issuer == NULL) {
    /* Not registered: it must chain to a verified CA (through the
     * registered CAs, verified or not, as intermediates). */
    rc = xca_admin__check_ca_chain(c, given, others);
    rc = rc == XCA_OK || rc == XCA_E_NOMEM || rc == XCA_E_REGISTRY_UNAVAILABLE ? rc
                                                                                : XCA_E_CRL_ISSUER;
    if (rc == XCA_OK) {
      *issuer = given;
      given = NULL;
    }
  }
  if (rc == XCA_OK && (rc = xca_policy_check_cert(&policy, *issuer, c->detail,
                                                  sizeof(c->detail))) != XCA_OK) {
    X509_free(*issuer);
    *issuer = NULL;
  }
  sk_X509_pop_free(others, X509_free);
  X509_free(given);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* uploadCRL: storing                                                        */
/* ------------------------------------------------------------------------ */

/* The stored thisUpdate of the CRL key (NOT_FOUND when none is held). */
static int held_this_update(struct xca_admin_cmd *c, const char *key, char *raw, size_t len,
                            long long *value)
{
  struct xca_fields f = {0};
  const char *text;
  char *end = NULL;
  int rc = read_key(c, key, &f);

  if (rc == XCA_OK) {
    text = xca_fields_get(&f, "thisUpdate");
    snprintf(raw, len, "%s", text ? text : "");
    *value = text ? strtoll(text, &end, 10) : 0;
    if (text == NULL || end == text || *end != '\0') {
      *value = 0; /* unreadable: any CRL is newer */
    }
  }
  xca_fields_free(&f);
  return rc;
}

/* The PEM of crl as stored (re-encoded: nothing but the CRL is kept). */
static char *crl_to_pem(X509_CRL *crl)
{
  BIO *bio = BIO_new(BIO_s_mem());
  char *data = NULL;
  char *out = NULL;
  long n;

  if (bio != NULL && PEM_write_bio_X509_CRL(bio, crl) == 1) {
    n = BIO_get_mem_data(bio, &data);
    out = n > 0 ? strndup(data, (size_t)n) : NULL;
  }
  BIO_free(bio);
  return out;
}

/* Create the CRL key, or replace it only when it still holds the
 * thisUpdate read before (another upload meanwhile refuses this one). */
static int store_crl(struct xca_admin_cmd *c, const struct xca_crl_info *info, X509_CRL *crl,
                     X509 *issuer)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  struct xca_fields f = {0};
  char key[XCA_KEY_MAX];
  char raw[32] = "";
  long long held = 0;
  char *crl_pem = crl_to_pem(crl);
  char *issuer_pem = xca_cert_to_pem(issuer);
  int rc = crl_pem && issuer_pem ? xca_crl_fields(info, crl_pem, issuer_pem, &f) : XCA_E_NOMEM;

  if (rc == XCA_OK) {
    rc = xca_admin__key(c, XCA_KEY_CRL, info->issuer_sha256, key);
  }
  if (rc == XCA_OK) {
    rc = held_this_update(c, key, raw, sizeof(raw), &held);
  }
  if (rc == XCA_E_NOT_FOUND) {
    rc = kv->ops->create(kv->impl, key, &f);
  } else if (rc == XCA_OK && (long long)info->this_update <= held) {
    snprintf(c->detail, sizeof(c->detail), "thisUpdate %lld, held %lld",
             (long long)info->this_update, held);
    rc = XCA_E_CRL_NOT_NEWER;
  } else if (rc == XCA_OK) {
    rc = kv->ops->update(kv->impl, key, "thisUpdate", raw, &f, NULL, 0);
  }
  rc = rc == XCA_E_EXISTS || rc == XCA_E_CODE_MISMATCH ? XCA_E_CRL_NOT_NEWER : rc;
  free(crl_pem);
  free(issuer_pem);
  xca_fields_free(&f);
  return rc;
}

static int crl_json(cJSON *obj, const struct xca_crl_info *info)
{
  int rc = xca_admin__add_str(obj, "issuerThumbprint", info->issuer_sha256);

  if (rc == XCA_OK) {
    rc = xca_admin__add_str(obj, "issuerSubject", info->issuer_subject);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_num(obj, "thisUpdate", (double)info->this_update);
  }
  if (rc == XCA_OK) {
    rc = info->next_update != 0 ? xca_admin__add_num(obj, "nextUpdate", (double)info->next_update)
         : cJSON_AddNullToObject(obj, "nextUpdate") ? XCA_OK : XCA_E_NOMEM;
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_num(obj, "count", info->count);
  }
  return rc;
}

/* Parse the crl argument, find its issuer, check it (xca_crl_new). */
static int crl_intake(struct xca_admin_cmd *c, struct xca_crl **held, X509_CRL **parsed,
                      X509 **issuer)
{
  X509_CRL *first = NULL;
  const char *text;
  int rc = xca_admin__arg_str(c, "crl", 1, &text);

  if (rc == XCA_OK) {
    rc = xca_crl_parse_pem(text, strlen(text), &first);
  }
  if (rc == XCA_OK) {
    rc = find_issuer(c, first, issuer);
  }
  if (rc == XCA_OK) {
    rc = xca_crl_new(text, strlen(text), *issuer, held, parsed);
  }
  X509_CRL_free(first);
  return rc;
}

/* Refuse a CRL whose thisUpdate lies beyond the clock skew allowed. */
static int dated_now(struct xca_admin_cmd *c, const struct xca_crl_info *info)
{
  long long now = (long long)xca_admin__now(c);

  if ((long long)info->this_update > now + CRL_FUTURE_SKEW_S) {
    snprintf(c->detail, sizeof(c->detail), "thisUpdate %lld is in the future, now %lld",
             (long long)info->this_update, now);
    return XCA_E_BAD_CRL;
  }
  return XCA_OK;
}

int xca_admin__upload_crl(struct xca_admin_cmd *c)
{
  struct xca_crl *held = NULL;
  X509_CRL *parsed = NULL;
  X509 *issuer = NULL;
  const struct xca_crl_info *info = NULL;
  int rc = crl_intake(c, &held, &parsed, &issuer);

  c->what = "CRL";
  if (rc == XCA_OK) {
    info = xca_crl_info(held);
    xca_admin__target(c, XCA_KEY_CRL, info->issuer_sha256);
    rc = dated_now(c, info);
  }
  if (rc == XCA_OK) {
    rc = store_crl(c, info, parsed, issuer);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__changed(c, XCA_KEY_CRL, info->issuer_sha256);
  }
  if (rc == XCA_OK) {
    rc = crl_json(c->data, info);
  }
  xca_crl_free(held);
  X509_CRL_free(parsed);
  X509_free(issuer);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* listCRLs, deleteCRL                                                       */
/* ------------------------------------------------------------------------ */

/* The CRL key name as its summary (from the stored fields, not re-parsed);
 * a name that is no canonical thumbprint (never held) is skipped. */
static int list_crl_one(struct xca_admin_cmd *c, const char *name, cJSON *arr)
{
  struct xca_fields f = {0};
  char sha[XCA_SHA256_HEX];
  char key[XCA_KEY_MAX];
  cJSON *obj = NULL;
  int rc = xca_revocation_key_name(name, sha);

  if (rc != XCA_OK) {
    return XCA_OK;
  }
  rc = xca_admin__key(c, XCA_KEY_CRL, name, key);
  rc = rc == XCA_OK ? read_key(c, key, &f) : rc;
  if (rc == XCA_E_NOT_FOUND) {
    return XCA_OK;
  }
  rc = rc == XCA_OK ? xca_admin__append_object(arr, &obj) : rc;
  rc = rc == XCA_OK ? xca_admin__add_str(obj, "issuerThumbprint", sha) : rc;
  rc = rc == XCA_OK ? xca_admin__add_str(obj, "issuerSubject", xca_fields_get(&f, "issuerSubject"))
                    : rc;
  rc = rc == XCA_OK ? add_stored_num(obj, "thisUpdate", xca_fields_get(&f, "thisUpdate")) : rc;
  rc = rc == XCA_OK ? add_stored_num(obj, "nextUpdate", xca_fields_get(&f, "nextUpdate")) : rc;
  rc = rc == XCA_OK ? add_stored_num(obj, "count", xca_fields_get(&f, "count")) : rc;
  xca_fields_free(&f);
  return rc;
}

int xca_admin__list_crls(struct xca_admin_cmd *c)
{
  struct xca_strlist names = {0};
  cJSON *arr = cJSON_AddArrayToObject(c->data, "crls");
  int rc = arr ? xca_admin__names(c, XCA_KEY_CRL, LIST_CRLS_MAX, &names) : XCA_E_NOMEM;

  for (int i = 0; rc == XCA_OK && i < names.count; i++) {
    rc = list_crl_one(c, names.item[i], arr);
  }
  xca_strlist_free(&names);
  return rc;
}

int xca_admin__delete_crl(struct xca_admin_cmd *c)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  char sha[XCA_SHA256_HEX];
  char key[XCA_KEY_MAX];
  int rc = thumb_arg(c, "issuerThumbprint", sha);

  c->what = "CRL";
  if (rc == XCA_OK) {
    xca_admin__target(c, XCA_KEY_CRL, sha);
    rc = xca_admin__key(c, XCA_KEY_CRL, sha, key);
  }
  if (rc == XCA_OK) {
    rc = kv->ops->del(kv->impl, key);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__changed(c, XCA_KEY_CRL, sha);
  }
  return rc;
}
