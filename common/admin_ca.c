/* admin_ca.c - the CA commands: uploadCA, generateVerificationCode,
 * verifyCA, getCA, listCAs, deleteCA. Schema: README "The registry in Redis". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "admin_internal.h"
#include "certinfo.h"
#include "policy.h"
#include "xca_err.h"

#define CODE_BYTES 24                    /* 192 bits from the CSPRNG */
#define CODE_HEX (2 * CODE_BYTES + 1)    /* fits a 64-character CN */
#define LIST_CAS_MAX 10000               /* listCAs stops here */
#define MASKED_CODE "verificationCode=*****"

/* ------------------------------------------------------------------------ */
/* Shared steps                                                              */
/* ------------------------------------------------------------------------ */

/* Read and check the "name" argument; set the audit target and key. */
static int ca_name_arg(struct xca_admin_cmd *c, const char **name, char key[XCA_KEY_MAX])
{
  int rc = xca_admin__arg_str(c, "name", 1, name);

  if (rc != XCA_OK) {
    return rc;
  }
  if (!xca_ca_name_valid(*name)) {
    return xca_admin__bad_arg(c, XCA_E_BAD_NAME, "name", *name, XCA_CA_NAME_RULE);
  }
  c->what = "CA";
  xca_admin__target(c, XCA_KEY_CA, *name);
  return xca_admin__key(c, XCA_KEY_CA, *name, key);
}

/* Read the CA name into *rec (caller frees). */
static int ca_read(struct xca_admin_cmd *c, const char *name, struct xca_ca_rec *rec)
{
  return xca_registry_get_ca(c->ctx->reg, name, rec);
}

/* The status as shown: only "verified" is verified (fails closed). */
static const char *ca_status(const struct xca_ca_rec *rec)
{
  return rec->verified ? "verified" : "unverified";
}

/* Parse a PEM argument as exactly one certificate. Private keys are refused
 * by xca_cert_from_pem; the error text never echoes the input. */
static int cert_arg(struct xca_admin_cmd *c, X509 **cert)
{
  const char *pem;
  int rc = xca_admin__arg_str(c, "certificate", 1, &pem);

  if (rc == XCA_OK) {
    rc = xca_cert_from_pem(pem, strlen(pem), cert);
  }
  return rc;
}

/* Draw a fresh code and put it with its expiry into f and the reply. */
static int new_code(struct xca_admin_cmd *c, struct xca_fields *f)
{
  unsigned char raw[CODE_BYTES];
  char code[CODE_HEX];
  char expiry[32];
  long long exp = (long long)xca_admin__now(c) + c->ctx->cfg->verification_code_ttl;
  int rc;

  if (RAND_bytes(raw, sizeof(raw)) != 1) {
    return XCA_E_RANDOM;
  }
  for (size_t i = 0; i < sizeof(raw); i++) {
    snprintf(code + 2 * i, 3, "%02X", raw[i]);
  }
  snprintf(expiry, sizeof(expiry), "%lld", exp);
  rc = xca_fields_set(f, "verificationCode", code);
  if (rc == XCA_OK) {
    rc = xca_fields_set(f, "verificationCodeExpiry", expiry);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_str(c->data, "verificationCode", code);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_num(c->data, "verificationCodeExpiry", (double)exp);
  }
  OPENSSL_cleanse(code, sizeof(code));
  c->audit_extra = MASKED_CODE;
  return rc;
}

/* Add name, status, subject, thumbprint, notAfter of a stored CA to obj. */
static int ca_info(cJSON *obj, const char *name, const struct xca_ca_rec *rec)
{
  int rc = xca_admin__add_str(obj, "name", name);

  if (rc == XCA_OK) {
    rc = xca_admin__add_str(obj, "status", ca_status(rec));
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_str(obj, "subject", rec->subject);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_str(obj, "thumbprint", rec->thumbprint);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_str(obj, "notAfter", rec->not_after);
  }
  return rc;
}

/* ------------------------------------------------------------------------ */
/* uploadCA                                                                  */
/* ------------------------------------------------------------------------ */

/* The certificate policy of README "How a device connects" for cert: its
 * key, and the digest of its signature unless it is self-signed (when
 * signed_by_ca is 0: the signature verifyCA checks is always held to it). On
 * refusal c->detail says what broke it, after whose certificate it is. */
static int check_policy(struct xca_admin_cmd *c, X509 *cert, const char *about, int signed_by_ca)
{
  struct xca_policy policy = {.min_rsa_bits = c->ctx->cfg->min_rsa_bits};
  char detail[XCA_POLICY_DETAIL_MAX];
  int rc = signed_by_ca ? xca_policy_check_key(&policy, cert, detail, sizeof(detail))
                        : xca_policy_check_cert(&policy, cert, detail, sizeof(detail));

  if (rc == XCA_OK && signed_by_ca) {
    rc = xca_policy_check_signature(cert, detail, sizeof(detail));
  }
  if (rc != XCA_OK) {
    snprintf(c->detail, sizeof(c->detail), "%s%s%s", about ? about : "", about ? ": " : "",
             detail);
  }
  return rc;
}

/* A CA certificate acceptable for upload at this moment. */
static int check_ca_cert(struct xca_admin_cmd *c, X509 *cert)
{
  if (!xca_cert_is_ca(cert)) {
    return XCA_E_NOT_CA;
  }
  if (!xca_cert_time_valid(cert, xca_admin__now(c))) {
    return XCA_E_EXPIRED;
  }
  return check_policy(c, cert, NULL, 0);
}

/* The stored fields of a new CA (the PEM is re-encoded from the parsed
 * certificate, so nothing but the certificate itself is stored). */
static int ca_fields(X509 *cert, struct xca_fields *f)
{
  char subject[512];
  char thumb[XCA_SHA256_HEX];
  char not_after[32];
  char *pem = xca_cert_to_pem(cert);
  int rc = pem ? xca_fields_set(f, "certificate", pem) : XCA_E_NOMEM;

  free(pem);
  xca_cert_subject(cert, subject, sizeof(subject));
  xca_cert_sha256(cert, thumb);
  xca_cert_not_after(cert, not_after, sizeof(not_after));
  if (rc == XCA_OK) {
    rc = xca_fields_set(f, "status", "unverified");
  }
  if (rc == XCA_OK) {
    rc = xca_fields_set(f, "subject", subject);
  }
  if (rc == XCA_OK) {
    rc = xca_fields_set(f, "thumbprint", thumb);
  }
  if (rc == XCA_OK) {
    rc = xca_fields_set(f, "notAfter", not_after);
  }
  return rc;
}

int xca_admin__upload_ca(struct xca_admin_cmd *c)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  char key[XCA_KEY_MAX];
  const char *name;
  struct xca_ca_rec rec = {0};
  X509 *cert = NULL;
  int rc = ca_name_arg(c, &name, key);

  if (rc == XCA_OK) {
    rc = cert_arg(c, &cert);
  }
  if (rc == XCA_OK) {
    rc = check_ca_cert(c, cert);
  }
  if (rc == XCA_OK) {
    rc = ca_fields(cert, &rec.fields);
    xca_ca_rec_parse(&rec);
  }
  if (rc == XCA_OK) {
    rc = ca_info(c->data, name, &rec);
  }
  if (rc == XCA_OK) {
    rc = new_code(c, &rec.fields);
  }
  if (rc == XCA_OK) {
    rc = kv->ops->create(kv->impl, key, &rec.fields);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__changed(c, XCA_KEY_CA, name);
  }
  X509_free(cert);
  xca_ca_rec_free(&rec);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* generateVerificationCode                                                  */
/* ------------------------------------------------------------------------ */

int xca_admin__generate_code(struct xca_admin_cmd *c)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  char key[XCA_KEY_MAX];
  const char *name;
  struct xca_ca_rec cur = {0};
  struct xca_fields set = {0};
  int rc = ca_name_arg(c, &name, key);

  if (rc == XCA_OK) {
    rc = ca_read(c, name, &cur);
  }
  /* A verified CA's code could never be used: verifyCA refuses it. */
  if (rc == XCA_OK && cur.verified) {
    rc = XCA_E_ALREADY_VERIFIED;
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_str(c->data, "name", name);
  }
  if (rc == XCA_OK) {
    rc = new_code(c, &set);
  }
  if (rc == XCA_OK) {
    rc = kv->ops->update(kv->impl, key, NULL, NULL, &set, NULL, 0);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__changed(c, XCA_KEY_CA, name);
  }
  xca_ca_rec_free(&cur);
  xca_fields_free(&set);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* verifyCA                                                                  */
/* ------------------------------------------------------------------------ */

/* The CA must be unverified with a live (unexpired) code; *code borrows it. */
static int live_code(struct xca_admin_cmd *c, const struct xca_ca_rec *rec, const char **code)
{
  if (rec->verified) {
    return XCA_E_ALREADY_VERIFIED;
  }
  *code = rec->code;
  if (*code == NULL || **code == '\0') {
    return XCA_E_NO_CODE;
  }
  /* An unreadable expiry has always expired (xca_ca_rec_parse). */
  if ((long long)xca_admin__now(c) >= rec->code_expiry) {
    return XCA_E_CODE_EXPIRED;
  }
  return XCA_OK;
}

/* The proof of possession: CN = code, signed by the CA's key, valid now. */
static int check_proof(struct xca_admin_cmd *c, const struct xca_ca_rec *rec, X509 *proof,
                       const char *code)
{
  const char *pem = rec->certificate;
  char cn[XCA_CN_MAX];
  X509 *ca = NULL;
  int rc;

  if (xca_cert_cn(proof, cn, sizeof(cn)) != XCA_OK || strcasecmp(cn, code) != 0) {
    return XCA_E_CODE_MISMATCH;
  }
  if (pem == NULL || xca_cert_from_pem(pem, strlen(pem), &ca) != XCA_OK) {
    return XCA_E_REGISTRY_UNAVAILABLE; /* the stored CA certificate is unusable */
  }
  rc = xca_cert_signed_by(proof, ca) ? XCA_OK : XCA_E_SIGNATURE;
  if (rc == XCA_OK && !xca_cert_time_valid(proof, xca_admin__now(c))) {
    rc = XCA_E_EXPIRED;
  }
  if (rc == XCA_OK) {
    rc = check_policy(c, proof, "verification certificate", 1);
  }
  /* A CA stored by other means (redis-cli) is held to the policy too: it
   * could never be trusted once verified. */
  if (rc == XCA_OK) {
    rc = check_policy(c, ca, "CA certificate", 0);
  }
  X509_free(ca);
  return rc;
}

/* Mark the CA verified, consuming the code: the update only applies while
 * the stored code is still the one proven, so a code verifies at most once. */
static int consume_code(struct xca_admin_cmd *c, const char *key, const char *code)
{
  static const char *const del[] = {"verificationCode", "verificationCodeExpiry"};
  const struct xca_kv *kv = &c->ctx->reg->kv;
  struct xca_fields set = {0};
  int rc = xca_fields_set(&set, "status", "verified");

  if (rc == XCA_OK) {
    rc = kv->ops->update(kv->impl, key, "verificationCode", code, &set, del, 2);
  }
  xca_fields_free(&set);
  return rc == XCA_E_CODE_MISMATCH ? XCA_E_NO_CODE : rc;
}

int xca_admin__verify_ca(struct xca_admin_cmd *c)
{
  char key[XCA_KEY_MAX];
  const char *name;
  const char *code = NULL;
  struct xca_ca_rec rec = {0};
  X509 *proof = NULL;
  int rc = ca_name_arg(c, &name, key);

  c->audit_extra = MASKED_CODE;
  if (rc == XCA_OK) {
    rc = ca_read(c, name, &rec);
  }
  if (rc == XCA_OK) {
    rc = live_code(c, &rec, &code);
  }
  if (rc == XCA_OK) {
    rc = cert_arg(c, &proof);
  }
  if (rc == XCA_OK) {
    rc = check_proof(c, &rec, proof, code);
  }
  if (rc == XCA_OK) {
    rc = consume_code(c, key, code);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__changed(c, XCA_KEY_CA, name);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_str(c->data, "name", name);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_str(c->data, "status", "verified");
  }
  X509_free(proof);
  xca_ca_rec_free(&rec);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* getCA, deleteCA                                                           */
/* ------------------------------------------------------------------------ */

int xca_admin__get_ca(struct xca_admin_cmd *c)
{
  char key[XCA_KEY_MAX];
  const char *name;
  struct xca_ca_rec rec = {0};
  int rc = ca_name_arg(c, &name, key);

  if (rc == XCA_OK) {
    rc = ca_read(c, name, &rec);
  }
  if (rc == XCA_OK) {
    rc = ca_info(c->data, name, &rec);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__add_str(c->data, "certificate", rec.certificate);
  }
  xca_ca_rec_free(&rec);
  return rc;
}

int xca_admin__delete_ca(struct xca_admin_cmd *c)
{
  const struct xca_kv *kv = &c->ctx->reg->kv;
  char key[XCA_KEY_MAX];
  const char *name;
  int rc = ca_name_arg(c, &name, key);

  if (rc == XCA_OK) {
    rc = kv->ops->del(kv->impl, key);
  }
  if (rc == XCA_OK) {
    rc = xca_admin__changed(c, XCA_KEY_CA, name);
  }
  return rc;
}

/* ------------------------------------------------------------------------ */
/* listCAs                                                                   */
/* ------------------------------------------------------------------------ */

/* Append one CA's summary to arr; a CA deleted meanwhile is skipped. */
static int list_one(struct xca_admin_cmd *c, const char *name, cJSON *arr)
{
  struct xca_ca_rec rec = {0};
  cJSON *obj;
  int rc = ca_read(c, name, &rec);

  if (rc == XCA_E_NOT_FOUND) {
    return XCA_OK;
  }
  if (rc == XCA_OK) {
    rc = xca_admin__append_object(arr, &obj);
  }
  if (rc == XCA_OK) {
    rc = ca_info(obj, name, &rec);
  }
  xca_ca_rec_free(&rec);
  return rc;
}

int xca_admin__list_cas(struct xca_admin_cmd *c)
{
  struct xca_strlist names = {0};
  cJSON *arr = cJSON_AddArrayToObject(c->data, "cas");
  int rc = arr ? xca_admin__names(c, XCA_KEY_CA, LIST_CAS_MAX, &names) : XCA_E_NOMEM;

  for (int i = 0; rc == XCA_OK && i < names.count; i++) {
    rc = list_one(c, names.item[i], arr);
  }
  xca_strlist_free(&names);
  return rc;
}
