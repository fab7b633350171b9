/* admin.c - request parsing, dispatch, replies and audit lines of the admin
 * commands; the handlers live in admin_ca.c, admin_device.c, admin_group.c,
 * admin_revoke.c and admin_stats.c. */
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_internal.h"
#include "xca_err.h"

#define SHOWN_VALUE_MAX 64 /* longest bad argument value an error text quotes */

void xca_admin_result_free(struct xca_admin_result *r)
{
  if (r == NULL) {
    return;
  }
  free(r->response);
  xca_strlist_free(&r->audit);
  free(r->records);
  xca_strlist_free(&r->changed);
  memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------------------ */
/* Helpers for the handlers                                                  */
/* ------------------------------------------------------------------------ */

time_t xca_admin__now(const struct xca_admin_cmd *c)
{
  return c->ctx->now ? c->ctx->now(c->ctx->now_arg) : time(NULL);
}

const cJSON *xca_admin__arg(const struct xca_admin_cmd *c, const char *name)
{
  return cJSON_GetObjectItemCaseSensitive(c->args, name);
}

int xca_admin__arg_str(struct xca_admin_cmd *c, const char *name, int required,
                       const char **out)
{
  const cJSON *item = xca_admin__arg(c, name);

  *out = NULL;
  if (item == NULL && !required) {
    return XCA_OK;
  }
  if (!cJSON_IsString(item) || item->valuestring == NULL) {
    return xca_admin__bad_arg(c, XCA_E_MISSING_ARG, name, NULL,
                              item != NULL ? "must be a string" : NULL);
  }
  *out = item->valuestring;
  return XCA_OK;
}

int xca_admin__bad_arg(struct xca_admin_cmd *c, int err, const char *name, const char *value,
                       const char *rule)
{
  c->bad_arg = name;
  c->bad_value = value;
  c->rule = rule;
  return err;
}

int xca_admin__add_str(cJSON *obj, const char *name, const char *value)
{
  cJSON *item = value ? cJSON_AddStringToObject(obj, name, value)
                      : cJSON_AddNullToObject(obj, name);
  return item ? XCA_OK : XCA_E_NOMEM;
}

int xca_admin__append_object(cJSON *arr, cJSON **obj)
{
  *obj = cJSON_CreateObject();
  if (*obj == NULL || !cJSON_AddItemToArray(arr, *obj)) {
    cJSON_Delete(*obj);
    *obj = NULL;
    return XCA_E_NOMEM;
  }
  return XCA_OK;
}

int xca_admin__add_num(cJSON *obj, const char *name, double value)
{
  return cJSON_AddNumberToObject(obj, name, value) ? XCA_OK : XCA_E_NOMEM;
}

int xca_admin__key(const struct xca_admin_cmd *c, enum xca_key_kind kind, const char *name,
                   char key[XCA_KEY_MAX])
{
  return xca_registry_key(c->ctx->reg, kind, name, key);
}

int xca_admin__changed(struct xca_admin_cmd *c, enum xca_key_kind kind, const char *name)
{
  char key[XCA_KEY_UNPREFIXED_MAX];
  int rc = xca_registry_key_unprefixed(kind, name, key);

  return rc == XCA_OK ? xca_strlist_add(c->changed, key) : rc;
}

void xca_admin__target(struct xca_admin_cmd *c, enum xca_key_kind kind, const char *name)
{
  xca_registry_key_unprefixed(kind, name, c->target); /* "" (shown as "-") if it fails */
}

int xca_admin__names(struct xca_admin_cmd *c, enum xca_key_kind kind, int max,
                     struct xca_strlist *names)
{
  int rc = xca_registry_scan_all(c->ctx->reg, kind, NULL, 500, xca_ca_name_valid, max, names);

  if (rc == XCA_OK) {
    xca_strlist_sort(names);
  }
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                  */
/* ------------------------------------------------------------------------ */

static const struct {
  const char *name;
  xca_admin_handler_fn fn;
} commands[] = {
  {"uploadCA", xca_admin__upload_ca},
  {"generateVerificationCode", xca_admin__generate_code},
  {"verifyCA", xca_admin__verify_ca},
  {"getCA", xca_admin__get_ca},
  {"listCAs", xca_admin__list_cas},
  {"deleteCA", xca_admin__delete_ca},
  {"createDevice", xca_admin__create_device},
  {"getDevice", xca_admin__get_device},
  {"updateDevice", xca_admin__update_device},
  {"deleteDevice", xca_admin__delete_device},
  {"listDevices", xca_admin__list_devices},
  {"createEnrollmentGroup", xca_admin__create_group},
  {"getEnrollmentGroup", xca_admin__get_group},
  {"listEnrollmentGroups", xca_admin__list_groups},
  {"updateEnrollmentGroup", xca_admin__update_group},
  {"deleteEnrollmentGroup", xca_admin__delete_group},
  {"revokeCertificate", xca_admin__revoke_certificate},
  {"unrevokeCertificate", xca_admin__unrevoke_certificate},
  {"listRevoked", xca_admin__list_revoked},
  {"uploadCRL", xca_admin__upload_crl},
  {"listCRLs", xca_admin__list_crls},
  {"deleteCRL", xca_admin__delete_crl},
  {"getStats", xca_admin__get_stats},
};

static xca_admin_handler_fn find_handler(const char *name)
{
  for (size_t i = 0; name != NULL && i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(commands[i].name, name) == 0) {
      return commands[i].fn;
    }
  }
  return NULL;
}

/* Write " '<value>'" into buf for an error text: the value as given, with
 * control and non-ASCII bytes shown as '?' (the text reaches the audit log
 * too) and cut after SHOWN_VALUE_MAX characters; "" when value is NULL. */
static void shown_value(const char *value, char *buf, size_t len)
{
  char safe[SHOWN_VALUE_MAX + 1];

  if (value == NULL) {
    buf[0] = '\0';
    return;
  }
  xca_log_sanitize(value, safe, sizeof(safe));
  snprintf(buf, len, " '%s%s'", safe, strlen(value) > SHOWN_VALUE_MAX ? "..." : "");
}

/* The error text: contextual for not-found/exists, bad arguments and what
 * a refused certificate breaks. For the reply (for_reply = 1) a bad
 * argument is named with the value given and the rule it breaks; the audit
 * line names the argument only, so that it never holds request text. */
static void error_text(const struct xca_admin_cmd *c, int rc, int for_reply, char *buf,
                       size_t len)
{
  if ((rc == XCA_E_NOT_FOUND || rc == XCA_E_EXISTS) && c->what != NULL) {
    snprintf(buf, len, "%s %s", c->what, xca_strerror(rc));
  } else if (c->bad_arg != NULL) {
    char value[SHOWN_VALUE_MAX + 8];
    const char *rule = for_reply && c->rule != NULL ? c->rule : NULL;
    shown_value(for_reply ? c->bad_value : NULL, value, sizeof(value));
    snprintf(buf, len, "%s: %s%s%s%s", xca_strerror(rc), c->bad_arg, value, rule ? " " : "",
             rule ? rule : "");
  } else if (c->detail[0] != '\0') {
    snprintf(buf, len, "%s (%s)", xca_strerror(rc), c->detail);
  } else {
    snprintf(buf, len, "%s", xca_strerror(rc));
  }
}

/* The audit facts of one command, as its line shows them. */
static void audit_record(struct xca_admin_audit *rec, const char *admin, const char *command,
                         const struct xca_admin_cmd *c, const char *error)
{
  /* Request text can neither forge nor break the line (rec's fields cut
   * names to 64 characters). */
  xca_log_sanitize_word(admin, rec->admin, sizeof(rec->admin));
  xca_log_sanitize_word(command, rec->command, sizeof(rec->command));
  snprintf(rec->target, sizeof(rec->target), "%s", c->target[0] ? c->target : "-");
  snprintf(rec->detail, sizeof(rec->detail), "%s", c->audit_extra ? c->audit_extra : "");
  if (error != NULL) {
    snprintf(rec->result, sizeof(rec->result), "error (%s)", error);
  } else {
    snprintf(rec->result, sizeof(rec->result), "ok");
  }
}

/* Keep rec at out->records[out->audit.count - 1]. */
static int keep_record(struct xca_admin_result *out, const struct xca_admin_audit *rec)
{
  int n = out->audit.count;
  struct xca_admin_audit *grown = realloc(out->records, (size_t)n * sizeof(*grown));

  if (grown == NULL) {
    return XCA_E_NOMEM;
  }
  out->records = grown;
  out->records[n - 1] = *rec;
  return XCA_OK;
}

/* Append the audit line of one command to out->audit, and its facts to
 * out->records. */
static int audit(struct xca_admin_result *out, const char *admin, const char *command,
                 const struct xca_admin_cmd *c, const char *error)
{
  struct xca_admin_audit rec;
  char line[1024];
  int rc;

  audit_record(&rec, admin, command, c, error);
  snprintf(line, sizeof(line), "admin=%s command=%s target=%s%s%s result=%s", rec.admin,
           rec.command, rec.target, rec.detail[0] ? " " : "", rec.detail, rec.result);
  /* On failure the whole result is released (xca_admin_handle). */
  rc = xca_strlist_add(&out->audit, line);
  return rc == XCA_OK ? keep_record(out, &rec) : rc;
}

/* Add the response object of one command to responses. */
static int respond(cJSON *responses, const char *command, struct xca_admin_cmd *c,
                   const char *error, const cJSON *corr)
{
  cJSON *resp = cJSON_CreateObject();

  if (resp == NULL || !cJSON_AddItemToArray(responses, resp)) {
    cJSON_Delete(resp);
    return XCA_E_NOMEM;
  }
  if (xca_admin__add_str(resp, "command", command ? command : "unknown") != XCA_OK) {
    return XCA_E_NOMEM;
  }
  if (error != NULL) {
    if (xca_admin__add_str(resp, "error", error) != XCA_OK) {
      return XCA_E_NOMEM;
    }
  } else {
    if (!cJSON_AddItemToObject(resp, "data", c->data)) {
      return XCA_E_NOMEM;
    }
    c->data = NULL; /* now owned by resp */
  }
  if (cJSON_IsString(corr) && xca_admin__add_str(resp, "correlationData", corr->valuestring) != XCA_OK) {
    return XCA_E_NOMEM;
  }
  return XCA_OK;
}

/* Validate, run and answer one element of the commands array. */
static int run_command(const struct xca_admin_ctx *ctx, const cJSON *item, const char *admin,
                       cJSON *responses, struct xca_admin_result *out)
{
  struct xca_admin_cmd c = {.ctx = ctx, .args = item, .changed = &out->changed};
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "command");
  const char *command = cJSON_IsString(name) ? name->valuestring : NULL;
  xca_admin_handler_fn fn = find_handler(command);
  char error[256];
  char audit_error[256];
  int rc;

  c.data = cJSON_CreateObject();
  if (c.data == NULL) {
    return XCA_E_NOMEM;
  }
  if (command == NULL) {
    c.bad_arg = "command";
    rc = XCA_E_MISSING_ARG;
  } else if (ctx->refuse != XCA_OK) {
    rc = ctx->refuse; /* answered, not run */
  } else {
    rc = fn ? fn(&c) : XCA_E_UNKNOWN_COMMAND;
  }
  if (rc != XCA_OK) {
    error_text(&c, rc, 1, error, sizeof(error));
    error_text(&c, rc, 0, audit_error, sizeof(audit_error));
  }
  int rrc = respond(responses, command, &c, rc != XCA_OK ? error : NULL,
                    cJSON_GetObjectItemCaseSensitive(item, "correlationData"));
  cJSON_Delete(c.data);
  if (rrc == XCA_OK) {
    /* An unknown command name is not echoed: it could be anything pasted. */
    rrc = audit(out, admin, fn != NULL ? command : "unknown", &c,
                rc != XCA_OK ? audit_error : NULL);
  }
  return rrc;
}

/* Answer a payload that could not be run at all. */
static int request_error(cJSON *responses, const char *admin, int err, const char *bad_arg,
                         struct xca_admin_result *out)
{
  struct xca_admin_cmd c = {.bad_arg = bad_arg};
  char error[128];

  error_text(&c, err, 1, error, sizeof(error));
  if (respond(responses, NULL, &c, error, NULL) != XCA_OK) {
    return XCA_E_NOMEM;
  }
  return audit(out, admin, NULL, &c, error);
}

/* Return 1 if a JSON string in text[0..len) (values and keys alike) decodes
 * to bytes holding a NUL, else 0. cJSON (1.7.15) keeps no length for a
 * string: its C string would end at the NUL, and "victim-7\u0000-old"
 * would name "victim-7". A decoded NUL comes from exactly two spellings:
 * the escape \u0000 (the only \u escape that decodes to byte 0; surrogate
 * pairs decode above U+FFFF) or a raw 0 byte between the quotes, which
 * cJSON copies as it is. Strings are delimited the way cJSON delimits them
 * (a backslash escapes the byte after it), so in "\\u0000" the escaped
 * backslash is consumed and "u0000" is plain text. Outside strings a 0 byte
 * is whitespace to cJSON and no string is affected. text must be what
 * cJSON parsed successfully, so every '"' outside a string opens one. */
static int json_has_nul_string(const char *text, size_t len)
{
  int in_string = 0;

  for (size_t i = 0; i < len; i++) {
    if (!in_string) {
      in_string = text[i] == '"';
    } else if (text[i] == '"') {
      in_string = 0;
    } else if (text[i] == '\\') {
      if (len - i >= 6 && memcmp(text + i + 1, "u0000", 5) == 0) {
        return 1;
      }
      i++; /* the escaped byte */
    } else if (text[i] == '\0') {
      return 1;
    }
  }
  return 0;
}

/* Run every command of the parsed request, or answer why none can run. */
/* Return 1 when nothing but whitespace (as cJSON counts it: bytes up to
 * 0x20) follows end in the len bytes at payload. */
static int only_whitespace_after(const char *payload, size_t len, const char *end)
{
  for (const char *p = end; p < payload + len; p++) {
    if ((unsigned char)*p > 0x20) {
      return 0;
    }
  }
  return 1;
}

static int run_request(const struct xca_admin_ctx *ctx, const char *payload, size_t len,
                       const char *admin, cJSON *responses, struct xca_admin_result *out)
{
  cJSON *tree;
  const cJSON *cmds;
  const cJSON *item;
  const char *end = NULL;
  int rc = XCA_OK;

  if (len > (size_t)ctx->cfg->max_admin_payload) {
    return request_error(responses, admin, XCA_E_TOO_LARGE, NULL, out);
  }
  tree = cJSON_ParseWithLengthOpts(payload, len, &end, 0);
  if (tree != NULL && !only_whitespace_after(payload, len, end)) {
    /* One JSON document and nothing else: "{...}{...}" or "{...} junk"
     * is not a request, so not even its first part runs. */
    cJSON_Delete(tree);
    tree = NULL;
  }
  if (tree == NULL) {
    return request_error(responses, admin, XCA_E_JSON, NULL, out);
  }
  /* Checked once here, on the text cJSON consumed, for every string any
   * handler may read: nothing runs when one was cut short by a NUL. */
  if (json_has_nul_string(payload, (size_t)(end - payload))) {
    cJSON_Delete(tree);
    return request_error(responses, admin, XCA_E_NUL_IN_STRING, NULL, out);
  }
  cmds = cJSON_GetObjectItemCaseSensitive(tree, "commands");
  if (!cJSON_IsArray(cmds)) {
    rc = request_error(responses, admin, XCA_E_MISSING_ARG, "commands", out);
    cJSON_Delete(tree);
    return rc;
  }
  cJSON_ArrayForEach(item, cmds)
  {
    rc = run_command(ctx, item, admin, responses, out);
    if (rc != XCA_OK) {
      break;
    }
  }
  cJSON_Delete(tree);
  return rc;
}

/* Print root into an owned malloc'ed string in out. */
static int print_reply(cJSON *root, struct xca_admin_result *out)
{
  char *text = cJSON_PrintUnformatted(root);

  if (text == NULL) {
    return XCA_E_NOMEM;
  }
  out->response = strdup(text);
  cJSON_free(text);
  if (out->response == NULL) {
    return XCA_E_NOMEM;
  }
  out->response_len = strlen(out->response);
  return XCA_OK;
}

int xca_admin_handle(const struct xca_admin_ctx *ctx, const char *payload, size_t len,
                     const char *admin_name, struct xca_admin_result *out)
{
  cJSON *root;
  cJSON *responses;
  int rc;

  if (out == NULL) {
    return XCA_E_INVAL;
  }
  memset(out, 0, sizeof(*out));
  if (ctx == NULL || ctx->reg == NULL || ctx->reg->kv.ops == NULL || ctx->cfg == NULL) {
    return XCA_E_INVAL;
  }
  root = cJSON_CreateObject();
  responses = cJSON_AddArrayToObject(root, "responses");
  rc = responses ? run_request(ctx, payload, len, admin_name, responses, out) : XCA_E_NOMEM;
  if (rc == XCA_OK) {
    rc = print_reply(root, out);
  }
  cJSON_Delete(root);
  if (rc != XCA_OK) {
    xca_admin_result_free(out);
  }
  return rc;
}
