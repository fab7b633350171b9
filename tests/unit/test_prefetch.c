/* The registry prefetch: answers read by the worker (against the in-memory
 * registry) reach the cache only under the invalidation generation they
 * were asked under, while changes are followed, and never over what the
 * cache holds; claims tell hits from late answers; the queue is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cache.h"
#include "fake_kv.h"
#include "prefetch.h"
#include "xca_err.h"

struct fixture {
  struct xca_fake_kv *kv;
  struct xca_cache *cache;
  struct xca_prefetch *pf;
};

static int released;

static void release(void *arg)
{
  (void)arg;
  released++;
}

static struct xca_prefetch *new_prefetch(struct fixture *f, int queue_max, int start)
{
  struct xca_registry reg = {xca_fake_kv(f->kv), "x509ca:"};
  struct xca_prefetch *pf = xca_prefetch_new(queue_max, reg, release, NULL);

  assert_non_null(pf);
  if (start) {
    assert_int_equal(xca_prefetch_start(pf), XCA_OK);
  }
  return pf;
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));

  assert_non_null(f);
  f->kv = xca_fake_kv_new();
  f->cache = xca_cache_new(100);
  assert_int_equal(xca_fake_kv_hset(f->kv, "x509ca:device:dev", "status", "enabled"), XCA_OK);
  assert_int_equal(xca_fake_kv_hset(f->kv, "x509ca:device:off", "status", "disabled"), XCA_OK);
  f->pf = new_prefetch(f, 8, 1);
  released = 0;
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  int before = released;
  xca_prefetch_free(f->pf);
  assert_int_equal(released, before + 1); /* the worker's connection is released */
  xca_cache_free(f->cache);
  xca_fake_kv_free(f->kv);
  free(f);
  return 0;
}

/* Wait (2 s at most) until the worker has read everything asked. */
static void settle(struct xca_prefetch *pf)
{
  struct timespec ms = {0, 1000000};

  for (int i = 0; i < 2000 && xca_prefetch_in_flight(pf) > 0; i++) {
    nanosleep(&ms, NULL);
  }
  assert_int_equal(xca_prefetch_in_flight(pf), 0);
}

static struct xca_prefetch_applied apply(struct fixture *f, unsigned long gen, int live)
{
  struct xca_prefetch_applied out;
  settle(f->pf);
  xca_prefetch_apply(f->pf, f->cache, gen, live, 1000, &out);
  return out;
}

static int cached(struct fixture *f, const char *id, int *found, struct xca_identity_rec *rec)
{
  return xca_cache_get(f->cache, id, 0, found, rec);
}

static void answer_reaches_the_cache_and_is_claimed_once(void **state)
{
  struct fixture *f = *state;
  struct xca_identity_rec rec;
  int found = 0;

  assert_int_equal(xca_prefetch_request(f->pf, "dev", 7), XCA_OK);
  assert_int_equal(apply(f, 7, 1).applied, 1);
  assert_true(cached(f, "dev", &found, &rec));
  assert_true(found && rec.enabled);
  assert_int_equal(xca_prefetch_claim(f->pf, f->cache, "dev"), XCA_PREFETCH_HIT);
  assert_int_equal(xca_prefetch_claim(f->pf, f->cache, "dev"), XCA_PREFETCH_NONE);
}

static void disabled_and_missing_are_cached_as_they_are(void **state)
{
  struct fixture *f = *state;
  struct xca_identity_rec rec;
  int found = 1;

  assert_int_equal(xca_prefetch_request(f->pf, "off", 1), XCA_OK);
  assert_int_equal(xca_prefetch_request(f->pf, "nobody", 1), XCA_OK);
  assert_int_equal(apply(f, 1, 1).applied, 2);
  assert_true(cached(f, "off", &found, &rec));
  assert_true(found && !rec.enabled);
  assert_true(cached(f, "nobody", &found, &rec));
  assert_false(found);
}

/* A change invalidated while the read was in flight: the answer may
 * predate it, and is never cached. */
static void invalidation_while_in_flight_discards(void **state)
{
  struct fixture *f = *state;
  struct xca_prefetch_applied out;
  int found;
  struct xca_identity_rec rec;

  assert_int_equal(xca_prefetch_request(f->pf, "dev", 3), XCA_OK);
  out = apply(f, 4, 1);
  assert_int_equal(out.applied, 0);
  assert_int_equal(out.discarded, 1);
  assert_false(cached(f, "dev", &found, &rec));
  assert_int_equal(xca_prefetch_claim(f->pf, f->cache, "dev"), XCA_PREFETCH_NONE);
}

/* The identity's key changed after the request (its answer may have been
 * read before the change): discarded; another identity's change does not
 * touch it. */
static void identity_invalidated_while_in_flight_discards(void **state)
{
  struct fixture *f = *state;
  int found;
  struct xca_identity_rec rec;

  assert_int_equal(xca_prefetch_request(f->pf, "dev", 1), XCA_OK);
  assert_int_equal(xca_prefetch_request(f->pf, "off", 1), XCA_OK);
  settle(f->pf);
  xca_prefetch_invalidate(f->pf, "dev");
  xca_prefetch_invalidate(f->pf, "someone-else");
  assert_int_equal(apply(f, 1, 1).discarded, 1);
  assert_false(cached(f, "dev", &found, &rec));
  assert_true(cached(f, "off", &found, &rec));
  /* a new request after the change is not affected by it */
  assert_int_equal(xca_prefetch_request(f->pf, "dev", 1), XCA_OK);
  assert_int_equal(apply(f, 1, 1).applied, 1);
}

static void not_following_changes_discards(void **state)
{
  struct fixture *f = *state;
  int found;
  struct xca_identity_rec rec;

  assert_int_equal(xca_prefetch_request(f->pf, "dev", 1), XCA_OK);
  assert_int_equal(apply(f, 1, 0).discarded, 1);
  assert_false(cached(f, "dev", &found, &rec));
}

static void failed_read_leaves_the_cache_alone(void **state)
{
  struct fixture *f = *state;
  int found;
  struct xca_identity_rec rec;

  xca_fake_kv_set_down(f->kv, 1);
  assert_int_equal(xca_prefetch_request(f->pf, "dev", 1), XCA_OK);
  assert_int_equal(apply(f, 1, 1).discarded, 1);
  assert_false(cached(f, "dev", &found, &rec));
}

/* What the cache holds (e.g. a synchronous read that came first) is as
 * current as the answer: it is never overwritten. */
static void cached_entry_is_not_overwritten(void **state)
{
  struct fixture *f = *state;
  struct xca_identity_rec rec = {.enabled = 0};
  int found = 0;

  assert_int_equal(xca_cache_put(f->cache, "dev", 1, &rec, 5), XCA_OK);
  assert_int_equal(xca_prefetch_request(f->pf, "dev", 1), XCA_OK);
  assert_int_equal(apply(f, 1, 1).skipped, 1);
  assert_true(cached(f, "dev", &found, &rec));
  assert_false(rec.enabled);
}

static void claim_before_the_answer_is_late(void **state)
{
  struct fixture *f = *state;
  struct xca_prefetch *idle = new_prefetch(f, 8, 0); /* no worker: nothing is answered */

  assert_int_equal(xca_prefetch_request(idle, "dev", 1), XCA_OK);
  assert_int_equal(xca_prefetch_request(idle, "dev", 1), XCA_E_EXISTS);
  assert_int_equal(xca_prefetch_claim(idle, f->cache, "dev"), XCA_PREFETCH_LATE);
  assert_int_equal(xca_prefetch_claim(idle, f->cache, "dev"), XCA_PREFETCH_NONE);
  assert_int_equal(xca_prefetch_start(idle), XCA_OK);
  settle(idle);
  xca_prefetch_apply(idle, f->cache, 1, 1, 1000, NULL);
  assert_int_equal(xca_prefetch_claim(idle, f->cache, "dev"), XCA_PREFETCH_NONE);
  xca_prefetch_free(idle);
}

static void queue_is_bounded(void **state)
{
  struct fixture *f = *state;
  struct xca_prefetch *idle = new_prefetch(f, 2, 0);

  assert_int_equal(xca_prefetch_request(idle, "a", 1), XCA_OK);
  assert_int_equal(xca_prefetch_request(idle, "b", 1), XCA_OK);
  assert_int_equal(xca_prefetch_request(idle, "c", 1), XCA_E_TOO_LARGE);
  assert_int_equal(xca_prefetch_in_flight(idle), 2);
  xca_prefetch_free(idle); /* never started: frees what is queued */
}

static void evicted_after_apply_is_not_a_hit(void **state)
{
  struct fixture *f = *state;

  assert_int_equal(xca_prefetch_request(f->pf, "dev", 1), XCA_OK);
  assert_int_equal(apply(f, 1, 1).applied, 1);
  xca_cache_remove(f->cache, "dev"); /* the change feed evicted it */
  assert_int_equal(xca_prefetch_claim(f->pf, f->cache, "dev"), XCA_PREFETCH_NONE);
}

static void unclaimed_marks_expire_and_a_new_handshake_asks_again(void **state)
{
  struct fixture *f = *state;

  assert_int_equal(xca_prefetch_request(f->pf, "dev", 1), XCA_OK);
  assert_int_equal(apply(f, 1, 1).applied, 1);
  xca_prefetch_expire(f->pf, 2000); /* applied at 1000 */
  assert_int_equal(xca_prefetch_claim(f->pf, f->cache, "dev"), XCA_PREFETCH_NONE);
  assert_int_equal(xca_prefetch_request(f->pf, "dev", 1), XCA_OK);
  settle(f->pf);
  assert_int_equal(xca_prefetch_request(f->pf, "dev", 1), XCA_E_EXISTS); /* answered, not applied */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(answer_reaches_the_cache_and_is_claimed_once),
    T(disabled_and_missing_are_cached_as_they_are),
    T(invalidation_while_in_flight_discards),
    T(identity_invalidated_while_in_flight_discards),
    T(not_following_changes_discards),
    T(failed_read_leaves_the_cache_alone),
    T(cached_entry_is_not_overwritten),
    T(claim_before_the_answer_is_late),
    T(queue_is_bounded),
    T(evicted_after_apply_is_not_a_hit),
    T(unclaimed_marks_expire_and_a_new_handshake_asks_again),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
