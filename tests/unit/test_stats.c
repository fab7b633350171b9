/* test_stats.c - unit tests of common/stats.h: counters, refusal slugs,
 * latency percentiles and the order counters are visited in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "xca_err.h"

#define VISIT_MAX 80

/* What one xca_stats_each walk saw. */
struct seen {
  int count;
  char name[VISIT_MAX][XCA_STATS_NAME_MAX];
  unsigned long long value[VISIT_MAX];
  int stop_after; /* return 7 after this many visits (0 = never) */
};

static int record(void *arg, const char *name, unsigned long long value)
{
  struct seen *s = arg;

  assert_true(s->count < VISIT_MAX);
  snprintf(s->name[s->count], sizeof(s->name[0]), "%s", name);
  s->value[s->count] = value;
  s->count++;
  return (s->stop_after != 0 && s->count == s->stop_after) ? 7 : 0;
}

/* The value visited under name; fails when it was not visited. */
static unsigned long long value_of(const struct seen *s, const char *name)
{
  for (int i = 0; i < s->count; i++) {
    if (strcmp(s->name[i], name) == 0) {
      return s->value[i];
    }
  }
  fail_msg("counter %s not visited", name);
  return 0;
}

static int visited(const struct seen *s, const char *name)
{
  for (int i = 0; i < s->count; i++) {
    if (strcmp(s->name[i], name) == 0) {
      return 1;
    }
  }
  return 0;
}

static struct xca_stats *new_stats(void)
{
  struct xca_stats *s = malloc(sizeof(*s));
  assert_non_null(s);
  xca_stats_init(s);
  return s;
}

/* ---- slugs ------------------------------------------------------------- */

static void test_slug_is_the_error_name_lowercased(void **state)
{
  char buf[XCA_STATS_SLUG_MAX];
  (void)state;
  assert_string_equal(xca_stats_slug(XCA_E_CN_MISMATCH, buf, sizeof(buf)), "cn_mismatch");
  assert_string_equal(xca_stats_slug(XCA_E_NOT_FOUND, buf, sizeof(buf)), "not_found");
  assert_string_equal(xca_stats_slug(XCA_E_CHAIN, buf, sizeof(buf)), "chain");
  assert_string_equal(xca_stats_slug(XCA_E_DISABLED, buf, sizeof(buf)), "disabled");
  assert_string_equal(xca_stats_slug(XCA_E_THUMBPRINT, buf, sizeof(buf)), "thumbprint");
  assert_string_equal(xca_stats_slug(XCA_E_BAD_USERNAME, buf, sizeof(buf)), "bad_username");
  assert_string_equal(xca_stats_slug(XCA_E_REGISTRY_UNAVAILABLE, buf, sizeof(buf)),
                      "registry_unavailable");
}

static void test_slug_of_codes_outside_the_table_is_unknown(void **state)
{
  char buf[XCA_STATS_SLUG_MAX];
  (void)state;
  assert_string_equal(xca_stats_slug(XCA_OK, buf, sizeof(buf)), "unknown");
  assert_string_equal(xca_stats_slug(-3, buf, sizeof(buf)), "unknown");
  assert_string_equal(xca_stats_slug(XCA_E_MAX_, buf, sizeof(buf)), "unknown");
}

/* Every code of the table, present and future: a slug of lowercase
 * letters, digits and '_', fitting XCA_STATS_SLUG_MAX, distinct from every
 * other code's and from "unknown". */
static void test_every_code_has_a_distinct_wellformed_slug(void **state)
{
  static char slugs[XCA_E_MAX_][XCA_STATS_SLUG_MAX];
  (void)state;
  for (int err = 1; err < XCA_E_MAX_; err++) {
    char *slug = xca_stats_slug(err, slugs[err], sizeof(slugs[err]));
    assert_true(strlen(slug) > 0);
    assert_true(strlen(slug) + 1 < XCA_STATS_SLUG_MAX); /* never truncated */
    assert_int_equal(strspn(slug, "abcdefghijklmnopqrstuvwxyz0123456789_"), strlen(slug));
    assert_string_not_equal(slug, "unknown");
    for (int other = 1; other < err; other++) {
      assert_string_not_equal(slug, slugs[other]);
    }
  }
}

static void test_slug_truncated_to_buffer(void **state)
{
  char buf[4];
  (void)state;
  assert_string_equal(xca_stats_slug(XCA_E_CN_MISMATCH, buf, sizeof(buf)), "cn_");
}

/* ---- counters ---------------------------------------------------------- */

static void test_fresh_stats_visit_the_fixed_names_in_order(void **state)
{
  static const char *const names[] = {
    "connects/accepted", "connects/refused", "dropped", "enrolled",
    "cache/hits", "cache/misses", "chaincache/hits", "chaincache/misses",
    "chaincache/leaf", "prefetch/requests", "prefetch/applied", "prefetch/hits",
    "prefetch/late", "prefetch/discarded", "prefetch/dropped", "redis/errors", "redis/latency_us/p50",
    "redis/latency_us/p99", "sessions", "cas", "audit/dropped", "crl/expired",
  };
  struct xca_stats *s = new_stats();
  struct seen seen = {0};
  (void)state;

  assert_int_equal(xca_stats_each(s, record, &seen), 0);
  assert_int_equal(seen.count, (int)(sizeof(names) / sizeof(names[0])));
  for (int i = 0; i < seen.count; i++) {
    assert_string_equal(seen.name[i], names[i]);
    assert_true(seen.value[i] == 0);
  }
  free(s);
}

static void test_counts_each_event(void **state)
{
  struct xca_stats *s = new_stats();
  struct seen seen = {0};
  (void)state;

  for (int i = 0; i < 3; i++) {
    xca_stats_accepted(s);
  }
  xca_stats_dropped(s);
  xca_stats_dropped(s);
  xca_stats_enrolled(s);
  xca_stats_cache(s, 1);
  xca_stats_cache(s, 1);
  xca_stats_cache(s, 0);
  xca_stats_redis_call(s, 10, 0);
  xca_stats_redis_call(s, 10, 1);
  xca_stats_redis_error(s);
  xca_stats_set_gauge(s, XCA_GAUGE_SESSIONS, 42);
  xca_stats_set_gauge(s, XCA_GAUGE_CAS, 3);
  xca_stats_set_gauge(s, XCA_GAUGE_AUDIT_DROPPED, 9);
  xca_stats_set_gauge(s, XCA_GAUGE_CRL_EXPIRED, 2);
  xca_stats_set_gauge(s, XCA_GAUGE_MAX_, 1000); /* ignored */
  xca_stats_each(s, record, &seen);
  assert_true(value_of(&seen, "connects/accepted") == 3);
  assert_true(value_of(&seen, "dropped") == 2);
  assert_true(value_of(&seen, "enrolled") == 1);
  assert_true(value_of(&seen, "cache/hits") == 2);
  assert_true(value_of(&seen, "cache/misses") == 1);
  assert_true(value_of(&seen, "redis/errors") == 2);
  assert_true(value_of(&seen, "sessions") == 42);
  assert_true(value_of(&seen, "cas") == 3);
  assert_true(value_of(&seen, "audit/dropped") == 9);
  assert_true(value_of(&seen, "crl/expired") == 2);
  free(s);
}

static void test_refusals_by_reason_only_seen_ones_in_table_order(void **state)
{
  struct xca_stats *s = new_stats();
  struct seen seen = {0};
  int at_refused = -1;
  (void)state;

  xca_stats_refused(s, XCA_E_NOT_FOUND);
  xca_stats_refused(s, XCA_E_CHAIN);
  xca_stats_refused(s, XCA_E_NOT_FOUND);
  xca_stats_refused(s, XCA_E_REGISTRY_UNAVAILABLE);
  xca_stats_refused(s, 12345); /* outside the table */
  xca_stats_each(s, record, &seen);
  assert_true(value_of(&seen, "connects/refused") == 5);
  assert_true(value_of(&seen, "refused/not_found") == 2);
  assert_true(value_of(&seen, "refused/chain") == 1);
  assert_true(value_of(&seen, "refused/registry_unavailable") == 1);
  assert_true(value_of(&seen, "refused/unknown") == 1);
  assert_false(visited(&seen, "refused/disabled"));
  assert_false(visited(&seen, "refused/cn_mismatch"));
  /* Right after connects/refused, in error-table order (unknown first). */
  for (int i = 0; i < seen.count; i++) {
    if (strcmp(seen.name[i], "connects/refused") == 0) {
      at_refused = i;
    }
  }
  assert_true(at_refused >= 0 && at_refused + 4 < seen.count);
  assert_string_equal(seen.name[at_refused + 1], "refused/unknown");
  assert_true(XCA_E_CHAIN < XCA_E_NOT_FOUND && XCA_E_NOT_FOUND < XCA_E_REGISTRY_UNAVAILABLE);
  assert_string_equal(seen.name[at_refused + 2], "refused/chain");
  assert_string_equal(seen.name[at_refused + 3], "refused/not_found");
  assert_string_equal(seen.name[at_refused + 4], "refused/registry_unavailable");
  free(s);
}

static void test_each_stops_at_first_nonzero_return(void **state)
{
  struct xca_stats *s = new_stats();
  struct seen seen = {.stop_after = 2};
  (void)state;

  assert_int_equal(xca_stats_each(s, record, &seen), 7);
  assert_int_equal(seen.count, 2);
  free(s);
}

static void test_null_stats_are_safe(void **state)
{
  struct seen seen = {0};
  (void)state;
  xca_stats_init(NULL);
  xca_stats_accepted(NULL);
  xca_stats_refused(NULL, XCA_E_CHAIN);
  xca_stats_dropped(NULL);
  xca_stats_enrolled(NULL);
  xca_stats_cache(NULL, 1);
  xca_stats_redis_call(NULL, 5, 1);
  xca_stats_redis_error(NULL);
  xca_stats_set_gauge(NULL, XCA_GAUGE_CAS, 1);
  assert_true(xca_stats_latency_percentile(NULL, 50) == 0);
  assert_int_equal(xca_stats_each(NULL, record, &seen), 0);
  assert_int_equal(seen.count, 0);
}

/* ---- latency percentiles ----------------------------------------------- */

static void test_percentile_without_samples_is_zero(void **state)
{
  struct xca_stats *s = new_stats();
  (void)state;
  assert_true(xca_stats_latency_percentile(s, 50) == 0);
  assert_true(xca_stats_latency_percentile(s, 99) == 0);
  free(s);
}

static void test_percentile_of_one_sample_is_that_sample(void **state)
{
  struct xca_stats *s = new_stats();
  (void)state;
  xca_stats_redis_call(s, 250, 0);
  assert_true(xca_stats_latency_percentile(s, 1) == 250);
  assert_true(xca_stats_latency_percentile(s, 50) == 250);
  assert_true(xca_stats_latency_percentile(s, 99) == 250);
  free(s);
}

/* 1..100 in a scrambled order: nearest rank gives p50 = 50, p99 = 99. */
static void test_percentiles_nearest_rank(void **state)
{
  struct xca_stats *s = new_stats();
  struct seen seen = {0};
  (void)state;

  for (int i = 0; i < 100; i++) {
    xca_stats_redis_call(s, (i * 37) % 100 + 1, 0);
  }
  assert_true(xca_stats_latency_percentile(s, 50) == 50);
  assert_true(xca_stats_latency_percentile(s, 99) == 99);
  assert_true(xca_stats_latency_percentile(s, 100) == 100);
  assert_true(xca_stats_latency_percentile(s, 1) == 1);
  assert_true(xca_stats_latency_percentile(s, 0) == 0);   /* out of range */
  assert_true(xca_stats_latency_percentile(s, 101) == 0); /* out of range */
  xca_stats_each(s, record, &seen);
  assert_true(value_of(&seen, "redis/latency_us/p50") == 50);
  assert_true(value_of(&seen, "redis/latency_us/p99") == 99);
  free(s);
}

/* 20 slow calls among 1000 (2%) show in p99, not in p50. */
static void test_p99_sees_a_slow_tail(void **state)
{
  struct xca_stats *s = new_stats();
  (void)state;

  for (int i = 0; i < 980; i++) {
    xca_stats_redis_call(s, 100, 0);
  }
  for (int i = 0; i < 20; i++) {
    xca_stats_redis_call(s, 90000, 0);
  }
  assert_true(xca_stats_latency_percentile(s, 50) == 100);
  assert_true(xca_stats_latency_percentile(s, 99) == 90000);
  free(s);
}

/* Only the last XCA_STATS_LATENCY_SAMPLES calls count: an old slow period
 * is forgotten once the ring has turned over. */
static void test_percentiles_cover_the_recent_window_only(void **state)
{
  struct xca_stats *s = new_stats();
  (void)state;

  for (int i = 0; i < XCA_STATS_LATENCY_SAMPLES; i++) {
    xca_stats_redis_call(s, 1000000, 0);
  }
  assert_true(xca_stats_latency_percentile(s, 50) == 1000000);
  for (int i = 0; i < XCA_STATS_LATENCY_SAMPLES - 1; i++) {
    xca_stats_redis_call(s, 7, 0);
  }
  assert_true(xca_stats_latency_percentile(s, 100) == 1000000); /* one old sample left */
  assert_true(xca_stats_latency_percentile(s, 99) == 7);
  xca_stats_redis_call(s, 7, 0);
  assert_true(xca_stats_latency_percentile(s, 100) == 7);
  free(s);
}

static void test_negative_latency_counts_as_zero(void **state)
{
  struct xca_stats *s = new_stats();
  (void)state;
  xca_stats_redis_call(s, -5, 0);
  assert_true(xca_stats_latency_percentile(s, 50) == 0);
  assert_true(s->redis_errors == 0);
  free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_slug_is_the_error_name_lowercased),
    cmocka_unit_test(test_slug_of_codes_outside_the_table_is_unknown),
    cmocka_unit_test(test_every_code_has_a_distinct_wellformed_slug),
    cmocka_unit_test(test_slug_truncated_to_buffer),
    cmocka_unit_test(test_fresh_stats_visit_the_fixed_names_in_order),
    cmocka_unit_test(test_counts_each_event),
    cmocka_unit_test(test_refusals_by_reason_only_seen_ones_in_table_order),
    cmocka_unit_test(test_each_stops_at_first_nonzero_return),
    cmocka_unit_test(test_null_stats_are_safe),
    cmocka_unit_test(test_percentile_without_samples_is_zero),
    cmocka_unit_test(test_percentile_of_one_sample_is_that_sample),
    cmocka_unit_test(test_percentiles_nearest_rank),
    cmocka_unit_test(test_p99_sees_a_slow_tail),
    cmocka_unit_test(test_percentiles_cover_the_recent_window_only),
    cmocka_unit_test(test_negative_latency_counts_as_zero),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
