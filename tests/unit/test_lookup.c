/* Identity lookups through the cache, and the outage policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fake_kv.h"
#include "lookup.h"
#include "xca_err.h"

static long long fake_now;
static long long clock_ms(void) { return fake_now; }

struct fixture {
  struct xca_fake_kv *store;
  struct xca_kv inner;
  struct xca_kv_ops counting_ops;
  int hgetalls;
  int follow;
  struct xca_cache *cache;
  struct xca_registry reg;
  struct xca_lookup lk;
  struct xca_stats stats;
};

static struct fixture *current;

static int counting_hgetall(void *impl, const char *key, struct xca_fields *out)
{
  (void)impl;
  current->hgetalls++;
  return current->inner.ops->hgetall(current->inner.impl, key, out);
}

static int is_following(void *arg)
{
  return *(int *)arg;
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));

  f->store = xca_fake_kv_new();
  f->inner = xca_fake_kv(f->store);
  f->counting_ops = *f->inner.ops;
  f->counting_ops.hgetall = counting_hgetall;
  f->reg.kv.ops = &f->counting_ops;
  f->reg.kv.impl = f->inner.impl;
  f->reg.prefix = "x509ca:";
  f->cache = xca_cache_new(100);
  f->follow = 1;
  f->lk.cache = f->cache;
  f->lk.registry = &f->reg;
  f->lk.following = is_following;
  f->lk.following_arg = &f->follow;
  f->lk.stale_max_s = 10;
  f->lk.now_ms = clock_ms;
  xca_stats_init(&f->stats);
  f->lk.stats = &f->stats;
  fake_now = 1000000;
  xca_fake_kv_hset(f->store, "x509ca:device:d1", "status", "enabled");
  current = f;
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  xca_cache_free(f->cache);
  xca_fake_kv_free(f->store);
  free(f);
  return 0;
}

static int lookup(struct fixture *f, const char *id)
{
  struct xca_identity_rec rec;
  return xca_lookup_identity(&f->lk, id, &rec);
}

static void hit_costs_no_registry_call(void **state)
{
  struct fixture *f = *state;

  assert_int_equal(lookup(f, "d1"), XCA_OK);
  assert_int_equal(f->hgetalls, 1);
  assert_int_equal(lookup(f, "d1"), XCA_OK);
  assert_int_equal(f->hgetalls, 1);
}

static void negative_result_is_cached_too(void **state)
{
  struct fixture *f = *state;

  assert_int_equal(lookup(f, "ghost"), XCA_E_NOT_FOUND);
  assert_int_equal(lookup(f, "ghost"), XCA_E_NOT_FOUND);
  assert_int_equal(f->hgetalls, 1);
}

static void eviction_makes_the_next_lookup_read_again(void **state)
{
  struct fixture *f = *state;
  struct xca_identity_rec rec;

  lookup(f, "d1");
  xca_fake_kv_hset(f->store, "x509ca:device:d1", "status", "disabled");
  xca_cache_remove(f->cache, "d1"); /* what a change notification does */
  assert_int_equal(xca_lookup_identity(&f->lk, "d1", &rec), XCA_OK);
  assert_false(rec.enabled);
  assert_int_equal(f->hgetalls, 2);
}

static void not_following_reads_through_and_caches_nothing(void **state)
{
  struct fixture *f = *state;

  f->follow = 0;
  assert_int_equal(lookup(f, "d1"), XCA_OK);
  assert_int_equal(lookup(f, "d1"), XCA_OK);
  assert_int_equal(f->hgetalls, 2);
  assert_int_equal(xca_cache_count(f->cache), 0);
}

static void outage_within_stale_max_uses_the_cache(void **state)
{
  struct fixture *f = *state;

  lookup(f, "d1");
  f->follow = 0;
  f->lk.lost_ms = fake_now;
  xca_fake_kv_set_down(f->store, 1);
  fake_now += 9000;
  assert_int_equal(lookup(f, "d1"), XCA_OK);
}

static void outage_beyond_stale_max_refuses_as_stale(void **state)
{
  struct fixture *f = *state;

  lookup(f, "d1");
  f->follow = 0;
  f->lk.lost_ms = fake_now;
  xca_fake_kv_set_down(f->store, 1);
  fake_now += 10001;
  assert_int_equal(lookup(f, "d1"), XCA_E_STALE);
}

static void outage_with_nothing_cached_refuses(void **state)
{
  struct fixture *f = *state;

  f->follow = 0;
  f->lk.lost_ms = fake_now;
  xca_fake_kv_set_down(f->store, 1);
  assert_int_equal(lookup(f, "d1"), XCA_E_REGISTRY_UNAVAILABLE);
}

static void cached_absence_stays_a_refusal_during_an_outage(void **state)
{
  struct fixture *f = *state;

  lookup(f, "ghost");
  f->follow = 0;
  f->lk.lost_ms = fake_now;
  xca_fake_kv_set_down(f->store, 1);
  assert_int_equal(lookup(f, "ghost"), XCA_E_NOT_FOUND);
}

static void registry_down_while_following_uses_the_cache(void **state)
{
  struct fixture *f = *state;

  lookup(f, "d1");
  xca_fake_kv_set_down(f->store, 1);
  assert_int_equal(lookup(f, "d1"), XCA_OK);
  assert_int_equal(lookup(f, "d2"), XCA_E_REGISTRY_UNAVAILABLE);
}

static void disabled_cache_always_reads(void **state)
{
  struct fixture *f = *state;
  struct xca_cache *none = xca_cache_new(0);

  f->lk.cache = none;
  lookup(f, "d1");
  lookup(f, "d1");
  assert_int_equal(f->hgetalls, 2);
  xca_fake_kv_set_down(f->store, 1);
  assert_int_equal(lookup(f, "d1"), XCA_E_REGISTRY_UNAVAILABLE);
  xca_cache_free(none);
}

static void an_answer_while_not_following_replaces_the_cached_entry(void **state)
{
  struct fixture *f = *state;
  struct xca_identity_rec rec;

  lookup(f, "d1"); /* cached as enabled */
  f->follow = 0;
  f->lk.lost_ms = fake_now;
  xca_fake_kv_hset(f->store, "x509ca:device:d1", "status", "disabled");
  assert_int_equal(xca_lookup_identity(&f->lk, "d1", &rec), XCA_OK);
  assert_false(rec.enabled);
  /* Redis now fails: the old "enabled" entry must not come back. */
  xca_fake_kv_set_down(f->store, 1);
  assert_int_equal(lookup(f, "d1"), XCA_E_REGISTRY_UNAVAILABLE);
}

/* A hit is an answer from the cache while changes are followed; every
 * lookup that asks Redis is a miss, answered or not. */
static void hits_and_misses_are_counted(void **state)
{
  struct fixture *f = *state;

  lookup(f, "d1");    /* miss: read and cached */
  lookup(f, "d1");    /* hit */
  lookup(f, "ghost"); /* miss: absence cached */
  lookup(f, "ghost"); /* hit */
  assert_true(f->stats.cache_hits == 2);
  assert_true(f->stats.cache_misses == 2);
  assert_int_equal(f->hgetalls, 2);
  f->follow = 0;
  lookup(f, "d1"); /* not following: Redis is asked (and the entry uncached) */
  xca_fake_kv_set_down(f->store, 1);
  f->lk.lost_ms = fake_now;
  assert_int_equal(lookup(f, "d1"), XCA_E_REGISTRY_UNAVAILABLE); /* asked, failed */
  assert_true(f->stats.cache_hits == 2);
  assert_true(f->stats.cache_misses == 4);
  f->lk.stats = NULL; /* counts nothing */
  lookup(f, "d1");
  assert_true(f->stats.cache_misses == 4);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(hit_costs_no_registry_call),
    T(negative_result_is_cached_too),
    T(eviction_makes_the_next_lookup_read_again),
    T(not_following_reads_through_and_caches_nothing),
    T(outage_within_stale_max_uses_the_cache),
    T(outage_beyond_stale_max_refuses_as_stale),
    T(outage_with_nothing_cached_refuses),
    T(cached_absence_stays_a_refusal_during_an_outage),
    T(registry_down_while_following_uses_the_cache),
    T(disabled_cache_always_reads),
    T(an_answer_while_not_following_replaces_the_cached_entry),
    T(hits_and_misses_are_counted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
