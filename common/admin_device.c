/* admin_device.c - the identity commands: createDevice, getDevice,
 * updateDevice, deleteDevice, listDevices. Schema: README "The registry in Redis". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"
#include "certinfo.h"
#include "xca_err.h"

#define LIST_COUNT_DEFAULT 100
#define LIST_COUNT_MAX 1000
#define LIST_STEPS_MAX 16 /* SCAN steps per listDevices page: bounds one call's work */
#define CURSOR_MAX 32
#define STR(x) #x
#define XSTR(x) STR(x)
#define COUNT_RULE "must be 1\u2013" XSTR(LIST_COUNT_MAX)
#define THUMB_RULE "must be 40 (SHA-1) or 64 (SHA-256) hex digits, ':' allowed"

static const char *const thumb_names[2] = {"primaryThumbprint", "secondaryThumbprint"};

/* Settings given in a createDevice/updateDevice request. */
struct dev_settings {
  const char *status;          /* NULL = not given */
  const char *auth;            /* NULL = not given */
  int thumb_given[2];          /* primary, secondary */
  char thumb[2][XCA_SHA256_HEX]; /* normalised; "" = remove */
};

/* ------------------------------------------------------------------------ */
/* Arguments                                                                 */
/* ------------------------------------------------------------------------ */

/* Read deviceId and optional moduleId into id; set the audit target, the
 * noun of not-found errors and the registry key. */
static int ident_arg(struct xca_admin_cmd *c, struct xca_ident *id, char key[XCA_KEY_MAX])
{
  const char *device;
  const char *module = NULL;
  int rc = xca_admin__arg_str(c, "deviceId", 1, &device);

  if (rc == XCA_OK && !xca_id_valid(device)) {
    rc = xca_admin__bad_arg(c, XCA_E_BAD_ID, "deviceId", device, XCA_ID_RULE);
  }
  if (rc == XCA_OK && !cJSON_IsNull(xca_admin__arg(c, "moduleId"))) {
    rc = xca_admin__arg_str(c, "moduleId", 0, &module);
  }
  if (rc == XCA_OK && module != NULL && !xca_id_valid(module)) {
    rc = xca_admin__bad_arg(c, XCA_E_BAD_ID, "moduleId", module, XCA_ID_RULE);
  }
  if (rc != XCA_OK) {
    return rc;
  }
  xca_ident_make(device, module, id);
  c->what = xca_ident_is_module(id) ? "module" : "device";
  xca_admin__target(c, XCA_KEY_DEVICE, id->full);
  return xca_admin__key(c, XCA_KEY_DEVICE, id->full, key);
}

/* Read one thumbprint argument: absent, null or "" (remove), or a valid one. */
static int thumb_arg(struct xca_admin_cmd *c, int i, struct dev_settings *s)
{
  const cJSON *item = xca_admin__arg(c, thumb_names[i]);

  if (item == NULL) {
    return XCA_OK;
  }
  s->thumb_given[i] = 1;
  if (cJSON_IsNull(item) || (cJSON_IsString(item) && item->valuestring[0] == '\0')) {
    return XCA_OK;
  }
  if (!cJSON_IsString(item)) {
    return xca_admin__bad_arg(c, XCA_E_MISSING_ARG, thumb_names[i], NULL,
                              "must be a string or null");
  }
  if (xca_thumbprint_normalize(item->valuestring, s->thumb[i]) != XCA_OK) {
    return xca_admin__bad_arg(c, XCA_E_BAD_THUMBPRINT, thumb_names[i], item->valuestring,
                              THUMB_RULE);
  }
  return XCA_OK;
}

/* Read status, authentication and the thumbprints, each optional. */
static int settings_arg(struct xca_admin_cmd *c, struct dev_settings *s)
{
  int rc = xca_admin__arg_str(c, "status", 0, &s->status);

  if (rc == XCA_OK && s->status != NULL && strcmp(s->status, "enabled") != 0 &&
      strcmp(s->status, "disabled") != 0) {
    rc = xca_admin__bad_arg(c, XCA_E_BAD_STATUS, "status", s->status,
                            "must be enabled or disabled");
  }
  if (rc == XCA_OK) {
    rc = xca_admin__arg_str(c, "authentication", 0, &s->auth);
  }
  if (rc == XCA_OK && s->auth != NULL && strcmp(s->auth, "certificateAuthority") != 0 &&
      strcmp(s->auth, "selfSigned") != 0) {
    rc = xca_admin__bad_arg(c, XCA_E_BAD_AUTH_TYPE, "authentication", s->auth,
                            "must be certificateAuthority or selfSigned");
  }
  for (int i = 0; rc == XCA_OK && i < 2; i++) {
    rc = thumb_arg(c, i, s);
  }
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Registry access and replies                                               */
/* ------------------------------------------------------------------------ */

static int dev_read(const struct xca_admin_cmd *c, const char *key, struct xca_fields *f)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  return kv->ops->hgetall(kv->impl, key, f);
}

/* Add enrollmentGroup and enrolledAt (a number when it is one) to obj,
 * when the identity was created by an enrollment group. */
static int enrollment_json(cJSON *obj, const struct xca_fields *f)
{
  const char *group = xca_fields_get(f, "enrollmentGroup");
  const char *at = xca_fields_get(f, "enrolledAt");
  char *end = NULL;
  long long secs = at ? strtoll(at, &end, 10) : 0;
  int rc = group ? xca_admin__add_str(obj, "enrollmentGroup", group) : XCA_OK;

  if (rc == XCA_OK && at != NULL) {
    rc = (end != at && *end == '\0') ? xca_admin__add_num(obj, "enrolledAt", (double)secs)
                                     : xca_admin__add_str(obj, "enrolledAt", at);
  }
  return rc;
}

/* Add an identity as {deviceId, moduleId?, status, authentication,
 * primaryThumbprint, secondaryThumbprint, enrollmentGroup?, enrolledAt?}
 * to obj, with the schema's defaults applied to absent fields. A status
 * that is neither enabled nor disabled (written with redis-cli) is shown as
 * stored, not as the "disabled" it counts as: the operator sees what is
 * there to fix. */
static int identity_json(cJSON *obj, const struct xca_ident *id, const struct xca_fields *f)
{
  struct xca_identity_rec rec;
  const char *status = xca_fields_get(f, "status");
  int rc = xca_admin__add_str(obj, "deviceId", id->device);

  xca_identity_from_fields(f, &rec);
  if (rc == XCA_OK && xca_ident_is_module(id)) {
    rc = xca_admin__add_str(obj, "moduleId", id->module);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_str(obj, "status", status != NULL ? status : "enabled");
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_str(obj, "authentication", xca_auth_type_name(rec.auth));
  }
  for (int i = 0; rc == XCA_OK && i < 2; i++) {
    rc = xca_admin__add_str(obj, thumb_names[i], xca_fields_get(f, thumb_names[i]));
  }
  return rc == XCA_OK ? enrollment_json(obj, f) : rc;
}

/* Reply with the identity as stored now. */
static int reply_stored(struct xca_admin_cmd *c, const struct xca_ident *id, const char *key)
{
  struct xca_fields f = {0};
  int rc = dev_read(c, key, &f);

  if (rc == XCA_OK) {
    rc = identity_json(c->data, id, &f);
  }
  xca_fields_free(&f);
  return rc;
}

/* selfSigned needs a primary thumbprint to authenticate against. */
static int check_auth(const char *auth, const char *primary)
{
  if (auth != NULL && strcmp(auth, "selfSigned") == 0 && (primary == NULL || *primary == '\0')) {
    return XCA_E_NEED_THUMBPRINT;
  }
  return XCA_OK;
}

/* ------------------------------------------------------------------------ */
/* createDevice, getDevice                                                   */
/* ------------------------------------------------------------------------ */

/* The fields of a new identity: given settings with defaults made explicit. */
static int create_fields(const struct dev_settings *s, struct xca_fields *f)
{
  int rc = xca_fields_set(f, "status", s->status ? s->status : "enabled");

  if (rc == XCA_OK) {
    rc = xca_fields_set(f, "authentication", s->auth ? s->auth : "certificateAuthority");
  }
  for (int i = 0; rc == XCA_OK && i < 2; i++) {
    if (s->thumb[i][0] != '\0') {
      rc = xca_fields_set(f, thumb_names[i], s->thumb[i]);
    }
  }
  return rc == XCA_OK ? check_auth(xca_fields_get(f, "authentication"), s->thumb[0]) : rc;
}

/* As IoT Hub: a module can only be created under an existing device. */
static int check_parent(struct xca_admin_cmd *c, const struct xca_ident *id)
{
  char key[XCA_KEY_MAX];
  struct xca_fields f = {0};
  int rc;

  if (!xca_ident_is_module(id)) {
    return XCA_OK;
  }
  rc = xca_admin__key(c, XCA_KEY_DEVICE, id->device, key);
  if (rc == XCA_OK) {
    rc = dev_read(c, key, &f);
  }
  xca_fields_free(&f);
  return rc == XCA_E_NOT_FOUND ? XCA_E_NO_DEVICE : rc;
}

int xca_admin__create_device(struct xca_admin_cmd *c)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  char key[XCA_KEY_MAX];
  struct xca_ident id;
  struct dev_settings s = {0};
  struct xca_fields f = {0};
  int rc = ident_arg(c, &id, key);

  if (rc == XCA_OK) {
    rc = settings_arg(c, &s);
  }
  if (rc == XCA_OK) {
    rc = create_fields(&s, &f);
  }
  if (rc == XCA_OK) {
    rc = check_parent(c, &id);
  }
  if (rc == XCA_OK) {
    rc = kv->ops->create(kv->impl, key, &f);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__changed(c, XCA_KEY_DEVICE, id.full);
  }
  if (rc == XCA_OK) {
    rc = identity_json(c->data, &id, &f);
  }
  xca_fields_free(&f);
  return rc;
}

int xca_admin__get_device(struct xca_admin_cmd *c)
{
  char key[XCA_KEY_MAX];
  struct xca_ident id;
  int rc = ident_arg(c, &id, key);

  return rc == XCA_OK ? reply_stored(c, &id, key) : rc;
}

/* ------------------------------------------------------------------------ */
/* updateDevice                                                              */
/* ------------------------------------------------------------------------ */

/* The change to apply: given fields set, thumbprints given empty deleted.
 * The result must still satisfy check_auth with the stored values. */
static int update_fields(const struct dev_settings *s, const struct xca_fields *cur,
                         struct xca_fields *set, const char **del, int *ndel)
{
  const char *auth = s->auth ? s->auth : xca_fields_get(cur, "authentication");
  const char *primary = s->thumb_given[0] ? s->thumb[0] : xca_fields_get(cur, thumb_names[0]);
  int rc = check_auth(auth, primary);

  if (rc == XCA_OK && s->status != NULL) {
    rc = xca_fields_set(set, "status", s->status);
  }
  if (rc == XCA_OK && s->auth != NULL) {
    rc = xca_fields_set(set, "authentication", s->auth);
  }
  for (int i = 0; rc == XCA_OK && i < 2; i++) {
    if (s->thumb_given[i] && s->thumb[i][0] != '\0') {
      rc = xca_fields_set(set, thumb_names[i], s->thumb[i]);
    } else if (s->thumb_given[i]) {
      del[(*ndel)++] = thumb_names[i];
    }
  }
  /* Deleting the last fields would delete the key (Redis drops empty
   * hashes): write the schema's default status, which changes nothing. */
  if (rc == XCA_OK && *ndel > 0 && set->count == 0 && xca_fields_get(cur, "status") == NULL) {
    rc = xca_fields_set(set, "status", "enabled");
  }
  return rc;
}

int xca_admin__update_device(struct xca_admin_cmd *c)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  char key[XCA_KEY_MAX];
  const char *del[2];
  int ndel = 0;
  struct xca_ident id;
  struct dev_settings s = {0};
  struct xca_fields cur = {0};
  struct xca_fields set = {0};
  int rc = ident_arg(c, &id, key);

  if (rc == XCA_OK) {
    rc = settings_arg(c, &s);
  }
  if (rc == XCA_OK) {
    rc = dev_read(c, key, &cur);
  }
  if (rc == XCA_OK) {
    rc = update_fields(&s, &cur, &set, del, &ndel);
  }
  if (rc == XCA_OK) {
    rc = kv->ops->update(kv->impl, key, NULL, NULL, &set, del, ndel);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__changed(c, XCA_KEY_DEVICE, id.full);
  }
  if (rc == XCA_OK) {
    rc = reply_stored(c, &id, key);
  }
  xca_fields_free(&cur);
  xca_fields_free(&set);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* deleteDevice                                                              */
/* ------------------------------------------------------------------------ */

/* Delete the identity name. One deleted meanwhile is skipped, and so is a
 * name longer than any identity (only redis-cli can write one), which makes
 * no key. */
static int delete_one(struct xca_admin_cmd *c, const char *name, int *deleted)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  char key[XCA_KEY_MAX];
  int rc;

  if (xca_admin__key(c, XCA_KEY_DEVICE, name, key) != XCA_OK) {
    return XCA_OK;
  }
  rc = kv->ops->del(kv->impl, key);
  if (rc == XCA_OK) {
    (*deleted)++;
    rc = xca_admin__changed(c, XCA_KEY_DEVICE, name);
  }
  return rc == XCA_E_NOT_FOUND ? XCA_OK : rc;
}

/* As IoT Hub: deleting a device deletes its modules. */
static int delete_modules(struct xca_admin_cmd *c, const char *device, int *deleted)
{
  char module_prefix[XCA_ID_MAX + 2];
  struct xca_strlist names = {0};
  int rc;

  snprintf(module_prefix, sizeof(module_prefix), "%s/", device);
  rc = xca_registry_scan_all(c->ctx->reg, XCA_KEY_DEVICE, module_prefix, 500, NULL, 0, &names);
  for (int i = 0; rc == XCA_OK && i < names.count; i++) {
    rc = delete_one(c, names.item[i], deleted);
  }
  xca_strlist_free(&names);
  return rc;
}

int xca_admin__delete_device(struct xca_admin_cmd *c)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  char key[XCA_KEY_MAX];
  struct xca_ident id;
  int modules = 0;
  int rc = ident_arg(c, &id, key);

  if (rc == XCA_OK) {
    rc = kv->ops->del(kv->impl, key);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__changed(c, XCA_KEY_DEVICE, id.full);
  }
  if (rc == XCA_OK && !xca_ident_is_module(&id)) {
    rc = delete_modules(c, id.device, &modules);
    if (rc == XCA_OK) {
      rc = xca_admin__add_num(c->data, "modulesDeleted", modules);
    }
  }
  return rc;
}

/* ------------------------------------------------------------------------ */
/* listDevices                                                               */
/* ------------------------------------------------------------------------ */

struct list_args {
  unsigned long long cursor;
  int count;
  const char *device; /* NULL = every identity; else this device's modules */
};

static int list_arg(struct xca_admin_cmd *c, struct list_args *a)
{
  const char *cursor;
  const cJSON *count = xca_admin__arg(c, "count");
  char *end = NULL;
  int rc = xca_admin__arg_str(c, "cursor", 0, &cursor);

  a->cursor = 0;
  a->count = LIST_COUNT_DEFAULT;
  if (rc == XCA_OK && cursor != NULL) {
    a->cursor = strtoull(cursor, &end, 10);
    if (cursor[0] < '0' || cursor[0] > '9' || *end != '\0') {
      return xca_admin__bad_arg(c, XCA_E_MISSING_ARG, "cursor", cursor,
                                "must be the decimal cursor of an earlier reply (\"0\" starts)");
    }
  }
  if (rc == XCA_OK && count != NULL) {
    if (!cJSON_IsNumber(count) || count->valuedouble < 1 || count->valuedouble > LIST_COUNT_MAX) {
      return xca_admin__bad_arg(c, XCA_E_MISSING_ARG, "count", NULL, COUNT_RULE);
    }
    a->count = (int)count->valuedouble;
  }
  if (rc == XCA_OK) {
    rc = xca_admin__arg_str(c, "deviceId", 0, &a->device);
  }
  if (rc == XCA_OK && a->device != NULL && !xca_id_valid(a->device)) {
    rc = xca_admin__bad_arg(c, XCA_E_BAD_ID, "deviceId", a->device, XCA_ID_RULE);
  }
  return rc;
}

/* Append the identity name to arr; names that are not valid identities or
 * were deleted meanwhile are skipped. */
static int list_one(struct xca_admin_cmd *c, const char *name, cJSON *arr)
{
  char key[XCA_KEY_MAX];
  struct xca_ident id;
  struct xca_fields f = {0};
  cJSON *obj;
  int rc;

  if (xca_ident_parse(name, &id) != XCA_OK) {
    return XCA_OK;
  }
  rc = xca_admin__key(c, XCA_KEY_DEVICE, name, key);
  if (rc == XCA_OK) {
    rc = dev_read(c, key, &f);
  }
  if (rc == XCA_E_NOT_FOUND) {
    return XCA_OK;
  }
  if (rc == XCA_OK) {
    rc = xca_admin__append_object(arr, &obj);
  }
  if (rc == XCA_OK) {
    rc = identity_json(obj, &id, &f);
  }
  xca_fields_free(&f);
  return rc;
}

/* SCAN steps until about count identities are collected, the iteration
 * ends, or LIST_STEPS_MAX steps were taken (a page may then be short). */
static int list_page(struct xca_admin_cmd *c, struct xca_registry_scan *s, int count, cJSON *arr)
{
  int rc = XCA_OK;

  for (int step = 0; rc == XCA_OK && step < LIST_STEPS_MAX; step++) {
    struct xca_strlist names = {0};
    rc = xca_registry_scan_step(s, &names);
    for (int i = 0; rc == XCA_OK && i < names.count; i++) {
      rc = list_one(c, names.item[i], arr);
    }
    xca_strlist_free(&names);
    if (s->done || cJSON_GetArraySize(arr) >= count) {
      break;
    }
  }
  return rc;
}

int xca_admin__list_devices(struct xca_admin_cmd *c)
{
  struct list_args a = {0};
  struct xca_registry_scan s;
  char module_prefix[XCA_ID_MAX + 2];
  char cursor[CURSOR_MAX];
  cJSON *arr;
  int rc = list_arg(c, &a);

  if (rc == XCA_OK && a.device != NULL) {
    snprintf(module_prefix, sizeof(module_prefix), "%s/", a.device);
  }
  if (rc == XCA_OK) {
    rc = xca_registry_scan_begin(&s, c->ctx->reg, XCA_KEY_DEVICE, a.device ? module_prefix : NULL,
                                 a.cursor, a.count);
  }
  arr = rc == XCA_OK ? cJSON_AddArrayToObject(c->data, "devices") : NULL;
  if (rc == XCA_OK && arr == NULL) {
    rc = XCA_E_NOMEM;
  }
  if (rc == XCA_OK) {
    rc = list_page(c, &s, a.count, arr);
  }
  if (rc != XCA_OK) {
    return rc;
  }
  snprintf(cursor, sizeof(cursor), "%llu", s.cursor);
  return xca_admin__add_str(c->data, "cursor", cursor);
}
