/* admin_group.c - the enrollment-group commands: createEnrollmentGroup,
 * getEnrollmentGroup, listEnrollmentGroups, updateEnrollmentGroup,
 * deleteEnrollmentGroup. Schema: README "Enrollment groups". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509_vfy.h>

#include "admin_internal.h"
#include "certinfo.h"
#include "policy.h"
#include "trust.h"
#include "xca_err.h"

#define LIST_GROUPS_MAX 10000 /* listEnrollmentGroups stops here */
#define SCAN_CAS_MAX 10000    /* CAs a new group's certificate is checked against */

/* ------------------------------------------------------------------------ */
/* Shared steps                                                              */
/* ------------------------------------------------------------------------ */

/* Read and check the "name" argument; set the audit target and key. */
static int group_name_arg(struct xca_admin_cmd *c, const char **name, char key[XCA_KEY_MAX])
{
  int rc = xca_admin__arg_str(c, "name", 1, name);

  if (rc != XCA_OK) {
    return rc;
  }
  if (!xca_ca_name_valid(*name)) {
    return xca_admin__bad_arg(c, XCA_E_BAD_NAME, "name", *name, XCA_CA_NAME_RULE);
  }
  c->what = "enrollment group";
  xca_admin__target(c, XCA_KEY_GROUP, *name);
  return xca_admin__key(c, XCA_KEY_GROUP, *name, key);
}

/* Read the optional status argument arg: "enabled" or "disabled". */
static int status_arg(struct xca_admin_cmd *c, const char *arg, const char **out)
{
  int rc = xca_admin__arg_str(c, arg, 0, out);

  if (rc == XCA_OK && *out != NULL && strcmp(*out, "enabled") != 0 &&
      strcmp(*out, "disabled") != 0) {
    rc = xca_admin__bad_arg(c, XCA_E_BAD_STATUS, arg, *out, "must be enabled or disabled");
  }
  return rc;
}

static int group_read(const struct xca_admin_cmd *c, const char *key, struct xca_fields *f)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  return kv->ops->hgetall(kv->impl, key, f);
}

/* A status as shown: absent is the default, enabled; any other stored value
 * (written with redis-cli) is shown as stored, not as the "disabled" it
 * counts as, as getDevice shows a device's: the operator sees what is there
 * to fix. */
static const char *shown_status(const struct xca_fields *f, const char *field)
{
  const char *s = xca_fields_get(f, field);
  return s != NULL ? s : "enabled";
}

/* Add name, status, initialStatus, subject, thumbprint of a group to obj. */
static int group_info(cJSON *obj, const char *name, const struct xca_fields *f)
{
  int rc = xca_admin__add_str(obj, "name", name);

  if (rc == XCA_OK) {
    rc = xca_admin__add_str(obj, "status", shown_status(f, "status"));
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_str(obj, "initialStatus", shown_status(f, "initialStatus"));
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_str(obj, "subject", xca_fields_get(f, "subject"));
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_str(obj, "thumbprint", xca_fields_get(f, "thumbprint"));
  }
  return rc;
}

/* Reply with the group as stored now. */
static int reply_stored(struct xca_admin_cmd *c, const char *name, const char *key)
{
  struct xca_fields f = {0};
  int rc = group_read(c, key, &f);

  if (rc == XCA_OK) {
    rc = group_info(c->data, name, &f);
  }
  xca_fields_free(&f);
  return rc;
}

/* The certificate stored under key's "certificate" field, or NULL. */
static X509 *stored_cert(const struct xca_admin_cmd *c, const char *key, struct xca_fields *f)
{
  const char *pem;
  X509 *cert = NULL;

  if (group_read(c, key, f) != XCA_OK) {
    return NULL;
  }
  pem = xca_fields_get(f, "certificate");
  if (pem != NULL) {
    xca_cert_from_pem(pem, strlen(pem), &cert);
  }
  return cert;
}

/* ------------------------------------------------------------------------ */
/* The group's certificate                                                   */
/* ------------------------------------------------------------------------ */

/* Whether the CA stored under name is verified and keeps the policy: the
 * CAs the brokers trust (plugin/cas.c). *cert (owned) when it is. */
static int trusted_ca(struct xca_admin_cmd *c, const struct xca_policy *policy, const char *name,
                      X509 **cert)
{
  struct xca_ca_rec rec;
  int ok;

  *cert = NULL;
  if (xca_registry_get_ca(c->ctx->reg, name, &rec) == XCA_OK && rec.verified &&
      rec.certificate != NULL) {
    xca_cert_from_pem(rec.certificate, strlen(rec.certificate), cert);
  }
  ok = *cert != NULL && xca_policy_check_cert(policy, *cert, NULL, 0) == XCA_OK;
  xca_ca_rec_free(&rec);
  if (!ok) {
    X509_free(*cert);
    *cert = NULL;
  }
  return ok;
}

/* The verified CAs of the registry as a trust set. */
static int load_trust(struct xca_admin_cmd *c, struct xca_trust *trust)
{
  struct xca_strlist names = {0};
  int rc = xca_admin__names(c, XCA_KEY_CA, SCAN_CAS_MAX, &names);

  for (int i = 0; rc == XCA_OK && i < names.count; i++) {
    X509 *cert;
    /* A CA the brokers could not trust either (not CA:TRUE) is skipped. */
    if (trusted_ca(c, xca_trust_policy(trust), names.item[i], &cert) &&
        xca_trust_put(trust, names.item[i], cert) == XCA_E_NOMEM) {
      rc = XCA_E_NOMEM;
    }
    X509_free(cert);
  }
  xca_strlist_free(&names);
  return rc;
}

/* The certificates of the groups other than name, and whether one of them
 * is cert (*holder names it): a second group for one certificate is
 * refused. The others help cert's chain reach a verified CA (e.g. a group
 * for Technician-Z's CA under the group of Factory-Y's). */
static int other_groups(struct xca_admin_cmd *c, const char *name, X509 *cert,
                        STACK_OF(X509) *certs, const char **holder, struct xca_strlist *names)
{
  int rc = xca_admin__names(c, XCA_KEY_GROUP, LIST_GROUPS_MAX, names);

  *holder = NULL;
  for (int i = 0; rc == XCA_OK && i < names->count && *holder == NULL; i++) {
    char key[XCA_KEY_MAX];
    struct xca_fields f = {0};
    X509 *other = NULL;
    if (strcmp(names->item[i], name) != 0 &&
        xca_admin__key(c, XCA_KEY_GROUP, names->item[i], key) == XCA_OK) {
      other = stored_cert(c, key, &f);
    }
    xca_fields_free(&f);
    if (other != NULL && X509_cmp(other, cert) == 0) {
      *holder = names->item[i];
    }
    if (other != NULL && !sk_X509_push(certs, other)) {
      X509_free(other);
      rc = XCA_E_NOMEM;
    }
  }
  return rc;
}

/* No certificate of the verified chain res is revoked (by a key
 * x509ca:revoked:<sha256>); the brokers would refuse it. */
static int check_not_revoked(struct xca_admin_cmd *c, const struct xca_chain_result *res)
{
  for (int i = 0; i < res->chain_len; i++) {
    struct xca_revoked_rec r;
    int rc = xca_registry_get_revoked(c->ctx->reg, res->chain_sha256[i], &r);
    if (rc == XCA_OK) {
      snprintf(c->detail, sizeof(c->detail), "depth %d, sha256 %.16s", i, res->chain_sha256[i]);
      return XCA_E_REVOKED;
    }
    if (rc != XCA_E_NOT_FOUND) {
      return rc;
    }
  }
  return XCA_OK;
}

int xca_admin__check_ca_chain(struct xca_admin_cmd *c, X509 *cert, STACK_OF(X509) *untrusted)
{
  struct xca_policy policy = {.min_rsa_bits = c->ctx->cfg->min_rsa_bits};
  struct xca_trust *trust = xca_trust_new();
  struct xca_chain_result res;
  int rc = trust ? XCA_OK : XCA_E_NOMEM;

  memset(&res, 0, sizeof(res));
  if (rc == XCA_OK) {
    xca_trust_set_policy(trust, &policy);
    rc = load_trust(c, trust);
  }
  if (rc == XCA_OK) {
    rc = xca_trust_verify_ca(trust, cert, untrusted, c->ctx->cfg->max_chain_depth,
                             xca_admin__now(c), &res);
  }
  if (rc == XCA_E_CHAIN) {
    snprintf(c->detail, sizeof(c->detail), "%s", X509_verify_cert_error_string(res.x509_error));
  } else if (rc != XCA_OK && rc == res.policy_error) {
    snprintf(c->detail, sizeof(c->detail), "%s at depth %d", res.policy_detail, res.error_depth);
  }
  if (rc == XCA_OK) {
    rc = check_not_revoked(c, &res);
  }
  xca_trust_free(trust);
  return rc;
}

/* A CA certificate a group may be tied to: CA:TRUE, valid now, within the
 * policy, not another group's, and verified or chaining to a verified CA. */
static int check_group_cert(struct xca_admin_cmd *c, const char *name, X509 *cert)
{
  struct xca_policy policy = {.min_rsa_bits = c->ctx->cfg->min_rsa_bits};
  struct xca_strlist names = {0};
  STACK_OF(X509) *others = NULL;
  const char *holder = NULL;
  char detail[XCA_POLICY_DETAIL_MAX];
  int rc = xca_cert_is_ca(cert) ? XCA_OK : XCA_E_NOT_CA;

  if (rc == XCA_OK && !xca_cert_time_valid(cert, xca_admin__now(c))) {
    rc = XCA_E_EXPIRED;
  }
  if (rc == XCA_OK && (rc = xca_policy_check_cert(&policy, cert, detail, sizeof(detail))) != XCA_OK) {
    snprintf(c->detail, sizeof(c->detail), "%s", detail);
  }
  if (rc == XCA_OK) {
    others = sk_X509_new_null();
    rc = others ? other_groups(c, name, cert, others, &holder, &names) : XCA_E_NOMEM;
  }
  if (rc == XCA_OK && holder != NULL) {
    snprintf(c->detail, sizeof(c->detail), "%s", holder);
    rc = XCA_E_GROUP_DUPLICATE;
  }
  if (rc == XCA_OK) {
    rc = xca_admin__check_ca_chain(c, cert, others);
  }
  sk_X509_pop_free(others, X509_free);
  xca_strlist_free(&names);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* createEnrollmentGroup                                                     */
/* ------------------------------------------------------------------------ */

/* The stored fields of a new group (the PEM is re-encoded from the parsed
 * certificate, so nothing but the certificate itself is stored). */
static int group_fields(X509 *cert, const char *status, const char *initial,
                        struct xca_fields *f)
{
  char subject[512];
  char thumb[XCA_SHA256_HEX];
  char *pem = xca_cert_to_pem(cert);
  int rc = pem ? xca_fields_set(f, "certificate", pem) : XCA_E_NOMEM;

  free(pem);
  xca_cert_subject(cert, subject, sizeof(subject));
  xca_cert_sha256(cert, thumb);
  if (rc == XCA_OK) {
    rc = xca_fields_set(f, "thumbprint", thumb);
  }
  if (rc == XCA_OK) {
    rc = xca_fields_set(f, "subject", subject);
  }
  if (rc == XCA_OK) {
    rc = xca_fields_set(f, "status", status ? status : "enabled");
  }
  if (rc == XCA_OK) {
    rc = xca_fields_set(f, "initialStatus", initial ? initial : "enabled");
  }
  return rc;
}

/* A taken name is refused before the certificate is examined (the create
 * itself refuses it again, atomically). */
static int name_free(const struct xca_admin_cmd *c, const char *key)
{
  struct xca_fields f = {0};
  int rc = group_read(c, key, &f);

  xca_fields_free(&f);
  return rc == XCA_OK ? XCA_E_EXISTS : rc == XCA_E_NOT_FOUND ? XCA_OK : rc;
}

/* The certificate argument: exactly one PEM certificate, no private key. */
static int cert_arg(struct xca_admin_cmd *c, X509 **cert)
{
  const char *pem;
  int rc = xca_admin__arg_str(c, "certificate", 1, &pem);

  return rc == XCA_OK ? xca_cert_from_pem(pem, strlen(pem), cert) : rc;
}

int xca_admin__create_group(struct xca_admin_cmd *c)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  char key[XCA_KEY_MAX];
  const char *name;
  const char *status = NULL;
  const char *initial = NULL;
  struct xca_fields f = {0};
  X509 *cert = NULL;
  int rc = group_name_arg(c, &name, key);

  if (rc == XCA_OK) {
    rc = status_arg(c, "status", &status);
  }
  if (rc == XCA_OK) {
    rc = status_arg(c, "initialStatus", &initial);
  }
  if (rc == XCA_OK) {
    rc = name_free(c, key);
  }
  if (rc == XCA_OK) {
    rc = cert_arg(c, &cert);
  }
  if (rc == XCA_OK) {
    rc = check_group_cert(c, name, cert);
  }
  if (rc == XCA_OK) {
    rc = group_fields(cert, status, initial, &f);
  }
  if (rc == XCA_OK) {
    rc = kv->ops->create(kv->impl, key, &f);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__changed(c, XCA_KEY_GROUP, name);
  }
  if (rc == XCA_OK) {
    rc = group_info(c->data, name, &f);
  }
  X509_free(cert);
  xca_fields_free(&f);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* getEnrollmentGroup, listEnrollmentGroups                                  */
/* ------------------------------------------------------------------------ */

int xca_admin__get_group(struct xca_admin_cmd *c)
{
  char key[XCA_KEY_MAX];
  const char *name;
  struct xca_fields f = {0};
  int rc = group_name_arg(c, &name, key);

  if (rc == XCA_OK) {
    rc = group_read(c, key, &f);
  }
  if (rc == XCA_OK) {
    rc = group_info(c->data, name, &f);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_str(c->data, "certificate", xca_fields_get(&f, "certificate"));
  }
  xca_fields_free(&f);
  return rc;
}

/* Append one group's summary to arr; a group deleted meanwhile is skipped. */
static int list_one(struct xca_admin_cmd *c, const char *name, cJSON *arr)
{
  char key[XCA_KEY_MAX];
  struct xca_fields f = {0};
  cJSON *obj;
  int rc = xca_admin__key(c, XCA_KEY_GROUP, name, key);

  if (rc == XCA_OK) {
    rc = group_read(c, key, &f);
  }
  if (rc == XCA_E_NOT_FOUND) {
    return XCA_OK;
  }
  if (rc == XCA_OK) {
    rc = xca_admin__append_object(arr, &obj);
  }
  if (rc == XCA_OK) {
    rc = group_info(obj, name, &f);
  }
  xca_fields_free(&f);
  return rc;
}

int xca_admin__list_groups(struct xca_admin_cmd *c)
{
  struct xca_strlist names = {0};
  cJSON *arr = cJSON_AddArrayToObject(c->data, "groups");
  int rc = arr ? xca_admin__names(c, XCA_KEY_GROUP, LIST_GROUPS_MAX, &names) : XCA_E_NOMEM;

  for (int i = 0; rc == XCA_OK && i < names.count; i++) {
    rc = list_one(c, names.item[i], arr);
  }
  xca_strlist_free(&names);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* updateEnrollmentGroup, deleteEnrollmentGroup                              */
/* ------------------------------------------------------------------------ */

int xca_admin__update_group(struct xca_admin_cmd *c)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  char key[XCA_KEY_MAX];
  const char *name;
  const char *status = NULL;
  const char *initial = NULL;
  struct xca_fields set = {0};
  int rc = group_name_arg(c, &name, key);

  if (rc == XCA_OK) {
    rc = status_arg(c, "status", &status);
  }
  if (rc == XCA_OK) {
    rc = status_arg(c, "initialStatus", &initial);
  }
  if (rc == XCA_OK && status == NULL && initial == NULL) {
    rc = xca_admin__bad_arg(c, XCA_E_MISSING_ARG, "status", NULL,
                            "or initialStatus must be given");
  }
  if (rc == XCA_OK && status != NULL) {
    rc = xca_fields_set(&set, "status", status);
  }
  if (rc == XCA_OK && initial != NULL) {
    rc = xca_fields_set(&set, "initialStatus", initial);
  }
  if (rc == XCA_OK) {
    rc = kv->ops->update(kv->impl, key, NULL, NULL, &set, NULL, 0);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__changed(c, XCA_KEY_GROUP, name);
  }
  if (rc == XCA_OK) {
    rc = reply_stored(c, name, key);
  }
  xca_fields_free(&set);
  return rc;
}

int xca_admin__delete_group(struct xca_admin_cmd *c)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  char key[XCA_KEY_MAX];
  const char *name;
  int rc = group_name_arg(c, &name, key);

  if (rc == XCA_OK) {
    rc = kv->ops->del(kv->impl, key);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__changed(c, XCA_KEY_GROUP, name);
  }
  return rc;
}
