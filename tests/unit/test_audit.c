/* test_audit.c - unit tests of common/audit.h: building entries (fields,
 * order, sanitising, bounds), the bounded queue and its dropped count, and
 * the writer thread against a fake sink (order, retries after failures,
 * partial writes, stop within its bound). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "xca_err.h"

/* ---- a fake sink ------------------------------------------------------- */

#define FAKE_MAX 256

struct fake_sink {
  pthread_mutex_t lock;
  char written[FAKE_MAX][64]; /* the clientId of each entry stored, in order */
  int count;
  int calls;
  atomic_int fail;        /* every write stores nothing */
  atomic_int store_limit; /* > 0: a write stores at most this many, then fails */
  atomic_int freed;
};

static int fake_write(void *arg, struct xca_audit_entry *const *entries, int n)
{
  struct fake_sink *f = arg;
  int limit = atomic_load(&f->store_limit);
  int done = 0;

  pthread_mutex_lock(&f->lock);
  f->calls++;
  if (!atomic_load(&f->fail)) {
    done = (limit > 0 && limit < n) ? limit : n;
    for (int i = 0; i < done && f->count < FAKE_MAX; i++) {
      const char *id = xca_audit_entry_get(entries[i], "clientId");
      snprintf(f->written[f->count++], sizeof(f->written[0]), "%s", id ? id : "");
    }
  }
  pthread_mutex_unlock(&f->lock);
  return done;
}

static void fake_free(void *arg)
{
  struct fake_sink *f = arg;
  atomic_store(&f->freed, 1);
}

static struct fake_sink *fake_new(void)
{
  struct fake_sink *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  pthread_mutex_init(&f->lock, NULL);
  return f;
}

static void fake_delete(struct fake_sink *f)
{
  pthread_mutex_destroy(&f->lock);
  free(f);
}

static struct xca_audit_sink sink_of(struct fake_sink *f)
{
  struct xca_audit_sink s = {fake_write, fake_free, f};
  return s;
}

static int fake_count(struct fake_sink *f)
{
  int n;
  pthread_mutex_lock(&f->lock);
  n = f->count;
  pthread_mutex_unlock(&f->lock);
  return n;
}

static int fake_calls(struct fake_sink *f)
{
  int n;
  pthread_mutex_lock(&f->lock);
  n = f->calls;
  pthread_mutex_unlock(&f->lock);
  return n;
}

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait (5 s at most) until the sink stored n entries; returns 1 if it did. */
static int wait_stored(struct fake_sink *f, int n)
{
  long long deadline = now_ms() + 5000;
  while (fake_count(f) < n && now_ms() < deadline) {
    usleep(1000);
  }
  return fake_count(f) >= n;
}

static int wait_calls(struct fake_sink *f, int n)
{
  long long deadline = now_ms() + 5000;
  while (fake_calls(f) < n && now_ms() < deadline) {
    usleep(1000);
  }
  return fake_calls(f) >= n;
}

/* Queue the accepted event of client id "c<i>". */
static int push_client(struct xca_audit *a, int i)
{
  char id[16];
  snprintf(id, sizeof(id), "c%d", i);
  return xca_audit_accepted(a, id, id, "aa,bb");
}

static void assert_stored_in_order(struct fake_sink *f, int from, int n)
{
  char want[16];
  assert_int_equal(fake_count(f), n);
  for (int i = 0; i < n; i++) {
    snprintf(want, sizeof(want), "c%d", from + i);
    assert_string_equal(f->written[i], want);
  }
}

/* ---- entries ----------------------------------------------------------- */

static void assert_fields(const struct xca_audit_entry *e, const char *const *want, int n)
{
  assert_non_null(e);
  assert_int_equal(e->count, n);
  for (int i = 0; i < n; i++) {
    assert_string_equal(e->name[i], want[i]);
    assert_int_equal(e->len[i], strlen(e->value[i]));
  }
}

static void test_accepted_entry_fields_in_order(void **state)
{
  static const char *const want[] = {"event", "broker", "clientId", "identity", "chain"};
  struct xca_audit_event ev = {.event = "accepted", .client_id = "d1", .identity = "d1",
                               .chain = "aa,bb,cc"};
  struct xca_audit_entry *e = xca_audit_entry_new(&ev, "b-1");
  (void)state;

  assert_fields(e, want, 5);
  assert_string_equal(xca_audit_entry_get(e, "event"), "accepted");
  assert_string_equal(xca_audit_entry_get(e, "broker"), "b-1");
  assert_string_equal(xca_audit_entry_get(e, "clientId"), "d1");
  assert_string_equal(xca_audit_entry_get(e, "chain"), "aa,bb,cc");
  assert_null(xca_audit_entry_get(e, "reason"));
  assert_null(xca_audit_entry_get(e, "admin"));
  xca_audit_entry_free(e);
}

static void test_refused_entry_has_slug_and_reason(void **state)
{
  static const char *const want[] = {"event", "broker", "clientId", "identity", "code", "reason"};
  struct xca_audit_event ev = {.event = "refused", .client_id = "d2", .identity = "d2",
                               .code = "cn_mismatch",
                               .reason = "refused client 'd2' (CN 'd1'): certificate CN does not "
                                         "match the client id"};
  struct xca_audit_entry *e = xca_audit_entry_new(&ev, "b-1");
  (void)state;

  assert_fields(e, want, 6);
  assert_string_equal(xca_audit_entry_get(e, "code"), "cn_mismatch");
  assert_string_equal(xca_audit_entry_get(e, "reason"), ev.reason);
  xca_audit_entry_free(e);
}

static void test_admin_entry_fields(void **state)
{
  static const char *const want[] = {"event",   "broker", "clientId", "admin",
                                     "command", "target", "detail",   "result"};
  struct xca_audit_event ev = {.event = "admin", .client_id = "ops-1", .admin = "admin",
                               .command = "uploadCA", .target = "ca:x",
                               .detail = "verificationCode=*****", .result = "ok"};
  struct xca_audit_entry *e = xca_audit_entry_new(&ev, "b-1");
  (void)state;

  assert_fields(e, want, 8);
  assert_string_equal(xca_audit_entry_get(e, "detail"), "verificationCode=*****");
  assert_string_equal(xca_audit_entry_get(e, "result"), "ok");
  xca_audit_entry_free(e);
}

static void test_values_are_sanitised_like_log_lines(void **state)
{
  struct xca_audit_event ev = {.event = "refused", .client_id = "evil\r\nevent admin\x7f\xc3\xa9",
                               .reason = "tab\there"};
  struct xca_audit_entry *e = xca_audit_entry_new(&ev, "b\n1");
  (void)state;

  assert_non_null(e);
  assert_string_equal(xca_audit_entry_get(e, "clientId"), "evil??event admin???");
  assert_string_equal(xca_audit_entry_get(e, "reason"), "tab?here");
  assert_string_equal(xca_audit_entry_get(e, "broker"), "b?1");
  xca_audit_entry_free(e);
}

static void test_long_values_are_cut(void **state)
{
  char *big = malloc(XCA_AUDIT_VALUE_MAX + 100);
  struct xca_audit_event ev = {.event = "refused"};
  struct xca_audit_entry *e;
  (void)state;

  assert_non_null(big);
  memset(big, 'x', XCA_AUDIT_VALUE_MAX + 99);
  big[XCA_AUDIT_VALUE_MAX + 99] = '\0';
  ev.reason = big;
  e = xca_audit_entry_new(&ev, "b");
  assert_non_null(e);
  assert_int_equal(strlen(xca_audit_entry_get(e, "reason")), XCA_AUDIT_VALUE_MAX);
  assert_int_equal(e->len[2], XCA_AUDIT_VALUE_MAX);
  xca_audit_entry_free(e);
  free(big);
}

static void test_entry_needs_event_and_broker(void **state)
{
  struct xca_audit_event ev = {.client_id = "d"};
  (void)state;
  assert_null(xca_audit_entry_new(&ev, "b"));
  ev.event = "accepted";
  assert_null(xca_audit_entry_new(&ev, NULL));
  assert_null(xca_audit_entry_new(NULL, "b"));
  xca_audit_entry_free(NULL);
}

/* ---- the event helpers, read back through the writer ------------------- */

/* A sink keeping the last entry whole, to read every field back. */
struct keep_sink {
  pthread_mutex_t lock;
  char fields[XCA_AUDIT_FIELDS_MAX][2][160];
  int count;
  int stored;
};

static int keep_write(void *arg, struct xca_audit_entry *const *entries, int n)
{
  struct keep_sink *k = arg;

  pthread_mutex_lock(&k->lock);
  for (int i = 0; i < n; i++) {
    k->count = entries[i]->count;
    for (int j = 0; j < entries[i]->count; j++) {
      snprintf(k->fields[j][0], sizeof(k->fields[j][0]), "%s", entries[i]->name[j]);
      snprintf(k->fields[j][1], sizeof(k->fields[j][1]), "%s", entries[i]->value[j]);
    }
    k->stored++;
  }
  pthread_mutex_unlock(&k->lock);
  return n;
}

/* Run push on a started queue with a keep_sink; return the sink (caller
 * frees) once the entry was stored. */
static struct keep_sink *through_writer(int (*push)(struct xca_audit *))
{
  struct keep_sink *k = calloc(1, sizeof(*k));
  struct xca_audit_sink sink = {keep_write, NULL, k};
  struct xca_audit *a;
  long long deadline = now_ms() + 5000;
  int stored = 0;

  assert_non_null(k);
  pthread_mutex_init(&k->lock, NULL);
  a = xca_audit_new("edge-1", 4, 10, sink);
  assert_non_null(a);
  assert_int_equal(xca_audit_start(a), XCA_OK);
  assert_int_equal(push(a), XCA_OK);
  while (!stored && now_ms() < deadline) {
    pthread_mutex_lock(&k->lock);
    stored = k->stored;
    pthread_mutex_unlock(&k->lock);
    usleep(1000);
  }
  assert_int_equal(xca_audit_stop(a, 100), 0);
  assert_int_equal(stored, 1);
  return k;
}

static const char *kept(const struct keep_sink *k, const char *name)
{
  for (int i = 0; i < k->count; i++) {
    if (strcmp(k->fields[i][0], name) == 0) {
      return k->fields[i][1];
    }
  }
  return NULL;
}

static int push_enrolled(struct xca_audit *a)
{
  return xca_audit_enrolled(a, "widget-7", "widget-7", "factory-y", "l1,i1,r1");
}

/* The API the enrollment groups call: one "enrolled" entry naming the
 * identity, its group and the chain. */
static void test_enrolled_event(void **state)
{
  struct keep_sink *k = through_writer(push_enrolled);
  (void)state;

  assert_int_equal(k->count, 6);
  assert_string_equal(k->fields[0][0], "event");
  assert_string_equal(kept(k, "event"), "enrolled");
  assert_string_equal(kept(k, "broker"), "edge-1");
  assert_string_equal(kept(k, "clientId"), "widget-7");
  assert_string_equal(kept(k, "identity"), "widget-7");
  assert_string_equal(kept(k, "group"), "factory-y");
  assert_string_equal(kept(k, "chain"), "l1,i1,r1");
  assert_null(kept(k, "reason"));
  pthread_mutex_destroy(&k->lock);
  free(k);
}

static int push_refused(struct xca_audit *a)
{
  return xca_audit_refused(a, "d9", "d9", XCA_E_NOT_FOUND, "refused client 'd9' (CN 'd9'): not found");
}

static void test_refused_event_code_is_the_error_slug(void **state)
{
  struct keep_sink *k = through_writer(push_refused);
  (void)state;

  assert_string_equal(kept(k, "event"), "refused");
  assert_string_equal(kept(k, "code"), "not_found");
  assert_string_equal(kept(k, "reason"), "refused client 'd9' (CN 'd9'): not found");
  assert_null(kept(k, "chain"));
  pthread_mutex_destroy(&k->lock);
  free(k);
}

static int push_dropped(struct xca_audit *a)
{
  return xca_audit_dropped(a, "d3", "d3", XCA_E_DISABLED,
                           "disconnecting client 'd3': identity is disabled");
}

static void test_dropped_event(void **state)
{
  struct keep_sink *k = through_writer(push_dropped);
  (void)state;

  assert_string_equal(kept(k, "event"), "dropped");
  assert_string_equal(kept(k, "code"), "disabled");
  assert_string_equal(kept(k, "reason"), "disconnecting client 'd3': identity is disabled");
  pthread_mutex_destroy(&k->lock);
  free(k);
}

static int push_admin(struct xca_audit *a)
{
  return xca_audit_admin(a, "ops", "admin", "getDevice", "device:x", NULL,
                         "error (device not found)");
}

static void test_admin_event_without_detail(void **state)
{
  struct keep_sink *k = through_writer(push_admin);
  (void)state;

  assert_int_equal(k->count, 7);
  assert_string_equal(kept(k, "event"), "admin");
  assert_string_equal(kept(k, "admin"), "admin");
  assert_string_equal(kept(k, "command"), "getDevice");
  assert_string_equal(kept(k, "target"), "device:x");
  assert_string_equal(kept(k, "result"), "error (device not found)");
  assert_null(kept(k, "detail"));
  assert_null(kept(k, "identity"));
  pthread_mutex_destroy(&k->lock);
  free(k);
}

/* ---- the queue --------------------------------------------------------- */

static void test_queue_holds_capacity_and_counts_the_rest_dropped(void **state)
{
  struct fake_sink *f = fake_new();
  struct xca_audit *a = xca_audit_new("b", 3, 10, sink_of(f));
  (void)state;

  assert_non_null(a);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(push_client(a, i), XCA_OK);
  }
  assert_int_equal(push_client(a, 3), XCA_E_TOO_LARGE);
  assert_int_equal(push_client(a, 4), XCA_E_TOO_LARGE);
  assert_int_equal(xca_audit_queued(a), 3);
  assert_true(xca_audit_dropped_count(a) == 2);
  /* Never started: all three are left unwritten. */
  assert_true(xca_audit_stop(a, 100) == 3);
  assert_int_equal(atomic_load(&f->freed), 1);
  assert_int_equal(fake_count(f), 0);
  fake_delete(f);
}

static void test_writer_drains_in_order(void **state)
{
  struct fake_sink *f = fake_new();
  struct xca_audit *a = xca_audit_new("b", 200, 10, sink_of(f));
  (void)state;

  assert_int_equal(xca_audit_start(a), XCA_OK);
  for (int i = 0; i < 150; i++) { /* more than one batch */
    assert_int_equal(push_client(a, i), XCA_OK);
  }
  assert_true(wait_stored(f, 150));
  assert_stored_in_order(f, 0, 150);
  assert_int_equal(xca_audit_queued(a), 0);
  assert_int_equal(xca_audit_writing(a), 1);
  assert_true(xca_audit_stop(a, 100) == 0);
  assert_true(atomic_load(&f->freed));
  fake_delete(f);
}

/* Entries that come a few milliseconds apart (a connect rate of a few
 * hundred per second) share one round trip: the writer waits up to
 * XCA_AUDIT_LINGER_MS for its batch to fill instead of waking for each
 * entry, yet every entry is written soon after it was queued. */
static void test_entries_close_together_share_one_write(void **state)
{
  struct fake_sink *f = fake_new();
  struct xca_audit *a = xca_audit_new("b", 200, 10, sink_of(f));
  long long first;
  (void)state;

  assert_int_equal(xca_audit_start(a), XCA_OK);
  first = now_ms();
  for (int i = 0; i < 5; i++) { /* 5 entries over ~8 ms, under the linger */
    assert_int_equal(push_client(a, i), XCA_OK);
    if (i < 4) {
      usleep(2000);
    }
  }
  assert_true(wait_stored(f, 5));
  assert_true(now_ms() - first < 1000);
  assert_stored_in_order(f, 0, 5);
  assert_int_equal(fake_calls(f), 1);
  assert_true(xca_audit_stop(a, 100) == 0);
  fake_delete(f);
}

/* An outage: nothing is lost until the queue is full; what arrives after is
 * dropped and counted; once the sink works again the queued entries are
 * written, in order, by the retries alone. */
static void test_outage_keeps_the_queue_and_retries(void **state)
{
  struct fake_sink *f = fake_new();
  struct xca_audit *a = xca_audit_new("b", 5, 20, sink_of(f));
  (void)state;

  atomic_store(&f->fail, 1);
  assert_int_equal(xca_audit_start(a), XCA_OK);
  for (int i = 0; i < 7; i++) {
    push_client(a, i);
  }
  assert_true(wait_calls(f, 2)); /* tried and retried */
  assert_int_equal(xca_audit_writing(a), 0);
  assert_int_equal(xca_audit_queued(a), 5);
  assert_true(xca_audit_dropped_count(a) == 2);
  atomic_store(&f->fail, 0);
  assert_true(wait_stored(f, 5));
  assert_stored_in_order(f, 0, 5);
  assert_int_equal(xca_audit_queued(a), 0);
  assert_int_equal(xca_audit_writing(a), 1);
  assert_true(xca_audit_dropped_count(a) == 2);
  assert_true(xca_audit_stop(a, 100) == 0);
  fake_delete(f);
}

/* A batch stored in part: the stored ones leave the queue, the others are
 * sent again, nothing twice. */
static void test_partial_write_resends_only_the_rest(void **state)
{
  struct fake_sink *f = fake_new();
  struct xca_audit *a = xca_audit_new("b", 20, 5, sink_of(f));
  (void)state;

  atomic_store(&f->store_limit, 3);
  for (int i = 0; i < 10; i++) {
    push_client(a, i);
  }
  assert_int_equal(xca_audit_start(a), XCA_OK);
  assert_true(wait_stored(f, 10));
  assert_stored_in_order(f, 0, 10);
  assert_true(fake_calls(f) >= 4);
  assert_true(xca_audit_stop(a, 100) == 0);
  fake_delete(f);
}

/* Stop flushes what is queued when the sink works. */
static void test_stop_flushes_the_queue(void **state)
{
  struct fake_sink *f = fake_new();
  struct xca_audit *a = xca_audit_new("b", 100, 10, sink_of(f));
  (void)state;

  for (int i = 0; i < 80; i++) {
    push_client(a, i);
  }
  assert_int_equal(xca_audit_start(a), XCA_OK);
  assert_true(xca_audit_stop(a, 1000) == 0);
  assert_stored_in_order(f, 0, 80);
  fake_delete(f);
}

/* Stop with the sink down returns at once, however long the retry
 * interval, and reports what was left unwritten. */
static void test_stop_during_an_outage_is_bounded(void **state)
{
  struct fake_sink *f = fake_new();
  struct xca_audit *a = xca_audit_new("b", 10, 60000, sink_of(f));
  long long start;
  (void)state;

  atomic_store(&f->fail, 1);
  assert_int_equal(xca_audit_start(a), XCA_OK);
  for (int i = 0; i < 4; i++) {
    push_client(a, i);
  }
  assert_true(wait_calls(f, 1)); /* now waiting out its 60 s retry interval */
  start = now_ms();
  assert_true(xca_audit_stop(a, 500) == 4);
  assert_true(now_ms() - start < 1000);
  assert_int_equal(fake_count(f), 0);
  fake_delete(f);
}

/* The stream turned off: no queue, every call a no-op. */
static void test_null_audit_is_a_noop(void **state)
{
  (void)state;
  assert_int_equal(xca_audit_accepted(NULL, "d", "d", "aa"), XCA_OK);
  assert_int_equal(xca_audit_refused(NULL, "d", "d", XCA_E_CHAIN, "r"), XCA_OK);
  assert_int_equal(xca_audit_dropped(NULL, "d", "d", XCA_E_CHAIN, "r"), XCA_OK);
  assert_int_equal(xca_audit_enrolled(NULL, "d", "d", "g", "aa"), XCA_OK);
  assert_int_equal(xca_audit_admin(NULL, "c", "a", "listCAs", "-", NULL, "ok"), XCA_OK);
  assert_int_equal(xca_audit_push(NULL, NULL), XCA_OK);
  assert_int_equal(xca_audit_start(NULL), XCA_OK);
  assert_true(xca_audit_dropped_count(NULL) == 0);
  assert_int_equal(xca_audit_queued(NULL), 0);
  assert_true(xca_audit_stop(NULL, 0) == 0);
}

static void test_new_refuses_bad_arguments_and_frees_the_sink(void **state)
{
  struct fake_sink *f = fake_new();
  (void)state;

  assert_null(xca_audit_new("b", 0, 10, sink_of(f)));
  assert_int_equal(atomic_load(&f->freed), 1);
  atomic_store(&f->freed, 0);
  assert_null(xca_audit_new(NULL, 5, 10, sink_of(f)));
  assert_int_equal(atomic_load(&f->freed), 1);
  fake_delete(f);
}

/* The Redis sink names its stream after the prefix; it connects lazily,
 * so building one needs no Redis. */
static void test_redis_sink_builds_without_connecting(void **state)
{
  struct xca_config cfg;
  struct xca_audit_sink sink;
  (void)state;

  assert_int_equal(xca_config_init(&cfg), XCA_OK);
  assert_int_equal(xca_audit_redis_sink(&cfg, &sink), XCA_OK);
  assert_non_null(sink.write);
  assert_non_null(sink.free);
  sink.free(sink.arg);
  xca_config_free(&cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_accepted_entry_fields_in_order),
    cmocka_unit_test(test_refused_entry_has_slug_and_reason),
    cmocka_unit_test(test_admin_entry_fields),
    cmocka_unit_test(test_values_are_sanitised_like_log_lines),
    cmocka_unit_test(test_long_values_are_cut),
    cmocka_unit_test(test_entry_needs_event_and_broker),
    cmocka_unit_test(test_enrolled_event),
    cmocka_unit_test(test_refused_event_code_is_the_error_slug),
    cmocka_unit_test(test_dropped_event),
    cmocka_unit_test(test_admin_event_without_detail),
    cmocka_unit_test(test_queue_holds_capacity_and_counts_the_rest_dropped),
    cmocka_unit_test(test_writer_drains_in_order),
    cmocka_unit_test(test_entries_close_together_share_one_write),
    cmocka_unit_test(test_outage_keeps_the_queue_and_retries),
    cmocka_unit_test(test_partial_write_resends_only_the_rest),
    cmocka_unit_test(test_stop_flushes_the_queue),
    cmocka_unit_test(test_stop_during_an_outage_is_bounded),
    cmocka_unit_test(test_null_audit_is_a_noop),
    cmocka_unit_test(test_new_refuses_bad_arguments_and_frees_the_sink),
    cmocka_unit_test(test_redis_sink_builds_without_connecting),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
