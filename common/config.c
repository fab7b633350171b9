#define _DEFAULT_SOURCE /* strsep() */

#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"
#include "xca_err.h"



static int replace_string(char **slot, const char *value)
{
  char *copy = strdup(value);
  if (copy == NULL) {
    return XCA_E_NOMEM;
  }
  free(*slot);
  *slot = copy;
  return XCA_OK;
}

static int parse_int(const char *value, long min, long max, int *out)
{
  char *end = NULL;
  long v;

  if (value == NULL || *value == '\0') {
    return XCA_E_OPTION;
  }
  errno = 0;
  v = strtol(value, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max) {
    return XCA_E_OPTION;
  }
  *out = (int)v;
  return XCA_OK;
}

/* Hostnames and key prefixes: printable, no spaces, bounded. */
static int is_token(const char *value, size_t maxlen)
{
  size_t n = strlen(value);
  if (n == 0 || n > maxlen) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (value[i] <= ' ' || value[i] > '~') {
      return 0;
    }
  }
  return 1;
}

/* Strip leading and trailing spaces from tok in place; returns its start. */
static char *trim(char *tok)
{
  size_t len;

  while (*tok == ' ') {
    tok++;
  }
  len = strlen(tok);
  while (len > 0 && tok[len - 1] == ' ') {
    tok[--len] = '\0';
  }
  return tok;
}

static void free_admin_users(struct xca_config *cfg)
{
  for (int i = 0; i < cfg->admin_user_count; i++) {
    free(cfg->admin_users[i]);
    cfg->admin_users[i] = NULL;
  }
  cfg->admin_user_count = 0;
}

static int set_admin_users(struct xca_config *cfg, const char *value)
{
  char *copy = strdup(value);
  char *cursor = copy;
  char *users[XCA_MAX_ADMIN_USERS];
  int count = 0;
  int rc = XCA_OK;

  if (copy == NULL) {
    return XCA_E_NOMEM;
  }
  /* strsep, unlike strtok, yields empty items, which are refused. */
  for (char *tok = strsep(&cursor, ","); tok != NULL; tok = strsep(&cursor, ",")) {
    tok = trim(tok);
    if (*tok == '\0' || !is_token(tok, 256) || count == XCA_MAX_ADMIN_USERS) {
      rc = XCA_E_OPTION;
      break;
    }
    users[count] = strdup(tok);
    if (users[count] == NULL) {
      rc = XCA_E_NOMEM;
      break;
    }
    count++;
  }
  if (rc == XCA_OK && count == 0) {
    rc = XCA_E_OPTION;
  }
  if (rc != XCA_OK) {
    for (int i = 0; i < count; i++) {
      free(users[i]);
    }
  } else {
    free_admin_users(cfg);
    memcpy(cfg->admin_users, users, sizeof(users[0]) * (size_t)count);
    cfg->admin_user_count = count;
  }
  free(copy);
  return rc;
}

/* "<hostname>-<pid>": unique among the brokers of one host, and readable.
 * Anything is_token() would refuse becomes '_'. */
static char *default_broker_id(void)
{
  char host[XCA_CONFIG_TOKEN_MAX + 1] = "";
  char id[XCA_CONFIG_TOKEN_MAX + 1];

  if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0') {
    snprintf(host, sizeof(host), "broker");
  }
  host[sizeof(host) - 1] = '\0';
  snprintf(id, sizeof(id), "%.*s-%ld", XCA_CONFIG_TOKEN_MAX - 21, host, (long)getpid());
  for (char *p = id; *p != '\0'; p++) {
    if (*p <= ' ' || *p > '~') {
      *p = '_';
    }
  }
  return strdup(id);
}

/* Parse one "host:port" item ("[address]:port" for an IPv6 address, whose
 * colons would be ambiguous otherwise) into out. item is modified. */
static int parse_hostport(char *item, struct xca_hostport *out)
{
  char *colon = strrchr(item, ':');
  char *host = item;
  size_t n;
  int port;

  if (colon == NULL || parse_int(colon + 1, 1, 65535, &port) != XCA_OK) {
    return XCA_E_OPTION;
  }
  *colon = '\0';
  n = strlen(host);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
    host[n - 1] = '\0';
    host++;
  } else if (strchr(host, ':') != NULL) {
    return XCA_E_OPTION;
  }
  if (!is_token(host, XCA_HOST_MAX) || strpbrk(host, "[]") != NULL) {
    return XCA_E_OPTION;
  }
  snprintf(out->host, sizeof(out->host), "%s", host);
  out->port = port;
  return XCA_OK;
}

/* Parse "host:port[,host:port...]" (spaces around items allowed) into
 * cfg->sentinels; cfg is unchanged on failure. */
static int set_sentinels(struct xca_config *cfg, const char *value)
{
  struct xca_hostport list[XCA_MAX_SENTINELS] = {0};
  char *copy = strdup(value);
  char *cursor = copy;
  int count = 0;
  int rc = XCA_OK;

  if (copy == NULL) {
    return XCA_E_NOMEM;
  }
  for (char *tok = strsep(&cursor, ","); rc == XCA_OK && tok != NULL;
       tok = strsep(&cursor, ",")) {
    rc = count < XCA_MAX_SENTINELS ? parse_hostport(trim(tok), &list[count++]) : XCA_E_OPTION;
  }
  free(copy);
  if (rc == XCA_OK) {
    memcpy(cfg->sentinels, list, sizeof(list[0]) * (size_t)count);
    cfg->sentinel_count = count;
  }
  return rc;
}

int xca_config_init(struct xca_config *cfg)
{
  memset(cfg, 0, sizeof(*cfg));
  cfg->redis_host = strdup("127.0.0.1");
  cfg->key_prefix = strdup("x509ca:");
  cfg->broker_id = default_broker_id();
  cfg->sentinel_master = strdup("mymaster");
  if (cfg->redis_host == NULL || cfg->key_prefix == NULL || cfg->broker_id == NULL ||
      cfg->sentinel_master == NULL) {
    xca_config_free(cfg);
    return XCA_E_NOMEM;
  }
  cfg->redis_port = 6379;
  cfg->redis_db = 0;
  cfg->redis_timeout_ms = 100;
  cfg->redis_retry_ms = 1000;
  cfg->verification_code_ttl = 3600;
  cfg->cache_capacity = 100000;
  cfg->chain_cache_capacity = 10000;
  cfg->prefetch_queue_max = 1000;
  cfg->stale_max_s = 300;
  cfg->max_chain_depth = 5;
  cfg->max_admin_payload = 65536;
  cfg->min_rsa_bits = XCA_POLICY_MIN_RSA_BITS;
  cfg->audit_stream_max = 100000;
  cfg->audit_queue_max = 10000;
  cfg->admin_queue_max = 64;
  cfg->stats_interval = 10;
  return XCA_OK;
}

struct int_option {
  const char *name;
  size_t offset;
  long min;
  long max;
};

static const struct int_option int_options[] = {
  {"redis_port", offsetof(struct xca_config, redis_port), 1, 65535},
  {"redis_db", offsetof(struct xca_config, redis_db), 0, 1023},
  {"redis_timeout_ms", offsetof(struct xca_config, redis_timeout_ms), 1, 10000},
  {"redis_retry_ms", offsetof(struct xca_config, redis_retry_ms), 10, 600000},
  {"verification_code_ttl", offsetof(struct xca_config, verification_code_ttl), 10, 31 * 86400},
  {"cache_capacity", offsetof(struct xca_config, cache_capacity), 0, 100000000},
  {"chain_cache_capacity", offsetof(struct xca_config, chain_cache_capacity), 0, 10000000},
  {"prefetch_queue_max", offsetof(struct xca_config, prefetch_queue_max), 0, 1000000},
  {"stale_max", offsetof(struct xca_config, stale_max_s), 0, 86400 * 30},
  {"max_chain_depth", offsetof(struct xca_config, max_chain_depth), 1, 16},
  {"max_admin_payload", offsetof(struct xca_config, max_admin_payload), 1024, 16 * 1024 * 1024},
  {"min_rsa_bits", offsetof(struct xca_config, min_rsa_bits), XCA_POLICY_MIN_RSA_BITS,
   XCA_POLICY_MAX_RSA_BITS},
  {"audit_stream_max", offsetof(struct xca_config, audit_stream_max), 0, 1000000000},
  {"audit_queue_max", offsetof(struct xca_config, audit_queue_max), 1, 10000000},
  {"admin_queue_max", offsetof(struct xca_config, admin_queue_max), 1, 100000},
  {"stats_interval", offsetof(struct xca_config, stats_interval), 0, 86400},
};

static int set_int_option(struct xca_config *cfg, const struct int_option *opt, const char *value,
                          char *errbuf, size_t errlen)
{
  int v;
  if (parse_int(value, opt->min, opt->max, &v) != XCA_OK) {
    snprintf(errbuf, errlen, "plugin_opt_%s: '%s' is not an integer in [%ld, %ld]", opt->name,
             value, opt->min, opt->max);
    return XCA_E_OPTION;
  }
  *(int *)((char *)cfg + opt->offset) = v;
  return XCA_OK;
}

static int set_redis_password(struct xca_config *cfg, const char *value, char *errbuf,
                              size_t errlen)
{
  if (*value == '\0') {
    snprintf(errbuf, errlen, "plugin_opt_redis_password: empty value");
    return XCA_E_OPTION;
  }
  return replace_string(&cfg->redis_password, value);
}

static int set_admin_users_option(struct xca_config *cfg, const char *value, char *errbuf,
                                  size_t errlen)
{
  int rc = set_admin_users(cfg, value);
  if (rc == XCA_E_OPTION) {
    snprintf(errbuf, errlen,
             "plugin_opt_admin_users: '%s' is not a comma-separated list of 1-%d names", value,
             XCA_MAX_ADMIN_USERS);
  }
  return rc;
}

static int set_sentinels_option(struct xca_config *cfg, const char *value, char *errbuf,
                                size_t errlen)
{
  int rc = set_sentinels(cfg, value);
  if (rc == XCA_E_OPTION) {
    snprintf(errbuf, errlen,
             "plugin_opt_redis_sentinels: '%s' is not a comma-separated list of 1-%d host:port "
             "(port 1-65535; an IPv6 address as [address]:port)",
             value, XCA_MAX_SENTINELS);
  }
  return rc;
}

static int set_token(char **slot, const char *name, const char *forbidden, const char *value,
                     char *errbuf, size_t errlen)
{
  if (!is_token(value, XCA_CONFIG_TOKEN_MAX)) {
    snprintf(errbuf, errlen, "plugin_opt_%s: '%s' must be 1-%d printable characters without spaces",
             name, value, XCA_CONFIG_TOKEN_MAX);
    return XCA_E_OPTION;
  }
  if (forbidden != NULL && strpbrk(value, forbidden) != NULL) {
    snprintf(errbuf, errlen, "plugin_opt_%s: '%s' must not contain any of %s", name, value,
             forbidden);
    return XCA_E_OPTION;
  }
  return replace_string(slot, value);
}

static int set_string_option(struct xca_config *cfg, const char *name, const char *value,
                             char *errbuf, size_t errlen)
{
  if (strcmp(name, "redis_password") == 0) {
    return set_redis_password(cfg, value, errbuf, errlen);
  }
  if (strcmp(name, "admin_users") == 0) {
    return set_admin_users_option(cfg, value, errbuf, errlen);
  }
  if (strcmp(name, "redis_sentinels") == 0) {
    return set_sentinels_option(cfg, value, errbuf, errlen);
  }
  if (strcmp(name, "redis_sentinel_master") == 0) {
    /* Sent to the Sentinels as one argument: any printable name. */
    return set_token(&cfg->sentinel_master, name, NULL, value, errbuf, errlen);
  }
  if (strcmp(name, "redis_host") == 0) {
    return set_token(&cfg->redis_host, name, NULL, value, errbuf, errlen);
  }
  if (strcmp(name, "key_prefix") == 0) {
    /* The prefix is used in SCAN/PSUBSCRIBE patterns: no glob characters. */
    return set_token(&cfg->key_prefix, name, "*?[]\\", value, errbuf, errlen);
  }
  if (strcmp(name, "hub_hostname") == 0) {
    return set_token(&cfg->hub_hostname, name, "/", value, errbuf, errlen);
  }
  if (strcmp(name, "crl_expired") == 0) {
    if (strcmp(value, "accept") != 0 && strcmp(value, "refuse") != 0) {
      snprintf(errbuf, errlen, "plugin_opt_crl_expired: '%s' must be accept or refuse", value);
      return XCA_E_OPTION;
    }
    cfg->crl_expired_refuse = strcmp(value, "refuse") == 0;
    return XCA_OK;
  }
  if (strcmp(name, "broker_id") == 0) {
    return set_token(&cfg->broker_id, name, NULL, value, errbuf, errlen);
  }
  /* Never echo the value of an unknown option: it may be a mistyped secret. */
  snprintf(errbuf, errlen, "plugin_opt_%s: unknown option", name);
  return XCA_E_OPTION;
}

int xca_config_set(struct xca_config *cfg, const char *name, const char *value, char *errbuf,
                   size_t errlen)
{
  if (cfg == NULL || name == NULL || value == NULL) {
    snprintf(errbuf, errlen, "missing option name or value");
    return XCA_E_OPTION;
  }
  for (size_t i = 0; i < sizeof(int_options) / sizeof(int_options[0]); i++) {
    if (strcmp(name, int_options[i].name) == 0) {
      return set_int_option(cfg, &int_options[i], value, errbuf, errlen);
    }
  }
  return set_string_option(cfg, name, value, errbuf, errlen);
}

int xca_config_is_admin(const struct xca_config *cfg, const char *username)
{
  if (cfg == NULL || username == NULL) {
    return 0;
  }
  for (int i = 0; i < cfg->admin_user_count; i++) {
    if (strcmp(cfg->admin_users[i], username) == 0) {
      return 1;
    }
  }
  return 0;
}

void xca_config_free(struct xca_config *cfg)
{
  if (cfg == NULL) {
    return;
  }
  free(cfg->redis_host);
  free(cfg->redis_password);
  free(cfg->key_prefix);
  free(cfg->hub_hostname);
  free(cfg->broker_id);
  free(cfg->sentinel_master);
  free_admin_users(cfg);
  memset(cfg, 0, sizeof(*cfg));
}
