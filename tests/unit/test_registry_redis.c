/* The Redis client's breaker (common/registry_redis.h), with a fake clock
 * and a fake Redis: a thread in this process that listens on an ephemeral
 * loopback port and answers, stalls or hangs up as each test tells it. The
 * breaker is closed while connected; a failure opens it (every call fails
 * at once, nothing is sent) for redis_retry_ms of the fake clock; then it is
 * half-open: one reconnect is tried, which closes it or opens it again. */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "registry.h"
#include "clock.h"
#include "registry_redis.h"
#include "xca_err.h"

#define TIMEOUT_MS 150 /* redis_timeout_ms of every test */
#define RETRY_MS 1000  /* redis_retry_ms, on the fake clock */

/* ------------------------------------------------------------------------ */
/* The fake clock                                                            */
/* ------------------------------------------------------------------------ */

static long long fake_now_ms;

static long long fake_clock(void)
{
  return fake_now_ms;
}

/* ------------------------------------------------------------------------ */
/* The fake Redis                                                            */
/* ------------------------------------------------------------------------ */

enum fake_mode {
  FAKE_ANSWER,  /* answer every command */
  FAKE_HANG_UP, /* close each connection as soon as it is accepted */
  FAKE_STALL,   /* read commands, never answer */
  FAKE_DROP,    /* close the connection at the next command, unanswered */
};

struct fake_redis {
  int listen_fd;
  int conn_fd; /* -1 = none */
  int port;
  pthread_t thread;
  atomic_int mode;      /* enum fake_mode */
  atomic_int accepts;   /* connections accepted */
  atomic_int commands;  /* commands received */
  atomic_int auth_ok;   /* AUTH answers +OK (else -ERR) */
  atomic_int select_ok; /* SELECT answers +OK (else -ERR) */
  atomic_int error_replies; /* answer every other command with -ERR */
  atomic_int stop;
  pthread_mutex_t lock; /* guards log */
  char log[512];        /* "NAME ARG1 ...;" per command */
  char buf[8192];
  size_t len;
};

/* Append up to three words of a command to the log. */
static void log_command(struct fake_redis *fr, char **argv, const size_t *lens, int argc)
{
  pthread_mutex_lock(&fr->lock);
  for (int i = 0; i < argc && i < 3; i++) {
    size_t used = strlen(fr->log);
    snprintf(fr->log + used, sizeof(fr->log) - used, "%s%.*s", i ? " " : "",
             (int)(lens[i] < 40 ? lens[i] : 40), argv[i]);
  }
  strncat(fr->log, ";", sizeof(fr->log) - strlen(fr->log) - 1);
  pthread_mutex_unlock(&fr->lock);
}

/* Parse one "*N\r\n$L\r\n...\r\n" command from the front of p[0..n).
 * Returns the bytes it takes, 0 when incomplete; argv points into p. */
static size_t parse_command(char *p, size_t n, char **argv, size_t *lens, int *argc)
{
  char *end = p + n;
  char *q = p;
  long count;

  if (n < 4 || *q != '*' || memchr(q, '\n', n) == NULL) {
    return 0;
  }
  count = strtol(q + 1, &q, 10);
  q += 2;
  *argc = 0;
  for (long i = 0; i < count; i++) {
    long len;
    if (q >= end || memchr(q, '\n', (size_t)(end - q)) == NULL) {
      return 0;
    }
    len = strtol(q + 1, &q, 10);
    q += 2;
    if (end - q < len + 2) {
      return 0;
    }
    if (*argc < 16) {
      argv[*argc] = q;
      lens[*argc] = (size_t)len;
      (*argc)++;
    }
    q += len + 2;
  }
  return (size_t)(q - p);
}

static int is_command(const char *arg, size_t len, const char *name)
{
  return len == strlen(name) && strncasecmp(arg, name, len) == 0;
}

static const char *reply_to(struct fake_redis *fr, const char *cmd, size_t len)
{
  if (is_command(cmd, len, "AUTH")) {
    return fr->auth_ok ? "+OK\r\n" : "-ERR invalid password\r\n";
  }
  if (is_command(cmd, len, "SELECT")) {
    return fr->select_ok ? "+OK\r\n" : "-ERR DB index is out of range\r\n";
  }
  if (fr->error_replies) {
    return "-ERR fake error\r\n";
  }
  if (is_command(cmd, len, "HGETALL")) {
    return "*2\r\n$6\r\nstatus\r\n$7\r\nenabled\r\n";
  }
  if (is_command(cmd, len, "EVAL") || is_command(cmd, len, "DEL")) {
    return ":1\r\n";
  }
  if (is_command(cmd, len, "SCAN")) {
    return "*2\r\n$1\r\n0\r\n*0\r\n";
  }
  return "+OK\r\n";
}

static void close_conn(struct fake_redis *fr)
{
  if (fr->conn_fd >= 0) {
    close(fr->conn_fd);
    fr->conn_fd = -1;
  }
  fr->len = 0;
}

/* Handle what the client sent: each complete command is counted, logged
 * and answered (or not) as the mode says. */
static void serve_input(struct fake_redis *fr)
{
  ssize_t got = read(fr->conn_fd, fr->buf + fr->len, sizeof(fr->buf) - fr->len);
  char *argv[16];
  size_t lens[16];
  size_t used;
  int argc;

  if (got <= 0) {
    close_conn(fr);
    return;
  }
  fr->len += (size_t)got;
  while (fr->conn_fd >= 0 && (used = parse_command(fr->buf, fr->len, argv, lens, &argc)) > 0) {
    const char *reply;
    log_command(fr, argv, lens, argc);
    fr->commands++;
    if (fr->mode == FAKE_DROP) {
      close_conn(fr);
      return;
    }
    if (fr->mode == FAKE_ANSWER && argc > 0) {
      /* No cmocka assert on this thread: a short write shows as the
       * client's failure. */
      reply = reply_to(fr, argv[0], lens[0]);
      if (write(fr->conn_fd, reply, strlen(reply)) < 0) {
        close_conn(fr);
        return;
      }
    }
    memmove(fr->buf, fr->buf + used, fr->len - used);
    fr->len -= used;
  }
}

static void *fake_redis_run(void *arg)
{
  struct fake_redis *fr = arg;

  while (!fr->stop) {
    struct pollfd pfd[2] = {{fr->listen_fd, POLLIN, 0}, {fr->conn_fd, POLLIN, 0}};
    if (poll(pfd, fr->conn_fd >= 0 ? 2 : 1, 10) <= 0) {
      continue;
    }
    if (pfd[0].revents & POLLIN) {
      int fd = accept(fr->listen_fd, NULL, NULL);
      if (fd >= 0) {
        fr->accepts++;
        close_conn(fr);
        fr->conn_fd = fd;
        if (fr->mode == FAKE_HANG_UP) {
          close_conn(fr);
        }
      }
    }
    if (fr->conn_fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP))) {
      serve_input(fr);
    }
  }
  close_conn(fr);
  return NULL;
}

/* A socket bound to an ephemeral loopback port; *port gets the port. */
static int bound_socket(int *port)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  socklen_t alen = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

static struct fake_redis *fake_redis_start(enum fake_mode mode)
{
  struct fake_redis *fr = calloc(1, sizeof(*fr));

  assert_non_null(fr);
  fr->listen_fd = bound_socket(&fr->port);
  assert_int_equal(listen(fr->listen_fd, 16), 0);
  fr->conn_fd = -1;
  fr->mode = mode;
  fr->auth_ok = 1;
  fr->select_ok = 1;
  pthread_mutex_init(&fr->lock, NULL);
  assert_int_equal(pthread_create(&fr->thread, NULL, fake_redis_run, fr), 0);
  return fr;
}

static void fake_redis_stop(struct fake_redis *fr)
{
  if (fr == NULL) {
    return;
  }
  fr->stop = 1;
  pthread_join(fr->thread, NULL);
  close(fr->listen_fd);
  pthread_mutex_destroy(&fr->lock);
  free(fr);
}

/* Wait (2 s at most) until the fake has received n commands in all. */
static void wait_commands(struct fake_redis *fr, int n)
{
  for (int i = 0; i < 2000 && fr->commands < n; i++) {
    usleep(1000);
  }
  assert_int_equal(fr->commands, n);
}

static int log_has(struct fake_redis *fr, const char *entry)
{
  int found;

  pthread_mutex_lock(&fr->lock);
  found = strstr(fr->log, entry) != NULL;
  pthread_mutex_unlock(&fr->lock);
  return found;
}

/* ------------------------------------------------------------------------ */
/* Fixture: a client of the fake, on the fake clock                          */
/* ------------------------------------------------------------------------ */

struct fixture {
  struct xca_config cfg;
  struct fake_redis *fake;
  struct xca_redis *r;
  struct xca_kv kv;
  int reports_up;   /* on_state(up = 1) calls */
  int reports_down; /* on_state(up = 0) calls */
  char why[160];    /* the last reason */
};

static void on_state(void *arg, int up, const char *why)
{
  struct fixture *f = arg;

  if (up) {
    f->reports_up++;
  } else {
    f->reports_down++;
  }
  snprintf(f->why, sizeof(f->why), "%s", why);
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));

  assert_non_null(f);
  assert_int_equal(xca_config_init(&f->cfg), XCA_OK);
  f->cfg.redis_timeout_ms = TIMEOUT_MS;
  f->cfg.redis_retry_ms = RETRY_MS;
  f->fake = fake_redis_start(FAKE_ANSWER);
  f->cfg.redis_port = f->fake->port;
  f->r = xca_redis_new(&f->cfg, on_state, f);
  assert_non_null(f->r);
  xca_redis_set_clock(f->r, fake_clock);
  f->kv = xca_redis_kv(f->r);
  fake_now_ms = 1000000;
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;

  xca_redis_free(f->r);
  fake_redis_stop(f->fake);
  xca_config_free(&f->cfg);
  free(f);
  return 0;
}

/* One HGETALL through the seam; the fields are dropped. */
static int hgetall(struct fixture *f)
{
  struct xca_fields out = {0};
  int rc = f->kv.ops->hgetall(f->kv.impl, "x509ca:device:d", &out);

  xca_fields_free(&out);
  return rc;
}

/* Open the breaker by a hang-up at connect, then let the fake answer
 * again: the next success needs a reconnect. */
static void open_breaker(struct fixture *f)
{
  f->fake->mode = FAKE_HANG_UP;
  assert_int_equal(xca_redis_connect(f->r, 0), XCA_E_REGISTRY_UNAVAILABLE);
  assert_int_equal(f->fake->accepts, 1);
  assert_false(xca_redis_is_up(f->r));
  f->fake->mode = FAKE_ANSWER;
}

/* Every kind of call fails at once while the breaker is open: none
 * connects, none waits (together they take less than one timeout). */
static void assert_open(struct fixture *f)
{
  struct xca_fields set = {0};
  const char *del[] = {"x"};
  unsigned long long cursor = 0;
  struct xca_strlist keys = {0};
  int accepts = f->fake->accepts;
  long long start = xca_now_ms();

  assert_int_equal(xca_fields_set(&set, "status", "enabled"), XCA_OK);
  for (int i = 0; i < 20; i++) {
    assert_int_equal(xca_redis_connect(f->r, 0), XCA_E_REGISTRY_UNAVAILABLE);
    assert_int_equal(hgetall(f), XCA_E_REGISTRY_UNAVAILABLE);
    assert_int_equal(f->kv.ops->create(f->kv.impl, "k", &set), XCA_E_REGISTRY_UNAVAILABLE);
    assert_int_equal(f->kv.ops->update(f->kv.impl, "k", NULL, NULL, &set, del, 1),
                     XCA_E_REGISTRY_UNAVAILABLE);
    assert_int_equal(f->kv.ops->del(f->kv.impl, "k"), XCA_E_REGISTRY_UNAVAILABLE);
    assert_int_equal(f->kv.ops->scan(f->kv.impl, "*", &cursor, 10, &keys),
                     XCA_E_REGISTRY_UNAVAILABLE);
  }
  assert_true(xca_now_ms() - start < TIMEOUT_MS);
  assert_int_equal(f->fake->accepts, accepts);
  assert_false(xca_redis_is_up(f->r));
  xca_fields_free(&set);
}

/* ------------------------------------------------------------------------ */
/* Closed                                                                    */
/* ------------------------------------------------------------------------ */

static void closed_calls_go_through_one_connection(void **state)
{
  struct fixture *f = *state;
  struct xca_fields out = {0};

  assert_false(xca_redis_is_up(f->r)); /* new does not connect */
  assert_int_equal(f->kv.ops->hgetall(f->kv.impl, "x509ca:device:d", &out), XCA_OK);
  assert_string_equal(xca_fields_get(&out, "status"), "enabled");
  assert_int_equal(hgetall(f), XCA_OK);
  assert_int_equal(f->kv.ops->del(f->kv.impl, "k"), XCA_OK);
  assert_true(xca_redis_is_up(f->r));
  assert_int_equal(f->fake->accepts, 1);
  assert_int_equal(f->reports_up, 1);
  assert_string_equal(f->why, "connected");
  assert_int_equal(f->reports_down, 0);
  assert_true(log_has(f->fake, "SELECT 0;HGETALL x509ca:device:d;"));
  xca_fields_free(&out);
}

static void handshake_sends_auth_and_select(void **state)
{
  struct fixture *f = *state;

  f->cfg.redis_password = strdup("s3cret");
  f->cfg.redis_db = 7;
  assert_int_equal(xca_redis_connect(f->r, 0), XCA_OK);
  assert_true(log_has(f->fake, "AUTH s3cret;SELECT 7;"));
}

static void refused_auth_opens_the_breaker(void **state)
{
  struct fixture *f = *state;

  f->cfg.redis_password = strdup("wrong");
  f->fake->auth_ok = 0;
  assert_int_equal(xca_redis_connect(f->r, 0), XCA_E_REGISTRY_UNAVAILABLE);
  assert_string_equal(f->why, "AUTH failed");
  assert_int_equal(f->reports_down, 1);
  f->fake->auth_ok = 1;
  assert_open(f);
}

static void refused_select_opens_the_breaker(void **state)
{
  struct fixture *f = *state;

  f->cfg.redis_db = 99;
  f->fake->select_ok = 0;
  assert_int_equal(xca_redis_connect(f->r, 0), XCA_E_REGISTRY_UNAVAILABLE);
  assert_string_equal(f->why, "SELECT 99 failed");
  assert_open(f);
}

/* An error reply is Redis answering: the connection stays, nothing trips. */
static void error_reply_keeps_the_breaker_closed(void **state)
{
  struct fixture *f = *state;

  assert_int_equal(xca_redis_connect(f->r, 0), XCA_OK);
  f->fake->error_replies = 1;
  assert_int_equal(hgetall(f), XCA_E_REGISTRY_UNAVAILABLE);
  assert_int_equal(f->kv.ops->del(f->kv.impl, "k"), XCA_E_REGISTRY_UNAVAILABLE);
  assert_true(xca_redis_is_up(f->r));
  f->fake->error_replies = 0;
  assert_int_equal(hgetall(f), XCA_OK);
  assert_int_equal(f->fake->accepts, 1);
  assert_int_equal(f->reports_down, 0);
}

/* ------------------------------------------------------------------------ */
/* Open, then half-open                                                      */
/* ------------------------------------------------------------------------ */

static void refused_connection_opens_the_breaker(void **state)
{
  struct fixture *f = *state;
  int port;
  int fd = bound_socket(&port); /* bound, not listening: connects are refused */

  f->cfg.redis_port = port;
  assert_int_equal(xca_redis_connect(f->r, 0), XCA_E_REGISTRY_UNAVAILABLE);
  assert_int_equal(f->reports_down, 1);
  assert_non_null(strstr(f->why, "refused"));
  /* Now a connect would get through to a Redis that never answers, and
   * wait: none is tried. */
  assert_int_equal(listen(fd, 16), 0);
  assert_open(f);
  close(fd);
}

static void open_breaker_waits_for_the_retry_interval(void **state)
{
  struct fixture *f = *state;

  open_breaker(f);
  assert_open(f);
  fake_now_ms += RETRY_MS - 1;
  assert_open(f);
  assert_int_equal(f->fake->accepts, 1);
}

/* At redis_retry_ms the first call reconnects and succeeds: closed again. */
static void half_open_success_closes_the_breaker(void **state)
{
  struct fixture *f = *state;

  open_breaker(f);
  fake_now_ms += RETRY_MS;
  assert_int_equal(hgetall(f), XCA_OK);
  assert_int_equal(f->fake->accepts, 2);
  assert_true(xca_redis_is_up(f->r));
  assert_int_equal(f->reports_up, 1);
  assert_int_equal(hgetall(f), XCA_OK);
  assert_int_equal(f->fake->accepts, 2);
}

/* A failed reconnect opens the breaker for another interval, counted from
 * that failure, and the outage is reported once, not at every attempt. */
static void half_open_failure_opens_it_again(void **state)
{
  struct fixture *f = *state;

  open_breaker(f);
  f->fake->mode = FAKE_HANG_UP;
  fake_now_ms += RETRY_MS + 500;
  assert_int_equal(hgetall(f), XCA_E_REGISTRY_UNAVAILABLE);
  assert_int_equal(f->fake->accepts, 2);
  f->fake->mode = FAKE_ANSWER;
  fake_now_ms += RETRY_MS - 1;
  assert_open(f);
  fake_now_ms += 1;
  assert_int_equal(hgetall(f), XCA_OK);
  assert_int_equal(f->fake->accepts, 3);
  assert_int_equal(f->reports_down, 1);
  assert_int_equal(f->reports_up, 1);
}

/* force = 1 (the broker's start-up) connects at once, open or not. */
static void forced_connect_ignores_the_interval(void **state)
{
  struct fixture *f = *state;

  open_breaker(f);
  assert_int_equal(xca_redis_connect(f->r, 1), XCA_OK);
  assert_int_equal(f->fake->accepts, 2);
  assert_true(xca_redis_is_up(f->r));
}

/* A connection lost between calls: the call that finds it trips the
 * breaker (reported once, with hiredis's reason); later calls wait. */
static void lost_connection_opens_the_breaker(void **state)
{
  struct fixture *f = *state;

  assert_int_equal(hgetall(f), XCA_OK);
  f->fake->mode = FAKE_DROP;
  assert_int_equal(hgetall(f), XCA_E_REGISTRY_UNAVAILABLE);
  assert_int_equal(f->reports_down, 1);
  assert_true(f->why[0] != '\0');
  f->fake->mode = FAKE_ANSWER;
  assert_open(f);
  fake_now_ms += RETRY_MS;
  assert_int_equal(hgetall(f), XCA_OK);
  assert_int_equal(f->fake->accepts, 2);
  assert_int_equal(f->reports_up, 2);
}

/* ------------------------------------------------------------------------ */
/* Timeouts                                                                  */
/* ------------------------------------------------------------------------ */

/* A Redis that accepts but never answers costs one redis_timeout_ms, then
 * the breaker is open and no call waits. */
static void stalled_connect_times_out_once(void **state)
{
  struct fixture *f = *state;
  long long start;
  long long took;

  f->fake->mode = FAKE_STALL;
  start = xca_now_ms();
  assert_int_equal(xca_redis_connect(f->r, 0), XCA_E_REGISTRY_UNAVAILABLE);
  took = xca_now_ms() - start;
  assert_true(took >= TIMEOUT_MS - 10);
  assert_true(took < TIMEOUT_MS + 2000);
  wait_commands(f->fake, 1); /* the SELECT, unanswered */
  assert_int_equal(f->reports_down, 1);
  assert_open(f);
}

static void stalled_command_times_out_once(void **state)
{
  struct fixture *f = *state;
  long long start;
  long long took;

  assert_int_equal(xca_redis_connect(f->r, 0), XCA_OK);
  f->fake->mode = FAKE_STALL;
  start = xca_now_ms();
  assert_int_equal(hgetall(f), XCA_E_REGISTRY_UNAVAILABLE);
  took = xca_now_ms() - start;
  assert_true(took >= TIMEOUT_MS - 10);
  assert_true(took < TIMEOUT_MS + 2000);
  assert_int_equal(f->reports_down, 1);
  assert_open(f);
  /* Half-open against the same stalled Redis: one more timeout, no more. */
  fake_now_ms += RETRY_MS;
  start = xca_now_ms();
  assert_int_equal(hgetall(f), XCA_E_REGISTRY_UNAVAILABLE);
  assert_true(xca_now_ms() - start >= TIMEOUT_MS - 10);
  assert_int_equal(f->fake->accepts, 2);
  assert_open(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(closed_calls_go_through_one_connection),
    T(handshake_sends_auth_and_select),
    T(refused_auth_opens_the_breaker),
    T(refused_select_opens_the_breaker),
    T(error_reply_keeps_the_breaker_closed),
    T(refused_connection_opens_the_breaker),
    T(open_breaker_waits_for_the_retry_interval),
    T(half_open_success_closes_the_breaker),
    T(half_open_failure_opens_it_again),
    T(forced_connect_ignores_the_interval),
    T(lost_connection_opens_the_breaker),
    T(stalled_connect_times_out_once),
    T(stalled_command_times_out_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
