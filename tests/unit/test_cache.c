/* test_cache.c - unit tests of common/cache.h: the bounded LRU cache of
 * registry lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "xca_err.h"

static struct xca_identity_rec rec_of(int enabled, enum xca_auth_type auth, char fill)
{
  struct xca_identity_rec r;
  memset(&r, 0, sizeof(r));
  r.enabled = enabled;
  r.auth = auth;
  memset(r.primary, fill, 40);
  return r;
}

static int hit(struct xca_cache *c, const char *key)
{
  int found = -1;
  struct xca_identity_rec r;
  return xca_cache_get(c, key, 0, &found, &r);
}

static int setup2(void **state)
{
  *state = xca_cache_new(2);
  return *state == NULL ? -1 : 0;
}

static int setup100(void **state)
{
  *state = xca_cache_new(100);
  return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
  xca_cache_free(*state);
  return 0;
}

/* ---- get / put --------------------------------------------------------- */

static void test_get_on_empty_misses(void **state)
{
  struct xca_cache *c = *state;
  int found = 7;
  struct xca_identity_rec r;
  assert_int_equal(xca_cache_get(c, "d", 0, &found, &r), 0);
  assert_int_equal(found, 7); /* untouched on a miss */
  assert_int_equal(xca_cache_count(c), 0);
}

static void test_put_then_get_found(void **state)
{
  struct xca_cache *c = *state;
  struct xca_identity_rec in = rec_of(1, XCA_AUTH_SELF_SIGNED, 'a');
  struct xca_identity_rec out;
  int found = -1;
  memset(&out, 0, sizeof(out));
  assert_int_equal(xca_cache_put(c, "d", 1, &in, 1000), XCA_OK);
  assert_int_equal(xca_cache_get(c, "d", 0, &found, &out), 1);
  assert_int_equal(found, 1);
  assert_memory_equal(&out, &in, sizeof(in));
  assert_int_equal(xca_cache_count(c), 1);
}

static void test_put_negative_then_get_not_found(void **state)
{
  struct xca_cache *c = *state;
  struct xca_identity_rec out = rec_of(1, XCA_AUTH_CA, 'z');
  struct xca_identity_rec before = out;
  int found = -1;
  assert_int_equal(xca_cache_put(c, "ghost", 0, NULL, 1000), XCA_OK);
  assert_int_equal(xca_cache_get(c, "ghost", 0, &found, &out), 1);
  assert_int_equal(found, 0);
  assert_memory_equal(&out, &before, sizeof(out)); /* rec untouched when not found */
}

static void test_put_copies_record(void **state)
{
  struct xca_cache *c = *state;
  struct xca_identity_rec in = rec_of(1, XCA_AUTH_CA, 'a');
  struct xca_identity_rec out;
  int found;
  assert_int_equal(xca_cache_put(c, "d", 1, &in, 1), XCA_OK);
  in.enabled = 0;
  assert_int_equal(xca_cache_get(c, "d", 0, &found, &out), 1);
  assert_int_equal(out.enabled, 1);
}

static void test_put_replaces_same_key(void **state)
{
  struct xca_cache *c = *state;
  struct xca_identity_rec a = rec_of(1, XCA_AUTH_CA, 'a');
  struct xca_identity_rec out;
  int found = -1;
  assert_int_equal(xca_cache_put(c, "d", 1, &a, 1), XCA_OK);
  assert_int_equal(xca_cache_put(c, "d", 0, NULL, 2), XCA_OK);
  assert_int_equal(xca_cache_count(c), 1);
  assert_int_equal(xca_cache_get(c, "d", 0, &found, &out), 1);
  assert_int_equal(found, 0);
}

static void test_keys_are_exact(void **state)
{
  struct xca_cache *c = *state;
  struct xca_identity_rec a = rec_of(1, XCA_AUTH_CA, 'a');
  assert_int_equal(xca_cache_put(c, "d", 1, &a, 1), XCA_OK);
  assert_int_equal(hit(c, "D"), 0);
  assert_int_equal(hit(c, "dd"), 0);
  assert_int_equal(hit(c, "d/m"), 0);
  assert_int_equal(hit(c, ""), 0);
}

/* ---- freshness --------------------------------------------------------- */

static void test_fetched_at_min_is_fresh(void **state)
{
  struct xca_cache *c = *state;
  int found;
  struct xca_identity_rec out;
  assert_int_equal(xca_cache_put(c, "d", 0, NULL, 5000), XCA_OK);
  assert_int_equal(xca_cache_get(c, "d", 5000, &found, &out), 1);
  assert_int_equal(xca_cache_get(c, "d", 4999, &found, &out), 1);
}

static void test_fetched_before_min_misses_but_stays(void **state)
{
  struct xca_cache *c = *state;
  int found = 7;
  struct xca_identity_rec out;
  assert_int_equal(xca_cache_put(c, "d", 0, NULL, 5000), XCA_OK);
  assert_int_equal(xca_cache_get(c, "d", 5001, &found, &out), 0);
  assert_int_equal(found, 7);
  /* still held: an older policy (e.g. stale fallback) can use it */
  assert_int_equal(xca_cache_count(c), 1);
  assert_int_equal(xca_cache_get(c, "d", 0, &found, &out), 1);
}

static void test_put_updates_fetched_time(void **state)
{
  struct xca_cache *c = *state;
  int found;
  struct xca_identity_rec out;
  assert_int_equal(xca_cache_put(c, "d", 0, NULL, 100), XCA_OK);
  assert_int_equal(xca_cache_put(c, "d", 0, NULL, 900), XCA_OK);
  assert_int_equal(xca_cache_get(c, "d", 500, &found, &out), 1);
}

/* ---- LRU (found entries) ---------------------------------------------- */

static int put_found(struct xca_cache *c, const char *key, long long t)
{
  struct xca_identity_rec r = rec_of(1, XCA_AUTH_CA, key[0]);
  return xca_cache_put(c, key, 1, &r, t);
}

static void test_lru_evicts_oldest_when_full(void **state)
{
  struct xca_cache *c = *state; /* capacity 2 */
  assert_int_equal(put_found(c, "a", 1), XCA_OK);
  assert_int_equal(put_found(c, "b", 2), XCA_OK);
  assert_int_equal(put_found(c, "c", 3), XCA_OK);
  assert_int_equal(xca_cache_count(c), 2);
  assert_int_equal(hit(c, "a"), 0);
  assert_int_equal(hit(c, "b"), 1);
  assert_int_equal(hit(c, "c"), 1);
}

static void test_lru_get_refreshes_recency(void **state)
{
  struct xca_cache *c = *state; /* capacity 2 */
  assert_int_equal(put_found(c, "a", 1), XCA_OK);
  assert_int_equal(put_found(c, "b", 2), XCA_OK);
  assert_int_equal(hit(c, "a"), 1); /* b is now least recent */
  assert_int_equal(put_found(c, "c", 3), XCA_OK);
  assert_int_equal(hit(c, "b"), 0);
  assert_int_equal(hit(c, "a"), 1);
  assert_int_equal(hit(c, "c"), 1);
}

static void test_lru_stale_get_does_not_refresh(void **state)
{
  struct xca_cache *c = *state; /* capacity 2 */
  int found;
  struct xca_identity_rec out;
  assert_int_equal(put_found(c, "a", 1), XCA_OK);
  assert_int_equal(put_found(c, "b", 2), XCA_OK);
  assert_int_equal(xca_cache_get(c, "a", 100, &found, &out), 0); /* miss: too old */
  assert_int_equal(put_found(c, "c", 3), XCA_OK);
  assert_int_equal(hit(c, "a"), 0);
  assert_int_equal(hit(c, "b"), 1);
}

static void test_lru_put_refreshes_recency(void **state)
{
  struct xca_cache *c = *state; /* capacity 2 */
  assert_int_equal(put_found(c, "a", 1), XCA_OK);
  assert_int_equal(put_found(c, "b", 2), XCA_OK);
  assert_int_equal(put_found(c, "a", 3), XCA_OK); /* re-put a */
  assert_int_equal(xca_cache_count(c), 2);
  assert_int_equal(put_found(c, "c", 4), XCA_OK);
  assert_int_equal(hit(c, "b"), 0);
  assert_int_equal(hit(c, "a"), 1);
}

static void test_lru_replacing_key_when_full_evicts_nothing(void **state)
{
  struct xca_cache *c = *state; /* capacity 2 */
  assert_int_equal(put_found(c, "a", 1), XCA_OK);
  assert_int_equal(put_found(c, "b", 2), XCA_OK);
  assert_int_equal(put_found(c, "b", 3), XCA_OK);
  assert_int_equal(xca_cache_count(c), 2);
  assert_int_equal(hit(c, "a"), 1);
  assert_int_equal(hit(c, "b"), 1);
}

static void test_many_puts_stay_bounded(void **state)
{
  struct xca_cache *c = *state; /* capacity 100 */
  char key[32];
  for (int i = 0; i < 1000; i++) {
    snprintf(key, sizeof(key), "dev-%d", i);
    assert_int_equal(put_found(c, key, i), XCA_OK);
  }
  assert_int_equal(xca_cache_count(c), 100);
  assert_int_equal(hit(c, "dev-899"), 0);
  assert_int_equal(hit(c, "dev-900"), 1);
  assert_int_equal(hit(c, "dev-999"), 1);
}

/* ---- not-found entries: their own bounded LRU ---------------------------- */

/* found value of a hit, or -1 on a miss */
static int found_of(struct xca_cache *c, const char *key)
{
  int found = -1;
  struct xca_identity_rec r;
  return xca_cache_get(c, key, 0, &found, &r) ? found : -1;
}

/* Any number of not-found entries leaves every found entry in place, with
 * its record; the not-found ones stay bounded and the newest still work. */
static void test_flood_of_missing_keeps_every_found(void **state)
{
  struct xca_cache *c = *state; /* capacity 100: 100 found + 25 not-found */
  struct xca_identity_rec out;
  char key[32];
  int found;

  for (int i = 0; i < 100; i++) {
    snprintf(key, sizeof(key), "dev-%d", i);
    assert_int_equal(put_found(c, key, i), XCA_OK);
  }
  for (int i = 0; i < 10000; i++) {
    snprintf(key, sizeof(key), "ghost-%d", i);
    assert_int_equal(xca_cache_put(c, key, 0, NULL, 1000 + i), XCA_OK);
  }
  assert_int_equal(xca_cache_count(c), 100 + 100 / XCA_CACHE_MISSING_SHARE);
  for (int i = 0; i < 100; i++) {
    snprintf(key, sizeof(key), "dev-%d", i);
    assert_int_equal(xca_cache_get(c, key, 0, &found, &out), 1);
    assert_int_equal(found, 1);
    assert_int_equal(out.primary[0], 'd');
  }
  assert_int_equal(found_of(c, "ghost-9974"), -1);
  assert_int_equal(found_of(c, "ghost-9975"), 0);
  assert_int_equal(found_of(c, "ghost-9999"), 0);
}

static void test_missing_lru_evicts_oldest_missing(void **state)
{
  struct xca_cache *c = xca_cache_new(8); /* 8 found + 2 not-found */
  (void)state;
  assert_non_null(c);
  assert_int_equal(xca_cache_put(c, "a", 0, NULL, 1), XCA_OK);
  assert_int_equal(xca_cache_put(c, "b", 0, NULL, 2), XCA_OK);
  assert_int_equal(found_of(c, "a"), 0); /* b is now least recent */
  assert_int_equal(xca_cache_put(c, "c", 0, NULL, 3), XCA_OK);
  assert_int_equal(xca_cache_count(c), 2);
  assert_int_equal(found_of(c, "b"), -1);
  assert_int_equal(found_of(c, "a"), 0);
  assert_int_equal(found_of(c, "c"), 0);
  xca_cache_free(c);
}

/* A full found list evicts a found entry, never a not-found one. */
static void test_found_overflow_leaves_missing_alone(void **state)
{
  struct xca_cache *c = xca_cache_new(4); /* 4 found + 1 not-found */
  (void)state;
  assert_non_null(c);
  assert_int_equal(xca_cache_put(c, "m", 0, NULL, 0), XCA_OK);
  assert_int_equal(put_found(c, "a", 1), XCA_OK);
  assert_int_equal(put_found(c, "b", 2), XCA_OK);
  assert_int_equal(put_found(c, "c", 3), XCA_OK);
  assert_int_equal(put_found(c, "d", 4), XCA_OK);
  assert_int_equal(put_found(c, "e", 5), XCA_OK);
  assert_int_equal(xca_cache_count(c), 5);
  assert_int_equal(found_of(c, "a"), -1);
  assert_int_equal(found_of(c, "e"), 1);
  assert_int_equal(found_of(c, "m"), 0);
  xca_cache_free(c);
}

/* A key changes kind: it moves to the other list, held once. */
static void test_put_moves_key_between_kinds(void **state)
{
  struct xca_cache *c = xca_cache_new(4); /* 4 found + 1 not-found */
  (void)state;
  assert_non_null(c);
  assert_int_equal(put_found(c, "d", 1), XCA_OK);
  assert_int_equal(xca_cache_put(c, "d", 0, NULL, 2), XCA_OK);
  assert_int_equal(xca_cache_count(c), 1);
  assert_int_equal(found_of(c, "d"), 0);
  assert_int_equal(put_found(c, "d", 3), XCA_OK);
  assert_int_equal(xca_cache_count(c), 1);
  assert_int_equal(found_of(c, "d"), 1);
  /* the not-found slot is free again: a new not-found entry evicts nothing */
  assert_int_equal(xca_cache_put(c, "x", 0, NULL, 4), XCA_OK);
  assert_int_equal(xca_cache_count(c), 2);
  assert_int_equal(found_of(c, "d"), 1);
  xca_cache_remove(c, "x");
  assert_int_equal(found_of(c, "x"), -1);
  xca_cache_free(c);
}

/* A quarter of capacity, at least one. */
static void test_missing_capacity_share(void **state)
{
  static const struct {
    int capacity;
    unsigned missing;
  } cases[] = {{1, 1}, {3, 1}, {7, 1}, {8, 2}, {100, 25}};
  char key[32];
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct xca_cache *c = xca_cache_new(cases[i].capacity);
    assert_non_null(c);
    for (int k = 0; k < 50; k++) {
      snprintf(key, sizeof(key), "ghost-%d", k);
      assert_int_equal(xca_cache_put(c, key, 0, NULL, k), XCA_OK);
    }
    assert_int_equal(xca_cache_count(c), cases[i].missing);
    xca_cache_free(c);
  }
}

/* ---- capacity 0 -------------------------------------------------------- */

static void test_capacity_zero_stores_nothing(void **state)
{
  struct xca_cache *c = xca_cache_new(0);
  struct xca_identity_rec a = rec_of(1, XCA_AUTH_CA, 'a');
  (void)state;
  assert_non_null(c);
  assert_int_equal(xca_cache_put(c, "a", 1, &a, 1), XCA_OK);
  assert_int_equal(xca_cache_put(c, "b", 0, NULL, 1), XCA_OK);
  assert_int_equal(xca_cache_count(c), 0);
  assert_int_equal(hit(c, "a"), 0);
  assert_int_equal(hit(c, "b"), 0);
  xca_cache_remove(c, "a");
  xca_cache_clear(c);
  xca_cache_free(c);
}

static void test_negative_capacity_behaves_as_zero(void **state)
{
  struct xca_cache *c = xca_cache_new(-5);
  (void)state;
  assert_non_null(c);
  assert_int_equal(xca_cache_put(c, "a", 0, NULL, 1), XCA_OK);
  assert_int_equal(xca_cache_count(c), 0);
  xca_cache_free(c);
}

/* ---- remove / clear / free --------------------------------------------- */

static void test_remove_drops_only_that_key(void **state)
{
  struct xca_cache *c = *state;
  assert_int_equal(xca_cache_put(c, "a", 0, NULL, 1), XCA_OK);
  assert_int_equal(xca_cache_put(c, "b", 0, NULL, 1), XCA_OK);
  xca_cache_remove(c, "a");
  assert_int_equal(xca_cache_count(c), 1);
  assert_int_equal(hit(c, "a"), 0);
  assert_int_equal(hit(c, "b"), 1);
}

static void test_remove_missing_key_is_noop(void **state)
{
  struct xca_cache *c = *state;
  assert_int_equal(xca_cache_put(c, "a", 0, NULL, 1), XCA_OK);
  xca_cache_remove(c, "zzz");
  assert_int_equal(xca_cache_count(c), 1);
}

static void test_clear_drops_everything_and_cache_reusable(void **state)
{
  struct xca_cache *c = *state;
  assert_int_equal(xca_cache_put(c, "a", 0, NULL, 1), XCA_OK);
  assert_int_equal(xca_cache_put(c, "b", 0, NULL, 1), XCA_OK);
  xca_cache_clear(c);
  assert_int_equal(xca_cache_count(c), 0);
  assert_int_equal(hit(c, "a"), 0);
  assert_int_equal(xca_cache_put(c, "c", 0, NULL, 1), XCA_OK);
  assert_int_equal(hit(c, "c"), 1);
}

#define T2(f) cmocka_unit_test_setup_teardown(f, setup2, teardown)
#define T100(f) cmocka_unit_test_setup_teardown(f, setup100, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T100(test_get_on_empty_misses),
    T100(test_put_then_get_found),
    T100(test_put_negative_then_get_not_found),
    T100(test_put_copies_record),
    T100(test_put_replaces_same_key),
    T100(test_keys_are_exact),
    T100(test_fetched_at_min_is_fresh),
    T100(test_fetched_before_min_misses_but_stays),
    T100(test_put_updates_fetched_time),
    T2(test_lru_evicts_oldest_when_full),
    T2(test_lru_get_refreshes_recency),
    T2(test_lru_stale_get_does_not_refresh),
    T2(test_lru_put_refreshes_recency),
    T2(test_lru_replacing_key_when_full_evicts_nothing),
    T100(test_many_puts_stay_bounded),
    T100(test_flood_of_missing_keeps_every_found),
    cmocka_unit_test(test_missing_lru_evicts_oldest_missing),
    cmocka_unit_test(test_found_overflow_leaves_missing_alone),
    cmocka_unit_test(test_put_moves_key_between_kinds),
    cmocka_unit_test(test_missing_capacity_share),
    cmocka_unit_test(test_capacity_zero_stores_nothing),
    cmocka_unit_test(test_negative_capacity_behaves_as_zero),
    T100(test_remove_drops_only_that_key),
    T100(test_remove_missing_key_is_noop),
    T100(test_clear_drops_everything_and_cache_reusable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
