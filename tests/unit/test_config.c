/* test_config.c - unit tests of common/config.h: defaults and validation of
 * every plugin_opt_* option. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "xca_err.h"

/* The integer options, their ranges and defaults (README "Configuration",
 * config.h and config.c). */
struct int_case {
  const char *name;
  size_t offset;
  long min;
  long max;
  int def;
};

static const struct int_case int_cases[] = {
  {"redis_port", offsetof(struct xca_config, redis_port), 1, 65535, 6379},
  {"redis_db", offsetof(struct xca_config, redis_db), 0, 1023, 0},
  {"redis_timeout_ms", offsetof(struct xca_config, redis_timeout_ms), 1, 10000, 100},
  {"redis_retry_ms", offsetof(struct xca_config, redis_retry_ms), 10, 600000, 1000},
  {"verification_code_ttl", offsetof(struct xca_config, verification_code_ttl), 10, 31 * 86400,
   3600},
  {"cache_capacity", offsetof(struct xca_config, cache_capacity), 0, 100000000, 100000},
  {"chain_cache_capacity", offsetof(struct xca_config, chain_cache_capacity), 0, 10000000, 10000},
  {"prefetch_queue_max", offsetof(struct xca_config, prefetch_queue_max), 0, 1000000, 1000},
  {"stale_max", offsetof(struct xca_config, stale_max_s), 0, 86400 * 30, 300},
  {"max_chain_depth", offsetof(struct xca_config, max_chain_depth), 1, 16, 5},
  {"max_admin_payload", offsetof(struct xca_config, max_admin_payload), 1024, 16 * 1024 * 1024,
   65536},
  {"min_rsa_bits", offsetof(struct xca_config, min_rsa_bits), 2048, 16384, 2048},
  {"audit_stream_max", offsetof(struct xca_config, audit_stream_max), 0, 1000000000, 100000},
  {"audit_queue_max", offsetof(struct xca_config, audit_queue_max), 1, 10000000, 10000},
  {"admin_queue_max", offsetof(struct xca_config, admin_queue_max), 1, 100000, 64},
  {"stats_interval", offsetof(struct xca_config, stats_interval), 0, 86400, 10},
};

#define NINT (sizeof(int_cases) / sizeof(int_cases[0]))

static char err[256];

static int setup(void **state)
{
  static struct xca_config cfg;
  if (xca_config_init(&cfg) != XCA_OK) {
    return -1;
  }
  err[0] = '\0';
  *state = &cfg;
  return 0;
}

static int teardown(void **state)
{
  xca_config_free(*state);
  return 0;
}

static int int_field(const struct xca_config *cfg, const struct int_case *c)
{
  return *(const int *)((const char *)cfg + c->offset);
}

static int set(struct xca_config *cfg, const char *name, const char *value)
{
  err[0] = '\0';
  return xca_config_set(cfg, name, value, err, sizeof(err));
}

static int set_long(struct xca_config *cfg, const char *name, long v)
{
  char buf[32];
  snprintf(buf, sizeof(buf), "%ld", v);
  return set(cfg, name, buf);
}

/* Assert that setting name to value is refused, leaves the int field as it
 * was, and names the option in the message. */
static void assert_int_refused(struct xca_config *cfg, const struct int_case *c, const char *value)
{
  int before = int_field(cfg, c);
  assert_int_equal(set(cfg, c->name, value), XCA_E_OPTION);
  assert_int_equal(int_field(cfg, c), before);
  assert_non_null(strstr(err, c->name));
}

/* ---- defaults ---------------------------------------------------------- */

static void test_defaults_strings(void **state)
{
  struct xca_config *cfg = *state;
  assert_string_equal(cfg->redis_host, "127.0.0.1");
  assert_string_equal(cfg->key_prefix, "x509ca:");
  assert_null(cfg->redis_password);
  assert_null(cfg->hub_hostname);
  assert_int_equal(cfg->admin_user_count, 0);
  for (int i = 0; i < XCA_MAX_ADMIN_USERS; i++) {
    assert_null(cfg->admin_users[i]);
  }
}

static void test_defaults_ints(void **state)
{
  struct xca_config *cfg = *state;
  for (size_t i = 0; i < NINT; i++) {
    assert_int_equal(int_field(cfg, &int_cases[i]), int_cases[i].def);
  }
}

static void test_defaults_no_admin(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(xca_config_is_admin(cfg, "admin"), 0);
  assert_int_equal(xca_config_is_admin(cfg, ""), 0);
}

/* ---- integer options --------------------------------------------------- */

static void test_int_accepts_min(void **state)
{
  struct xca_config *cfg = *state;
  for (size_t i = 0; i < NINT; i++) {
    assert_int_equal(set_long(cfg, int_cases[i].name, int_cases[i].min), XCA_OK);
    assert_int_equal(int_field(cfg, &int_cases[i]), int_cases[i].min);
  }
}

static void test_int_accepts_max(void **state)
{
  struct xca_config *cfg = *state;
  for (size_t i = 0; i < NINT; i++) {
    assert_int_equal(set_long(cfg, int_cases[i].name, int_cases[i].max), XCA_OK);
    assert_int_equal(int_field(cfg, &int_cases[i]), int_cases[i].max);
  }
}

static void test_int_refuses_below_min(void **state)
{
  struct xca_config *cfg = *state;
  char buf[32];
  for (size_t i = 0; i < NINT; i++) {
    snprintf(buf, sizeof(buf), "%ld", int_cases[i].min - 1);
    assert_int_refused(cfg, &int_cases[i], buf);
  }
}

static void test_int_refuses_above_max(void **state)
{
  struct xca_config *cfg = *state;
  char buf[32];
  for (size_t i = 0; i < NINT; i++) {
    snprintf(buf, sizeof(buf), "%ld", int_cases[i].max + 1);
    assert_int_refused(cfg, &int_cases[i], buf);
  }
}

static void test_int_refuses_non_numeric(void **state)
{
  struct xca_config *cfg = *state;
  for (size_t i = 0; i < NINT; i++) {
    assert_int_refused(cfg, &int_cases[i], "abc");
  }
}

static void test_int_refuses_trailing_garbage(void **state)
{
  struct xca_config *cfg = *state;
  for (size_t i = 0; i < NINT; i++) {
    assert_int_refused(cfg, &int_cases[i], "20x");
    assert_int_refused(cfg, &int_cases[i], "20 ");
    assert_int_refused(cfg, &int_cases[i], "20.5");
  }
}

static void test_int_refuses_empty(void **state)
{
  struct xca_config *cfg = *state;
  for (size_t i = 0; i < NINT; i++) {
    assert_int_refused(cfg, &int_cases[i], "");
  }
}

static void test_int_refuses_hex_and_overflow(void **state)
{
  struct xca_config *cfg = *state;
  for (size_t i = 0; i < NINT; i++) {
    assert_int_refused(cfg, &int_cases[i], "0x10");
    assert_int_refused(cfg, &int_cases[i], "99999999999999999999999");
    assert_int_refused(cfg, &int_cases[i], "-99999999999999999999999");
  }
}

static void test_int_message_names_range(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_port", "70000"), XCA_E_OPTION);
  assert_non_null(strstr(err, "plugin_opt_redis_port"));
  assert_non_null(strstr(err, "65535"));
  assert_non_null(strstr(err, "70000"));
}

static void test_port_typical_value(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_port", "6380"), XCA_OK);
  assert_int_equal(cfg->redis_port, 6380);
}

/* RSA-1024 can never be allowed: the range starts at 2048. */
static void test_min_rsa_bits_refuses_weak_sizes(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "min_rsa_bits", "1024"), XCA_E_OPTION);
  assert_string_equal(err, "plugin_opt_min_rsa_bits: '1024' is not an integer in [2048, 16384]");
  assert_int_equal(cfg->min_rsa_bits, 2048);
  assert_int_equal(set(cfg, "min_rsa_bits", "3072"), XCA_OK);
  assert_int_equal(cfg->min_rsa_bits, 3072);
}

/* crl_expired: accept [default] or refuse, nothing else. */
static void test_crl_expired_accept_or_refuse(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(cfg->crl_expired_refuse, 0);
  assert_int_equal(set(cfg, "crl_expired", "maybe"), XCA_E_OPTION);
  assert_string_equal(err, "plugin_opt_crl_expired: 'maybe' must be accept or refuse");
  assert_int_equal(set(cfg, "crl_expired", "Refuse"), XCA_E_OPTION);
  assert_int_equal(cfg->crl_expired_refuse, 0);
  assert_int_equal(set(cfg, "crl_expired", "refuse"), XCA_OK);
  assert_int_equal(cfg->crl_expired_refuse, 1);
  assert_int_equal(set(cfg, "crl_expired", "accept"), XCA_OK);
  assert_int_equal(cfg->crl_expired_refuse, 0);
}

/* ---- redis_host -------------------------------------------------------- */

static void test_redis_host_accepts_hostname(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_host", "redis.example.com"), XCA_OK);
  assert_string_equal(cfg->redis_host, "redis.example.com");
}

static void test_redis_host_refuses_empty_and_keeps_old(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_host", ""), XCA_E_OPTION);
  assert_string_equal(cfg->redis_host, "127.0.0.1");
  assert_non_null(strstr(err, "redis_host"));
}

static void test_redis_host_refuses_space_and_control(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_host", "a b"), XCA_E_OPTION);
  assert_int_equal(set(cfg, "redis_host", "a\tb"), XCA_E_OPTION);
  assert_int_equal(set(cfg, "redis_host", "a\nb"), XCA_E_OPTION);
  assert_string_equal(cfg->redis_host, "127.0.0.1");
}

static void test_redis_host_refuses_non_ascii(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_host", "h\xc3\xa9te"), XCA_E_OPTION);
  assert_string_equal(cfg->redis_host, "127.0.0.1");
}

static void test_redis_host_length_253_ok_254_refused(void **state)
{
  struct xca_config *cfg = *state;
  char host[256];
  memset(host, 'h', 254);
  host[254] = '\0';
  assert_int_equal(set(cfg, "redis_host", host), XCA_E_OPTION);
  assert_string_equal(cfg->redis_host, "127.0.0.1");
  host[253] = '\0';
  assert_int_equal(set(cfg, "redis_host", host), XCA_OK);
  assert_string_equal(cfg->redis_host, host);
}

/* ---- broker_id --------------------------------------------------------- */

static void test_broker_id_default_is_hostname_pid(void **state)
{
  struct xca_config *cfg = *state;
  char host[256] = "";
  char want[300];

  assert_int_equal(gethostname(host, sizeof(host)), 0);
  host[sizeof(host) - 1] = '\0';
  snprintf(want, sizeof(want), "%s-%ld", host, (long)getpid());
  assert_string_equal(cfg->broker_id, want);
}

static void test_broker_id_accepts_name(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "broker_id", "edge-eu-1"), XCA_OK);
  assert_string_equal(cfg->broker_id, "edge-eu-1");
}

static void test_broker_id_refuses_empty_space_and_keeps_old(void **state)
{
  struct xca_config *cfg = *state;
  char *before = strdup(cfg->broker_id);
  const char *bad[] = {"", "a b", "a\nb", "h\xc3\xa9"};

  assert_non_null(before);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(set(cfg, "broker_id", bad[i]), XCA_E_OPTION);
    assert_string_equal(cfg->broker_id, before);
    assert_non_null(strstr(err, "plugin_opt_broker_id"));
  }
  free(before);
}

static void test_stream_and_stats_can_be_turned_off(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "audit_stream_max", "0"), XCA_OK);
  assert_int_equal(cfg->audit_stream_max, 0);
  assert_int_equal(set(cfg, "stats_interval", "0"), XCA_OK);
  assert_int_equal(cfg->stats_interval, 0);
  assert_int_equal(set(cfg, "audit_queue_max", "0"), XCA_E_OPTION);
  assert_non_null(strstr(err, "plugin_opt_audit_queue_max"));
  assert_int_equal(set(cfg, "stats_interval", "-1"), XCA_E_OPTION);
  assert_non_null(strstr(err, "plugin_opt_stats_interval"));
}

/* ---- redis_sentinels, redis_sentinel_master ----------------------------- */

static void test_sentinels_default_none_master_mymaster(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(cfg->sentinel_count, 0);
  assert_string_equal(cfg->sentinel_master, "mymaster");
}

static void test_sentinels_list_parsed_in_order(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_sentinels", "10.0.0.1:26379, s2.example:26380 ,[::1]:1"),
                   XCA_OK);
  assert_int_equal(cfg->sentinel_count, 3);
  assert_string_equal(cfg->sentinels[0].host, "10.0.0.1");
  assert_int_equal(cfg->sentinels[0].port, 26379);
  assert_string_equal(cfg->sentinels[1].host, "s2.example");
  assert_int_equal(cfg->sentinels[1].port, 26380);
  assert_string_equal(cfg->sentinels[2].host, "::1");
  assert_int_equal(cfg->sentinels[2].port, 1);
}

static void test_sentinels_single(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_sentinels", "127.0.0.1:65535"), XCA_OK);
  assert_int_equal(cfg->sentinel_count, 1);
  assert_int_equal(cfg->sentinels[0].port, 65535);
}

/* Each value is refused, the message names the option, the value and the
 * rule, and the list set before is kept. */
static void test_sentinels_invalid_refused_and_list_kept(void **state)
{
  static const char *const bad[] = {
    "",                     /* empty */
    "host",                 /* no port */
    "host:",                /* empty port */
    ":26379",               /* empty host */
    "host:0",               /* port out of range */
    "host:65536",           /* port out of range */
    "host:26379x",          /* trailing garbage */
    "host:-1",              /* negative */
    "a:1,,b:2",             /* empty item */
    "a:1,",                 /* trailing comma */
    ",a:1",                 /* leading comma */
    "a b:1",                /* space inside the host */
    "::1:26379",            /* IPv6 without brackets */
    "[::1]",                /* brackets, no port */
    "[::1:26379",           /* unbalanced bracket */
    "h\xc3\xa9:1",          /* non-ASCII */
  };
  struct xca_config *cfg = *state;

  assert_int_equal(set(cfg, "redis_sentinels", "keep:1"), XCA_OK);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char want[64];
    assert_int_equal(set(cfg, "redis_sentinels", bad[i]), XCA_E_OPTION);
    snprintf(want, sizeof(want), "'%s'", bad[i]);
    assert_non_null(strstr(err, "plugin_opt_redis_sentinels"));
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "host:port"));
    assert_int_equal(cfg->sentinel_count, 1);
    assert_string_equal(cfg->sentinels[0].host, "keep");
  }
}

static void test_sentinels_max_count(void **state)
{
  struct xca_config *cfg = *state;
  char list[XCA_MAX_SENTINELS * 16 + 16] = "";

  for (int i = 0; i < XCA_MAX_SENTINELS; i++) {
    snprintf(list + strlen(list), sizeof(list) - strlen(list), "%sh%d:%d", i ? "," : "", i,
             26379 + i);
  }
  assert_int_equal(set(cfg, "redis_sentinels", list), XCA_OK);
  assert_int_equal(cfg->sentinel_count, XCA_MAX_SENTINELS);
  assert_string_equal(cfg->sentinels[XCA_MAX_SENTINELS - 1].host, "h15");
  strcat(list, ",one:1");
  assert_int_equal(set(cfg, "redis_sentinels", list), XCA_E_OPTION);
  assert_int_equal(cfg->sentinel_count, XCA_MAX_SENTINELS);
}

static void test_sentinels_host_length_253_ok_254_refused(void **state)
{
  struct xca_config *cfg = *state;
  char item[300];
  memset(item, 'h', 254);
  strcpy(item + 254, ":1");
  assert_int_equal(set(cfg, "redis_sentinels", item), XCA_E_OPTION);
  assert_int_equal(cfg->sentinel_count, 0);
  strcpy(item + 253, ":1");
  assert_int_equal(set(cfg, "redis_sentinels", item), XCA_OK);
  assert_int_equal(strlen(cfg->sentinels[0].host), 253);
}

static void test_sentinel_master_set_and_refused(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_sentinel_master", "registry-1"), XCA_OK);
  assert_string_equal(cfg->sentinel_master, "registry-1");
  assert_int_equal(set(cfg, "redis_sentinel_master", ""), XCA_E_OPTION);
  assert_non_null(strstr(err, "plugin_opt_redis_sentinel_master"));
  assert_int_equal(set(cfg, "redis_sentinel_master", "two words"), XCA_E_OPTION);
  assert_non_null(strstr(err, "'two words'"));
  assert_string_equal(cfg->sentinel_master, "registry-1");
}

/* ---- key_prefix -------------------------------------------------------- */

static void test_key_prefix_accepts_plain(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "key_prefix", "tenant-1:x509ca:"), XCA_OK);
  assert_string_equal(cfg->key_prefix, "tenant-1:x509ca:");
}

static void test_key_prefix_refuses_glob_characters(void **state)
{
  struct xca_config *cfg = *state;
  const char *bad[] = {"x*", "x?", "x[", "x]", "x\\", "[ab]:"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(set(cfg, "key_prefix", bad[i]), XCA_E_OPTION);
    assert_string_equal(cfg->key_prefix, "x509ca:");
    assert_non_null(strstr(err, "key_prefix"));
  }
}

static void test_key_prefix_refuses_empty(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "key_prefix", ""), XCA_E_OPTION);
  assert_string_equal(cfg->key_prefix, "x509ca:");
}

/* ---- hub_hostname ------------------------------------------------------ */

static void test_hub_hostname_accepts_hostname(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "hub_hostname", "myhub.azure-devices.net"), XCA_OK);
  assert_string_equal(cfg->hub_hostname, "myhub.azure-devices.net");
}

static void test_hub_hostname_refuses_slash(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "hub_hostname", "hub/x"), XCA_E_OPTION);
  assert_null(cfg->hub_hostname);
  assert_non_null(strstr(err, "hub_hostname"));
}

static void test_hub_hostname_refuses_empty_and_space(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "hub_hostname", ""), XCA_E_OPTION);
  assert_int_equal(set(cfg, "hub_hostname", "a hub"), XCA_E_OPTION);
  assert_null(cfg->hub_hostname);
}

static void test_hub_hostname_failed_set_keeps_previous(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "hub_hostname", "one.example"), XCA_OK);
  assert_int_equal(set(cfg, "hub_hostname", "two/example"), XCA_E_OPTION);
  assert_string_equal(cfg->hub_hostname, "one.example");
}

/* ---- redis_password ---------------------------------------------------- */

static void test_password_accepted_and_stored(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_password", "s3cr3t-Pa55"), XCA_OK);
  assert_string_equal(cfg->redis_password, "s3cr3t-Pa55");
}

static void test_password_empty_refused(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_password", ""), XCA_E_OPTION);
  assert_null(cfg->redis_password);
  assert_non_null(strstr(err, "redis_password"));
}

static void test_password_empty_keeps_previous(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_password", "first"), XCA_OK);
  assert_int_equal(set(cfg, "redis_password", ""), XCA_E_OPTION);
  assert_string_equal(cfg->redis_password, "first");
  assert_null(strstr(err, "first"));
}

static void test_password_replaced(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_password", "first"), XCA_OK);
  assert_int_equal(set(cfg, "redis_password", "second"), XCA_OK);
  assert_string_equal(cfg->redis_password, "second");
}

/* A misspelt password option must not put the secret into the log line,
 * whatever the value looks like. */
static void test_misspelt_password_option_does_not_echo_value(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_pasword", "hunter2secret"), XCA_E_OPTION);
  assert_null(strstr(err, "hunter2secret"));
  assert_int_equal(set(cfg, "redis_pasword", "hunter2 secret"), XCA_E_OPTION);
  assert_null(strstr(err, "hunter2"));
}

/* ---- admin_users ------------------------------------------------------- */

static void test_admin_users_two(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "admin_users", "a,b"), XCA_OK);
  assert_int_equal(cfg->admin_user_count, 2);
  assert_string_equal(cfg->admin_users[0], "a");
  assert_string_equal(cfg->admin_users[1], "b");
}

static void test_admin_users_spaces_trimmed(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "admin_users", " a , b "), XCA_OK);
  assert_int_equal(cfg->admin_user_count, 2);
  assert_string_equal(cfg->admin_users[0], "a");
  assert_string_equal(cfg->admin_users[1], "b");
}

static void test_admin_users_single(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "admin_users", "ops-admin"), XCA_OK);
  assert_int_equal(cfg->admin_user_count, 1);
  assert_int_equal(xca_config_is_admin(cfg, "ops-admin"), 1);
}

static void test_admin_users_empty_value_refused(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "admin_users", ""), XCA_E_OPTION);
  assert_int_equal(set(cfg, "admin_users", ","), XCA_E_OPTION);
  assert_int_equal(set(cfg, "admin_users", "  "), XCA_E_OPTION);
  assert_int_equal(cfg->admin_user_count, 0);
  assert_non_null(strstr(err, "admin_users"));
}

static void test_admin_users_blank_item_refused(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "admin_users", "a, ,b"), XCA_E_OPTION);
  assert_int_equal(cfg->admin_user_count, 0);
}

/* "a,,b" holds an empty item just as "a, ,b" does; both are typos. */
static void test_admin_users_empty_middle_item_refused(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "admin_users", "a,,b"), XCA_E_OPTION);
  assert_int_equal(cfg->admin_user_count, 0);
}

static void test_admin_users_leading_or_trailing_comma_refused(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "admin_users", ",a"), XCA_E_OPTION);
  assert_int_equal(set(cfg, "admin_users", "a,"), XCA_E_OPTION);
  assert_int_equal(cfg->admin_user_count, 0);
}

static void test_admin_users_inner_space_refused(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "admin_users", "a b"), XCA_E_OPTION);
  assert_int_equal(cfg->admin_user_count, 0);
}

static void build_user_list(char *buf, size_t len, int n)
{
  buf[0] = '\0';
  for (int i = 0; i < n; i++) {
    char one[16];
    snprintf(one, sizeof(one), "%su%d", i ? "," : "", i);
    strncat(buf, one, len - strlen(buf) - 1);
  }
}

static void test_admin_users_max_count_accepted(void **state)
{
  struct xca_config *cfg = *state;
  char list[1024];
  build_user_list(list, sizeof(list), XCA_MAX_ADMIN_USERS);
  assert_int_equal(set(cfg, "admin_users", list), XCA_OK);
  assert_int_equal(cfg->admin_user_count, XCA_MAX_ADMIN_USERS);
  assert_int_equal(xca_config_is_admin(cfg, "u0"), 1);
  assert_int_equal(xca_config_is_admin(cfg, "u31"), 1);
}

static void test_admin_users_too_many_refused(void **state)
{
  struct xca_config *cfg = *state;
  char list[1024];
  build_user_list(list, sizeof(list), XCA_MAX_ADMIN_USERS + 1);
  assert_int_equal(set(cfg, "admin_users", list), XCA_E_OPTION);
  assert_int_equal(cfg->admin_user_count, 0);
  assert_int_equal(xca_config_is_admin(cfg, "u0"), 0);
}

static void test_admin_users_name_length_256_ok_257_refused(void **state)
{
  struct xca_config *cfg = *state;
  char name[260];
  memset(name, 'n', 257);
  name[257] = '\0';
  assert_int_equal(set(cfg, "admin_users", name), XCA_E_OPTION);
  name[256] = '\0';
  assert_int_equal(set(cfg, "admin_users", name), XCA_OK);
  assert_int_equal(xca_config_is_admin(cfg, name), 1);
}

/* Duplicates are harmless: accepted, and the name is an admin. */
static void test_admin_users_duplicates_accepted(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "admin_users", "a,a"), XCA_OK);
  assert_int_equal(xca_config_is_admin(cfg, "a"), 1);
}

static void test_admin_users_second_set_replaces_list(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "admin_users", "a,b"), XCA_OK);
  assert_int_equal(set(cfg, "admin_users", "c"), XCA_OK);
  assert_int_equal(cfg->admin_user_count, 1);
  assert_int_equal(xca_config_is_admin(cfg, "a"), 0);
  assert_int_equal(xca_config_is_admin(cfg, "c"), 1);
}

static void test_admin_users_failed_set_keeps_list(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "admin_users", "a,b"), XCA_OK);
  assert_int_equal(set(cfg, "admin_users", "c, ,d"), XCA_E_OPTION);
  assert_int_equal(cfg->admin_user_count, 2);
  assert_int_equal(xca_config_is_admin(cfg, "a"), 1);
  assert_int_equal(xca_config_is_admin(cfg, "c"), 0);
}

/* ---- xca_config_is_admin ----------------------------------------------- */

static void test_is_admin_exact_match_only(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "admin_users", "admin,ops"), XCA_OK);
  assert_int_equal(xca_config_is_admin(cfg, "admin"), 1);
  assert_int_equal(xca_config_is_admin(cfg, "ops"), 1);
  assert_int_equal(xca_config_is_admin(cfg, "Admin"), 0);
  assert_int_equal(xca_config_is_admin(cfg, "admi"), 0);
  assert_int_equal(xca_config_is_admin(cfg, "admin2"), 0);
  assert_int_equal(xca_config_is_admin(cfg, " admin"), 0);
  assert_int_equal(xca_config_is_admin(cfg, ""), 0);
}

static void test_is_admin_null_username_or_cfg(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "admin_users", "admin"), XCA_OK);
  assert_int_equal(xca_config_is_admin(cfg, NULL), 0);
  assert_int_equal(xca_config_is_admin(NULL, "admin"), 0);
}

/* ---- unknown and malformed calls --------------------------------------- */

static void test_unknown_option_refused_with_name(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_hots", "example.com"), XCA_E_OPTION);
  assert_non_null(strstr(err, "redis_hots"));
  assert_non_null(strstr(err, "unknown"));
  assert_string_equal(cfg->redis_host, "127.0.0.1");
}

/* An unknown name is reported as unknown whatever its value, so a typo is
 * not mistaken for a bad value. */
static void test_unknown_option_with_bad_value_reported_unknown(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "redis_hots", ""), XCA_E_OPTION);
  assert_non_null(strstr(err, "redis_hots"));
  assert_non_null(strstr(err, "unknown"));
}

static void test_option_names_are_case_sensitive(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "REDIS_PORT", "6380"), XCA_E_OPTION);
  assert_int_equal(cfg->redis_port, 6379);
}

static void test_prefixed_name_refused(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, "plugin_opt_redis_port", "6380"), XCA_E_OPTION);
  assert_int_equal(cfg->redis_port, 6379);
}

static void test_null_name_or_value_refused(void **state)
{
  struct xca_config *cfg = *state;
  assert_int_equal(set(cfg, NULL, "1"), XCA_E_OPTION);
  assert_int_equal(set(cfg, "redis_port", NULL), XCA_E_OPTION);
  assert_true(strlen(err) > 0);
  assert_int_equal(cfg->redis_port, 6379);
}

static void test_small_errbuf_is_terminated(void **state)
{
  struct xca_config *cfg = *state;
  char small[8];
  memset(small, 'X', sizeof(small));
  assert_int_equal(xca_config_set(cfg, "redis_port", "abc", small, sizeof(small)), XCA_E_OPTION);
  assert_int_equal(small[sizeof(small) - 1], '\0');
}

/* ---- init / free ------------------------------------------------------- */

static int all_zero(const void *p, size_t n)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) {
    if (b[i] != 0) {
      return 0;
    }
  }
  return 1;
}

static void test_free_zeroes(void **state)
{
  struct xca_config cfg;
  char e[128];
  (void)state;
  assert_int_equal(xca_config_init(&cfg), XCA_OK);
  assert_int_equal(xca_config_set(&cfg, "admin_users", "a,b", e, sizeof(e)), XCA_OK);
  assert_int_equal(xca_config_set(&cfg, "redis_password", "pw", e, sizeof(e)), XCA_OK);
  assert_int_equal(xca_config_set(&cfg, "hub_hostname", "h", e, sizeof(e)), XCA_OK);
  xca_config_free(&cfg);
  assert_true(all_zero(&cfg, sizeof(cfg)));
}

static void test_free_null_and_twice_safe(void **state)
{
  struct xca_config cfg;
  (void)state;
  xca_config_free(NULL);
  assert_int_equal(xca_config_init(&cfg), XCA_OK);
  xca_config_free(&cfg);
  xca_config_free(&cfg);
  assert_true(all_zero(&cfg, sizeof(cfg)));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(test_defaults_strings),
    T(test_defaults_ints),
    T(test_defaults_no_admin),
    T(test_int_accepts_min),
    T(test_int_accepts_max),
    T(test_int_refuses_below_min),
    T(test_int_refuses_above_max),
    T(test_int_refuses_non_numeric),
    T(test_int_refuses_trailing_garbage),
    T(test_int_refuses_empty),
    T(test_int_refuses_hex_and_overflow),
    T(test_int_message_names_range),
    T(test_port_typical_value),
    T(test_min_rsa_bits_refuses_weak_sizes),
    T(test_crl_expired_accept_or_refuse),
    T(test_redis_host_accepts_hostname),
    T(test_redis_host_refuses_empty_and_keeps_old),
    T(test_redis_host_refuses_space_and_control),
    T(test_redis_host_refuses_non_ascii),
    T(test_redis_host_length_253_ok_254_refused),
    T(test_broker_id_default_is_hostname_pid),
    T(test_broker_id_accepts_name),
    T(test_broker_id_refuses_empty_space_and_keeps_old),
    T(test_stream_and_stats_can_be_turned_off),
    T(test_sentinels_default_none_master_mymaster),
    T(test_sentinels_list_parsed_in_order),
    T(test_sentinels_single),
    T(test_sentinels_invalid_refused_and_list_kept),
    T(test_sentinels_max_count),
    T(test_sentinels_host_length_253_ok_254_refused),
    T(test_sentinel_master_set_and_refused),
    T(test_key_prefix_accepts_plain),
    T(test_key_prefix_refuses_glob_characters),
    T(test_key_prefix_refuses_empty),
    T(test_hub_hostname_accepts_hostname),
    T(test_hub_hostname_refuses_slash),
    T(test_hub_hostname_refuses_empty_and_space),
    T(test_hub_hostname_failed_set_keeps_previous),
    T(test_password_accepted_and_stored),
    T(test_password_empty_refused),
    T(test_password_empty_keeps_previous),
    T(test_password_replaced),
    T(test_misspelt_password_option_does_not_echo_value),
    T(test_admin_users_two),
    T(test_admin_users_spaces_trimmed),
    T(test_admin_users_single),
    T(test_admin_users_empty_value_refused),
    T(test_admin_users_blank_item_refused),
    T(test_admin_users_empty_middle_item_refused),
    T(test_admin_users_leading_or_trailing_comma_refused),
    T(test_admin_users_inner_space_refused),
    T(test_admin_users_max_count_accepted),
    T(test_admin_users_too_many_refused),
    T(test_admin_users_name_length_256_ok_257_refused),
    T(test_admin_users_duplicates_accepted),
    T(test_admin_users_second_set_replaces_list),
    T(test_admin_users_failed_set_keeps_list),
    T(test_is_admin_exact_match_only),
    T(test_is_admin_null_username_or_cfg),
    T(test_unknown_option_refused_with_name),
    T(test_unknown_option_with_bad_value_reported_unknown),
    T(test_option_names_are_case_sensitive),
    T(test_prefixed_name_refused),
    T(test_null_name_or_value_refused),
    T(test_small_errbuf_is_terminated),
    cmocka_unit_test(test_free_zeroes),
    cmocka_unit_test(test_free_null_and_twice_safe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
