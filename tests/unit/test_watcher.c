/* The watcher's helpers that need no Redis and no thread: the change queue
 * (and what a change lost for want of memory does), the notification flags,
 * message handling and the epoch that reveals FLUSHDB/FLUSHALL/SWAPDB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "fake_kv.h"
#include "lookup.h"
#include "watcher_internal.h"
#include "replies.h"
#include "xca_err.h"

/* ---- the allocator seam: fail after a number of successful calls ---- */

static int allocations_left = -1; /* -1 = never fail */

static void *failing_calloc(size_t nmemb, size_t size)
{
  if (allocations_left == 0) {
    return NULL;
  }
  if (allocations_left > 0) {
    allocations_left--;
  }
  return calloc(nmemb, size);
}

struct fixture {
  struct xca_config cfg;
  struct xca_watcher *w;
};

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));

  assert_non_null(f);
  assert_int_equal(xca_config_init(&f->cfg), XCA_OK);
  allocations_left = -1;
  xca_watcher__calloc = failing_calloc;
  f->w = xca_watcher__new(&f->cfg);
  assert_non_null(f->w);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;

  xca_watcher__free(f->w);
  xca_watcher__calloc = calloc;
  xca_config_free(&f->cfg);
  free(f);
  return 0;
}

/* Drain the queue and return how many changes it held; *kinds gets their
 * kinds (up to 8), keys[i] a copy of their keys ("" for NULL), or for a
 * RESYNC its CA names, then "group:" and each group name, each followed by
 * "\n". */
static int drain(struct xca_watcher *w, enum xca_change_kind *kinds, char keys[][64])
{
  struct xca_change *list = xca_watcher_drain(w);
  int n = 0;

  for (struct xca_change *c = list; c != NULL; c = c->next, n++) {
    if (n < 8) {
      kinds[n] = c->kind;
      snprintf(keys[n], 64, "%s", c->key != NULL ? c->key : "");
      for (int i = 0; i < c->names.count; i++) {
        strncat(keys[n], c->names.item[i], 64 - strlen(keys[n]) - 2);
        strcat(keys[n], "\n");
      }
      for (int i = 0; i < c->group_names.count; i++) {
        snprintf(keys[n] + strlen(keys[n]), 64 - strlen(keys[n]), "group:%s\n",
                 c->group_names.item[i]);
      }
      assert_true(c->kind == XCA_CHANGE_RESYNC ||
                  (c->names.count == 0 && c->group_names.count == 0));
    }
  }
  xca_changes_free(list);
  return n;
}

/* Add each name of text (each followed by "\n") to list; returns how many. */
static int add_names(struct xca_strlist *list, const char *text)
{
  char copy[256];
  int n = 0;

  snprintf(copy, sizeof(copy), "%s", text);
  for (char *p = copy, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1, n++) {
    *nl = '\0';
    assert_int_equal(xca_strlist_add(list, p), XCA_OK);
  }
  return n;
}

/* Queue a RESYNC of the CA names in cas and the group names in groups (each
 * followed by "\n"); returns what xca_watcher__resync returned, having
 * checked who owns the names after. */
static int resync_with_groups(struct xca_watcher *w, const char *cas, const char *groups)
{
  struct xca_strlist names = {0};
  struct xca_strlist group_names = {0};
  int n = add_names(&names, cas);
  int g = add_names(&group_names, groups);
  int ok = xca_watcher__resync(w, &names, &group_names);

  /* Moved into the change when queued, else still the caller's. */
  assert_int_equal(names.count, ok ? 0 : n);
  assert_int_equal(group_names.count, ok ? 0 : g);
  xca_strlist_free(&names);
  xca_strlist_free(&group_names);
  return ok;
}

static int resync(struct xca_watcher *w, const char *text)
{
  return resync_with_groups(w, text, "");
}

/* A healthy watcher, as after its first resync. */
static void make_healthy(struct xca_watcher *w)
{
  enum xca_change_kind kinds[8];
  char keys[8][64];

  assert_int_equal(resync(w, ""), 1);
  assert_int_equal(drain(w, kinds, keys), 1);
  assert_int_equal(xca_watcher_healthy(w), 1);
}

/* ---- the queue ---- */

static void changes_come_out_oldest_first_with_their_keys_copied(void **state)
{
  struct fixture *f = *state;
  enum xca_change_kind kinds[8];
  char keys[8][64];
  char key[] = "device:d1";

  assert_int_equal(xca_watcher__push(f->w, XCA_CHANGE_KEY, key), 1);
  key[7] = 'X'; /* the queued copy must not change */
  assert_int_equal(xca_watcher__push(f->w, XCA_CHANGE_WARN, "careful"), 1);
  assert_int_equal(xca_watcher__push(f->w, XCA_CHANGE_KEY, NULL), 1);
  assert_int_equal(drain(f->w, kinds, keys), 3);
  assert_int_equal(kinds[0], XCA_CHANGE_KEY);
  assert_string_equal(keys[0], "device:d1");
  assert_int_equal(kinds[1], XCA_CHANGE_WARN);
  assert_string_equal(keys[1], "careful");
  assert_string_equal(keys[2], "");
  assert_null(xca_watcher_drain(f->w));
}

static void a_new_watcher_is_not_healthy_until_its_first_resync(void **state)
{
  struct fixture *f = *state;
  enum xca_change_kind kinds[8];
  char keys[8][64];

  assert_int_equal(xca_watcher_healthy(f->w), 0);
  assert_int_equal(resync(f->w, "root\nint1\n"), 1);
  assert_int_equal(xca_watcher_healthy(f->w), 1);
  assert_int_equal(drain(f->w, kinds, keys), 1);
  assert_int_equal(kinds[0], XCA_CHANGE_RESYNC);
  assert_string_equal(keys[0], "root\nint1\n");
}

static void a_resync_carries_the_enrollment_group_names_too(void **state)
{
  struct fixture *f = *state;
  enum xca_change_kind kinds[8];
  char keys[8][64];

  assert_int_equal(resync_with_groups(f->w, "root\n", "factory-y\ntech-z\n"), 1);
  assert_int_equal(drain(f->w, kinds, keys), 1);
  assert_int_equal(kinds[0], XCA_CHANGE_RESYNC);
  assert_string_equal(keys[0], "root\ngroup:factory-y\ngroup:tech-z\n");
}

static void a_resync_carries_the_revocation_key_names_too(void **state)
{
  struct fixture *f = *state;
  struct xca_strlist cas = {0};
  struct xca_strlist groups = {0};
  struct xca_strlist revoked = {0};
  struct xca_strlist crls = {0};
  struct xca_change *list;

  add_names(&cas, "root\n");
  add_names(&revoked, "aa\nbb\n");
  add_names(&crls, "cc\n");
  assert_int_equal(xca_watcher__resync_all(f->w, &cas, &groups, &revoked, &crls), 1);
  assert_int_equal(revoked.count, 0); /* moved into the change */
  assert_int_equal(crls.count, 0);
  list = xca_watcher_drain(f->w);
  assert_non_null(list);
  assert_int_equal(list->kind, XCA_CHANGE_RESYNC);
  assert_int_equal(list->names.count, 1);
  assert_int_equal(list->revoked_names.count, 2);
  assert_string_equal(list->revoked_names.item[1], "bb");
  assert_int_equal(list->crl_names.count, 1);
  assert_string_equal(list->crl_names.item[0], "cc");
  assert_null(list->next);
  xca_changes_free(list);
  assert_int_equal(xca_watcher_healthy(f->w), 1);
}

static void losing_the_feed_is_reported_once(void **state)
{
  struct fixture *f = *state;
  enum xca_change_kind kinds[8];
  char keys[8][64];

  make_healthy(f->w);
  xca_watcher__set_unhealthy(f->w);
  xca_watcher__set_unhealthy(f->w);
  assert_int_equal(xca_watcher_healthy(f->w), 0);
  assert_int_equal(drain(f->w, kinds, keys), 1);
  assert_int_equal(kinds[0], XCA_CHANGE_LOST);
}

/* ---- a change lost for want of memory ---- */

static void a_change_that_cannot_be_allocated_marks_the_feed_lost(void **state)
{
  struct fixture *f = *state;
  enum xca_change_kind kinds[8];
  char keys[8][64];

  make_healthy(f->w);
  allocations_left = 0;
  assert_int_equal(xca_watcher__push(f->w, XCA_CHANGE_KEY, "device:d1"), 0);
  assert_int_equal(xca_watcher_healthy(f->w), 0);
  /* The LOST change needs no allocation: it was set aside beforehand. */
  assert_int_equal(drain(f->w, kinds, keys), 1);
  assert_int_equal(kinds[0], XCA_CHANGE_LOST);
}

static void a_key_that_cannot_be_copied_marks_the_feed_lost(void **state)
{
  struct fixture *f = *state;
  enum xca_change_kind kinds[8];
  char keys[8][64];

  make_healthy(f->w);
  allocations_left = 1; /* the change itself, not its key */
  assert_int_equal(xca_watcher__push(f->w, XCA_CHANGE_KEY, "device:d1"), 0);
  assert_int_equal(xca_watcher_healthy(f->w), 0);
  assert_int_equal(drain(f->w, kinds, keys), 1);
  assert_int_equal(kinds[0], XCA_CHANGE_LOST);
}

static void a_loss_while_not_following_queues_nothing_more(void **state)
{
  struct fixture *f = *state;

  allocations_left = 0;
  assert_int_equal(xca_watcher__push(f->w, XCA_CHANGE_KEY, "device:d1"), 0);
  assert_int_equal(xca_watcher_healthy(f->w), 0);
  assert_null(xca_watcher_drain(f->w));
}

static void the_resync_waits_for_memory_then_follows_again(void **state)
{
  struct fixture *f = *state;
  enum xca_change_kind kinds[8];
  char keys[8][64];

  make_healthy(f->w);
  allocations_left = 0;
  xca_watcher__push(f->w, XCA_CHANGE_KEY, "device:d1");
  drain(f->w, kinds, keys); /* the LOST */
  assert_int_equal(resync_with_groups(f->w, "root\n", "factory-y\n"), 0);
  assert_int_equal(xca_watcher_healthy(f->w), 0);
  assert_null(xca_watcher_drain(f->w));
  allocations_left = 1; /* enough for the spare LOST, not for the RESYNC */
  assert_int_equal(resync(f->w, "root\n"), 0);
  assert_int_equal(xca_watcher_healthy(f->w), 0);
  assert_null(xca_watcher_drain(f->w));
  allocations_left = -1; /* memory is back */
  assert_int_equal(resync(f->w, "root\n"), 1);
  assert_int_equal(xca_watcher_healthy(f->w), 1);
  assert_int_equal(drain(f->w, kinds, keys), 1);
  assert_int_equal(kinds[0], XCA_CHANGE_RESYNC);
  assert_string_equal(keys[0], "root\n");
  /* And a second loss is reported too: the spare was set aside again. */
  allocations_left = 0;
  xca_watcher__push(f->w, XCA_CHANGE_KEY, "device:d2");
  assert_int_equal(drain(f->w, kinds, keys), 1);
  assert_int_equal(kinds[0], XCA_CHANGE_LOST);
}

static void no_watcher_without_memory_for_its_spare(void **state)
{
  struct fixture *f = *state;

  allocations_left = 0;
  assert_null(xca_watcher__new(&f->cfg));
}

static int watcher_following(void *w)
{
  return xca_watcher_healthy(w);
}

static void after_a_lost_change_the_lookup_reads_redis_not_the_cache(void **state)
{
  struct fixture *f = *state;
  struct xca_fake_kv *store = xca_fake_kv_new();
  struct xca_cache *cache = xca_cache_new(10);
  struct xca_registry reg = {.kv = xca_fake_kv(store), .prefix = "x509ca:"};
  struct xca_lookup lk = {.cache = cache, .registry = &reg, .following = watcher_following,
                          .following_arg = f->w, .stale_max_s = 300};
  struct xca_identity_rec rec;

  make_healthy(f->w);
  xca_fake_kv_hset(store, "x509ca:device:d1", "status", "enabled");
  assert_int_equal(xca_lookup_identity(&lk, "d1", &rec), XCA_OK);
  assert_true(rec.enabled);
  xca_fake_kv_hset(store, "x509ca:device:d1", "status", "disabled");
  allocations_left = 0; /* the change notification for d1 is lost */
  xca_watcher__push(f->w, XCA_CHANGE_KEY, "device:d1");
  allocations_left = -1;
  assert_int_equal(xca_lookup_identity(&lk, "d1", &rec), XCA_OK);
  assert_false(rec.enabled);
  xca_cache_free(cache);
  xca_fake_kv_free(store);
}

/* ---- notification flags ---- */

static void merge(const char *have, size_t outlen, const char *want)
{
  char out[64];

  xca_watcher__merge_flags(have, out, outlen);
  assert_string_equal(out, want);
}

static void flags_get_what_the_watcher_needs(void **state)
{
  (void)state;
  merge("", 64, "Kgh$xe");
  merge("Ex", 64, "ExKgh$e");
  merge("KA", 64, "KA");    /* A covers g, h, $, x, e */
  merge("A", 64, "AK");
  merge("Kgh$xe", 64, "Kgh$xe");
  merge("Kghxe", 64, "Kghxe$"); /* an older plugin's flags: $ is added */
  merge("", 4, "Kgh");      /* truncated, still terminated */
}

/* ---- messages ---- */


/* Feed a pmessage for channel (with event "hset") to w. */
static void message(struct xca_watcher *w, const char *channel)
{
  char resp[512];
  redisReply *reply;

  snprintf(resp, sizeof(resp), "*4\r\n$8\r\npmessage\r\n$1\r\np\r\n$%zu\r\n%s\r\n$4\r\nhset\r\n",
           strlen(channel), channel);
  reply = xca_test_reply(resp);
  xca_watcher__handle_message(w, reply);
  freeReplyObject(reply);
}

static void a_changed_key_is_queued_without_the_prefix(void **state)
{
  struct fixture *f = *state;
  enum xca_change_kind kinds[8];
  char keys[8][64];

  message(f->w, "__keyspace@0__:x509ca:device:d1/m1");
  message(f->w, "__keyspace@0__:x509ca:ca:root");
  assert_int_equal(drain(f->w, kinds, keys), 2);
  assert_int_equal(kinds[0], XCA_CHANGE_KEY);
  assert_string_equal(keys[0], "device:d1/m1");
  assert_string_equal(keys[1], "ca:root");
}

static void the_watchers_own_keys_and_foreign_channels_are_ignored(void **state)
{
  struct fixture *f = *state;
  redisReply *status = xca_test_reply("+OK\r\n");
  redisReply *short_array = xca_test_reply("*2\r\n$10\r\npsubscribe\r\n:1\r\n");
  char canary[128];

  snprintf(canary, sizeof(canary), "__keyspace@0__:x509ca:watcher:%s", f->w->canary_id);
  message(f->w, canary);
  assert_true(f->w->canary_seen_ms > 0);
  message(f->w, "__keyspace@0__:x509ca:watcher:other-broker");
  message(f->w, "__keyspace@0__:x509ca:epoch");
  message(f->w, "__keyspace@1__:x509ca:device:d1"); /* another database */
  message(f->w, "__keyspace@0__:other:device:d1");  /* another prefix */
  xca_watcher__handle_message(f->w, status);
  xca_watcher__handle_message(f->w, short_array);
  freeReplyObject(status);
  freeReplyObject(short_array);
  assert_null(xca_watcher_drain(f->w));
}

/* ---- the epoch ---- */

static void the_first_epoch_is_remembered_and_then_compared(void **state)
{
  struct fixture *f = *state;

  assert_int_equal(xca_watcher__note_epoch(f->w, "e1", 0), XCA_EPOCH_FIRST);
  assert_int_equal(xca_watcher__note_epoch(f->w, "e1", 0), XCA_EPOCH_SAME);
  assert_int_equal(xca_watcher__note_epoch(f->w, "e1", 0), XCA_EPOCH_SAME);
}

static void another_value_means_another_broker_recreated_it(void **state)
{
  struct fixture *f = *state;

  xca_watcher__note_epoch(f->w, "e1", 0);
  assert_int_equal(xca_watcher__note_epoch(f->w, "e2", 0), XCA_EPOCH_CHANGED);
  assert_string_equal(f->w->epoch_seen, "e2");
  assert_int_equal(xca_watcher__note_epoch(f->w, "e2", 0), XCA_EPOCH_SAME);
}

static void recreating_it_ourselves_means_a_flush_and_a_fresh_value(void **state)
{
  struct fixture *f = *state;
  char mine[sizeof(f->w->epoch_mine)];

  snprintf(mine, sizeof(mine), "%s", f->w->epoch_mine);
  assert_true(strlen(mine) > 0);
  assert_int_equal(xca_watcher__note_epoch(f->w, mine, 1), XCA_EPOCH_FIRST); /* empty Redis */
  assert_string_not_equal(f->w->epoch_mine, mine);
  /* Flushed, and ours again: found missing, so changed, even though the
   * value read back is one this watcher chose. */
  snprintf(mine, sizeof(mine), "%s", f->w->epoch_mine);
  assert_int_equal(xca_watcher__note_epoch(f->w, mine, 1), XCA_EPOCH_CHANGED);
  assert_string_not_equal(f->w->epoch_mine, mine);
  assert_int_equal(xca_watcher__note_epoch(f->w, mine, 0), XCA_EPOCH_SAME);
}

static void a_missing_epoch_is_a_change_once(void **state)
{
  struct fixture *f = *state;

  xca_watcher__note_epoch(f->w, "e1", 0);
  assert_int_equal(xca_watcher__note_epoch(f->w, NULL, 0), XCA_EPOCH_CHANGED);
  /* Re-created by the next check: not a second change. */
  assert_int_equal(xca_watcher__note_epoch(f->w, "e2", 1), XCA_EPOCH_FIRST);
  assert_int_equal(xca_watcher__note_epoch(f->w, "e2", 0), XCA_EPOCH_SAME);
}

static void a_long_epoch_is_compared_on_its_first_bytes(void **state)
{
  struct fixture *f = *state;
  char long_value[200];

  memset(long_value, 'a', sizeof(long_value) - 1);
  long_value[sizeof(long_value) - 1] = '\0';
  xca_watcher__note_epoch(f->w, long_value, 0);
  assert_int_equal(xca_watcher__note_epoch(f->w, long_value, 0), XCA_EPOCH_SAME);
  long_value[10] = 'b';
  assert_int_equal(xca_watcher__note_epoch(f->w, long_value, 0), XCA_EPOCH_CHANGED);
}

static void each_watcher_chooses_its_own_epoch_value(void **state)
{
  struct fixture *f = *state;
  struct xca_watcher *other = xca_watcher__new(&f->cfg);

  assert_non_null(other);
  assert_int_equal(strlen(f->w->epoch_mine), 32);
  assert_string_not_equal(f->w->epoch_mine, other->epoch_mine);
  xca_watcher__free(other);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(changes_come_out_oldest_first_with_their_keys_copied),
    T(a_new_watcher_is_not_healthy_until_its_first_resync),
    T(a_resync_carries_the_enrollment_group_names_too),
    T(a_resync_carries_the_revocation_key_names_too),
    T(losing_the_feed_is_reported_once),
    T(a_change_that_cannot_be_allocated_marks_the_feed_lost),
    T(a_key_that_cannot_be_copied_marks_the_feed_lost),
    T(a_loss_while_not_following_queues_nothing_more),
    T(the_resync_waits_for_memory_then_follows_again),
    T(no_watcher_without_memory_for_its_spare),
    T(after_a_lost_change_the_lookup_reads_redis_not_the_cache),
    T(flags_get_what_the_watcher_needs),
    T(a_changed_key_is_queued_without_the_prefix),
    T(the_watchers_own_keys_and_foreign_channels_are_ignored),
    T(the_first_epoch_is_remembered_and_then_compared),
    T(another_value_means_another_broker_recreated_it),
    T(recreating_it_ourselves_means_a_flush_and_a_fresh_value),
    T(a_missing_epoch_is_a_change_once),
    T(a_long_epoch_is_compared_on_its_first_bytes),
    T(each_watcher_chooses_its_own_epoch_value),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
