/* fuzz_admin.c - common/admin.h on the payload an admin publishes to
 * $CONTROL/x509ca/v1.
 *
 * Each input is one request, handled against a fresh in-memory registry
 * (tests/unit/support/fake_kv) seeded with CAs and identities, with a fixed
 * clock. Checked: the reply is JSON with one response per command, each
 * with "data" or "error"; one audit line per response, single-line and
 * without codes or certificates; the registry keeps the schema's
 * invariants. Inputs whose length is a multiple of 4 are run a second time
 * with the registry down.
 */
#define _GNU_SOURCE /* memmem() */

#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>

#include "admin.h"
#include "fake_kv.h"
#include "fuzz.h"
#include "ids.h"
#include "xca_err.h"

#define FIXED_NOW ((time_t)1800000000) /* 2027-01-15T08:00:00Z; the seed certs span it */
#define ADMIN "fuzz-admin"
#define MAX_PAYLOAD "8192"
#define NUL_ERROR "invalid argument: string contains NUL"
/* The live code of CA fuzz-root; corpus/admin/verify-ca.json proves it with
 * a certificate made by scripts/x509ca-pki verification. */
#define LIVE_CODE "4F757A7A436F6465C0FFEE00000000000000000000000042"

/* scripts/x509ca-pki --days 3650 root fuzz-root --cn "Fuzz Root CA" */
static const char root_pem[] =
  "-----BEGIN CERTIFICATE-----\n"
  "MIIBjjCCATWgAwIBAgIQPge8gdplNWSinGvvhdwGVzAKBggqhkjOPQQDAjAXMRUw\n"
  "EwYDVQQDDAxGdXp6IFJvb3QgQ0EwHhcNMjYxMTI3MTMzNzI4WhcNMzYxMTI0MTMz\n"
  "NzI4WjAXMRUwEwYDVQQDDAxGdXp6IFJvb3QgQ0EwWTATBgcqhkjOPQIBBggqhkjO\n"
  "PQMBBwNCAATsvUk0K5UKz/IojS/j+2PhSeSiTaFUkq/jrzPfXARNwYfks2oWFcGG\n"
  "LLqfHDHNT1u/AcV0a/w9BPDhMMpE5QXOo2MwYTAPBgNVHRMBAf8EBTADAQH/MA4G\n"
  "A1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUAGcCo4JNfH5MAme2J3UhO/PSn3cwHwYD\n"
  "VR0jBBgwFoAUAGcCo4JNfH5MAme2J3UhO/PSn3cwCgYIKoZIzj0EAwIDRwAwRAIg\n"
  "fmpdGG0ITxI18hAhy8J/Lg3rcjoSVcfafYWl6L8VlrwCIDW09iF/WM4lOU2f71XB\n"
  "OjHByDljnmk2W+bysuU4uVU3\n"
  "-----END CERTIFICATE-----\n";

/* scripts/x509ca-pki --days 3650 intermediate fuzz-int --ca fuzz-root */
static const char int_pem[] =
  "-----BEGIN CERTIFICATE-----\n"
  "MIIBlzCCAT2gAwIBAgIQcavZ0EbZle7PKahk2WfgGzAKBggqhkjOPQQDAjAXMRUw\n"
  "EwYDVQQDDAxGdXp6IFJvb3QgQ0EwHhcNMjYxMTI3MTMzNzI4WhcNMzYxMTI0MTMz\n"
  "NzI4WjAfMR0wGwYDVQQDDBRGdXp6IEludGVybWVkaWF0ZSBDQTBZMBMGByqGSM49\n"
  "AgEGCCqGSM49AwEHA0IABOR8LQnTVzc04XeNjpqklwdHnKK5TEtWCuiidy3bdd5e\n"
  "zJL9DuaZ5K2KWStmxbQTDFfkR6o6RQG77LlwheOJeVmjYzBhMA8GA1UdEwEB/wQF\n"
  "MAMBAf8wDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBSN3lJ07dGv1JvWKAaLkS2g\n"
  "g0hGgjAfBgNVHSMEGDAWgBQAZwKjgk18fkwCZ7YndSE789KfdzAKBggqhkjOPQQD\n"
  "AgNIADBFAiAvfeAXB4psHrY4QI6ZT9ca5GYDXioLCtyHYWFeGceLPgIhALVNucu2\n"
  "uC71o8oVrgdfP5HzlXZmi4MzwsOejWUhx6fj\n"
  "-----END CERTIFICATE-----\n";

#define ROOT_SHA256 "d2fb52a8f073bdb89894559cd4c279f4338735066ab00fc1e1662ea66bf87ba0"
#define INT_SHA256 "ad1e8fce105da137a6433bc27eed974dac9631be806d57fc7134bde4f23081fa"
#define SS_SHA256 "c7757f34cb1a169aae2ca85a8284baaa8115144df85c868094f1c470014d14d3"
#define SS_SHA1 "940804284207b6bf41e32d8774b6f052a5c13856"

/* The seeded registry: key, then field/value pairs, NULL-terminated. */
static const char *const seed[][13] = {
  {"x509ca:ca:fuzz-root", "certificate", root_pem, "status", "unverified", "subject",
   "CN=Fuzz Root CA", "thumbprint", ROOT_SHA256, "verificationCode", LIVE_CODE,
   "verificationCodeExpiry", "1800003600"},
  {"x509ca:ca:fuzz-int", "certificate", int_pem, "status", "verified", "subject",
   "CN=Fuzz Intermediate CA", "thumbprint", INT_SHA256, "notAfter", "2036-11-24T13:37:28Z"},
  {"x509ca:ca:stale-code", "certificate", root_pem, "status", "unverified", "verificationCode",
   "00FF", "verificationCodeExpiry", "1799999999"},
  {"x509ca:device:dev-1", "status", "enabled", "authentication", "certificateAuthority"},
  {"x509ca:device:dev-1/mod-1", "status", "enabled", "authentication", "certificateAuthority"},
  {"x509ca:device:dev-1/mod-2", "status", "disabled"},
  {"x509ca:device:dev-ss", "status", "enabled", "authentication", "selfSigned",
   "primaryThumbprint", SS_SHA256, "secondaryThumbprint", SS_SHA1},
  {"x509ca:device:dev-2", "status", "disabled", "primaryThumbprint", SS_SHA1},
  {"x509ca:device:g*?", "status", "enabled"},
  {"x509ca:device:g*?/m", "status", "enabled"},
  {"x509ca:device:gx", "status", "enabled"},
  {"x509ca:device:gx/m", "status", "enabled"},
  {"x509ca:device:not/an/identity", "status", "enabled"},
  {"x509ca:ca:not a name", "status", "verified"},
  {"other:device:dev-1", "status", "enabled"},
};

static struct xca_config cfg;
static int cfg_ready;

static time_t fixed_clock(void *arg)
{
  (void)arg;
  return FIXED_NOW;
}

static struct xca_fake_kv *seeded_kv(void)
{
  struct xca_fake_kv *f = xca_fake_kv_new();

  FUZZ_CHECK(f != NULL);
  for (size_t i = 0; i < sizeof(seed) / sizeof(seed[0]); i++) {
    for (int j = 1; j + 1 < 13 && seed[i][j] != NULL; j += 2) {
      FUZZ_CHECK(xca_fake_kv_hset(f, seed[i][0], seed[i][j], seed[i][j + 1]) == XCA_OK);
    }
  }
  return f;
}

/* ------------------------------------------------------------------------ */
/* Invariants                                                                */
/* ------------------------------------------------------------------------ */

/* How many responses the payload calls for. */
static int expected_responses(const uint8_t *data, size_t size)
{
  cJSON *tree;
  const cJSON *cmds;
  int n = 1;

  if (size > (size_t)cfg.max_admin_payload) {
    return 1;
  }
  const char *end = NULL;

  tree = cJSON_ParseWithLengthOpts((const char *)data, size, &end, 0);
  /* A request is one JSON document: anything after it but whitespace
   * refuses the whole request with one error. */
  for (const char *p = end; tree != NULL && p < (const char *)data + size; p++) {
    if ((unsigned char)*p > 0x20) {
      cJSON_Delete(tree);
      return 1;
    }
  }
  cmds = cJSON_GetObjectItemCaseSensitive(tree, "commands");
  if (cJSON_IsArray(cmds)) {
    n = cJSON_GetArraySize(cmds);
  }
  cJSON_Delete(tree);
  return n;
}

/* Whether the payload spells a NUL at all: the escape \u0000 or a 0 byte.
 * A request refused for a string holding a NUL must; which spellings count
 * exactly (inside strings, not after an escaped backslash) is pinned down
 * in tests/unit/test_admin.c. */
static int spells_nul(const uint8_t *data, size_t size)
{
  return memchr(data, 0, size) != NULL || memmem(data, size, "\\u0000", 6) != NULL;
}

/* Whether the reply refuses the whole request for a NUL in a string. */
static int refused_for_nul(const struct xca_admin_result *res)
{
  cJSON *reply = cJSON_Parse(res->response);
  const cJSON *responses = cJSON_GetObjectItemCaseSensitive(reply, "responses");
  const cJSON *error = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(responses, 0), "error");
  int refused = cJSON_GetArraySize(responses) == 1 && cJSON_IsString(error) &&
                strcmp(error->valuestring, NUL_ERROR) == 0;

  cJSON_Delete(reply);
  return refused;
}

static int is_lower_hex(const char *s)
{
  size_t n = strlen(s);

  if (n != 40 && n != 64) {
    return 0;
  }
  return strspn(s, "0123456789abcdef") == n;
}

/* The reply's shape; returns the parsed reply (caller deletes). */
static cJSON *check_reply(const struct xca_admin_result *res, int want)
{
  cJSON *reply;
  const cJSON *responses;
  const cJSON *r;

  FUZZ_CHECK(res->response != NULL && strlen(res->response) == res->response_len);
  reply = cJSON_Parse(res->response);
  FUZZ_CHECK(reply != NULL);
  responses = cJSON_GetObjectItemCaseSensitive(reply, "responses");
  FUZZ_CHECK(cJSON_IsArray(responses));
  FUZZ_CHECK(cJSON_GetArraySize(responses) == want);
  cJSON_ArrayForEach(r, responses)
  {
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(r, "data");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(r, "error");
    FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r, "command")));
    FUZZ_CHECK((data != NULL) != (error != NULL));
    FUZZ_CHECK(data == NULL || cJSON_IsObject(data));
    FUZZ_CHECK(error == NULL || (cJSON_IsString(error) && error->valuestring[0] != '\0'));
  }
  return reply;
}

/* Audit lines: one per response, one line each, no secrets or PEM.
 * code_in_request: the request itself holds LIVE_CODE (e.g. as a device id,
 * which is then rightly logged as the target). */
/* The audit's command field [start, end): a command name or a placeholder. */
static int command_field_ok(const char *start, const char *end)
{
  static const char *const allowed[] = {
    "uploadCA", "generateVerificationCode", "verifyCA", "getCA", "listCAs", "deleteCA",
    "createDevice", "getDevice", "updateDevice", "deleteDevice", "listDevices",
    "createEnrollmentGroup", "getEnrollmentGroup", "listEnrollmentGroups",
    "updateEnrollmentGroup", "deleteEnrollmentGroup", "revokeCertificate",
    "unrevokeCertificate", "listRevoked", "uploadCRL", "listCRLs", "deleteCRL", "getStats",
    "unknown", "-",
  };
  size_t n = (size_t)(end - start);

  for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
    if (strlen(allowed[i]) == n && strncmp(start, allowed[i], n) == 0) {
      return 1;
    }
  }
  return 0;
}

static void check_audit(const struct xca_admin_result *res, const cJSON *reply, int want,
                        int code_in_request)
{
  const cJSON *responses = cJSON_GetObjectItemCaseSensitive(reply, "responses");
  const cJSON *r;

  FUZZ_CHECK(res->audit.count == want);
  for (int i = 0; i < res->audit.count; i++) {
    const char *line = res->audit.item[i];
    FUZZ_CHECK(strncmp(line, "admin=" ADMIN " command=", strlen("admin=" ADMIN " command=")) == 0);
    for (const char *p = line; *p != '\0'; p++) {
      FUZZ_CHECK(*p >= ' ' && *p < 0x7f);
    }
    /* The command field is a known command name, "unknown" or "-" (see
     * corpus/admin/audit-unknown-command-echo.json); what follows it -
     * target, extras, result - never holds an argument. */
    const char *rest = strstr(line, " target=");
    FUZZ_CHECK(rest != NULL);
    FUZZ_CHECK(command_field_ok(line + strlen("admin=" ADMIN " command="), rest));
    FUZZ_CHECK(strstr(rest, "BEGIN CERTIFICATE") == NULL); /* ids have no spaces */
    FUZZ_CHECK(code_in_request || strstr(rest, LIVE_CODE) == NULL);
    /* A code issued by this request never reaches the audit either. */
    cJSON_ArrayForEach(r, responses)
    {
      const cJSON *code = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(r, "data"), "verificationCode");
      if (cJSON_IsString(code) && code->valuestring[0] != '\0') {
        FUZZ_CHECK(strstr(line, code->valuestring) == NULL);
      }
    }
  }
  for (int i = 0; i < res->changed.count; i++) {
    enum xca_key_kind kind = xca_registry_key_kind(res->changed.item[i], NULL);
    FUZZ_CHECK(kind == XCA_KEY_DEVICE || kind == XCA_KEY_CA || kind == XCA_KEY_GROUP ||
               kind == XCA_KEY_REVOKED || kind == XCA_KEY_CRL);
  }
}

static void check_device(struct xca_fake_kv *f, const char *key, const char *identity)
{
  struct xca_ident id;
  const char *auth = xca_fake_kv_hget(f, key, "authentication");
  const char *status = xca_fake_kv_hget(f, key, "status");
  const char *names[2] = {"primaryThumbprint", "secondaryThumbprint"};
  char parent[XCA_IDENTITY_MAX + 32];

  if (xca_ident_parse(identity, &id) != XCA_OK) {
    return; /* seeded garbage, never written by a command */
  }
  for (int i = 0; i < 2; i++) {
    const char *t = xca_fake_kv_hget(f, key, names[i]);
    FUZZ_CHECK(t == NULL || is_lower_hex(t));
  }
  FUZZ_CHECK(status == NULL || strcmp(status, "enabled") == 0 || strcmp(status, "disabled") == 0);
  FUZZ_CHECK(auth == NULL || strcmp(auth, "certificateAuthority") == 0 ||
             strcmp(auth, "selfSigned") == 0);
  if (auth != NULL && strcmp(auth, "selfSigned") == 0) {
    FUZZ_CHECK(xca_fake_kv_hget(f, key, "primaryThumbprint") != NULL);
  }
  if (xca_ident_is_module(&id)) {
    snprintf(parent, sizeof(parent), "x509ca:device:%s", id.device);
    FUZZ_CHECK(xca_fake_kv_exists(f, parent));
  }
}

static void check_ca(struct xca_fake_kv *f, const char *key, const char *name)
{
  const char *status = xca_fake_kv_hget(f, key, "status");
  const char *pem = xca_fake_kv_hget(f, key, "certificate");
  X509 *cert = NULL;

  if (!xca_ca_name_valid(name)) {
    return;
  }
  FUZZ_CHECK(status != NULL &&
             (strcmp(status, "unverified") == 0 || strcmp(status, "verified") == 0));
  if (strcmp(status, "verified") == 0) {
    FUZZ_CHECK(xca_fake_kv_hget(f, key, "verificationCode") == NULL);
  }
  FUZZ_CHECK(pem != NULL);
  if (strcmp(pem, root_pem) == 0 || strcmp(pem, int_pem) == 0) {
    return; /* seeded, known good: spare the slow parse */
  }
  FUZZ_CHECK(xca_cert_from_pem(pem, strlen(pem), &cert) == XCA_OK);
  FUZZ_CHECK(xca_cert_is_ca(cert));
  X509_free(cert);
}

static int is_status(const char *s)
{
  return s != NULL && (strcmp(s, "enabled") == 0 || strcmp(s, "disabled") == 0);
}

/* Only the admin commands write groups here: a CA certificate with its
 * thumbprint, and valid statuses. */
static void check_group(struct xca_fake_kv *f, const char *key)
{
  const char *pem = xca_fake_kv_hget(f, key, "certificate");
  const char *thumb = xca_fake_kv_hget(f, key, "thumbprint");
  char sha[XCA_SHA256_HEX];
  X509 *cert = NULL;

  FUZZ_CHECK(is_status(xca_fake_kv_hget(f, key, "status")));
  FUZZ_CHECK(is_status(xca_fake_kv_hget(f, key, "initialStatus")));
  FUZZ_CHECK(pem != NULL && thumb != NULL && is_lower_hex(thumb));
  FUZZ_CHECK(xca_cert_from_pem(pem, strlen(pem), &cert) == XCA_OK);
  FUZZ_CHECK(xca_cert_is_ca(cert));
  xca_cert_sha256(cert, sha);
  FUZZ_CHECK(strcmp(sha, thumb) == 0);
  X509_free(cert);
}

/* A revocation the commands wrote: a lowercase SHA-256 name, a reason of
 * printable ASCII, a decimal revokedAt. */
static void check_revoked(struct xca_fake_kv *f, const char *key, const char *name)
{
  const char *reason = xca_fake_kv_hget(f, key, "reason");
  const char *at = xca_fake_kv_hget(f, key, "revokedAt");

  FUZZ_CHECK(strlen(name) == 64 && is_lower_hex(name));
  FUZZ_CHECK(reason != NULL && reason[0] != '\0' && strlen(reason) <= 64);
  for (const char *p = reason; *p != '\0'; p++) {
    FUZZ_CHECK(*p >= 0x20 && *p <= 0x7e);
  }
  FUZZ_CHECK(at != NULL && at[0] != '\0' && strspn(at, "0123456789") == strlen(at));
}

/* A CRL the commands stored: it checks out against its stored issuer,
 * whose SHA-256 is the key's name. */
static void check_crl(const struct xca_registry *reg, const char *name)
{
  struct xca_crl *crl = NULL;

  FUZZ_CHECK(xca_registry_get_crl(reg, name, &crl) == XCA_OK);
  FUZZ_CHECK(strcmp(xca_crl_info(crl)->issuer_sha256, name) == 0);
  xca_crl_free(crl);
}

/* Every key of the registry still follows the schema. */
static void check_registry(struct xca_fake_kv *f)
{
  struct xca_kv kv = xca_fake_kv(f);
  unsigned long long cursor = 0;
  const char *prefix = "x509ca:";

  do {
    struct xca_strlist keys = {0};
    FUZZ_CHECK(kv.ops->scan(kv.impl, "x509ca:*", &cursor, 1000, &keys) == XCA_OK);
    for (int i = 0; i < keys.count; i++) {
      const char *name;
      enum xca_key_kind kind = xca_registry_key_kind(keys.item[i] + strlen(prefix), &name);
      if (kind == XCA_KEY_DEVICE) {
        check_device(f, keys.item[i], name);
      } else if (kind == XCA_KEY_CA) {
        check_ca(f, keys.item[i], name);
      } else if (kind == XCA_KEY_GROUP) {
        check_group(f, keys.item[i]);
      } else if (kind == XCA_KEY_REVOKED) {
        check_revoked(f, keys.item[i], name);
      } else if (kind == XCA_KEY_CRL) {
        const struct xca_registry reg = {xca_fake_kv(f), prefix};
        check_crl(&reg, name);
      }
    }
    xca_strlist_free(&keys);
  } while (cursor != 0);
  FUZZ_CHECK(xca_fake_kv_exists(f, "other:device:dev-1"));
}

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */
/* ------------------------------------------------------------------------ */

static void run(const uint8_t *data, size_t size, int down)
{
  struct xca_fake_kv *f = seeded_kv();
  struct xca_registry reg = {xca_fake_kv(f), cfg.key_prefix};
  struct xca_admin_ctx ctx = {&reg, &cfg, fixed_clock, NULL};
  struct xca_admin_result res;
  int want = expected_responses(data, size);
  cJSON *reply;

  xca_fake_kv_set_down(f, down);
  FUZZ_CHECK(xca_admin_handle(&ctx, (const char *)data, size, ADMIN, &res) == XCA_OK);
  if (refused_for_nul(&res)) {
    /* Nothing ran: one response, nothing changed. */
    FUZZ_CHECK(spells_nul(data, size));
    FUZZ_CHECK(res.changed.count == 0);
    want = 1;
  }
  reply = check_reply(&res, want);
  check_audit(&res, reply, want, memmem(data, size, LIVE_CODE, strlen(LIVE_CODE)) != NULL);
  xca_fake_kv_set_down(f, 0);
  check_registry(f);
  if (down) {
    FUZZ_CHECK(res.changed.count == 0);
  }
  cJSON_Delete(reply);
  xca_admin_result_free(&res);
  xca_fake_kv_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char err[256];

  if (!cfg_ready) {
    FUZZ_CHECK(xca_config_init(&cfg) == XCA_OK);
    FUZZ_CHECK(xca_config_set(&cfg, "max_admin_payload", MAX_PAYLOAD, err, sizeof(err)) == XCA_OK);
    cfg_ready = 1;
  }
  run(data, size, 0);
  if (size % 4 == 0) {
    run(data, size, 1);
  }
  ERR_clear_error();
  return 0;
}
