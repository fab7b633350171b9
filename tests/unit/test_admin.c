/* test_admin.c - unit tests of common/admin.h: every admin command against
 * an in-memory registry (support/fake_kv), with certificates made at run
 * time (tests/lib/certgen) and an injected clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "admin.h"
#include "certgen.h"
#include "certinfo.h"
#include "fake_kv.h"
#include "xca_err.h"

#define DAY (24L * 3600)

/* Certificates shared by every test (made once). */
static struct xca_tcert root_ca;    /* valid CA */
static struct xca_tcert other_ca;   /* another valid CA */
static struct xca_tcert expired_ca; /* CA valid a year ago */
static struct xca_tcert leaf;       /* CA:FALSE */
static struct xca_tcert factory_ca; /* intermediate CA under root_ca */
static struct xca_tcert tech_ca;    /* intermediate CA under factory_ca */
static struct xca_tcert weak_ca;    /* RSA-1024 CA under root_ca */
static char *root_pem, *other_pem, *expired_pem, *leaf_pem, *root_key_pem;
static char *factory_pem, *tech_pem, *weak_pem, *factory_key_pem;

struct fx {
  struct xca_fake_kv *fake;
  struct xca_registry reg;
  struct xca_config cfg;
  struct xca_admin_ctx ctx;
  time_t now;
  struct xca_admin_result res;
  cJSON *reply;
};

static time_t fake_clock(void *arg)
{
  return ((struct fx *)arg)->now;
}

/* ------------------------------------------------------------------------ */
/* Fixture                                                                   */
/* ------------------------------------------------------------------------ */

static int group_setup(void **state)
{
  (void)state;
  if (xca_certgen(&root_ca, "Company-X Root CA", NULL, 1, -DAY, 365 * DAY) ||
      xca_certgen(&other_ca, "Other CA", NULL, 1, -DAY, 365 * DAY) ||
      xca_certgen(&expired_ca, "Old CA", NULL, 1, -730 * DAY, -365 * DAY) ||
      xca_certgen(&leaf, "widget", &root_ca, 0, -DAY, 365 * DAY) ||
      xca_certgen(&factory_ca, "Factory-Y CA", &root_ca, 1, -DAY, 365 * DAY) ||
      xca_certgen(&tech_ca, "Technician-Z CA", &factory_ca, 1, -DAY, 365 * DAY) ||
      xca_certgen_spec(&weak_ca, &(struct xca_tcert_spec){.cn = "Weak CA", .key = "RSA:1024",
                                                          .is_ca = 1},
                       &root_ca)) {
    return -1;
  }
  factory_pem = xca_certgen_pem(&factory_ca);
  tech_pem = xca_certgen_pem(&tech_ca);
  weak_pem = xca_certgen_pem(&weak_ca);
  factory_key_pem = xca_certgen_key_pem(&factory_ca);
  if (!factory_pem || !tech_pem || !weak_pem || !factory_key_pem) {
    return -1;
  }
  root_pem = xca_certgen_pem(&root_ca);
  other_pem = xca_certgen_pem(&other_ca);
  expired_pem = xca_certgen_pem(&expired_ca);
  leaf_pem = xca_certgen_pem(&leaf);
  root_key_pem = xca_certgen_key_pem(&root_ca);
  return root_pem && other_pem && expired_pem && leaf_pem && root_key_pem ? 0 : -1;
}

static int group_teardown(void **state)
{
  (void)state;
  xca_certgen_free(&root_ca);
  xca_certgen_free(&other_ca);
  xca_certgen_free(&expired_ca);
  xca_certgen_free(&leaf);
  xca_certgen_free(&factory_ca);
  xca_certgen_free(&tech_ca);
  xca_certgen_free(&weak_ca);
  free(factory_pem);
  free(tech_pem);
  free(weak_pem);
  free(factory_key_pem);
  free(root_pem);
  free(other_pem);
  free(expired_pem);
  free(leaf_pem);
  free(root_key_pem);
  return 0;
}

static int setup_prefix(void **state, const char *prefix)
{
  struct fx *fx = calloc(1, sizeof(*fx));

  assert_non_null(fx);
  fx->fake = xca_fake_kv_new();
  assert_non_null(fx->fake);
  assert_int_equal(xca_config_init(&fx->cfg), XCA_OK);
  fx->reg.kv = xca_fake_kv(fx->fake);
  fx->reg.prefix = prefix;
  fx->now = time(NULL);
  fx->ctx.reg = &fx->reg;
  fx->ctx.cfg = &fx->cfg;
  fx->ctx.now = fake_clock;
  fx->ctx.now_arg = fx;
  *state = fx;
  return 0;
}

static int setup(void **state)
{
  return setup_prefix(state, "x509ca:");
}

/* A prefix full of glob characters: patterns must escape it. */
static int setup_glob_prefix(void **state)
{
  return setup_prefix(state, "t[1]*?:");
}

/* The longest prefix the configuration accepts (a static buffer). */
static int setup_longest_prefix(void **state)
{
  static char prefix[XCA_KEY_PREFIX_MAX + 1];
  memset(prefix, 'p', XCA_KEY_PREFIX_MAX);
  prefix[XCA_KEY_PREFIX_MAX] = '\0';
  return setup_prefix(state, prefix);
}

static void reset(struct fx *fx)
{
  cJSON_Delete(fx->reply);
  fx->reply = NULL;
  xca_admin_result_free(&fx->res);
}

static int teardown(void **state)
{
  struct fx *fx = *state;
  reset(fx);
  xca_config_free(&fx->cfg);
  xca_fake_kv_free(fx->fake);
  free(fx);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Request helpers                                                           */
/* ------------------------------------------------------------------------ */

/* Send raw payload; the parsed reply is in fx->reply. */
static void run_raw(struct fx *fx, const char *payload, size_t len)
{
  reset(fx);
  assert_int_equal(xca_admin_handle(&fx->ctx, payload, len, "admin", &fx->res), XCA_OK);
  assert_non_null(fx->res.response);
  assert_int_equal(strlen(fx->res.response), fx->res.response_len);
  fx->reply = cJSON_Parse(fx->res.response);
  assert_non_null(fx->reply);
}

static void run_str(struct fx *fx, const char *payload)
{
  run_raw(fx, payload, strlen(payload));
}

/* Wrap one command object (owned) as a request and send it. */
static void run_cmd(struct fx *fx, cJSON *cmd)
{
  cJSON *root = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(root, "commands");
  char *text;

  cJSON_AddItemToArray(arr, cmd);
  text = cJSON_PrintUnformatted(root);
  run_str(fx, text);
  cJSON_free(text);
  cJSON_Delete(root);
}

/* Build a command with string arguments given as name, value pairs ending
 * with NULL. */
static cJSON *vcmd(const char *command, va_list ap)
{
  cJSON *cmd = cJSON_CreateObject();
  const char *name;

  cJSON_AddStringToObject(cmd, "command", command);
  while ((name = va_arg(ap, const char *)) != NULL) {
    cJSON_AddStringToObject(cmd, name, va_arg(ap, const char *));
  }
  return cmd;
}

static cJSON *resp(struct fx *fx, int i)
{
  cJSON *arr = cJSON_GetObjectItemCaseSensitive(fx->reply, "responses");
  assert_true(cJSON_IsArray(arr));
  assert_true(i < cJSON_GetArraySize(arr));
  return cJSON_GetArrayItem(arr, i);
}

static int nresp(struct fx *fx)
{
  return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(fx->reply, "responses"));
}

/* The error of response i, or NULL when it has data. */
static const char *err_of(struct fx *fx, int i)
{
  cJSON *r = resp(fx, i);
  cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "error");
  cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "data");

  if (e != NULL) {
    assert_true(cJSON_IsString(e));
    assert_null(d);
    return e->valuestring;
  }
  assert_true(cJSON_IsObject(d));
  return NULL;
}

/* Run one command; return its error (NULL on success). */
static const char *cmd(struct fx *fx, const char *command, ...)
{
  va_list ap;
  va_start(ap, command);
  run_cmd(fx, vcmd(command, ap));
  va_end(ap);
  assert_int_equal(nresp(fx), 1);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(resp(fx, 0), "command")->valuestring,
                      command);
  return err_of(fx, 0);
}

/* Run one command that must succeed. */
#define OK(fx, ...) assert_null(cmd(fx, __VA_ARGS__, NULL))
/* Run one command that must fail with the given error text. */
#define FAILS(fx, msg, ...)                         \
  do {                                              \
    const char *e_ = cmd(fx, __VA_ARGS__, NULL);    \
    assert_non_null(e_);                            \
    assert_string_equal(e_, msg);                   \
    assert_int_equal((fx)->res.changed.count, 0);   \
  } while (0)

/* The errors of a bad argument: the reason (xca_err.h), the argument, the
 * value given and the rule it breaks, spelt out here as the reply has them. */
#define ID_RULE "must be 1–128 of A-Z a-z 0-9 - . % _ * ? ! ( ) , : = @ $ '"
#define BAD_ID(arg, value) "invalid identity id: " arg " '" value "' " ID_RULE
#define BAD_NAME(value) "invalid name: name '" value "' must be 1–64 of A-Z a-z 0-9 . _ -"
#define BAD_CURSOR(value)                                                                    \
  "missing or invalid argument: cursor '" value "' must be the decimal cursor of an earlier " \
  "reply (\"0\" starts)"
#define BAD_COUNT "missing or invalid argument: count must be 1–1000"
#define BAD_THUMB(arg, value) \
  "invalid thumbprint: " arg " '" value "' must be 40 (SHA-1) or 64 (SHA-256) hex digits, ':' allowed"

static cJSON *data(struct fx *fx)
{
  return cJSON_GetObjectItemCaseSensitive(resp(fx, 0), "data");
}

static const char *dstr(struct fx *fx, const char *name)
{
  cJSON *v = cJSON_GetObjectItemCaseSensitive(data(fx), name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int dnull(struct fx *fx, const char *name)
{
  return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(data(fx), name));
}

static void assert_changed(struct fx *fx, const char *key)
{
  for (int i = 0; i < fx->res.changed.count; i++) {
    if (strcmp(fx->res.changed.item[i], key) == 0) {
      return;
    }
  }
  fail_msg("key %s not reported as changed", key);
}

/* Upload root_pem as name; return the live code (static buffer). */
static const char *upload(struct fx *fx, const char *name, const char *pem)
{
  static char code[128];
  OK(fx, "uploadCA", "name", name, "certificate", pem);
  snprintf(code, sizeof(code), "%s", dstr(fx, "verificationCode"));
  return code;
}

/* A verification certificate CN=cn signed by issuer, valid from..to. */
static char *proof_pem(const char *cn, const struct xca_tcert *issuer, long from, long to)
{
  struct xca_tcert t;
  char *pem;

  assert_int_equal(xca_certgen(&t, cn, issuer, 0, from, to), 0);
  pem = xca_certgen_pem(&t);
  xca_certgen_free(&t);
  assert_non_null(pem);
  return pem;
}

/* Verify name with a certificate for cn signed by issuer; return error. */
static const char *verify(struct fx *fx, const char *name, const char *cn,
                          const struct xca_tcert *issuer)
{
  char *pem = proof_pem(cn, issuer, -60, DAY);
  const char *e = cmd(fx, "verifyCA", "name", name, "certificate", pem, NULL);
  free(pem);
  return e;
}

static const char *audit_line(struct fx *fx, int i)
{
  assert_true(i < fx->res.audit.count);
  return fx->res.audit.item[i];
}

/* ------------------------------------------------------------------------ */
/* uploadCA                                                                  */
/* ------------------------------------------------------------------------ */

static void test_upload_ca_stores_and_replies(void **state)
{
  struct fx *fx = *state;
  char thumb[XCA_SHA256_HEX];
  const char *code;
  cJSON *exp;

  OK(fx, "uploadCA", "name", "company-x", "certificate", root_pem);
  xca_cert_sha256(root_ca.cert, thumb);
  assert_string_equal(dstr(fx, "name"), "company-x");
  assert_string_equal(dstr(fx, "status"), "unverified");
  assert_string_equal(dstr(fx, "subject"), "CN=Company-X Root CA");
  assert_string_equal(dstr(fx, "thumbprint"), thumb);
  assert_non_null(dstr(fx, "notAfter"));
  code = dstr(fx, "verificationCode");
  assert_non_null(code);
  assert_int_equal(strlen(code), 48); /* 192 bits */
  assert_int_equal(strspn(code, "0123456789ABCDEF"), 48);
  exp = cJSON_GetObjectItemCaseSensitive(data(fx), "verificationCodeExpiry");
  assert_true(cJSON_IsNumber(exp));
  assert_true((long long)exp->valuedouble == (long long)fx->now + 3600);

  const char *k = "x509ca:ca:company-x";
  assert_string_equal(xca_fake_kv_hget(fx->fake, k, "status"), "unverified");
  assert_string_equal(xca_fake_kv_hget(fx->fake, k, "certificate"), root_pem);
  assert_string_equal(xca_fake_kv_hget(fx->fake, k, "thumbprint"), thumb);
  assert_string_equal(xca_fake_kv_hget(fx->fake, k, "subject"), "CN=Company-X Root CA");
  assert_non_null(xca_fake_kv_hget(fx->fake, k, "notAfter"));
  assert_string_equal(xca_fake_kv_hget(fx->fake, k, "verificationCode"), code);
  char expiry[32];
  snprintf(expiry, sizeof(expiry), "%lld", (long long)fx->now + 3600);
  assert_string_equal(xca_fake_kv_hget(fx->fake, k, "verificationCodeExpiry"), expiry);

  assert_int_equal(fx->res.changed.count, 1);
  assert_string_equal(fx->res.changed.item[0], "ca:company-x");
  assert_int_equal(fx->res.audit.count, 1);
  assert_non_null(strstr(audit_line(fx, 0), "admin=admin command=uploadCA target=ca:company-x"));
  assert_non_null(strstr(audit_line(fx, 0), "verificationCode=*****"));
  assert_non_null(strstr(audit_line(fx, 0), "result=ok"));
  assert_null(strstr(audit_line(fx, 0), code));
}

static void test_upload_ca_uses_configured_ttl(void **state)
{
  struct fx *fx = *state;
  fx->cfg.verification_code_ttl = 60;
  OK(fx, "uploadCA", "name", "r", "certificate", root_pem);
  cJSON *exp = cJSON_GetObjectItemCaseSensitive(data(fx), "verificationCodeExpiry");
  assert_true((long long)exp->valuedouble == (long long)fx->now + 60);
}

static void test_upload_ca_codes_differ(void **state)
{
  struct fx *fx = *state;
  char first[128];
  snprintf(first, sizeof(first), "%s", upload(fx, "a", root_pem));
  assert_string_not_equal(first, upload(fx, "b", root_pem));
}

static void test_upload_ca_refuses_bad_input(void **state)
{
  struct fx *fx = *state;
  char two[8192];
  char name65[66];

  FAILS(fx, "invalid PEM certificate", "uploadCA", "name", "r", "certificate", "garbage");
  FAILS(fx, "invalid PEM certificate", "uploadCA", "name", "r", "certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  snprintf(two, sizeof(two), "%s%s", root_pem, other_pem);
  FAILS(fx, "more than one certificate supplied", "uploadCA", "name", "r", "certificate", two);
  FAILS(fx, "certificate is not a CA certificate", "uploadCA", "name", "r", "certificate",
        leaf_pem);
  FAILS(fx, "certificate is outside its validity period", "uploadCA", "name", "r",
        "certificate", expired_pem);
  FAILS(fx, BAD_NAME("a b"), "uploadCA", "name", "a b", "certificate", root_pem);
  FAILS(fx, BAD_NAME("a/b"), "uploadCA", "name", "a/b", "certificate", root_pem);
  FAILS(fx, BAD_NAME(""), "uploadCA", "name", "", "certificate", root_pem);
  memset(name65, 'n', 65);
  name65[65] = '\0';
  /* A long value is cut after 64 characters. */
  FAILS(fx, BAD_NAME("nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn..."), "uploadCA",
        "name", name65, "certificate", root_pem);
  name65[64] = '\0';
  OK(fx, "uploadCA", "name", name65, "certificate", root_pem);
  FAILS(fx, "missing or invalid argument: name", "uploadCA", "certificate", root_pem);
  FAILS(fx, "missing or invalid argument: certificate", "uploadCA", "name", "r");
  run_str(fx, "{\"commands\":[{\"command\":\"uploadCA\",\"name\":5,\"certificate\":\"x\"}]}");
  assert_string_equal(err_of(fx, 0), "missing or invalid argument: name must be a string");
  assert_int_equal(xca_fake_kv_count(fx->fake), 1);
}

static void test_upload_ca_refuses_duplicate_name(void **state)
{
  struct fx *fx = *state;
  upload(fx, "r", root_pem);
  FAILS(fx, "CA already exists", "uploadCA", "name", "r", "certificate", other_pem);
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:ca:r", "certificate"), root_pem);
}

/* A private key anywhere refuses the upload; it is neither stored nor
 * echoed in the reply or the audit line. */
static void test_upload_ca_refuses_private_key_without_echo(void **state)
{
  struct fx *fx = *state;
  char both[8192];
  const char *body = strchr(root_key_pem, '\n') + 1; /* first base64 line */
  char secret[32];
  const char *inputs[3];

  snprintf(secret, sizeof(secret), "%.20s", body);
  snprintf(both, sizeof(both), "%s%s", root_pem, root_key_pem);
  inputs[0] = both;
  inputs[1] = root_key_pem;
  inputs[2] = "-----BEGIN PRIVATE KEY-----\nnot even base64\n-----END PRIVATE KEY-----\n";
  for (int i = 0; i < 3; i++) {
    FAILS(fx, "a private key was supplied; it was discarded", "uploadCA", "name", "r",
          "certificate", inputs[i]);
    assert_null(strstr(fx->res.response, secret));
    assert_null(strstr(fx->res.response, "PRIVATE"));
    assert_null(strstr(audit_line(fx, 0), secret));
    assert_non_null(strstr(audit_line(fx, 0), "result=error"));
  }
  assert_int_equal(xca_fake_kv_count(fx->fake), 0);
}

/* ------------------------------------------------------------------------ */
/* generateVerificationCode, verifyCA                                        */
/* ------------------------------------------------------------------------ */

static void test_generate_code_replaces_code(void **state)
{
  struct fx *fx = *state;
  char old[128];
  char fresh[128];

  snprintf(old, sizeof(old), "%s", upload(fx, "r", root_pem));
  fx->now += 100;
  OK(fx, "generateVerificationCode", "name", "r");
  snprintf(fresh, sizeof(fresh), "%s", dstr(fx, "verificationCode"));
  assert_string_equal(dstr(fx, "name"), "r");
  assert_string_not_equal(old, fresh);
  assert_int_equal(strlen(fresh), 48);
  assert_true((long long)cJSON_GetObjectItemCaseSensitive(data(fx), "verificationCodeExpiry")
                ->valuedouble == (long long)fx->now + 3600);
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:ca:r", "verificationCode"), fresh);
  assert_changed(fx, "ca:r");
  assert_non_null(strstr(audit_line(fx, 0), "verificationCode=*****"));
  assert_null(strstr(audit_line(fx, 0), fresh));
  /* The old code died. */
  assert_string_equal(verify(fx, "r", old, &root_ca),
                      "verification certificate CN does not match the live code");
  assert_null(verify(fx, "r", fresh, &root_ca));
}

static void test_generate_code_refusals(void **state)
{
  struct fx *fx = *state;
  const char *code;

  FAILS(fx, "CA not found", "generateVerificationCode", "name", "nope");
  FAILS(fx, BAD_NAME("*"), "generateVerificationCode", "name", "*");
  FAILS(fx, "missing or invalid argument: name", "generateVerificationCode");
  code = upload(fx, "r", root_pem);
  assert_null(verify(fx, "r", code, &root_ca));
  FAILS(fx, "CA is already verified", "generateVerificationCode", "name", "r");
}

static void test_verify_ca_marks_verified_and_consumes_code(void **state)
{
  struct fx *fx = *state;
  char code[128];

  snprintf(code, sizeof(code), "%s", upload(fx, "r", root_pem));
  assert_null(verify(fx, "r", code, &root_ca));
  assert_string_equal(dstr(fx, "name"), "r");
  assert_string_equal(dstr(fx, "status"), "verified");
  assert_int_equal(fx->res.changed.count, 1);
  assert_string_equal(fx->res.changed.item[0], "ca:r");
  assert_non_null(strstr(audit_line(fx, 0), "command=verifyCA target=ca:r"));
  assert_non_null(strstr(audit_line(fx, 0), "result=ok"));
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:ca:r", "status"), "verified");
  assert_null(xca_fake_kv_hget(fx->fake, "x509ca:ca:r", "verificationCode"));
  assert_null(xca_fake_kv_hget(fx->fake, "x509ca:ca:r", "verificationCodeExpiry"));
  /* Single use: the same proof again is refused. */
  assert_string_equal(verify(fx, "r", code, &root_ca), "CA is already verified");
}

/* The code also dies when the CA is set back to unverified by hand. */
static void test_verify_ca_code_is_single_use(void **state)
{
  struct fx *fx = *state;
  char code[128];

  snprintf(code, sizeof(code), "%s", upload(fx, "r", root_pem));
  assert_null(verify(fx, "r", code, &root_ca));
  assert_int_equal(xca_fake_kv_hset(fx->fake, "x509ca:ca:r", "status", "unverified"), XCA_OK);
  assert_string_equal(verify(fx, "r", code, &root_ca), "no live verification code");
}

static void test_verify_ca_code_expires(void **state)
{
  struct fx *fx = *state;
  char code[128];

  snprintf(code, sizeof(code), "%s", upload(fx, "r", root_pem));
  fx->now += 3599;
  fx->now += 1; /* expiry instant: dead */
  assert_string_equal(verify(fx, "r", code, &root_ca), "verification code expired");
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:ca:r", "status"), "unverified");
  assert_int_equal(fx->res.changed.count, 0);
  /* A fresh code works again. */
  OK(fx, "generateVerificationCode", "name", "r");
  snprintf(code, sizeof(code), "%s", dstr(fx, "verificationCode"));
  fx->now += 3599;
  assert_null(verify(fx, "r", code, &root_ca));
}

static void test_verify_ca_refusals(void **state)
{
  struct fx *fx = *state;
  char code[128];
  char *pem;

  FAILS(fx, "CA not found", "verifyCA", "name", "r", "certificate", root_pem);
  snprintf(code, sizeof(code), "%s", upload(fx, "r", root_pem));
  assert_string_equal(verify(fx, "r", "0123456789ABCDEF", &root_ca),
                      "verification certificate CN does not match the live code");
  assert_string_equal(verify(fx, "r", code, &other_ca),
                      "certificate is not signed by this CA's key");
  pem = proof_pem(code, &root_ca, -2 * DAY, -DAY);
  FAILS(fx, "certificate is outside its validity period", "verifyCA", "name", "r",
        "certificate", pem);
  free(pem);
  pem = proof_pem(code, &root_ca, DAY, 2 * DAY);
  FAILS(fx, "certificate is outside its validity period", "verifyCA", "name", "r",
        "certificate", pem);
  free(pem);
  FAILS(fx, "a private key was supplied; it was discarded", "verifyCA", "name", "r",
        "certificate", root_key_pem);
  assert_null(strstr(fx->res.response, "PRIVATE"));
  FAILS(fx, "invalid PEM certificate", "verifyCA", "name", "r", "certificate", "junk");
  FAILS(fx, "missing or invalid argument: certificate", "verifyCA", "name", "r");
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:ca:r", "status"), "unverified");
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:ca:r", "verificationCode"), code);
  /* A CA stored without a code (e.g. by redis-cli). */
  xca_fake_kv_hset(fx->fake, "x509ca:ca:bare", "certificate", root_pem);
  xca_fake_kv_hset(fx->fake, "x509ca:ca:bare", "status", "unverified");
  assert_string_equal(verify(fx, "bare", code, &root_ca), "no live verification code");
  /* An unreadable expiry counts as expired. */
  xca_fake_kv_hset(fx->fake, "x509ca:ca:bare", "verificationCode", "ABC");
  xca_fake_kv_hset(fx->fake, "x509ca:ca:bare", "verificationCodeExpiry", "soon");
  assert_string_equal(verify(fx, "bare", "ABC", &root_ca), "verification code expired");
}

/* The proof's CN is compared without regard to hex case. */
static void test_verify_ca_code_case_insensitive(void **state)
{
  struct fx *fx = *state;
  char code[128];

  snprintf(code, sizeof(code), "%s", upload(fx, "r", root_pem));
  for (char *p = code; *p; p++) {
    *p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
  }
  assert_null(verify(fx, "r", code, &root_ca));
}

/* ------------------------------------------------------------------------ */
/* getCA, listCAs, deleteCA                                                  */
/* ------------------------------------------------------------------------ */

static void test_get_ca(void **state)
{
  struct fx *fx = *state;
  char code[128];

  snprintf(code, sizeof(code), "%s", upload(fx, "r", root_pem));
  OK(fx, "getCA", "name", "r");
  assert_string_equal(dstr(fx, "name"), "r");
  assert_string_equal(dstr(fx, "status"), "unverified");
  assert_string_equal(dstr(fx, "subject"), "CN=Company-X Root CA");
  assert_int_equal(strlen(dstr(fx, "thumbprint")), 64);
  assert_non_null(dstr(fx, "notAfter"));
  assert_string_equal(dstr(fx, "certificate"), root_pem);
  assert_null(strstr(fx->res.response, code)); /* getCA does not show the code */
  assert_int_equal(fx->res.changed.count, 0);
  assert_null(verify(fx, "r", code, &root_ca));
  OK(fx, "getCA", "name", "r");
  assert_string_equal(dstr(fx, "status"), "verified");
  FAILS(fx, "CA not found", "getCA", "name", "nope");
  /* Any stored status but "verified" shows (and counts) as unverified. */
  xca_fake_kv_hset(fx->fake, "x509ca:ca:odd", "status", "VERIFIED");
  OK(fx, "getCA", "name", "odd");
  assert_string_equal(dstr(fx, "status"), "unverified");
  assert_true(dnull(fx, "certificate"));
}

static void test_list_cas_sorted(void **state)
{
  struct fx *fx = *state;
  cJSON *cas;
  const char *names[] = {"charlie", "alpha", "bravo"};

  OK(fx, "listCAs");
  cas = cJSON_GetObjectItemCaseSensitive(data(fx), "cas");
  assert_true(cJSON_IsArray(cas));
  assert_int_equal(cJSON_GetArraySize(cas), 0);
  for (int i = 0; i < 3; i++) {
    upload(fx, names[i], i == 1 ? other_pem : root_pem);
  }
  xca_fake_kv_hset(fx->fake, "x509ca:device:d", "status", "enabled");
  xca_fake_kv_hset(fx->fake, "x509ca:ca:bad name", "status", "verified");
  xca_fake_kv_hset(fx->fake, "other:ca:zulu", "status", "verified");
  OK(fx, "listCAs");
  cas = cJSON_GetObjectItemCaseSensitive(data(fx), "cas");
  assert_int_equal(cJSON_GetArraySize(cas), 3);
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cas, 0), "name")->valuestring,
                      "alpha");
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cas, 0), "subject")->valuestring,
                      "CN=Other CA");
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cas, 1), "name")->valuestring,
                      "bravo");
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cas, 2), "name")->valuestring,
                      "charlie");
  for (int i = 0; i < 3; i++) {
    cJSON *ca = cJSON_GetArrayItem(cas, i);
    assert_string_equal(cJSON_GetObjectItem(ca, "status")->valuestring, "unverified");
    assert_non_null(cJSON_GetObjectItem(ca, "thumbprint"));
    assert_non_null(cJSON_GetObjectItem(ca, "notAfter"));
    assert_null(cJSON_GetObjectItem(ca, "certificate"));
    assert_null(cJSON_GetObjectItem(ca, "verificationCode"));
  }
}

static void test_delete_ca(void **state)
{
  struct fx *fx = *state;

  upload(fx, "r", root_pem);
  OK(fx, "deleteCA", "name", "r");
  assert_int_equal(cJSON_GetArraySize(data(fx)), 0);
  assert_int_equal(fx->res.changed.count, 1);
  assert_string_equal(fx->res.changed.item[0], "ca:r");
  assert_false(xca_fake_kv_exists(fx->fake, "x509ca:ca:r"));
  assert_non_null(strstr(audit_line(fx, 0), "command=deleteCA target=ca:r result=ok"));
  FAILS(fx, "CA not found", "deleteCA", "name", "r");
  assert_non_null(strstr(audit_line(fx, 0), "result=error (CA not found)"));
  FAILS(fx, BAD_NAME("../x"), "deleteCA", "name", "../x");
}

/* ------------------------------------------------------------------------ */
/* Devices                                                                   */
/* ------------------------------------------------------------------------ */

#define T1 "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01"
#define T1N "abcdef0123456789abcdef0123456789abcdef01"
#define T2 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static void test_create_device_defaults(void **state)
{
  struct fx *fx = *state;

  OK(fx, "createDevice", "deviceId", "widget-1");
  assert_string_equal(dstr(fx, "deviceId"), "widget-1");
  assert_null(cJSON_GetObjectItem(data(fx), "moduleId"));
  assert_string_equal(dstr(fx, "status"), "enabled");
  assert_string_equal(dstr(fx, "authentication"), "certificateAuthority");
  assert_true(dnull(fx, "primaryThumbprint"));
  assert_true(dnull(fx, "secondaryThumbprint"));
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:device:widget-1", "status"), "enabled");
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:device:widget-1", "authentication"),
                      "certificateAuthority");
  assert_int_equal(fx->res.changed.count, 1);
  assert_string_equal(fx->res.changed.item[0], "device:widget-1");
  assert_non_null(
    strstr(audit_line(fx, 0), "admin=admin command=createDevice target=device:widget-1 result=ok"));
  FAILS(fx, "device already exists", "createDevice", "deviceId", "widget-1");
}

static void test_create_device_self_signed_normalises(void **state)
{
  struct fx *fx = *state;

  OK(fx, "createDevice", "deviceId", "ss", "authentication", "selfSigned", "primaryThumbprint", T1,
     "secondaryThumbprint", T2, "status", "disabled");
  assert_string_equal(dstr(fx, "authentication"), "selfSigned");
  assert_string_equal(dstr(fx, "status"), "disabled");
  assert_string_equal(dstr(fx, "primaryThumbprint"), T1N);
  assert_string_equal(dstr(fx, "secondaryThumbprint"), T2);
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:device:ss", "primaryThumbprint"), T1N);
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:device:ss", "status"), "disabled");
}

static void test_create_device_refusals(void **state)
{
  struct fx *fx = *state;
  char long_id[131];

  FAILS(fx, "missing or invalid argument: deviceId", "createDevice");
  FAILS(fx, BAD_ID("deviceId", "a/b"), "createDevice", "deviceId", "a/b");
  FAILS(fx, BAD_ID("deviceId", "a b"), "createDevice", "deviceId", "a b");
  FAILS(fx, BAD_ID("deviceId", "a#"), "createDevice", "deviceId", "a#");
  FAILS(fx, BAD_ID("deviceId", ""), "createDevice", "deviceId", "");
  memset(long_id, 'd', 129);
  long_id[129] = '\0';
  FAILS(fx,
        BAD_ID("deviceId", "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd..."),
        "createDevice", "deviceId", long_id);
  long_id[128] = '\0';
  OK(fx, "createDevice", "deviceId", long_id);
  FAILS(fx, BAD_ID("moduleId", "m+"), "createDevice", "deviceId", "d", "moduleId", "m+");
  FAILS(fx, BAD_ID("moduleId", ""), "createDevice", "deviceId", "d", "moduleId", "");
  FAILS(fx, "invalid status: status 'on' must be enabled or disabled", "createDevice", "deviceId",
        "d", "status", "on");
  FAILS(fx,
        "invalid authentication type: authentication 'x509' must be certificateAuthority or "
        "selfSigned",
        "createDevice", "deviceId", "d", "authentication", "x509");
  FAILS(fx, BAD_THUMB("primaryThumbprint", "abc"), "createDevice", "deviceId", "d",
        "primaryThumbprint", "abc");
  FAILS(fx, BAD_THUMB("secondaryThumbprint", T1 "00"), "createDevice", "deviceId", "d",
        "secondaryThumbprint", T1 "00");
  run_str(fx, "{\"commands\":[{\"command\":\"createDevice\",\"deviceId\":7},"
              "{\"command\":\"createDevice\",\"deviceId\":\"d\",\"status\":true},"
              "{\"command\":\"createDevice\",\"deviceId\":\"d\",\"primaryThumbprint\":1}]}");
  assert_string_equal(err_of(fx, 0), "missing or invalid argument: deviceId must be a string");
  assert_string_equal(err_of(fx, 1), "missing or invalid argument: status must be a string");
  assert_string_equal(err_of(fx, 2),
                      "missing or invalid argument: primaryThumbprint must be a string or null");
  FAILS(fx, "selfSigned authentication requires a primaryThumbprint", "createDevice", "deviceId",
        "d", "authentication", "selfSigned");
  FAILS(fx, "selfSigned authentication requires a primaryThumbprint", "createDevice", "deviceId",
        "d", "authentication", "selfSigned", "secondaryThumbprint", T2);
  assert_false(xca_fake_kv_exists(fx->fake, "x509ca:device:d"));
  /* The reply shows an invalid id sanitised; the audit line never shows it. */
  FAILS(fx, BAD_ID("deviceId", "evil?line"), "createDevice", "deviceId", "evil\nline");
  assert_null(strstr(audit_line(fx, 0), "evil"));
  assert_non_null(strstr(audit_line(fx, 0), "result=error (invalid identity id: deviceId)"));
  assert_null(strchr(audit_line(fx, 0), '\n'));
  assert_non_null(strstr(audit_line(fx, 0), "target=- result=error"));
}

static void test_create_module_requires_device(void **state)
{
  struct fx *fx = *state;

  FAILS(fx, "the module's device does not exist", "createDevice", "deviceId", "d", "moduleId",
        "m");
  OK(fx, "createDevice", "deviceId", "d");
  OK(fx, "createDevice", "deviceId", "d", "moduleId", "m");
  assert_string_equal(dstr(fx, "deviceId"), "d");
  assert_string_equal(dstr(fx, "moduleId"), "m");
  assert_string_equal(fx->res.changed.item[0], "device:d/m");
  assert_true(xca_fake_kv_exists(fx->fake, "x509ca:device:d/m"));
  FAILS(fx, "module already exists", "createDevice", "deviceId", "d", "moduleId", "m");
  run_str(fx, "{\"commands\":[{\"command\":\"getDevice\",\"deviceId\":\"d\",\"moduleId\":null}]}");
  assert_null(err_of(fx, 0));
  assert_null(cJSON_GetObjectItem(data(fx), "moduleId"));
}

static void test_get_device(void **state)
{
  struct fx *fx = *state;

  FAILS(fx, "device not found", "getDevice", "deviceId", "d");
  FAILS(fx, "module not found", "getDevice", "deviceId", "d", "moduleId", "m");
  /* Made by redis-cli: the schema's defaults apply. */
  xca_fake_kv_hset(fx->fake, "x509ca:device:d", "primaryThumbprint", T2);
  OK(fx, "getDevice", "deviceId", "d");
  assert_string_equal(dstr(fx, "status"), "enabled");
  assert_string_equal(dstr(fx, "authentication"), "certificateAuthority");
  assert_string_equal(dstr(fx, "primaryThumbprint"), T2);
  assert_int_equal(fx->res.changed.count, 0);
  /* A status that is neither enabled nor disabled counts as disabled, and
   * is shown as stored. */
  xca_fake_kv_hset(fx->fake, "x509ca:device:d", "status", "off");
  xca_fake_kv_hset(fx->fake, "x509ca:device:d", "authentication", "psk");
  OK(fx, "getDevice", "deviceId", "d");
  assert_string_equal(dstr(fx, "status"), "off");
  assert_string_equal(dstr(fx, "authentication"), "invalid");
  OK(fx, "listDevices");
  cJSON *listed = cJSON_GetArrayItem(cJSON_GetObjectItem(data(fx), "devices"), 0);
  assert_string_equal(cJSON_GetObjectItem(listed, "status")->valuestring, "off");
}

static void test_update_device_changes_only_given_fields(void **state)
{
  struct fx *fx = *state;
  const char *k = "x509ca:device:d";

  FAILS(fx, "device not found", "updateDevice", "deviceId", "d", "status", "disabled");
  OK(fx, "createDevice", "deviceId", "d", "secondaryThumbprint", T2);
  OK(fx, "updateDevice", "deviceId", "d", "status", "disabled");
  assert_string_equal(dstr(fx, "status"), "disabled");
  assert_string_equal(dstr(fx, "authentication"), "certificateAuthority");
  assert_string_equal(dstr(fx, "secondaryThumbprint"), T2);
  assert_string_equal(fx->res.changed.item[0], "device:d");
  assert_string_equal(xca_fake_kv_hget(fx->fake, k, "status"), "disabled");
  FAILS(fx, "selfSigned authentication requires a primaryThumbprint", "updateDevice", "deviceId",
        "d", "authentication", "selfSigned");
  OK(fx, "updateDevice", "deviceId", "d", "authentication", "selfSigned", "primaryThumbprint", T1);
  assert_string_equal(dstr(fx, "primaryThumbprint"), T1N);
  assert_string_equal(dstr(fx, "status"), "disabled");
  FAILS(fx, "selfSigned authentication requires a primaryThumbprint", "updateDevice", "deviceId",
        "d", "primaryThumbprint", "");
  OK(fx, "updateDevice", "deviceId", "d", "secondaryThumbprint", "");
  assert_true(dnull(fx, "secondaryThumbprint"));
  assert_null(xca_fake_kv_hget(fx->fake, k, "secondaryThumbprint"));
  OK(fx, "updateDevice", "deviceId", "d", "status", "enabled", "authentication",
     "certificateAuthority");
  assert_string_equal(dstr(fx, "primaryThumbprint"), T1N);
  FAILS(fx, "invalid status: status 'paused' must be enabled or disabled", "updateDevice",
        "deviceId", "d", "status", "paused");
  FAILS(fx, BAD_THUMB("primaryThumbprint", "zz"), "updateDevice", "deviceId", "d",
        "primaryThumbprint", "zz");
  run_str(fx, "{\"commands\":[{\"command\":\"updateDevice\",\"deviceId\":\"d\","
              "\"primaryThumbprint\":null}]}");
  assert_null(err_of(fx, 0));
  assert_null(xca_fake_kv_hget(fx->fake, k, "primaryThumbprint"));
}

/* Clearing the only field of a hand-made entry must not delete the entry. */
static void test_update_device_keeps_key(void **state)
{
  struct fx *fx = *state;

  xca_fake_kv_hset(fx->fake, "x509ca:device:d", "primaryThumbprint", T2);
  OK(fx, "updateDevice", "deviceId", "d", "primaryThumbprint", "");
  assert_true(xca_fake_kv_exists(fx->fake, "x509ca:device:d"));
  assert_string_equal(dstr(fx, "status"), "enabled");
}

static void test_delete_device_deletes_modules(void **state)
{
  struct fx *fx = *state;

  OK(fx, "createDevice", "deviceId", "d1");
  OK(fx, "createDevice", "deviceId", "d1", "moduleId", "m1");
  OK(fx, "createDevice", "deviceId", "d1", "moduleId", "m2");
  OK(fx, "createDevice", "deviceId", "d10");
  OK(fx, "createDevice", "deviceId", "d10", "moduleId", "m1");
  OK(fx, "deleteDevice", "deviceId", "d1", "moduleId", "m2");
  assert_int_equal(fx->res.changed.count, 1);
  assert_string_equal(fx->res.changed.item[0], "device:d1/m2");
  assert_null(cJSON_GetObjectItem(data(fx), "modulesDeleted"));
  FAILS(fx, "module not found", "deleteDevice", "deviceId", "d1", "moduleId", "m2");
  OK(fx, "createDevice", "deviceId", "d1", "moduleId", "m2");
  OK(fx, "deleteDevice", "deviceId", "d1");
  assert_int_equal((int)cJSON_GetObjectItem(data(fx), "modulesDeleted")->valuedouble, 2);
  assert_int_equal(fx->res.changed.count, 3);
  assert_changed(fx, "device:d1");
  assert_changed(fx, "device:d1/m1");
  assert_changed(fx, "device:d1/m2");
  assert_false(xca_fake_kv_exists(fx->fake, "x509ca:device:d1"));
  assert_false(xca_fake_kv_exists(fx->fake, "x509ca:device:d1/m1"));
  assert_true(xca_fake_kv_exists(fx->fake, "x509ca:device:d10"));
  assert_true(xca_fake_kv_exists(fx->fake, "x509ca:device:d10/m1"));
  FAILS(fx, "device not found", "deleteDevice", "deviceId", "d1");
}

/* Ids may hold glob characters ('*', '?'); they must match only themselves. */
static void test_delete_device_glob_id(void **state)
{
  struct fx *fx = *state;

  OK(fx, "createDevice", "deviceId", "a*");
  OK(fx, "createDevice", "deviceId", "a*", "moduleId", "m");
  OK(fx, "createDevice", "deviceId", "ab");
  OK(fx, "createDevice", "deviceId", "ab", "moduleId", "m");
  OK(fx, "deleteDevice", "deviceId", "a*");
  assert_int_equal((int)cJSON_GetObjectItem(data(fx), "modulesDeleted")->valuedouble, 1);
  assert_true(xca_fake_kv_exists(fx->fake, "x509ca:device:ab/m"));
  assert_false(xca_fake_kv_exists(fx->fake, "x509ca:device:a*/m"));
}

/* Collect every identity through pages of count; each shows up once. */
static void test_list_devices_paging(void **state)
{
  struct fx *fx = *state;
  char id[32];
  char req[256];
  char cursor[32] = "0";
  int seen[25][2] = {{0}};
  int pages = 0;
  int total = 0;

  for (int i = 0; i < 25; i++) {
    snprintf(id, sizeof(id), "dev-%02d", i);
    OK(fx, "createDevice", "deviceId", id, "status", i % 2 ? "disabled" : "enabled");
    OK(fx, "createDevice", "deviceId", id, "moduleId", "mod");
  }
  upload(fx, "r", root_pem); /* not an identity */
  do {
    snprintf(req, sizeof(req),
             "{\"commands\":[{\"command\":\"listDevices\",\"cursor\":\"%s\",\"count\":10}]}",
             cursor);
    run_str(fx, req);
    assert_null(err_of(fx, 0));
    cJSON *devs = cJSON_GetObjectItem(data(fx), "devices");
    assert_true(cJSON_GetArraySize(devs) <= 20);
    cJSON *d;
    cJSON_ArrayForEach(d, devs)
    {
      int n = atoi(cJSON_GetObjectItem(d, "deviceId")->valuestring + 4);
      int is_mod = cJSON_GetObjectItem(d, "moduleId") != NULL;
      assert_string_equal(cJSON_GetObjectItem(d, "status")->valuestring,
                          is_mod || n % 2 == 0 ? "enabled" : "disabled");
      seen[n][is_mod]++;
      total++;
    }
    snprintf(cursor, sizeof(cursor), "%s", dstr(fx, "cursor"));
    pages++;
  } while (strcmp(cursor, "0") != 0 && pages < 100);
  assert_string_equal(cursor, "0");
  assert_true(pages >= 5);
  assert_int_equal(total, 50);
  for (int i = 0; i < 25; i++) {
    assert_int_equal(seen[i][0], 1);
    assert_int_equal(seen[i][1], 1);
  }
  /* Default arguments: one page of about 100 holds everything here. */
  OK(fx, "listDevices");
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(data(fx), "devices")), 50);
  assert_string_equal(dstr(fx, "cursor"), "0");
  /* One device's modules. */
  OK(fx, "listDevices", "deviceId", "dev-03");
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(data(fx), "devices")), 1);
  assert_string_equal(
    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(data(fx), "devices"), 0),
                        "moduleId")->valuestring,
    "mod");
}

static void test_list_devices_refusals(void **state)
{
  struct fx *fx = *state;

  FAILS(fx, BAD_CURSOR("abc"), "listDevices", "cursor", "abc");
  FAILS(fx, BAD_CURSOR("-1"), "listDevices", "cursor", "-1");
  FAILS(fx, BAD_CURSOR(""), "listDevices", "cursor", "");
  FAILS(fx, BAD_ID("deviceId", "a/b"), "listDevices", "deviceId", "a/b");
  run_str(fx, "{\"commands\":[{\"command\":\"listDevices\",\"count\":0},"
              "{\"command\":\"listDevices\",\"count\":1001},"
              "{\"command\":\"listDevices\",\"count\":\"5\"},"
              "{\"command\":\"listDevices\",\"count\":1000}]}");
  assert_string_equal(err_of(fx, 0), BAD_COUNT);
  assert_string_equal(err_of(fx, 1), BAD_COUNT);
  assert_string_equal(err_of(fx, 2), BAD_COUNT);
  assert_null(err_of(fx, 3));
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(resp(fx, 3), "data"),
                                                          "devices")),
                   0);
}

/* A prefix with glob characters is matched literally by every SCAN. */
static void test_glob_prefix_is_escaped(void **state)
{
  struct fx *fx = *state;

  OK(fx, "createDevice", "deviceId", "d");
  upload(fx, "r", root_pem);
  assert_true(xca_fake_kv_exists(fx->fake, "t[1]*?:device:d"));
  xca_fake_kv_hset(fx->fake, "t1xy:device:intruder", "status", "enabled");
  xca_fake_kv_hset(fx->fake, "t1xy:ca:intruder", "status", "verified");
  OK(fx, "listDevices");
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(data(fx), "devices")), 1);
  OK(fx, "listCAs");
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(data(fx), "cas")), 1);
}

/* The longest prefix with the longest identity: the admin commands build
 * the same keys as the connect path (one limit), so a module the broker
 * would look up can be created, read, listed and deleted. */
static void test_longest_prefix_and_identity(void **state)
{
  struct fx *fx = *state;
  char device[XCA_ID_MAX + 1];
  char module[XCA_ID_MAX + 1];
  char key[XCA_KEY_MAX];
  struct xca_identity_rec rec;

  memset(device, 'd', XCA_ID_MAX);
  device[XCA_ID_MAX] = '\0';
  memset(module, 'm', XCA_ID_MAX);
  module[XCA_ID_MAX] = '\0';
  OK(fx, "createDevice", "deviceId", device);
  OK(fx, "createDevice", "deviceId", device, "moduleId", module, "status", "disabled");
  snprintf(key, sizeof(key), "%sdevice:%s/%s", fx->reg.prefix, device, module);
  assert_int_equal(strlen(key), XCA_KEY_PREFIX_MAX + 7 + 2 * XCA_ID_MAX + 1);
  assert_string_equal(xca_fake_kv_hget(fx->fake, key, "status"), "disabled");
  snprintf(key, sizeof(key), "%s/%s", device, module);
  assert_int_equal(xca_registry_get_identity(&fx->reg, key, &rec), XCA_OK);
  assert_int_equal(rec.enabled, 0);
  OK(fx, "getDevice", "deviceId", device, "moduleId", module);
  assert_string_equal(dstr(fx, "status"), "disabled");
  OK(fx, "listDevices", "deviceId", device);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(data(fx), "devices")), 1);
  OK(fx, "deleteDevice", "deviceId", device);
  assert_int_equal(cJSON_GetObjectItem(data(fx), "modulesDeleted")->valueint, 1);
  assert_int_equal(xca_fake_kv_count(fx->fake), 0);
}

/* ------------------------------------------------------------------------ */
/* Requests as a whole                                                       */
/* ------------------------------------------------------------------------ */

/* One JSON document and nothing else: trailing data refuses the request
 * before its first command runs. */
static void test_trailing_data_refused(void **state)
{
  struct fx *fx = *state;
  const char *bad[] = {
    "{\"commands\":[{\"command\":\"createDevice\",\"deviceId\":\"t1\"}]}{\"commands\":[]}",
    "{\"commands\":[{\"command\":\"createDevice\",\"deviceId\":\"t1\"}]} rm -rf",
    "{\"commands\":[{\"command\":\"createDevice\",\"deviceId\":\"t1\"}]}\n]"};

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    run_str(fx, bad[i]);
    assert_int_equal(nresp(fx), 1);
    assert_string_equal(err_of(fx, 0), "invalid JSON");
    assert_int_equal(fx->res.changed.count, 0);
  }
  /* Whitespace after the document is fine, and the command runs. */
  run_str(fx, "{\"commands\":[{\"command\":\"createDevice\",\"deviceId\":\"t1\"}]} \r\n\t");
  assert_int_equal(nresp(fx), 1);
  assert_null(err_of(fx, 0));
  assert_int_equal(fx->res.changed.count, 1);
}

static void test_request_errors(void **state)
{
  struct fx *fx = *state;
  const char *bad[] = {"not json", "{\"commands\":[", "", "{}", "{\"commands\":{}}",
                       "[1,2]", "{\"commands\":\"uploadCA\"}"};
  const char *why[] = {"invalid JSON", "invalid JSON", "invalid JSON",
                       "missing or invalid argument: commands",
                       "missing or invalid argument: commands",
                       "missing or invalid argument: commands",
                       "missing or invalid argument: commands"};

  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    run_str(fx, bad[i]);
    assert_int_equal(nresp(fx), 1);
    assert_string_equal(err_of(fx, 0), why[i]);
    assert_int_equal(fx->res.audit.count, 1);
    assert_non_null(strstr(audit_line(fx, 0), "result=error"));
  }
  run_str(fx, "{\"commands\":[]}");
  assert_int_equal(nresp(fx), 0);
  /* Not NUL-terminated: only len bytes count. */
  run_raw(fx, "{\"commands\":[]}garbage", 15);
  assert_int_equal(nresp(fx), 0);
}

static void test_oversize_payload(void **state)
{
  struct fx *fx = *state;
  size_t n = 2000;
  char *big = malloc(n + 1);

  fx->cfg.max_admin_payload = 1024;
  memset(big, ' ', n);
  memcpy(big, "{\"commands\":[{\"command\":\"createDevice\",\"deviceId\":\"d\"}]}", 57);
  big[n] = '\0';
  run_raw(fx, big, n);
  assert_int_equal(nresp(fx), 1);
  assert_string_equal(err_of(fx, 0), "payload too large");
  assert_false(xca_fake_kv_exists(fx->fake, "x509ca:device:d"));
  run_raw(fx, big, 1024);
  assert_null(err_of(fx, 0));
  free(big);
}

static void test_unknown_and_malformed_commands(void **state)
{
  struct fx *fx = *state;
  cJSON *r;

  run_str(fx, "{\"commands\":[{\"command\":\"dropAll\",\"correlationData\":\"x\"},"
              "{\"name\":\"r\"}, 7, {\"command\":\"evil\\ncmd\"}]}");
  assert_int_equal(nresp(fx), 4);
  r = resp(fx, 0);
  assert_string_equal(cJSON_GetObjectItem(r, "command")->valuestring, "dropAll");
  assert_string_equal(err_of(fx, 0), "unknown command");
  assert_string_equal(cJSON_GetObjectItem(r, "correlationData")->valuestring, "x");
  assert_string_equal(err_of(fx, 1), "missing or invalid argument: command");
  assert_string_equal(err_of(fx, 2), "missing or invalid argument: command");
  assert_string_equal(err_of(fx, 3), "unknown command");
  assert_int_equal(fx->res.audit.count, 4);
  for (int i = 0; i < 4; i++) {
    assert_null(strchr(audit_line(fx, i), '\n'));
  }
  /* An unknown command name is never echoed into the log. */
  assert_non_null(strstr(audit_line(fx, 3), "command=unknown "));
  assert_null(strstr(audit_line(fx, 3), "evil"));
  assert_null(strstr(audit_line(fx, 0), "dropAll"));
}

static void test_multi_command_order_and_correlation(void **state)
{
  struct fx *fx = *state;
  const char *names[] = {"getCA", "createDevice", "getDevice", "deleteDevice", "getDevice"};

  run_str(fx, "{\"commands\":["
              "{\"command\":\"getCA\",\"name\":\"none\",\"correlationData\":\"c1\"},"
              "{\"command\":\"createDevice\",\"deviceId\":\"d\",\"correlationData\":\"c2\"},"
              "{\"command\":\"getDevice\",\"deviceId\":\"d\",\"correlationData\":\"c3\"},"
              "{\"command\":\"deleteDevice\",\"deviceId\":\"d\",\"correlationData\":5},"
              "{\"command\":\"getDevice\",\"deviceId\":\"d\"}]}");
  assert_int_equal(nresp(fx), 5);
  for (int i = 0; i < 5; i++) {
    assert_string_equal(cJSON_GetObjectItem(resp(fx, i), "command")->valuestring, names[i]);
  }
  assert_string_equal(err_of(fx, 0), "CA not found");
  assert_null(err_of(fx, 1));
  assert_null(err_of(fx, 2));
  assert_null(err_of(fx, 3));
  assert_string_equal(err_of(fx, 4), "device not found");
  assert_string_equal(cJSON_GetObjectItem(resp(fx, 0), "correlationData")->valuestring, "c1");
  assert_string_equal(cJSON_GetObjectItem(resp(fx, 1), "correlationData")->valuestring, "c2");
  assert_string_equal(cJSON_GetObjectItem(resp(fx, 2), "correlationData")->valuestring, "c3");
  assert_null(cJSON_GetObjectItem(resp(fx, 3), "correlationData"));
  assert_null(cJSON_GetObjectItem(resp(fx, 4), "correlationData"));
  assert_int_equal(fx->res.audit.count, 5);
  assert_non_null(strstr(audit_line(fx, 1), "command=createDevice"));
  assert_non_null(strstr(audit_line(fx, 3), "command=deleteDevice"));
  assert_int_equal(fx->res.changed.count, 2);
}

/* ------------------------------------------------------------------------ */
/* Strings holding a NUL                                                     */
/* ------------------------------------------------------------------------ */

#define NUL_ERROR "invalid argument: string contains NUL"
#define REQ(cmds) "{\"commands\":[" cmds "]}"

/* Send payload (len bytes) and check it was refused as a whole: one
 * response with the NUL error, one audit line saying so, nothing changed. */
static void nul_refused_raw(struct fx *fx, const char *payload, size_t len)
{
  run_raw(fx, payload, len);
  assert_int_equal(nresp(fx), 1);
  assert_string_equal(err_of(fx, 0), NUL_ERROR);
  assert_null(cJSON_GetObjectItemCaseSensitive(resp(fx, 0), "correlationData"));
  assert_int_equal(fx->res.audit.count, 1);
  assert_non_null(strstr(audit_line(fx, 0), "result=error (" NUL_ERROR ")"));
  assert_int_equal(fx->res.changed.count, 0);
}

static void nul_refused(struct fx *fx, const char *payload)
{
  nul_refused_raw(fx, payload, strlen(payload));
}

/* Send cmd (owned) as a request in which every "@NUL@" inside its strings
 * is the JSON escape \u0000 (cJSON cannot hold a NUL to print it). */
static void nul_refused_cmd(struct fx *fx, cJSON *cmd)
{
  cJSON *root = cJSON_CreateObject();
  char *text;
  char *out;
  size_t n = 0;

  cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "commands"), cmd);
  text = cJSON_PrintUnformatted(root);
  assert_non_null(strstr(text, "@NUL@"));
  out = malloc(2 * strlen(text) + 1); /* each 5-byte mark becomes 6 bytes */
  assert_non_null(out);
  for (const char *p = text; *p != '\0';) {
    if (strncmp(p, "@NUL@", 5) == 0) {
      memcpy(out + n, "\\u0000", 6);
      n += 6;
      p += 5;
    } else {
      out[n++] = *p++;
    }
  }
  out[n] = '\0';
  nul_refused(fx, out);
  free(out);
  cJSON_free(text);
  cJSON_Delete(root);
}

static cJSON *cmd_with(const char *command, ...)
{
  va_list ap;
  cJSON *c;
  va_start(ap, command);
  c = vcmd(command, ap);
  va_end(ap);
  return c;
}

/* deleteDevice "victim-7\u0000-old" once deleted victim-7, createDevice
 * "a\u0000b" created "a": cJSON's C string ends at the NUL. */
static void test_nul_in_device_ids_refused(void **state)
{
  struct fx *fx = *state;

  OK(fx, "createDevice", "deviceId", "victim-7");
  OK(fx, "createDevice", "deviceId", "victim-7", "moduleId", "m");
  nul_refused(fx, REQ("{\"command\":\"deleteDevice\",\"deviceId\":\"victim-7\\u0000-old\"}"));
  assert_true(xca_fake_kv_exists(fx->fake, "x509ca:device:victim-7"));
  assert_true(xca_fake_kv_exists(fx->fake, "x509ca:device:victim-7/m"));
  nul_refused(fx, REQ("{\"command\":\"deleteDevice\",\"deviceId\":\"victim-7\","
                      "\"moduleId\":\"m\\u0000x\"}"));
  assert_true(xca_fake_kv_exists(fx->fake, "x509ca:device:victim-7/m"));
  nul_refused(fx, REQ("{\"command\":\"createDevice\",\"deviceId\":\"a\\u0000b\"}"));
  assert_false(xca_fake_kv_exists(fx->fake, "x509ca:device:a"));
  nul_refused(fx, REQ("{\"command\":\"createDevice\",\"deviceId\":\"victim-7\","
                      "\"moduleId\":\"n\\u0000\"}"));
  assert_false(xca_fake_kv_exists(fx->fake, "x509ca:device:victim-7/n"));
  nul_refused(fx, REQ("{\"command\":\"getDevice\",\"deviceId\":\"victim-7\\u0000\"}"));
  nul_refused(fx, REQ("{\"command\":\"listDevices\",\"deviceId\":\"victim-7\\u0000x\"}"));
  nul_refused(fx, REQ("{\"command\":\"updateDevice\",\"deviceId\":\"victim-7\","
                      "\"status\":\"disabled\\u0000x\"}"));
  nul_refused(fx, REQ("{\"command\":\"updateDevice\",\"deviceId\":\"victim-7\","
                      "\"authentication\":\"selfSigned\\u0000\",\"primaryThumbprint\":\""
                      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}"));
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:device:victim-7", "status"), "enabled");
  assert_null(xca_fake_kv_hget(fx->fake, "x509ca:device:victim-7", "primaryThumbprint"));
}

static void test_nul_in_thumbprints_refused(void **state)
{
  struct fx *fx = *state;
  const char *hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

  nul_refused_cmd(fx, cmd_with("createDevice", "deviceId", "t", "authentication", "selfSigned",
                               "primaryThumbprint", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff@NUL@zz",
                               NULL));
  assert_false(xca_fake_kv_exists(fx->fake, "x509ca:device:t"));
  OK(fx, "createDevice", "deviceId", "t", "authentication", "selfSigned", "primaryThumbprint", hex);
  nul_refused_cmd(fx, cmd_with("updateDevice", "deviceId", "t", "secondaryThumbprint",
                               "@NUL@00112233445566778899aabbccddeeff00112233", NULL));
  nul_refused_cmd(fx, cmd_with("updateDevice", "deviceId", "t", "primaryThumbprint", "@NUL@", NULL));
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:device:t", "primaryThumbprint"), hex);
  assert_null(xca_fake_kv_hget(fx->fake, "x509ca:device:t", "secondaryThumbprint"));
}

static void test_nul_in_ca_arguments_refused(void **state)
{
  struct fx *fx = *state;
  char *pem_nul = malloc(strlen(root_pem) + 16);
  const char *code;
  char *proof;

  assert_non_null(pem_nul);
  nul_refused(fx, REQ("{\"command\":\"uploadCA\",\"name\":\"r\\u0000x\",\"certificate\":\"x\"}"));
  assert_int_equal(xca_fake_kv_count(fx->fake), 0);
  /* A certificate cut short by a NUL after its PEM would parse as that PEM. */
  sprintf(pem_nul, "%s@NUL@junk", root_pem);
  nul_refused_cmd(fx, cmd_with("uploadCA", "name", "r", "certificate", pem_nul, NULL));
  assert_int_equal(xca_fake_kv_count(fx->fake), 0);
  code = upload(fx, "r", root_pem);
  nul_refused(fx, REQ("{\"command\":\"deleteCA\",\"name\":\"r\\u0000x\"}"));
  nul_refused(fx, REQ("{\"command\":\"getCA\",\"name\":\"r\\u0000\"}"));
  nul_refused(fx, REQ("{\"command\":\"generateVerificationCode\",\"name\":\"r\\u0000\"}"));
  assert_true(xca_fake_kv_exists(fx->fake, "x509ca:ca:r"));
  proof = proof_pem(code, &root_ca, -60, DAY);
  pem_nul = realloc(pem_nul, strlen(proof) + 16);
  assert_non_null(pem_nul);
  sprintf(pem_nul, "%s@NUL@", proof);
  nul_refused_cmd(fx, cmd_with("verifyCA", "name", "r", "certificate", pem_nul, NULL));
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:ca:r", "status"), "unverified");
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:ca:r", "verificationCode"), code);
  free(proof);
  free(pem_nul);
}

/* The command name, correlationData and object keys are strings too; a key
 * "deviceId\u0000x" would otherwise be found as "deviceId". */
static void test_nul_in_names_keys_and_correlation_refused(void **state)
{
  struct fx *fx = *state;

  OK(fx, "createDevice", "deviceId", "victim-7");
  nul_refused(fx, REQ("{\"command\":\"listCAs\",\"correlationData\":\"c\\u0000d\"}"));
  nul_refused(fx, REQ("{\"command\":\"deleteDevice\\u0000x\",\"deviceId\":\"victim-7\"}"));
  nul_refused(fx, REQ("{\"command\":\"deleteDevice\",\"deviceId\\u0000x\":\"victim-7\"}"));
  nul_refused(fx, "{\"commands\\u0000\":[{\"command\":\"deleteDevice\",\"deviceId\":\"victim-7\"}]}");
  assert_true(xca_fake_kv_exists(fx->fake, "x509ca:device:victim-7"));
}

/* Nothing of the request runs, not even the commands before the bad one. */
static void test_nul_refuses_whole_request(void **state)
{
  struct fx *fx = *state;

  nul_refused(fx, REQ("{\"command\":\"createDevice\",\"deviceId\":\"first\"},"
                      "{\"command\":\"createDevice\",\"deviceId\":\"second\\u0000\"}"));
  assert_int_equal(xca_fake_kv_count(fx->fake), 0);
}

/* A raw 0 byte inside a string counts as well; outside strings cJSON takes
 * it for whitespace and it cuts nothing short. */
static void test_raw_nul_byte(void **state)
{
  struct fx *fx = *state;
  static const char inside[] = REQ("{\"command\":\"createDevice\",\"deviceId\":\"a\0b\"}");
  static const char outside[] = REQ("{\"command\":\"createDevice\",\0\"deviceId\":\"ab\"}");

  nul_refused_raw(fx, inside, sizeof(inside) - 1);
  assert_false(xca_fake_kv_exists(fx->fake, "x509ca:device:a"));
  run_raw(fx, outside, sizeof(outside) - 1);
  assert_int_equal(nresp(fx), 1);
  assert_null(err_of(fx, 0));
  assert_true(xca_fake_kv_exists(fx->fake, "x509ca:device:ab"));
}

/* "\\u0000" is an escaped backslash followed by the text u0000: no NUL.
 * Escapes are skipped whole, so \\\u0000 and \"\u0000 still hold one. */
static void test_escaped_backslash_is_no_nul(void **state)
{
  struct fx *fx = *state;

  run_str(fx, REQ("{\"command\":\"listCAs\",\"correlationData\":\"c\\\\u0000d\"}"));
  assert_int_equal(nresp(fx), 1);
  assert_null(err_of(fx, 0));
  assert_string_equal(cJSON_GetObjectItem(resp(fx, 0), "correlationData")->valuestring,
                      "c\\u0000d");
  run_str(fx, REQ("{\"command\":\"deleteDevice\",\"deviceId\":\"v\\\\u0000\"}"));
  assert_string_equal(err_of(fx, 0), BAD_ID("deviceId", "v\\u0000"));
  run_str(fx, REQ("{\"command\":\"listCAs\",\"correlationData\":\"\\\\\\\\u0000\"}"));
  assert_null(err_of(fx, 0));
  nul_refused(fx, REQ("{\"command\":\"listCAs\",\"correlationData\":\"c\\\\\\u0000\"}"));
  nul_refused(fx, REQ("{\"command\":\"listCAs\",\"correlationData\":\"\\\"\\u0000\"}"));
  /* other \u escapes are fine */
  run_str(fx, REQ("{\"command\":\"listCAs\",\"correlationData\":\"\\u0001\\u0100\\u00e9\"}"));
  assert_null(err_of(fx, 0));
}

/* ------------------------------------------------------------------------ */
/* Audit records (the audit stream's admin entries)                          */
/* ------------------------------------------------------------------------ */

static const struct xca_admin_audit *record(struct fx *fx, int i)
{
  assert_true(i < fx->res.audit.count);
  assert_non_null(fx->res.records);
  return &fx->res.records[i];
}

/* Each record holds the facts of its line: the line is rebuilt from them. */
static void assert_record_is_line(struct fx *fx, int i)
{
  const struct xca_admin_audit *r = record(fx, i);
  char line[1024];

  snprintf(line, sizeof(line), "admin=%s command=%s target=%s%s%s result=%s", r->admin,
           r->command, r->target, r->detail[0] ? " " : "", r->detail, r->result);
  assert_string_equal(line, audit_line(fx, i));
}

static void assert_nowhere_in_record(struct fx *fx, int i, const char *secret)
{
  const struct xca_admin_audit *r = record(fx, i);
  const char *fields[] = {r->admin, r->command, r->target, r->detail, r->result};
  for (size_t j = 0; j < sizeof(fields) / sizeof(fields[0]); j++) {
    assert_null(strstr(fields[j], secret));
  }
}

static void test_records_of_upload_mask_the_code(void **state)
{
  struct fx *fx = *state;
  const char *code = upload(fx, "company-x", root_pem);
  const struct xca_admin_audit *r = record(fx, 0);

  assert_string_equal(r->admin, "admin");
  assert_string_equal(r->command, "uploadCA");
  assert_string_equal(r->target, "ca:company-x");
  assert_string_equal(r->detail, "verificationCode=*****");
  assert_string_equal(r->result, "ok");
  assert_nowhere_in_record(fx, 0, code);
  assert_record_is_line(fx, 0);
}

static void test_records_of_refused_key_upload_hold_no_key(void **state)
{
  struct fx *fx = *state;
  char both[8192];
  char secret[32];

  snprintf(secret, sizeof(secret), "%.20s", strchr(root_key_pem, '\n') + 1);
  snprintf(both, sizeof(both), "%s%s", root_pem, root_key_pem);
  FAILS(fx, "a private key was supplied; it was discarded", "uploadCA", "name", "r",
        "certificate", both);
  assert_string_equal(record(fx, 0)->result,
                      "error (a private key was supplied; it was discarded)");
  assert_string_equal(record(fx, 0)->detail, "");
  assert_nowhere_in_record(fx, 0, secret);
  assert_nowhere_in_record(fx, 0, "PRIVATE");
  assert_record_is_line(fx, 0);
}

static void test_records_follow_every_command(void **state)
{
  struct fx *fx = *state;

  run_str(fx, "{\"commands\":[{\"command\":\"createDevice\",\"deviceId\":\"d\"},"
              "{\"command\":\"getDevice\",\"deviceId\":\"nope\"},"
              "{\"command\":\"evil\\ncmd\"}]}");
  assert_int_equal(fx->res.audit.count, 3);
  assert_string_equal(record(fx, 0)->command, "createDevice");
  assert_string_equal(record(fx, 0)->target, "device:d");
  assert_string_equal(record(fx, 0)->result, "ok");
  assert_string_equal(record(fx, 1)->target, "device:nope");
  assert_string_equal(record(fx, 1)->result, "error (device not found)");
  assert_string_equal(record(fx, 2)->command, "unknown");
  assert_string_equal(record(fx, 2)->target, "-");
  for (int i = 0; i < 3; i++) {
    assert_record_is_line(fx, i);
  }
  run_str(fx, "not json");
  assert_string_equal(record(fx, 0)->command, "-");
  assert_string_equal(record(fx, 0)->result, "error (invalid JSON)");
  assert_record_is_line(fx, 0);
}

/* ------------------------------------------------------------------------ */
/* getStats                                                                  */
/* ------------------------------------------------------------------------ */

static double num(struct fx *fx, const char *name)
{
  cJSON *v = cJSON_GetObjectItemCaseSensitive(data(fx), name);
  assert_true(cJSON_IsNumber(v));
  return v->valuedouble;
}

static void test_get_stats_returns_the_counters(void **state)
{
  struct fx *fx = *state;
  struct xca_stats *st = calloc(1, sizeof(*st));

  assert_non_null(st);
  xca_stats_init(st);
  for (int i = 0; i < 12; i++) {
    xca_stats_accepted(st);
  }
  xca_stats_refused(st, XCA_E_CN_MISMATCH);
  xca_stats_refused(st, XCA_E_CN_MISMATCH);
  xca_stats_refused(st, XCA_E_REGISTRY_UNAVAILABLE);
  xca_stats_redis_call(st, 120, 0);
  xca_stats_set_gauge(st, XCA_GAUGE_SESSIONS, 4);
  xca_stats_set_gauge(st, XCA_GAUGE_AUDIT_DROPPED, 2);
  fx->ctx.stats = st;
  OK(fx, "getStats");
  assert_true(num(fx, "connects/accepted") == 12);
  assert_true(num(fx, "connects/refused") == 3);
  assert_true(num(fx, "refused/cn_mismatch") == 2);
  assert_true(num(fx, "refused/registry_unavailable") == 1);
  assert_null(cJSON_GetObjectItemCaseSensitive(data(fx), "refused/chain"));
  assert_true(num(fx, "redis/latency_us/p50") == 120);
  assert_true(num(fx, "redis/latency_us/p99") == 120);
  assert_true(num(fx, "sessions") == 4);
  assert_true(num(fx, "cas") == 0);
  assert_true(num(fx, "audit/dropped") == 2);
  assert_true(num(fx, "dropped") == 0);
  assert_true(num(fx, "enrolled") == 0);
  assert_true(num(fx, "cache/hits") == 0);
  assert_true(num(fx, "cache/misses") == 0);
  assert_true(num(fx, "chaincache/hits") == 0);
  assert_true(num(fx, "prefetch/hits") == 0);
  assert_true(num(fx, "redis/errors") == 0);
  assert_true(num(fx, "crl/expired") == 0);
  assert_int_equal(cJSON_GetArraySize(data(fx)), 24);
  assert_string_equal(record(fx, 0)->command, "getStats");
  assert_string_equal(record(fx, 0)->result, "ok");
  free(st);
}

static void test_get_stats_without_stats_fails(void **state)
{
  struct fx *fx = *state;
  FAILS(fx, "invalid argument", "getStats");
}

static void test_registry_down(void **state)
{
  struct fx *fx = *state;

  xca_fake_kv_set_down(fx->fake, 1);
  FAILS(fx, "registry unavailable", "createDevice", "deviceId", "d");
  FAILS(fx, "registry unavailable", "uploadCA", "name", "r", "certificate", root_pem);
  FAILS(fx, "registry unavailable", "listDevices");
  FAILS(fx, "registry unavailable", "listCAs");
  FAILS(fx, "registry unavailable", "getCA", "name", "r");
}

static void test_invalid_context(void **state)
{
  struct fx *fx = *state;
  struct xca_admin_ctx bad = fx->ctx;
  struct xca_admin_result res;

  bad.cfg = NULL;
  assert_int_equal(xca_admin_handle(&bad, "{}", 2, "a", &res), XCA_E_INVAL);
  assert_null(res.response);
  assert_int_equal(xca_admin_handle(NULL, "{}", 2, "a", &res), XCA_E_INVAL);
  xca_admin_result_free(NULL);
  /* A NULL admin name logs as "-". */
  const char *req = "{\"commands\":[{\"command\":\"listCAs\"}]}";
  assert_int_equal(xca_admin_handle(&fx->ctx, req, strlen(req), NULL, &res), XCA_OK);
  assert_non_null(strstr(res.audit.item[0], "admin=- command=listCAs target=- result=ok"));
  xca_admin_result_free(&res);
}

/* ------------------------------------------------------------------------ */
/* Enrollment groups                                                         */
/* ------------------------------------------------------------------------ */

/* A CA stored as a broker would find it after uploadCA (and verifyCA). */
static void store_ca(struct fx *fx, const char *name, const char *pem, const char *status)
{
  char key[128];

  snprintf(key, sizeof(key), "x509ca:ca:%s", name);
  assert_int_equal(xca_fake_kv_hset(fx->fake, key, "certificate", pem), XCA_OK);
  assert_int_equal(xca_fake_kv_hset(fx->fake, key, "status", status), XCA_OK);
}

static void test_create_group_under_verified_root(void **state)
{
  struct fx *fx = *state;
  const char *k = "x509ca:group:factory-y";
  char thumb[XCA_SHA256_HEX];

  store_ca(fx, "company-x", root_pem, "verified");
  OK(fx, "createEnrollmentGroup", "name", "factory-y", "certificate", factory_pem);
  xca_cert_sha256(factory_ca.cert, thumb);
  assert_string_equal(dstr(fx, "name"), "factory-y");
  assert_string_equal(dstr(fx, "status"), "enabled");
  assert_string_equal(dstr(fx, "initialStatus"), "enabled");
  assert_string_equal(dstr(fx, "subject"), "CN=Factory-Y CA");
  assert_string_equal(dstr(fx, "thumbprint"), thumb);
  assert_changed(fx, "group:factory-y");
  assert_non_null(strstr(audit_line(fx, 0),
                         "command=createEnrollmentGroup target=group:factory-y result=ok"));
  assert_string_equal(xca_fake_kv_hget(fx->fake, k, "thumbprint"), thumb);
  assert_string_equal(xca_fake_kv_hget(fx->fake, k, "subject"), "CN=Factory-Y CA");
  assert_string_equal(xca_fake_kv_hget(fx->fake, k, "status"), "enabled");
  assert_string_equal(xca_fake_kv_hget(fx->fake, k, "initialStatus"), "enabled");
  assert_string_equal(xca_fake_kv_hget(fx->fake, k, "certificate"), factory_pem);
  /* Statuses given; the verified root itself may have a group too. */
  OK(fx, "createEnrollmentGroup", "name", "company-x", "certificate", root_pem, "status",
     "disabled", "initialStatus", "disabled");
  assert_string_equal(dstr(fx, "status"), "disabled");
  assert_string_equal(dstr(fx, "initialStatus"), "disabled");
  assert_string_equal(xca_fake_kv_hget(fx->fake, "x509ca:group:company-x", "initialStatus"),
                      "disabled");
}

static void test_create_group_chains_through_verified_cas_and_groups(void **state)
{
  struct fx *fx = *state;
  const char *no_issuer =
    "certificate chain does not lead to a verified CA (unable to get local issuer certificate)";

  store_ca(fx, "company-x", root_pem, "verified");
  /* Technician-Z's issuer is neither a verified CA nor a group yet. */
  FAILS(fx, no_issuer, "createEnrollmentGroup", "name", "tech-z", "certificate", tech_pem);
  OK(fx, "createEnrollmentGroup", "name", "factory-y", "certificate", factory_pem);
  OK(fx, "createEnrollmentGroup", "name", "tech-z", "certificate", tech_pem);
  /* A verified intermediate is an anchor on its own. */
  xca_fake_kv(fx->fake).ops->del(fx->fake, "x509ca:ca:company-x");
  xca_fake_kv(fx->fake).ops->del(fx->fake, "x509ca:group:factory-y");
  xca_fake_kv(fx->fake).ops->del(fx->fake, "x509ca:group:tech-z");
  store_ca(fx, "factory-y", factory_pem, "verified");
  OK(fx, "createEnrollmentGroup", "name", "tech-z", "certificate", tech_pem);
}

static void test_create_group_refusals(void **state)
{
  struct fx *fx = *state;
  const char *no_issuer =
    "certificate chain does not lead to a verified CA (unable to get local issuer certificate)";
  char both[8192];
  const char *e;

  store_ca(fx, "unverified-x", root_pem, "unverified");
  FAILS(fx, no_issuer, "createEnrollmentGroup", "name", "g", "certificate", factory_pem);
  e = cmd(fx, "createEnrollmentGroup", "name", "g", "certificate", other_pem, NULL);
  assert_non_null(e);
  assert_true(strncmp(e, "certificate chain does not lead to a verified CA (self", 54) == 0);
  store_ca(fx, "company-x", root_pem, "verified");
  FAILS(fx, "certificate is not a CA certificate", "createEnrollmentGroup", "name", "g",
        "certificate", leaf_pem);
  FAILS(fx, "certificate is outside its validity period", "createEnrollmentGroup", "name", "g",
        "certificate", expired_pem);
  FAILS(fx, "certificate key too weak (RSA 1024 bits < 2048)", "createEnrollmentGroup", "name",
        "g", "certificate", weak_pem);
  FAILS(fx, "invalid PEM certificate", "createEnrollmentGroup", "name", "g", "certificate", "x");
  snprintf(both, sizeof(both), "%s%s", factory_pem, factory_key_pem);
  FAILS(fx, "a private key was supplied; it was discarded", "createEnrollmentGroup", "name",
        "g", "certificate", both);
  assert_null(strstr(fx->res.response, "PRIVATE"));
  FAILS(fx, BAD_NAME("a b"), "createEnrollmentGroup", "name", "a b", "certificate",
        factory_pem);
  FAILS(fx, "missing or invalid argument: certificate", "createEnrollmentGroup", "name", "g");
  FAILS(fx, "invalid status: status 'on' must be enabled or disabled", "createEnrollmentGroup",
        "name", "g", "certificate", factory_pem, "status", "on");
  FAILS(fx, "invalid status: initialStatus 'Enabled' must be enabled or disabled",
        "createEnrollmentGroup", "name", "g", "certificate", factory_pem, "initialStatus",
        "Enabled");
  assert_int_equal(xca_fake_kv_count(fx->fake), 2); /* the two CAs */
  /* Duplicates: the name, and the certificate under another name. */
  OK(fx, "createEnrollmentGroup", "name", "factory-y", "certificate", factory_pem);
  FAILS(fx, "enrollment group already exists", "createEnrollmentGroup", "name", "factory-y",
        "certificate", factory_pem);
  FAILS(fx, "enrollment group already exists", "createEnrollmentGroup", "name", "factory-y",
        "certificate", root_pem);
  /* A taken name is refused whatever the certificate. */
  FAILS(fx, "enrollment group already exists", "createEnrollmentGroup", "name", "factory-y",
        "certificate", leaf_pem);
  FAILS(fx, "another enrollment group has this certificate (factory-y)",
        "createEnrollmentGroup", "name", "factory-y-2", "certificate", factory_pem);
  assert_non_null(strstr(audit_line(fx, 0), "target=group:factory-y-2 result=error"));
  assert_int_equal(xca_fake_kv_count(fx->fake), 3);
}

static void test_get_list_update_delete_groups(void **state)
{
  struct fx *fx = *state;
  const char *k = "x509ca:group:factory-y";
  cJSON *groups;

  store_ca(fx, "company-x", root_pem, "verified");
  FAILS(fx, "enrollment group not found", "getEnrollmentGroup", "name", "factory-y");
  OK(fx, "createEnrollmentGroup", "name", "factory-y", "certificate", factory_pem);
  OK(fx, "createEnrollmentGroup", "name", "company-x", "certificate", root_pem);
  OK(fx, "getEnrollmentGroup", "name", "factory-y");
  assert_string_equal(dstr(fx, "subject"), "CN=Factory-Y CA");
  assert_string_equal(dstr(fx, "certificate"), factory_pem);
  assert_int_equal(fx->res.changed.count, 0);
  OK(fx, "listEnrollmentGroups");
  groups = cJSON_GetObjectItemCaseSensitive(data(fx), "groups");
  assert_int_equal(cJSON_GetArraySize(groups), 2);
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(groups, 0), "name")->valuestring,
                      "company-x");
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(groups, 1), "name")->valuestring,
                      "factory-y");
  assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(groups, 1), "certificate"));
  /* Update: only what is given changes. */
  OK(fx, "updateEnrollmentGroup", "name", "factory-y", "status", "disabled");
  assert_string_equal(dstr(fx, "status"), "disabled");
  assert_string_equal(dstr(fx, "initialStatus"), "enabled");
  assert_changed(fx, "group:factory-y");
  OK(fx, "updateEnrollmentGroup", "name", "factory-y", "initialStatus", "disabled");
  assert_string_equal(dstr(fx, "status"), "disabled");
  assert_string_equal(xca_fake_kv_hget(fx->fake, k, "initialStatus"), "disabled");
  FAILS(fx, "missing or invalid argument: status or initialStatus must be given",
        "updateEnrollmentGroup", "name", "factory-y");
  FAILS(fx, "invalid status: status 'off' must be enabled or disabled", "updateEnrollmentGroup",
        "name", "factory-y", "status", "off");
  FAILS(fx, "enrollment group not found", "updateEnrollmentGroup", "name", "nope", "status",
        "enabled");
  /* Written with redis-cli: shown as stored (it counts as disabled), as a
   * device's status is; an absent one is shown as its default. */
  xca_fake_kv_hset(fx->fake, k, "status", "paused");
  OK(fx, "getEnrollmentGroup", "name", "factory-y");
  assert_string_equal(dstr(fx, "status"), "paused");
  {
    static const char *const del[] = {"initialStatus"};
    struct xca_kv kv = xca_fake_kv(fx->fake);
    struct xca_fields none = {0};
    assert_int_equal(kv.ops->update(kv.impl, k, NULL, NULL, &none, del, 1), XCA_OK);
  }
  OK(fx, "getEnrollmentGroup", "name", "factory-y");
  assert_string_equal(dstr(fx, "initialStatus"), "enabled");
  /* Delete. */
  OK(fx, "deleteEnrollmentGroup", "name", "factory-y");
  assert_changed(fx, "group:factory-y");
  assert_false(xca_fake_kv_exists(fx->fake, k));
  FAILS(fx, "enrollment group not found", "deleteEnrollmentGroup", "name", "factory-y");
  FAILS(fx, BAD_NAME("a*"), "deleteEnrollmentGroup", "name", "a*");
  OK(fx, "listEnrollmentGroups");
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(data(fx), "groups")), 1);
}

static void test_get_device_shows_enrollment(void **state)
{
  struct fx *fx = *state;
  cJSON *v;

  xca_fake_kv_hset(fx->fake, "x509ca:device:w9", "status", "enabled");
  OK(fx, "getDevice", "deviceId", "w9");
  assert_null(cJSON_GetObjectItemCaseSensitive(data(fx), "enrollmentGroup"));
  assert_null(cJSON_GetObjectItemCaseSensitive(data(fx), "enrolledAt"));
  xca_fake_kv_hset(fx->fake, "x509ca:device:w9", "enrollmentGroup", "factory-y");
  xca_fake_kv_hset(fx->fake, "x509ca:device:w9", "enrolledAt", "1700000000");
  OK(fx, "getDevice", "deviceId", "w9");
  assert_string_equal(dstr(fx, "enrollmentGroup"), "factory-y");
  v = cJSON_GetObjectItemCaseSensitive(data(fx), "enrolledAt");
  assert_true(cJSON_IsNumber(v));
  assert_true(v->valuedouble == 1700000000.0);
  OK(fx, "listDevices");
  v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(data(fx), "devices"), 0);
  assert_string_equal(cJSON_GetObjectItem(v, "enrollmentGroup")->valuestring, "factory-y");
}

static void test_groups_registry_down(void **state)
{
  struct fx *fx = *state;

  store_ca(fx, "company-x", root_pem, "verified");
  xca_fake_kv_set_down(fx->fake, 1);
  FAILS(fx, "registry unavailable", "createEnrollmentGroup", "name", "g", "certificate",
        factory_pem);
  FAILS(fx, "registry unavailable", "getEnrollmentGroup", "name", "g");
  FAILS(fx, "registry unavailable", "listEnrollmentGroups");
  FAILS(fx, "registry unavailable", "updateEnrollmentGroup", "name", "g", "status", "enabled");
  FAILS(fx, "registry unavailable", "deleteEnrollmentGroup", "name", "g");
}

/* ------------------------------------------------------------------------ */
/* Revocation                                                                */
/* ------------------------------------------------------------------------ */

/* PEM of a CRL by issuer listing the certificates of revoked[0..n),
 * thisUpdate now+this_s (nextUpdate a day later), signed by sign_key
 * (NULL = the issuer's). */
static char *crl_pem(const struct xca_tcert *issuer, X509 *const *revoked, int n, long this_s,
                     EVP_PKEY *sign_key)
{
  struct xca_tcrl_spec spec = {.revoked = revoked, .count = n, .this_s = this_s,
                               .next_s = this_s + DAY, .sign_key = sign_key};
  char *pem = xca_certgen_crl(issuer, &spec);

  assert_non_null(pem);
  return pem;
}

static double dnum(struct fx *fx, const char *name)
{
  cJSON *v = cJSON_GetObjectItemCaseSensitive(data(fx), name);
  assert_true(cJSON_IsNumber(v));
  return v->valuedouble;
}

static void test_revoke_certificate_by_pem_and_thumbprint(void **state)
{
  struct fx *fx = *state;
  char thumb[XCA_SHA256_HEX];
  char key[128];
  char target[128];
  char upper[200];

  xca_cert_sha256(leaf.cert, thumb);
  snprintf(key, sizeof(key), "x509ca:revoked:%s", thumb);
  snprintf(target, sizeof(target), "command=revokeCertificate target=revoked:%s result=ok", thumb);
  OK(fx, "revokeCertificate", "certificate", leaf_pem, "reason", "keyCompromise");
  assert_string_equal(dstr(fx, "thumbprint"), thumb);
  assert_string_equal(dstr(fx, "subject"), "CN=widget");
  assert_string_equal(dstr(fx, "reason"), "keyCompromise");
  assert_true(dnum(fx, "revokedAt") == (double)fx->now);
  assert_string_equal(xca_fake_kv_hget(fx->fake, key, "reason"), "keyCompromise");
  assert_string_equal(xca_fake_kv_hget(fx->fake, key, "subject"), "CN=widget");
  assert_non_null(xca_fake_kv_hget(fx->fake, key, "revokedAt"));
  assert_changed(fx, key + strlen("x509ca:"));
  assert_non_null(strstr(audit_line(fx, 0), target));
  FAILS(fx, "revoked certificate already exists", "revokeCertificate", "thumbprint", thumb);
  /* By thumbprint: uppercase with ':' separators, default reason, no subject. */
  xca_cert_sha256(root_ca.cert, thumb);
  size_t j = 0;
  for (int i = 0; thumb[i] != '\0'; i++) {
    if (i > 0 && i % 2 == 0) {
      upper[j++] = ':';
    }
    upper[j++] = (char)(thumb[i] >= 'a' ? thumb[i] - 32 : thumb[i]);
  }
  upper[j] = '\0';
  OK(fx, "revokeCertificate", "thumbprint", upper);
  assert_string_equal(dstr(fx, "thumbprint"), thumb);
  assert_string_equal(dstr(fx, "reason"), "unspecified");
  assert_null(cJSON_GetObjectItemCaseSensitive(data(fx), "subject"));
}

static void test_revoke_certificate_refusals(void **state)
{
  struct fx *fx = *state;
  char both[8192];
  char thumb[XCA_SHA256_HEX];

  xca_cert_sha256(leaf.cert, thumb);
  FAILS(fx, "invalid PEM certificate", "revokeCertificate", "certificate", "not a pem");
  snprintf(both, sizeof(both), "%s%s", root_pem, root_key_pem);
  FAILS(fx, "a private key was supplied; it was discarded", "revokeCertificate", "certificate",
        both);
  assert_null(strstr(fx->res.response, "PRIVATE"));
  FAILS(fx,
        "invalid thumbprint: thumbprint 'xyz' must be a SHA-256 thumbprint (64 hex digits, ':' "
        "separators allowed)",
        "revokeCertificate", "thumbprint", "xyz");
  FAILS(fx,
        "invalid thumbprint: thumbprint '0123456789012345678901234567890123456789' must be a "
        "SHA-256 thumbprint (64 hex digits, ':' separators allowed)",
        "revokeCertificate", "thumbprint", "0123456789012345678901234567890123456789");
  FAILS(fx, "missing or invalid argument: certificate or thumbprint must be given (one of them)",
        "revokeCertificate");
  FAILS(fx, "missing or invalid argument: certificate or thumbprint must be given (one of them)",
        "revokeCertificate", "certificate", leaf_pem, "thumbprint", thumb);
  FAILS(fx,
        "missing or invalid argument: reason 'a?b' must be 1-64 printable ASCII characters",
        "revokeCertificate", "thumbprint", thumb, "reason", "a\nb");
  FAILS(fx, "missing or invalid argument: reason '' must be 1-64 printable ASCII characters",
        "revokeCertificate", "thumbprint", thumb, "reason", "");
  assert_int_equal(xca_fake_kv_count(fx->fake), 0);
}

static void test_unrevoke_certificate(void **state)
{
  struct fx *fx = *state;
  char thumb[XCA_SHA256_HEX];
  char key[128];

  xca_cert_sha256(leaf.cert, thumb);
  snprintf(key, sizeof(key), "x509ca:revoked:%s", thumb);
  FAILS(fx, "revoked certificate not found", "unrevokeCertificate", "thumbprint", thumb);
  /* Written with redis-cli: the key's existence revokes. */
  assert_int_equal(xca_fake_kv_hset(fx->fake, key, "reason", "keyCompromise"), XCA_OK);
  OK(fx, "unrevokeCertificate", "thumbprint", thumb);
  assert_false(xca_fake_kv_exists(fx->fake, key));
  assert_changed(fx, key + strlen("x509ca:"));
  FAILS(fx,
        "invalid thumbprint: thumbprint 'nope' must be a SHA-256 thumbprint (64 hex digits, ':' "
        "separators allowed)",
        "unrevokeCertificate", "thumbprint", "nope");
  FAILS(fx, "missing or invalid argument: thumbprint", "unrevokeCertificate");
}

static void test_list_revoked_paging(void **state)
{
  struct fx *fx = *state;
  char seen[30][XCA_SHA256_HEX];
  char cursor[32] = "0";
  int nseen = 0;

  for (int i = 0; i < 25; i++) {
    char key[128];
    snprintf(key, sizeof(key), "x509ca:revoked:%064x", i + 1);
    assert_int_equal(xca_fake_kv_hset(fx->fake, key, "reason", "superseded"), XCA_OK);
  }
  xca_fake_kv_hset(fx->fake, "x509ca:revoked:not-a-thumbprint", "reason", "x"); /* skipped */
  /* A name in another form than the lowercase thumbprint revokes nothing
   * (xca_revocation_key_name): skipped, even when the canonical key exists
   * too (it is listed once). */
  char upper[128];
  snprintf(upper, sizeof(upper), "x509ca:revoked:%064X", 11);
  xca_fake_kv_hset(fx->fake, upper, "reason", "x");
  for (int page = 0; page < 10; page++) {
    cJSON *cnt = cJSON_CreateObject();
    cJSON_AddStringToObject(cnt, "command", "listRevoked");
    cJSON_AddStringToObject(cnt, "cursor", cursor);
    cJSON_AddNumberToObject(cnt, "count", 10);
    run_cmd(fx, cnt);
    assert_null(err_of(fx, 0));
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(data(fx), "revoked");
    for (int i = 0; i < cJSON_GetArraySize(arr); i++) {
      cJSON *e = cJSON_GetArrayItem(arr, i);
      assert_string_equal(cJSON_GetObjectItem(e, "reason")->valuestring, "superseded");
      assert_true(nseen < 30);
      snprintf(seen[nseen++], XCA_SHA256_HEX, "%s", cJSON_GetObjectItem(e, "thumbprint")->valuestring);
    }
    snprintf(cursor, sizeof(cursor), "%s", dstr(fx, "cursor"));
    if (strcmp(cursor, "0") == 0) {
      break;
    }
  }
  assert_string_equal(cursor, "0");
  assert_int_equal(nseen, 25);
  for (int i = 0; i < nseen; i++) {
    for (int j = i + 1; j < nseen; j++) {
      assert_string_not_equal(seen[i], seen[j]);
    }
  }
  FAILS(fx, BAD_CURSOR("x"), "listRevoked", "cursor", "x");
}

static void test_upload_crl_of_a_registered_ca(void **state)
{
  struct fx *fx = *state;
  X509 *listed[] = {factory_ca.cert};
  char *pem = crl_pem(&root_ca, listed, 1, -120, NULL);
  char *older = crl_pem(&root_ca, listed, 1, -240, NULL);
  char *newer = crl_pem(&root_ca, NULL, 0, -60, NULL);
  char thumb[XCA_SHA256_HEX];
  char key[128];
  cJSON *crls;

  store_ca(fx, "company-x", root_pem, "verified");
  xca_cert_sha256(root_ca.cert, thumb);
  snprintf(key, sizeof(key), "x509ca:crl:%s", thumb);
  OK(fx, "uploadCRL", "crl", pem);
  assert_string_equal(dstr(fx, "issuerThumbprint"), thumb);
  assert_string_equal(dstr(fx, "issuerSubject"), "CN=Company-X Root CA");
  assert_true(dnum(fx, "count") == 1);
  assert_true(dnum(fx, "nextUpdate") - dnum(fx, "thisUpdate") == DAY);
  assert_changed(fx, key + strlen("x509ca:"));
  assert_non_null(strstr(audit_line(fx, 0), "command=uploadCRL target=crl:"));
  assert_string_equal(xca_fake_kv_hget(fx->fake, key, "count"), "1");
  assert_string_equal(xca_fake_kv_hget(fx->fake, key, "issuer"), root_pem);
  assert_non_null(strstr(xca_fake_kv_hget(fx->fake, key, "crl"), "-----BEGIN X509 CRL-----"));
  /* The same again, and an older one: refused. */
  const char *e = cmd(fx, "uploadCRL", "crl", pem, NULL);
  assert_non_null(e);
  assert_true(strncmp(e, "CRL is not newer than the one held for its issuer (thisUpdate ", 62) == 0);
  e = cmd(fx, "uploadCRL", "crl", older, NULL);
  assert_non_null(e);
  assert_true(strncmp(e, "CRL is not newer than the one held for its issuer", 49) == 0);
  /* A newer one replaces it. */
  OK(fx, "uploadCRL", "crl", newer);
  assert_true(dnum(fx, "count") == 0);
  assert_string_equal(xca_fake_kv_hget(fx->fake, key, "count"), "0");
  OK(fx, "listCRLs");
  crls = cJSON_GetObjectItemCaseSensitive(data(fx), "crls");
  assert_int_equal(cJSON_GetArraySize(crls), 1);
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(crls, 0), "issuerThumbprint")
                        ->valuestring, thumb);
  assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(crls, 0), "count")->valuedouble == 0);
  OK(fx, "deleteCRL", "issuerThumbprint", thumb);
  assert_false(xca_fake_kv_exists(fx->fake, key));
  assert_changed(fx, key + strlen("x509ca:"));
  FAILS(fx, "CRL not found", "deleteCRL", "issuerThumbprint", thumb);
  FAILS(fx,
        "invalid thumbprint: issuerThumbprint 'zz' must be a SHA-256 thumbprint (64 hex digits, "
        "':' separators allowed)",
        "deleteCRL", "issuerThumbprint", "zz");
  free(pem);
  free(older);
  free(newer);
}

static void test_upload_crl_with_its_issuer(void **state)
{
  struct fx *fx = *state;
  X509 *listed[] = {tech_ca.cert};
  char *by_factory = crl_pem(&factory_ca, listed, 1, -60, NULL);
  char *by_tech = crl_pem(&tech_ca, NULL, 0, -60, NULL);
  char thumb[XCA_SHA256_HEX];
  const char *e;

  /* Factory-Y is no registered CA: its certificate must be given. */
  store_ca(fx, "company-x", root_pem, "verified");
  FAILS(fx,
        "CRL issuer is neither a registered CA nor chains to a verified CA (no registered CA has "
        "its name; give its issuer)",
        "uploadCRL", "crl", by_factory);
  OK(fx, "uploadCRL", "crl", by_factory, "issuer", factory_pem);
  xca_cert_sha256(factory_ca.cert, thumb);
  assert_string_equal(dstr(fx, "issuerThumbprint"), thumb);
  assert_string_equal(dstr(fx, "issuerSubject"), "CN=Factory-Y CA");
  /* Technician-Z chains through Factory-Y, registered (not verified). */
  FAILS(fx,
        "CRL issuer is neither a registered CA nor chains to a verified CA (unable to get local "
        "issuer certificate)",
        "uploadCRL", "crl", by_tech, "issuer", tech_pem);
  store_ca(fx, "factory-y", factory_pem, "unverified");
  OK(fx, "uploadCRL", "crl", by_tech, "issuer", tech_pem);
  /* The wrong issuer given: its key did not sign it. */
  e = cmd(fx, "uploadCRL", "crl", by_tech, "issuer", factory_pem, NULL);
  assert_non_null(e);
  assert_string_equal(e, "CRL is not signed by its issuer's key");
  FAILS(fx, "certificate is not a CA certificate", "uploadCRL", "crl", by_tech, "issuer",
        leaf_pem);
  free(by_factory);
  free(by_tech);
}

static void test_upload_crl_refusals(void **state)
{
  struct fx *fx = *state;
  char *forged = crl_pem(&root_ca, NULL, 0, -60, other_ca.key);
  char *by_other = crl_pem(&other_ca, NULL, 0, -60, NULL);
  char *good = crl_pem(&root_ca, NULL, 0, -60, NULL);
  char both[8192];

  store_ca(fx, "company-x", root_pem, "verified");
  /* Company-X's name, another key. */
  FAILS(fx, "CRL is not signed by its issuer's key", "uploadCRL", "crl", forged);
  FAILS(fx, "CRL is not signed by its issuer's key", "uploadCRL", "crl", forged, "issuer",
        root_pem);
  /* A root nobody verified, given as the issuer. */
  const char *e = cmd(fx, "uploadCRL", "crl", by_other, "issuer", other_pem, NULL);
  assert_non_null(e);
  assert_true(strncmp(e, "CRL issuer is neither a registered CA nor chains to a verified CA (",
                      67) == 0);
  FAILS(fx, "invalid CRL", "uploadCRL", "crl", "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n");
  FAILS(fx, "invalid CRL", "uploadCRL", "crl", root_pem);
  snprintf(both, sizeof(both), "%s%s", good, root_key_pem);
  FAILS(fx, "a private key was supplied; it was discarded", "uploadCRL", "crl", both);
  assert_null(strstr(fx->res.response, "PRIVATE"));
  snprintf(both, sizeof(both), "%s%s", root_pem, root_key_pem);
  FAILS(fx, "a private key was supplied; it was discarded", "uploadCRL", "crl", good, "issuer",
        both);
  FAILS(fx, "missing or invalid argument: crl", "uploadCRL");
  /* Dated two days ahead: it would shadow every real CRL of Company-X. */
  char *future = crl_pem(&root_ca, NULL, 0, 2 * DAY, NULL);
  e = cmd(fx, "uploadCRL", "crl", future, NULL);
  assert_non_null(e);
  assert_non_null(strstr(e, "invalid CRL"));
  assert_non_null(strstr(e, "is in the future"));
  assert_int_equal(xca_fake_kv_count(fx->fake), 1); /* the CA alone */
  free(future);
  free(forged);
  free(by_other);
  free(good);
}

static void test_group_of_a_revoked_ca_is_refused(void **state)
{
  struct fx *fx = *state;
  char thumb[XCA_SHA256_HEX];

  store_ca(fx, "company-x", root_pem, "verified");
  xca_cert_sha256(factory_ca.cert, thumb);
  OK(fx, "revokeCertificate", "thumbprint", thumb);
  const char *e = cmd(fx, "createEnrollmentGroup", "name", "factory-y", "certificate",
                      factory_pem, NULL);
  assert_non_null(e);
  assert_true(strncmp(e, "certificate is revoked (depth 0, sha256 ", 40) == 0);
}

static void test_revocation_registry_down(void **state)
{
  struct fx *fx = *state;
  char thumb[XCA_SHA256_HEX];

  xca_cert_sha256(leaf.cert, thumb);
  xca_fake_kv_set_down(fx->fake, 1);
  FAILS(fx, "registry unavailable", "revokeCertificate", "thumbprint", thumb);
  FAILS(fx, "registry unavailable", "unrevokeCertificate", "thumbprint", thumb);
  FAILS(fx, "registry unavailable", "listRevoked");
  FAILS(fx, "registry unavailable", "listCRLs");
  FAILS(fx, "registry unavailable", "deleteCRL", "issuerThumbprint", thumb);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
    T(test_records_of_upload_mask_the_code),
    T(test_records_of_refused_key_upload_hold_no_key),
    T(test_records_follow_every_command),
    T(test_get_stats_returns_the_counters),
    T(test_get_stats_without_stats_fails),
    T(test_upload_ca_stores_and_replies),
    T(test_upload_ca_uses_configured_ttl),
    T(test_upload_ca_codes_differ),
    T(test_upload_ca_refuses_bad_input),
    T(test_upload_ca_refuses_duplicate_name),
    T(test_upload_ca_refuses_private_key_without_echo),
    T(test_generate_code_replaces_code),
    T(test_generate_code_refusals),
    T(test_verify_ca_marks_verified_and_consumes_code),
    T(test_verify_ca_code_is_single_use),
    T(test_verify_ca_code_expires),
    T(test_verify_ca_refusals),
    T(test_verify_ca_code_case_insensitive),
    T(test_get_ca),
    T(test_list_cas_sorted),
    T(test_delete_ca),
    T(test_create_device_defaults),
    T(test_create_device_self_signed_normalises),
    T(test_create_device_refusals),
    T(test_create_module_requires_device),
    T(test_get_device),
    T(test_update_device_changes_only_given_fields),
    T(test_update_device_keeps_key),
    T(test_delete_device_deletes_modules),
    T(test_delete_device_glob_id),
    T(test_list_devices_paging),
    T(test_list_devices_refusals),
    cmocka_unit_test_setup_teardown(test_glob_prefix_is_escaped, setup_glob_prefix, teardown),
    cmocka_unit_test_setup_teardown(test_longest_prefix_and_identity, setup_longest_prefix,
                                    teardown),
    T(test_request_errors),
    T(test_trailing_data_refused),
    T(test_oversize_payload),
    T(test_unknown_and_malformed_commands),
    T(test_multi_command_order_and_correlation),
    T(test_nul_in_device_ids_refused),
    T(test_nul_in_thumbprints_refused),
    T(test_nul_in_ca_arguments_refused),
    T(test_nul_in_names_keys_and_correlation_refused),
    T(test_nul_refuses_whole_request),
    T(test_raw_nul_byte),
    T(test_escaped_backslash_is_no_nul),
    T(test_registry_down),
    T(test_invalid_context),
    T(test_create_group_under_verified_root),
    T(test_create_group_chains_through_verified_cas_and_groups),
    T(test_create_group_refusals),
    T(test_get_list_update_delete_groups),
    T(test_get_device_shows_enrollment),
    T(test_groups_registry_down),
    T(test_revoke_certificate_by_pem_and_thumbprint),
    T(test_revoke_certificate_refusals),
    T(test_unrevoke_certificate),
    T(test_list_revoked_paging),
    T(test_upload_crl_of_a_registered_ca),
    T(test_upload_crl_with_its_issuer),
    T(test_upload_crl_refusals),
    T(test_group_of_a_revoked_ca_is_refused),
    T(test_revocation_registry_down),
  };
#undef T
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
