/* test_admin_worker.c - unit tests of common/admin_worker.h: admin requests
 * and CA loads run on the worker's thread against an in-memory registry
 * (support/fake_kv, behind a wrapper that can slow every call down) or a
 * Redis that does not answer; the queue's bound, the order of results,
 * getStats' snapshot, and stopping with work queued or running. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "admin_worker.h"
#include "certgen.h"
#include "fake_kv.h"
#include "xca_err.h"

/* ------------------------------------------------------------------------ */
/* A fake registry whose calls can be slowed down                            */
/* ------------------------------------------------------------------------ */

struct slow_kv {
  struct xca_kv fake;
  atomic_int delay_us; /* added to every call */
  atomic_int calls;
};

static void slow(void *impl)
{
  struct slow_kv *s = impl;
  int us = atomic_load(&s->delay_us);

  atomic_fetch_add(&s->calls, 1);
  if (us > 0) {
    usleep((useconds_t)us);
  }
}

static int s_hgetall(void *impl, const char *key, struct xca_fields *out)
{
  struct slow_kv *s = impl;
  slow(impl);
  return s->fake.ops->hgetall(s->fake.impl, key, out);
}

static int s_create(void *impl, const char *key, const struct xca_fields *set)
{
  struct slow_kv *s = impl;
  slow(impl);
  return s->fake.ops->create(s->fake.impl, key, set);
}

static int s_update(void *impl, const char *key, const char *en, const char *ev,
                    const struct xca_fields *set, const char *const *del, int ndel)
{
  struct slow_kv *s = impl;
  slow(impl);
  return s->fake.ops->update(s->fake.impl, key, en, ev, set, del, ndel);
}

static int s_del(void *impl, const char *key)
{
  struct slow_kv *s = impl;
  slow(impl);
  return s->fake.ops->del(s->fake.impl, key);
}

static int s_create_if(void *impl, const char *key, const struct xca_fields *set,
                       const char *cond_key, const struct xca_fields *cond)
{
  struct slow_kv *s = impl;
  slow(impl);
  return s->fake.ops->create_if(s->fake.impl, key, set, cond_key, cond);
}

static int s_scan(void *impl, const char *match, unsigned long long *cursor, int count,
                  struct xca_strlist *keys)
{
  struct slow_kv *s = impl;
  slow(impl);
  return s->fake.ops->scan(s->fake.impl, match, cursor, count, keys);
}

static const struct xca_kv_ops slow_ops = {s_hgetall, s_create, s_update, s_del, s_create_if,
                                           s_scan};

/* ------------------------------------------------------------------------ */
/* Fixture                                                                   */
/* ------------------------------------------------------------------------ */

struct fx {
  struct xca_config cfg;
  struct xca_fake_kv *fake;
  struct slow_kv slow;
  struct xca_kv kv;
};

static atomic_int tokens_freed;
static int states_lost; /* connection losses drained (XCA_JOB_STATE, up 0) */
static char state_why[160];

static atomic_int notified;

static void count_notify(void *arg)
{
  (void)arg;
  atomic_fetch_add(&notified, 1);
}


static void token_free(void *token)
{
  atomic_fetch_add(&tokens_freed, 1);
  free(token);
}

static int setup(void **state)
{
  struct fx *fx = calloc(1, sizeof(*fx));

  if (fx == NULL || xca_config_init(&fx->cfg) != XCA_OK) {
    free(fx);
    return -1;
  }
  fx->fake = xca_fake_kv_new();
  fx->slow.fake = xca_fake_kv(fx->fake);
  fx->kv.ops = &slow_ops;
  fx->kv.impl = &fx->slow;
  atomic_store(&tokens_freed, 0);
  atomic_store(&notified, 0);
  states_lost = 0;
  state_why[0] = '\0';
  *state = fx;
  return fx->fake != NULL ? 0 : -1;
}

static int teardown(void **state)
{
  struct fx *fx = *state;

  xca_fake_kv_free(fx->fake);
  xca_config_free(&fx->cfg);
  free(fx);
  return 0;
}

static long long mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drain until n jobs finished (5 s at most); the jobs, oldest first.
 * Connection state reports are counted and freed. */
static struct xca_job *drain_n(struct xca_admin_worker *w, int n)
{
  struct xca_job *head = NULL;
  struct xca_job **tail = &head;
  long long deadline = mono_ms() + 5000;
  int got = 0;

  while (got < n && mono_ms() < deadline) {
    struct xca_job *list = xca_admin_worker_drain(w);
    if (list == NULL) {
      usleep(1000);
      continue;
    }
    while (list != NULL) {
      struct xca_job *j = list;
      list = j->next;
      j->next = NULL;
      if (j->kind == XCA_JOB_STATE) {
        states_lost += !j->up;
        snprintf(state_why, sizeof(state_why), "%s", j->why);
        xca_job_free(j);
        continue;
      }
      *tail = j;
      tail = &j->next;
      got++;
    }
  }
  assert_int_equal(got, n);
  return head;
}


static int submit(struct xca_admin_worker *w, const char *json, const struct xca_stats *stats,
                  int tag)
{
  int *token = malloc(sizeof(*token));
  int rc;

  assert_non_null(token);
  *token = tag;
  rc = xca_admin_worker_submit(w, json, strlen(json), "alice", stats, token, token_free);
  if (rc != XCA_OK) {
    free(token);
  }
  return rc;
}

/* The first response of a job's reply, parsed (cJSON_Delete the root). */
static cJSON *reply_of(const struct xca_job *job, const cJSON **first)
{
  cJSON *root;

  assert_int_equal(job->rc, XCA_OK);
  root = cJSON_Parse(job->res.response);
  assert_non_null(root);
  *first = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "responses"), 0);
  assert_non_null(*first);
  return root;
}

static const char *error_of(const cJSON *resp)
{
  const cJSON *e = cJSON_GetObjectItem(resp, "error");
  return cJSON_IsString(e) ? e->valuestring : NULL;
}

/* ------------------------------------------------------------------------ */
/* Admin requests                                                            */
/* ------------------------------------------------------------------------ */

/* Requests run in the order queued, each seeing what the earlier ones did,
 * and come back in that order with their token. */
static void test_requests_run_and_finish_in_order(void **state)
{
  struct fx *fx = *state;
  struct xca_admin_worker *w = xca_admin_worker_new(&fx->cfg, 100, &fx->kv);
  char json[256];
  struct xca_job *jobs;
  int i = 0;

  assert_non_null(w);
  for (int n = 0; n < 20; n++) {
    snprintf(json, sizeof(json), "{\"commands\":[{\"command\":\"createDevice\",\"deviceId\":\"d-%02d\"}]}", n);
    assert_int_equal(submit(w, json, NULL, n), XCA_OK);
  }
  assert_int_equal(submit(w, "{\"commands\":[{\"command\":\"deleteDevice\",\"deviceId\":\"d-00\"}]}",
                          NULL, 20), XCA_OK);
  assert_int_equal(submit(w, "{\"commands\":[{\"command\":\"getDevice\",\"deviceId\":\"d-00\"}]}",
                          NULL, 21), XCA_OK);
  assert_int_equal(xca_admin_worker_pending(w), 22);
  xca_admin_worker_set_notify(w, count_notify, NULL);
  assert_int_equal(xca_admin_worker_start(w), XCA_OK);
  jobs = drain_n(w, 22);
  /* A wake-up per finished job at least (again every 10 ms while undrained). */
  assert_true(atomic_load(&notified) >= 22);
  for (struct xca_job *j = jobs; j != NULL; j = j->next, i++) {
    const cJSON *resp;
    cJSON *root = reply_of(j, &resp);
    assert_int_equal(*(int *)j->token, i);
    if (i < 20) {
      snprintf(json, sizeof(json), "d-%02d", i);
      assert_null(error_of(resp));
      assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(resp, "data"), "deviceId")->valuestring, json);
      assert_int_equal(j->res.changed.count, 1);
    } else if (i == 21) {
      /* After the delete that was queued before it. */
      assert_non_null(error_of(resp));
      assert_non_null(strstr(error_of(resp), "not found"));
    }
    assert_int_equal(j->res.audit.count, 1);
    cJSON_Delete(root);
  }
  assert_int_equal(xca_admin_worker_pending(w), 0);
  xca_jobs_free(jobs);
  assert_int_equal(atomic_load(&tokens_freed), 22);
  assert_int_equal(xca_fake_kv_count(fx->fake), 19);
  assert_int_equal(xca_admin_worker_stop(w), 0);
}

/* queue_max jobs wait at most: the next is refused with XCA_E_BUSY at once
 * and its token stays the caller's; once the worker caught up, requests
 * are taken again. */
static void test_full_queue_is_busy(void **state)
{
  struct fx *fx = *state;
  struct xca_admin_worker *w = xca_admin_worker_new(&fx->cfg, 3, &fx->kv);
  const char *json = "{\"commands\":[{\"command\":\"listDevices\"}]}";
  int keep = 99;

  assert_non_null(w);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(submit(w, json, NULL, i), XCA_OK);
  }
  assert_int_equal(xca_admin_worker_submit(w, json, strlen(json), "alice", NULL, &keep, token_free),
                   XCA_E_BUSY);
  assert_int_equal(atomic_load(&tokens_freed), 0);
  assert_int_equal(xca_admin_worker_pending(w), 3);
  assert_string_equal(xca_strerror(XCA_E_BUSY),
                      "busy: too many admin requests are waiting; try again");
  assert_int_equal(xca_admin_worker_start(w), XCA_OK);
  xca_jobs_free(drain_n(w, 3));
  assert_int_equal(submit(w, json, NULL, 3), XCA_OK);
  xca_jobs_free(drain_n(w, 1));
  assert_int_equal(atomic_load(&tokens_freed), 4);
  assert_int_equal(xca_admin_worker_stop(w), 0);
}

/* What a busy broker answers (xca_admin_handle with ctx.refuse): every
 * command gets the error with its name and correlationData, and audited,
 * and nothing touches the registry. */
static void test_refused_request_runs_nothing(void **state)
{
  struct fx *fx = *state;
  struct xca_registry reg = {.kv = fx->kv, .prefix = fx->cfg.key_prefix};
  struct xca_admin_ctx ctx = {.reg = &reg, .cfg = &fx->cfg, .refuse = XCA_E_BUSY};
  const char *json = "{\"commands\":[{\"command\":\"createDevice\",\"deviceId\":\"x\","
                     "\"correlationData\":\"c1\"},{\"command\":\"listDevices\"}]}";
  struct xca_admin_result res;
  cJSON *root;
  const cJSON *resp;

  assert_int_equal(xca_admin_handle(&ctx, json, strlen(json), "alice", &res), XCA_OK);
  root = cJSON_Parse(res.response);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "responses")), 2);
  resp = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "responses"), 0);
  assert_string_equal(cJSON_GetObjectItem(resp, "command")->valuestring, "createDevice");
  assert_string_equal(cJSON_GetObjectItem(resp, "correlationData")->valuestring, "c1");
  assert_non_null(strstr(error_of(resp), "busy"));
  assert_non_null(strstr(error_of(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "responses"), 1)),
                         "busy"));
  assert_int_equal(res.audit.count, 2);
  assert_non_null(strstr(res.audit.item[0], "command=createDevice"));
  assert_non_null(strstr(res.audit.item[0], "result=error (busy"));
  assert_int_equal(res.changed.count, 0);
  assert_int_equal(atomic_load(&fx->slow.calls), 0);
  cJSON_Delete(root);
  xca_admin_result_free(&res);
}

/* getStats answers the counters as they were when the request was queued;
 * without them it fails rather than answering zeros. */
static void test_get_stats_answers_the_snapshot(void **state)
{
  struct fx *fx = *state;
  struct xca_admin_worker *w = xca_admin_worker_new(&fx->cfg, 4, &fx->kv);
  const char *json = "{\"commands\":[{\"command\":\"getStats\"}]}";
  struct xca_stats stats;
  struct xca_job *jobs;
  const cJSON *resp;
  cJSON *root;

  xca_stats_init(&stats);
  stats.accepted = 7;
  assert_int_equal(submit(w, json, &stats, 0), XCA_OK);
  stats.accepted = 8; /* after queueing: not what it answers */
  assert_int_equal(submit(w, json, NULL, 1), XCA_OK);
  assert_int_equal(xca_admin_worker_start(w), XCA_OK);
  jobs = drain_n(w, 2);
  root = reply_of(jobs, &resp);
  assert_int_equal(
    cJSON_GetObjectItem(cJSON_GetObjectItem(resp, "data"), "connects/accepted")->valueint, 7);
  cJSON_Delete(root);
  root = reply_of(jobs->next, &resp);
  assert_non_null(error_of(resp));
  cJSON_Delete(root);
  xca_jobs_free(jobs);
  xca_admin_worker_stop(w);
}

/* The registry down: the request still gets its reply, with the error. */
static void test_registry_down_is_an_error_reply(void **state)
{
  struct fx *fx = *state;
  struct xca_admin_worker *w = xca_admin_worker_new(&fx->cfg, 4, &fx->kv);
  const char *json = "{\"commands\":[{\"command\":\"listDevices\"}]}";
  struct xca_job *jobs;
  const cJSON *resp;
  cJSON *root;

  xca_fake_kv_set_down(fx->fake, 1);
  assert_int_equal(submit(w, json, NULL, 0), XCA_OK);
  assert_int_equal(xca_admin_worker_start(w), XCA_OK);
  jobs = drain_n(w, 1);
  root = reply_of(jobs, &resp);
  assert_string_equal(error_of(resp), "registry unavailable");
  cJSON_Delete(root);
  xca_jobs_free(jobs);
  xca_admin_worker_stop(w);
}

/* A port nothing listens on (bound, then closed). */
static int dead_port(void)
{
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t len = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int port;

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  port = ntohs(a.sin_port);
  close(fd);
  return port;
}

/* The worker's own Redis connection (kv NULL) to a Redis that is not
 * there: admin requests get "registry unavailable", a CA load fails, and
 * neither waits long. */
static void test_own_connection_redis_down(void **state)
{
  struct fx *fx = *state;
  struct xca_admin_worker *w;
  const char *json = "{\"commands\":[{\"command\":\"getDevice\",\"deviceId\":\"d\"}]}";
  struct xca_policy policy = {.min_rsa_bits = 2048};
  struct xca_job *jobs;
  const cJSON *resp;
  cJSON *root;
  long long start = mono_ms();

  fx->cfg.redis_port = dead_port();
  w = xca_admin_worker_new(&fx->cfg, 4, NULL);
  assert_non_null(w);
  assert_int_equal(xca_admin_worker_start(w), XCA_OK);
  assert_int_equal(submit(w, json, NULL, 0), XCA_OK);
  assert_int_equal(xca_admin_worker_load_cas(w, NULL, &policy), XCA_OK);
  jobs = drain_n(w, 2);
  root = reply_of(jobs, &resp);
  assert_string_equal(error_of(resp), "registry unavailable");
  cJSON_Delete(root);
  assert_int_equal(jobs->next->kind, XCA_JOB_CA_LOAD);
  assert_int_equal(jobs->next->rc, XCA_E_REGISTRY_UNAVAILABLE);
  assert_int_equal(jobs->next->load.count, 0);
  xca_jobs_free(jobs);
  assert_true(mono_ms() - start < 3000);
  /* The loss is reported once (the breaker fails the second job at once). */
  assert_int_equal(states_lost, 1);
  assert_true(strlen(state_why) > 0);
  xca_admin_worker_stop(w);
}

/* Stopping with one job running (a scan over many identities, every call
 * slowed down) and more waiting: the running one gives up within the call
 * in flight, nothing else runs, every token is released. */
static void test_stop_with_work_queued_and_running(void **state)
{
  struct fx *fx = *state;
  struct xca_admin_worker *w = xca_admin_worker_new(&fx->cfg, 16, &fx->kv);
  const char *json = "{\"commands\":[{\"command\":\"listDevices\",\"count\":1000}]}";
  char key[64];
  long long deadline;
  long long start;
  int calls;

  for (int i = 0; i < 500; i++) {
    snprintf(key, sizeof(key), "x509ca:device:w-%03d", i);
    assert_int_equal(xca_fake_kv_hset(fx->fake, key, "status", "enabled"), XCA_OK);
  }
  atomic_store(&fx->slow.delay_us, 2000); /* a page: about 1 s */
  for (int i = 0; i < 5; i++) {
    assert_int_equal(submit(w, json, NULL, i), XCA_OK);
  }
  assert_int_equal(xca_admin_worker_start(w), XCA_OK);
  deadline = mono_ms() + 5000;
  while (atomic_load(&fx->slow.calls) < 10 && mono_ms() < deadline) {
    usleep(1000);
  }
  assert_true(atomic_load(&fx->slow.calls) >= 10);
  start = mono_ms();
  assert_int_equal(xca_admin_worker_stop(w), 5);
  calls = atomic_load(&fx->slow.calls);
  assert_true(mono_ms() - start < 500);
  assert_int_equal(atomic_load(&tokens_freed), 5);
  /* Far fewer calls than one page needs (500 reads): it gave up. */
  assert_true(calls < 400);
}

/* Stopping a worker that never started frees what is queued. */
static void test_stop_unstarted_frees_queue(void **state)
{
  struct fx *fx = *state;
  struct xca_admin_worker *w = xca_admin_worker_new(&fx->cfg, 4, &fx->kv);
  const char *json = "{\"commands\":[]}";

  assert_int_equal(submit(w, json, NULL, 0), XCA_OK);
  assert_int_equal(submit(w, json, NULL, 1), XCA_OK);
  assert_int_equal(xca_admin_worker_stop(w), 2);
  assert_int_equal(atomic_load(&tokens_freed), 2);
  assert_int_equal(xca_admin_worker_stop(NULL), 0);
  assert_null(xca_admin_worker_new(&fx->cfg, 0, &fx->kv));
}

/* ------------------------------------------------------------------------ */
/* CA loads                                                                  */
/* ------------------------------------------------------------------------ */

static void put_ca(struct xca_fake_kv *f, const char *name, const char *status, const char *pem)
{
  char key[128];

  snprintf(key, sizeof(key), "x509ca:ca:%s", name);
  assert_int_equal(xca_fake_kv_hset(f, key, "status", status), XCA_OK);
  assert_int_equal(xca_fake_kv_hset(f, key, "certificate", pem), XCA_OK);
}

static const struct xca_ca_loaded *find_loaded(const struct xca_ca_load *l, const char *name)
{
  for (int i = 0; i < l->count; i++) {
    if (strcmp(l->cas[i].name, name) == 0) {
      return &l->cas[i];
    }
  }
  return NULL;
}

/* A load reads every verified CA: trusted ones as X509 references, others
 * with the reason; unverified CAs and invalid names are left out. With
 * names, only those are read (a missing one is left out). */
static void test_ca_load_reads_and_parses(void **state)
{
  struct fx *fx = *state;
  struct xca_admin_worker *w = xca_admin_worker_new(&fx->cfg, 4, &fx->kv);
  struct xca_tcert good = {0};
  struct xca_tcert weak = {0};
  struct xca_tcert_spec weak_spec = {.cn = "Weak", .profile = XCA_TCERT_CA, .key = "RSA:1024"};
  struct xca_policy policy = {.min_rsa_bits = 2048};
  struct xca_strlist names = {0};
  const struct xca_ca_loaded *ca;
  struct xca_job *jobs;
  char *good_pem;
  char *weak_pem;

  assert_int_equal(xca_certgen(&good, "Good CA", NULL, 1, -86400, 86400), 0);
  assert_int_equal(xca_certgen_spec(&weak, &weak_spec, NULL), 0);
  good_pem = xca_certgen_pem(&good);
  weak_pem = xca_certgen_pem(&weak);
  put_ca(fx->fake, "good", "verified", good_pem);
  put_ca(fx->fake, "pending", "unverified", good_pem);
  put_ca(fx->fake, "garbage", "verified", "not a certificate");
  put_ca(fx->fake, "weak", "verified", weak_pem);
  put_ca(fx->fake, "bad name!", "verified", good_pem);
  assert_int_equal(xca_strlist_add(&names, "good"), XCA_OK);
  assert_int_equal(xca_strlist_add(&names, "gone"), XCA_OK);
  assert_int_equal(xca_admin_worker_load_cas(w, NULL, &policy), XCA_OK);
  assert_int_equal(xca_admin_worker_load_cas(w, &names, &policy), XCA_OK);
  xca_strlist_free(&names);
  assert_int_equal(xca_admin_worker_start(w), XCA_OK);
  jobs = drain_n(w, 2);

  assert_int_equal(jobs->rc, XCA_OK);
  assert_int_equal(jobs->load.count, 3);
  ca = find_loaded(&jobs->load, "good");
  assert_non_null(ca);
  assert_non_null(ca->cert);
  assert_int_equal(X509_cmp(ca->cert, good.cert), 0);
  ca = find_loaded(&jobs->load, "garbage");
  assert_non_null(ca);
  assert_null(ca->cert);
  assert_int_equal(ca->err, XCA_E_BAD_PEM);
  ca = find_loaded(&jobs->load, "weak");
  assert_non_null(ca);
  assert_null(ca->cert);
  assert_int_equal(ca->err, XCA_E_WEAK_KEY);
  assert_non_null(strstr(ca->detail, "1024"));
  assert_null(find_loaded(&jobs->load, "pending"));

  assert_int_equal(jobs->next->rc, XCA_OK);
  assert_int_equal(jobs->next->load.count, 1);
  assert_string_equal(jobs->next->load.cas[0].name, "good");
  xca_jobs_free(jobs);
  xca_admin_worker_stop(w);
  free(good_pem);
  free(weak_pem);
  xca_certgen_free(&good);
  xca_certgen_free(&weak);
}

/* A registry failure part-way through a load gives nothing: no partial set. */
static void test_ca_load_failure_gives_nothing(void **state)
{
  struct fx *fx = *state;
  struct xca_registry reg = {.kv = fx->kv, .prefix = fx->cfg.key_prefix};
  struct xca_policy policy = {.min_rsa_bits = 2048};
  struct xca_ca_load load;

  put_ca(fx->fake, "a", "verified", "x");
  xca_fake_kv_set_down(fx->fake, 1);
  assert_int_equal(xca_ca_load_read(&reg, 1, NULL, &policy, &load), XCA_E_REGISTRY_UNAVAILABLE);
  assert_int_equal(load.count, 0);
  assert_null(load.cas);
  xca_ca_load_free(&load);
  xca_ca_load_free(NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_requests_run_and_finish_in_order, setup, teardown),
    cmocka_unit_test_setup_teardown(test_full_queue_is_busy, setup, teardown),
    cmocka_unit_test_setup_teardown(test_refused_request_runs_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(test_get_stats_answers_the_snapshot, setup, teardown),
    cmocka_unit_test_setup_teardown(test_registry_down_is_an_error_reply, setup, teardown),
    cmocka_unit_test_setup_teardown(test_own_connection_redis_down, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stop_with_work_queued_and_running, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stop_unstarted_frees_queue, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ca_load_reads_and_parses, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ca_load_failure_gives_nothing, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
