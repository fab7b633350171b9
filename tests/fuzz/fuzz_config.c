/* fuzz_config.c - common/config.h on plugin_opt_* lines.
 *
 * The input is split at NUL bytes into name, value, name, value, ...; each
 * pair is set in turn on one config (a trailing name without a value is set
 * with a NULL value). After a failed set the config must be unchanged and
 * the error a single non-empty line; a password, or the value of an
 * unknown option, is never echoed.
 */
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "policy.h"
#include "xca_err.h"

#define MAX_PAIRS 8
#define ERR_LEN 256

/* A deep copy of a config, to compare against after a failed set. */
struct snapshot {
  struct xca_config cfg; /* the ints; its string pointers are not ours */
  char *str[6 + XCA_MAX_ADMIN_USERS];
  int nstr;
};

static char *dup_or_null(const char *s)
{
  char *d = s ? strdup(s) : NULL;
  if (s != NULL && d == NULL) {
    abort();
  }
  return d;
}

/* The owned strings of cfg, in a fixed order. */
static int strings_of(const struct xca_config *cfg, const char **out)
{
  int n = 0;

  out[n++] = cfg->redis_host;
  out[n++] = cfg->redis_password;
  out[n++] = cfg->key_prefix;
  out[n++] = cfg->hub_hostname;
  out[n++] = cfg->sentinel_master;
  out[n++] = cfg->broker_id;
  for (int i = 0; i < cfg->admin_user_count && i < XCA_MAX_ADMIN_USERS; i++) {
    out[n++] = cfg->admin_users[i];
  }
  return n;
}

static void take(struct snapshot *s, const struct xca_config *cfg)
{
  const char *str[6 + XCA_MAX_ADMIN_USERS];

  s->cfg = *cfg;
  s->nstr = strings_of(cfg, str);
  for (int i = 0; i < s->nstr; i++) {
    s->str[i] = dup_or_null(str[i]);
  }
}

static int same_str(const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* 1 if cfg still equals the snapshot, field by field. */
static int unchanged(const struct snapshot *s, const struct xca_config *cfg)
{
  const char *str[6 + XCA_MAX_ADMIN_USERS];
  int n = strings_of(cfg, str);
  const struct xca_config *o = &s->cfg;

  if (n != s->nstr || o->redis_port != cfg->redis_port || o->redis_db != cfg->redis_db ||
      o->redis_timeout_ms != cfg->redis_timeout_ms || o->redis_retry_ms != cfg->redis_retry_ms ||
      o->admin_user_count != cfg->admin_user_count ||
      o->verification_code_ttl != cfg->verification_code_ttl ||
      o->cache_capacity != cfg->cache_capacity || o->stale_max_s != cfg->stale_max_s ||
      o->max_chain_depth != cfg->max_chain_depth ||
      o->max_admin_payload != cfg->max_admin_payload || o->min_rsa_bits != cfg->min_rsa_bits ||
      o->audit_stream_max != cfg->audit_stream_max || o->audit_queue_max != cfg->audit_queue_max ||
      o->stats_interval != cfg->stats_interval || o->sentinel_count != cfg->sentinel_count ||
      memcmp(o->sentinels, cfg->sentinels, sizeof(o->sentinels)) != 0) {
    return 0;
  }
  for (int i = 0; i < n; i++) {
    if (!same_str(s->str[i], str[i])) {
      return 0;
    }
  }
  return 1;
}

static void release(struct snapshot *s)
{
  for (int i = 0; i < s->nstr; i++) {
    free(s->str[i]);
  }
  s->nstr = 0;
}

/* Invariants that hold whatever the outcome. */
static void check_sane(const struct xca_config *cfg)
{
  FUZZ_CHECK(cfg->redis_host != NULL && cfg->key_prefix != NULL);
  FUZZ_CHECK(strpbrk(cfg->key_prefix, "*?[]\\") == NULL);
  FUZZ_CHECK(cfg->hub_hostname == NULL || strchr(cfg->hub_hostname, '/') == NULL);
  FUZZ_CHECK(cfg->redis_password == NULL || cfg->redis_password[0] != '\0');
  FUZZ_CHECK(cfg->redis_port >= 1 && cfg->redis_port <= 65535);
  FUZZ_CHECK(cfg->max_chain_depth >= 1 && cfg->max_chain_depth <= 16);
  FUZZ_CHECK(cfg->min_rsa_bits >= XCA_POLICY_MIN_RSA_BITS &&
             cfg->min_rsa_bits <= XCA_POLICY_MAX_RSA_BITS);
  FUZZ_CHECK(cfg->broker_id != NULL && cfg->broker_id[0] != '\0' &&
             strchr(cfg->broker_id, ' ') == NULL);
  FUZZ_CHECK(cfg->audit_stream_max >= 0 && cfg->audit_queue_max >= 1);
  FUZZ_CHECK(cfg->stats_interval >= 0 && cfg->stats_interval <= 86400);
  FUZZ_CHECK(cfg->admin_user_count >= 0 && cfg->admin_user_count <= XCA_MAX_ADMIN_USERS);
  for (int i = 0; i < cfg->admin_user_count; i++) {
    FUZZ_CHECK(cfg->admin_users[i] != NULL && cfg->admin_users[i][0] != '\0');
    FUZZ_CHECK(xca_config_is_admin(cfg, cfg->admin_users[i]) == 1);
  }
  FUZZ_CHECK(xca_config_is_admin(cfg, NULL) == 0);
  FUZZ_CHECK(cfg->sentinel_master != NULL && cfg->sentinel_master[0] != '\0');
  FUZZ_CHECK(cfg->sentinel_count >= 0 && cfg->sentinel_count <= XCA_MAX_SENTINELS);
  for (int i = 0; i < cfg->sentinel_count; i++) {
    FUZZ_CHECK(cfg->sentinels[i].host[0] != '\0');
    FUZZ_CHECK(cfg->sentinels[i].port >= 1 && cfg->sentinels[i].port <= 65535);
  }
}

static const char *const known_names[] = {
  "redis_host", "redis_port", "redis_db", "redis_password", "redis_timeout_ms",
  "redis_retry_ms", "key_prefix", "admin_users", "verification_code_ttl", "hub_hostname",
  "cache_capacity", "stale_max", "max_chain_depth", "max_admin_payload", "redis_sentinels",
  "redis_sentinel_master", "min_rsa_bits", "broker_id", "audit_stream_max", "audit_queue_max",
  "stats_interval", "chain_cache_capacity", "prefetch_queue_max", "crl_expired",
  "admin_queue_max"};

static int known(const char *name)
{
  for (size_t i = 0; i < sizeof(known_names) / sizeof(known_names[0]); i++) {
    if (strcmp(name, known_names[i]) == 0) {
      return 1;
    }
  }
  return 0;
}

static void set_one(struct xca_config *cfg, const char *name, const char *value)
{
  struct snapshot before = {0};
  char *err = malloc(ERR_LEN); /* exact size: an overflow is an ASan report */
  char unknown[ERR_LEN + 64];
  int rc;

  if (err == NULL) {
    abort();
  }
  err[0] = '\0';
  take(&before, cfg);
  rc = xca_config_set(cfg, name, value, err, ERR_LEN);
  FUZZ_CHECK(rc == XCA_OK || rc == XCA_E_OPTION);
  if (rc != XCA_OK) {
    FUZZ_CHECK(unchanged(&before, cfg));
    FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', ERR_LEN) != NULL);
  }
  if (value != NULL && strcmp(name, "redis_password") == 0) {
    /* The password is never echoed: the only possible error is fixed. */
    FUZZ_CHECK(rc == XCA_OK || strcmp(err, "plugin_opt_redis_password: empty value") == 0);
    if (rc == XCA_OK) {
      FUZZ_CHECK(err[0] == '\0' && strcmp(cfg->redis_password, value) == 0);
    }
  }
  if (value != NULL && !known(name)) {
    /* An unknown option may be a mistyped secret: its value is not echoed. */
    snprintf(unknown, sizeof(unknown), "plugin_opt_%s: unknown option", name);
    FUZZ_CHECK(rc == XCA_E_OPTION && strncmp(err, unknown, ERR_LEN - 1) == 0);
  }
  check_sane(cfg);
  release(&before);
  free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = fuzz_strndup(data, size);
  const char *part[2 * MAX_PAIRS];
  int nparts = 0;
  struct xca_config cfg;

  for (size_t i = 0; i < size && nparts < 2 * MAX_PAIRS; i += strlen(text + i) + 1) {
    part[nparts++] = text + i;
  }
  FUZZ_CHECK(xca_config_init(&cfg) == XCA_OK);
  check_sane(&cfg);
  for (int i = 0; i < nparts; i += 2) {
    set_one(&cfg, part[i], i + 1 < nparts ? part[i + 1] : NULL);
  }
  xca_config_free(&cfg);
  free(text);
  return 0;
}
