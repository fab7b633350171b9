/* xca_loadgen.c - TLS + MQTT 3.1.1 connect-rate load generator.
 *
 * Opens --count TLS connections, --concurrency at a time, spread over
 * --threads epoll loops. Each connection presents its own client certificate
 * and chain (loaded into memory before timing starts), sends an MQTT 3.1.1
 * CONNECT with a clean session, waits for the CONNACK, optionally publishes
 * one QoS 1 message and waits for its PUBACK, then sends DISCONNECT and
 * closes; with --hold-seconds it keeps the session open that long instead,
 * noting when the broker closes it (a session the broker drops); with
 * --reconnect as well, a dropped session or a failed attempt is retried
 * (exponential backoff with jitter, as device SDKs do) until the hold ends,
 * which measures how long a fleet takes to come back after a broker restart.
 * SIGUSR1 ends every hold early. Every TLS handshake is a full one: no
 * session is ever offered for resumption, because the broker under test must
 * verify the device certificate on every connect.
 *
 * A human-readable summary goes to stderr, one JSON object (cJSON, one line)
 * to stdout.
 * Exit status: 0 when the run happened (refusals included), 1 on a set-up
 * failure (unreadable certificate, unknown host), 2 on a usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cjson/cJSON.h>

#define MAX_THREADS 64
#define MAX_PACKET 1024          /* largest CONNECT / PUBLISH we build */
#define IN_BUF 512               /* inbound MQTT bytes kept per connection */
#define SCAN_INTERVAL_NS 10000000ULL /* timeout scan period: 10 ms */
#define RETRY_FIRST_MS 50        /* --reconnect: first backoff, doubled per failure */
#define RETRY_MAX_MS 800         /* --reconnect: largest backoff */

/* SIGUSR1: end every hold now (the run then reports and exits). */
static volatile sig_atomic_t g_stop;

/* ---------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------- */

struct opts {
  const char *host;
  const char *port;
  long count;
  int concurrency;
  int threads;
  const char *cert_pattern;      /* e.g. DIR/widget-%06d.chain.pem */
  const char *key_pattern;       /* e.g. DIR/widget-%06d.key */
  const char *client_id_pattern; /* e.g. widget-%06d */
  const char *username_pattern;  /* %d = index, %s = client id */
  const char *topic_pattern;     /* %s = client id */
  const char *cert_dir;          /* alternative to the patterns */
  long ids;                      /* K: device i uses index first_id + i mod K */
  long first_id;
  const char *cafile;            /* server CA; none = server not verified */
  int publish;
  long payload_size;
  long timeout_ms;
  double max_seconds;            /* stop starting connections after this */
  int keepalive;
  int tls_max;                   /* 0 = library default, else TLS1_x_VERSION */
  long broker_pid;               /* sample this process's CPU time; 0 = none */
  long hold_ms;                  /* keep accepted sessions open this long; 0 = no */
  const char *ready_file;        /* written once every connection is held or done */
  int reconnect;                 /* with hold_ms: retry drops and failures until the hold ends */
  const char *back_file;         /* --reconnect: written each time every dropped session is back */
  const char *label;
  int quiet;
};

/* ---------------------------------------------------------------------------
 * Identities: everything a connection needs, prepared before timing
 * ------------------------------------------------------------------------- */

struct identity {
  char *client_id;
  X509 *leaf;
  STACK_OF(X509) *chain;         /* intermediates sent after the leaf; may be NULL */
  EVP_PKEY *key;
  unsigned char connect_pkt[MAX_PACKET];
  size_t connect_len;
  unsigned char publish_pkt[MAX_PACKET];
  size_t publish_len;
};

/* Connection outcomes; the zero value means "never started". */
enum outcome {
  OUT_NOT_RUN = 0,
  OUT_OK,                        /* CONNACK rc 0 (and PUBACK, with --publish) */
  OUT_REFUSED,                   /* CONNACK rc != 0 */
  OUT_TLS_FAIL,                  /* handshake failed or TLS alert before CONNACK */
  OUT_TIMEOUT,                   /* --timeout-ms elapsed */
  OUT_CONN_FAIL,                 /* TCP connect failed */
  OUT_CLOSED,                    /* peer closed after the handshake, no CONNACK */
  OUT_PROTO,                     /* unexpected MQTT bytes */
  OUT__COUNT
};

/* State shared by all workers. Per-connection result slots are written only by
 * the worker that took that connection index. */
struct run {
  const struct opts *o;
  struct identity *ids;
  size_t nids;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  atomic_long next;              /* next connection index to start */
  uint64_t stop_ns;              /* no new connection starts after this */
  unsigned char *outcome;        /* enum outcome per connection */
  unsigned char *rc;             /* CONNACK return code per connection */
  uint64_t *hs_us;               /* 0 = handshake never completed */
  uint64_t *connack_us;          /* 0 = no CONNACK */
  uint64_t *total_us;            /* set for OUT_OK only */
  uint64_t *pub_us;              /* set with --publish only */
  uint64_t *drop_ms;             /* --hold-seconds: wall clock (Unix ms) the broker closed it */
  uint64_t *back_ms;             /* --reconnect: wall clock (Unix ms) it was held again */
  uint64_t hold_end_ns;          /* --reconnect: every hold ends here */
  atomic_long held;              /* connections that reached ST_HOLD (first time) */
  atomic_long live;              /* sessions held right now */
  atomic_long reheld;            /* --reconnect: dropped sessions held again */
  atomic_long retries;           /* --reconnect: attempts after a failure or a drop */
  atomic_long rss_ready_kb;      /* broker VmRSS once every connection settled; -1 = none */
  atomic_long settled;           /* connections held or finished without being held */
  atomic_int ready_written;
  char first_error[256];         /* first TLS/socket error seen, for the report */
  pthread_mutex_t err_lock;
};

enum state {
  ST_IDLE, ST_TCP, ST_TLS, ST_SEND, ST_WAIT_CONNACK, ST_WAIT_PUBACK, ST_HOLD,
  ST_RETRY                       /* --reconnect: waiting until t_deadline to try again */
};

struct conn {
  enum state st;
  enum state after_send;         /* state entered once the out buffer is written */
  int fd;
  SSL *ssl;
  uint32_t events;               /* epoll events currently registered */
  long idx;                      /* connection index */
  const struct identity *id;
  uint64_t t_start, t_deadline, t_sent;
  const unsigned char *out;
  size_t out_len, out_off;
  int held;                      /* reached ST_HOLD */
  int dropped;                   /* the broker closed it while held */
  unsigned char in[IN_BUF];      /* fields from here on survive a retry */
  size_t in_len;
  unsigned tries;                /* --reconnect: failures in a row, for the backoff */
};

struct worker {
  struct run *run;
  pthread_t tid;
  SSL_CTX *ctx;
  int epfd;
  int nconns;
  struct conn *conns;
  int active;
  int failed;                    /* set-up failed in the thread */
  int stopping;                  /* SIGUSR1 seen */
  unsigned rnd;                  /* backoff jitter state */
};

/* ---------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000ULL + (uint64_t)ts.tv_nsec / 1000000ULL;
}

static void *xcalloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) {
    fprintf(stderr, "xca_loadgen: out of memory\n");
    exit(1);
  }
  return p;
}

/* Expands a pattern holding at most one conversion: %[0][width]d (replaced by
 * `index`) or %s (replaced by `str`, which must then be non-NULL); %% is a
 * literal %. The pattern is never used as a printf format. Returns 0 and writes
 * `out` on success, -1 if the pattern is malformed or the result does not fit. */
static int pattern_expand(const char *pat, long index, const char *str, char *out, size_t outsz)
{
  size_t n = 0;
  int conversions = 0;
  for (const char *p = pat; *p; p++) {
    char piece[64];
    const char *add = piece;
    size_t addlen;
    if (*p != '%') {
      piece[0] = *p;
      addlen = 1;
    } else if (p[1] == '%') {
      piece[0] = '%';
      addlen = 1;
      p++;
    } else {
      int zero = 0, width = 0;
      p++;
      if (*p == '0') {
        zero = 1;
        p++;
      }
      while (*p >= '0' && *p <= '9' && width < 100)
        width = width * 10 + (*p++ - '0');
      if (conversions++)
        return -1;
      if (*p == 'd') {
        int w = zero ? snprintf(piece, sizeof piece, "%0*ld", width, index)
                     : snprintf(piece, sizeof piece, "%*ld", width, index);
        if (w < 0 || (size_t)w >= sizeof piece)
          return -1;
        addlen = (size_t)w;
      } else if (*p == 's' && !zero && !width && str) {
        add = str;
        addlen = strlen(str);
      } else {
        return -1;
      }
    }
    if (n + addlen >= outsz)
      return -1;
    memcpy(out + n, add, addlen);
    n += addlen;
  }
  out[n] = '\0';
  return 0;
}

/* Appends an MQTT variable byte integer; returns the bytes written. */
static size_t put_varint(unsigned char *b, size_t v)
{
  size_t n = 0;
  do {
    unsigned char byte = (unsigned char)(v % 128);
    v /= 128;
    if (v)
      byte |= 0x80;
    b[n++] = byte;
  } while (v);
  return n;
}

static size_t put_str(unsigned char *b, const char *s, size_t len)
{
  b[0] = (unsigned char)(len >> 8);
  b[1] = (unsigned char)(len & 0xff);
  memcpy(b + 2, s, len);
  return len + 2;
}

/* Builds an MQTT 3.1.1 CONNECT (clean session, no password). Returns its
 * length, or 0 if it would not fit in MAX_PACKET. */
static size_t build_connect(unsigned char *pkt, const char *client_id, const char *username,
                            int keepalive)
{
  size_t cid = strlen(client_id), usr = username ? strlen(username) : 0;
  size_t rem = 10 + 2 + cid + (username ? 2 + usr : 0);
  if (rem + 5 > MAX_PACKET || cid > 65535 || usr > 65535)
    return 0;
  size_t n = 0;
  pkt[n++] = 0x10;
  n += put_varint(pkt + n, rem);
  n += put_str(pkt + n, "MQTT", 4);
  pkt[n++] = 4;                                       /* protocol level 3.1.1 */
  pkt[n++] = (unsigned char)(0x02 | (username ? 0x80 : 0)); /* clean session, username */
  pkt[n++] = (unsigned char)((keepalive >> 8) & 0xff);
  pkt[n++] = (unsigned char)(keepalive & 0xff);
  n += put_str(pkt + n, client_id, cid);
  if (username)
    n += put_str(pkt + n, username, usr);
  return n;
}

/* Builds a QoS 1 PUBLISH with packet id 1. Returns its length, or 0 if it would
 * not fit in MAX_PACKET. */
static size_t build_publish(unsigned char *pkt, const char *topic, size_t payload)
{
  size_t tl = strlen(topic);
  size_t rem = 2 + tl + 2 + payload;
  if (rem + 5 > MAX_PACKET)
    return 0;
  size_t n = 0;
  pkt[n++] = 0x32;
  n += put_varint(pkt + n, rem);
  n += put_str(pkt + n, topic, tl);
  pkt[n++] = 0;
  pkt[n++] = 1;
  memset(pkt + n, 'x', payload);
  return n + payload;
}

static void run_note_error(struct run *run, const char *what)
{
  char buf[200];
  unsigned long e = ERR_peek_error();
  if (e)
    ERR_error_string_n(e, buf, sizeof buf);
  else
    snprintf(buf, sizeof buf, "%s", errno ? strerror(errno) : "EOF");
  pthread_mutex_lock(&run->err_lock);
  if (!run->first_error[0])
    snprintf(run->first_error, sizeof run->first_error, "%s: %s", what, buf);
  pthread_mutex_unlock(&run->err_lock);
}

/* ---------------------------------------------------------------------------
 * Loading identities (before timing)
 * ------------------------------------------------------------------------- */

/* Reads a PEM file holding the leaf first, then its intermediates. */
static int load_chain(const char *path, X509 **leaf, STACK_OF(X509) **chain)
{
  BIO *bio = BIO_new_file(path, "r");
  if (!bio)
    return -1;
  X509 *l = PEM_read_bio_X509(bio, NULL, NULL, NULL);
  STACK_OF(X509) *sk = NULL;
  X509 *x;
  while (l && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    if (!sk)
      sk = sk_X509_new_null();
    if (!sk || !sk_X509_push(sk, x)) {
      X509_free(x);
      break;
    }
  }
  ERR_clear_error(); /* the loop ends on "no start line" */
  BIO_free(bio);
  if (!l) {
    sk_X509_pop_free(sk, X509_free);
    return -1;
  }
  *leaf = l;
  *chain = sk;
  return 0;
}

static EVP_PKEY *load_key(const char *path)
{
  BIO *bio = BIO_new_file(path, "r");
  if (!bio)
    return NULL;
  EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
  BIO_free(bio);
  return k;
}

/* Loads one identity and prebuilds its packets. Returns 0, or -1 with a
 * message on stderr. */
static int identity_load(struct identity *id, const struct opts *o, const char *cert_path,
                         const char *key_path, const char *client_id, long index)
{
  char user[600], topic[600];
  if (load_chain(cert_path, &id->leaf, &id->chain)) {
    fprintf(stderr, "xca_loadgen: cannot read certificate chain %s\n", cert_path);
    return -1;
  }
  id->key = load_key(key_path);
  if (!id->key) {
    fprintf(stderr, "xca_loadgen: cannot read private key %s\n", key_path);
    return -1;
  }
  if (X509_check_private_key(id->leaf, id->key) != 1) {
    fprintf(stderr, "xca_loadgen: %s does not match %s\n", key_path, cert_path);
    return -1;
  }
  id->client_id = strdup(client_id);
  if (!id->client_id)
    return -1;
  if (o->username_pattern &&
      pattern_expand(o->username_pattern, index, client_id, user, sizeof user)) {
    fprintf(stderr, "xca_loadgen: bad --username-pattern\n");
    return -1;
  }
  id->connect_len = build_connect(id->connect_pkt, client_id,
                                  o->username_pattern ? user : NULL, o->keepalive);
  if (pattern_expand(o->topic_pattern, index, client_id, topic, sizeof topic)) {
    fprintf(stderr, "xca_loadgen: bad --topic-pattern\n");
    return -1;
  }
  id->publish_len = build_publish(id->publish_pkt, topic, (size_t)o->payload_size);
  if (!id->connect_len || !id->publish_len) {
    fprintf(stderr, "xca_loadgen: client id, username or topic too long\n");
    return -1;
  }
  ERR_clear_error();
  return 0;
}

static int ends_with(const char *s, const char *suffix)
{
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --cert-dir: every NAME.chain.pem (or, if there is none, every NAME.crt)
 * with a NAME.key next to it, sorted by NAME; client id = NAME. */
static int load_dir(struct run *run, const struct opts *o)
{
  const char *suffixes[] = {".chain.pem", ".crt"};
  DIR *d = NULL;
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = -1;
  for (size_t s = 0; s < 2 && n == 0; s++) {
    d = opendir(o->cert_dir);
    if (!d) {
      fprintf(stderr, "xca_loadgen: cannot open %s: %s\n", o->cert_dir, strerror(errno));
      return -1;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
      if (!ends_with(de->d_name, suffixes[s]))
        continue;
      if (n == cap) {
        cap = cap ? cap * 2 : 256;
        char **nn = realloc(names, cap * sizeof *names);
        if (!nn)
          goto cleanup;
        names = nn;
      }
      size_t len = strlen(de->d_name) - strlen(suffixes[s]);
      names[n] = strndup(de->d_name, len);
      if (!names[n])
        goto cleanup;
      n++;
    }
    closedir(d);
    d = NULL;
    if (n == 0)
      continue;
    qsort(names, n, sizeof *names, cmp_str);
    run->ids = xcalloc(n, sizeof *run->ids);
    for (size_t i = 0; i < n; i++) {
      char cert[PATH_MAX], key[PATH_MAX];
      snprintf(cert, sizeof cert, "%s/%s%s", o->cert_dir, names[i], suffixes[s]);
      snprintf(key, sizeof key, "%s/%s.key", o->cert_dir, names[i]);
      if (identity_load(&run->ids[i], o, cert, key, names[i], (long)i))
        goto cleanup;
      run->nids++;
    }
  }
  if (n == 0)
    fprintf(stderr, "xca_loadgen: no *.chain.pem or *.crt in %s\n", o->cert_dir);
  else
    rc = 0;
cleanup:
  if (d)
    closedir(d);
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return rc;
}

static int load_patterns(struct run *run, const struct opts *o)
{
  run->ids = xcalloc((size_t)o->ids, sizeof *run->ids);
  for (long k = 0; k < o->ids; k++) {
    long index = o->first_id + k;
    char cert[PATH_MAX], key[PATH_MAX], cid[256];
    if (pattern_expand(o->cert_pattern, index, NULL, cert, sizeof cert) ||
        pattern_expand(o->key_pattern, index, NULL, key, sizeof key) ||
        pattern_expand(o->client_id_pattern, index, NULL, cid, sizeof cid)) {
      fprintf(stderr, "xca_loadgen: a pattern is malformed or expands too long\n");
      return -1;
    }
    if (identity_load(&run->ids[k], o, cert, key, cid, index))
      return -1;
    run->nids++;
  }
  return 0;
}

static void identities_free(struct run *run)
{
  for (size_t i = 0; i < run->nids; i++) {
    X509_free(run->ids[i].leaf);
    sk_X509_pop_free(run->ids[i].chain, X509_free);
    EVP_PKEY_free(run->ids[i].key);
    free(run->ids[i].client_id);
  }
  free(run->ids);
}

/* ---------------------------------------------------------------------------
 * The connection state machine
 * ------------------------------------------------------------------------- */

static void conn_start(struct worker *w, struct conn *c);
static int conn_begin(struct worker *w, struct conn *c, long idx);
static long proc_rss_kb(long pid);

/* Writes line to path (replacing it), for a script waiting on the file. */
static void write_note(const char *path, const char *line)
{
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f)
    return;
  fputs(line, f);
  if (fclose(f) == 0)
    rename(tmp, path); /* whole or absent, never half-written */
}

/* Called once per connection when it is first held or finishes without
 * having been held; the last one samples the broker's memory and writes
 * --ready-file. */
static void run_settle(struct run *run)
{
  long settled = atomic_fetch_add(&run->settled, 1) + 1;
  if (settled < run->o->count || atomic_exchange(&run->ready_written, 1))
    return;
  if (run->o->broker_pid)
    atomic_store(&run->rss_ready_kb, proc_rss_kb(run->o->broker_pid));
  if (run->o->ready_file) {
    char line[64];
    snprintf(line, sizeof line, "held=%ld\n", atomic_load(&run->held));
    write_note(run->o->ready_file, line);
  }
}

/* --hold-seconds: an accepted session stays open (no DISCONNECT) until the
 * hold ends or the broker closes it. */
static void conn_hold(struct worker *w, struct conn *c)
{
  struct run *run = w->run;
  uint64_t t = now_ns();
  int again = run->drop_ms[c->idx] != 0; /* --reconnect: back after a drop */
  run->total_us[c->idx] = (t - c->t_start) / 1000;
  c->st = ST_HOLD;
  c->held = 1;
  c->tries = 0;
  c->in_len = 0;
  c->t_deadline = run->o->reconnect ? run->hold_end_ns : t + (uint64_t)run->o->hold_ms * 1000000ULL;
  if (w->stopping || g_stop)
    c->t_deadline = t; /* SIGUSR1 came while it connected: it ends at the next scan */
  long live = atomic_fetch_add(&run->live, 1) + 1;
  if (!again) {
    atomic_fetch_add(&run->held, 1);
    run_settle(run);
    return;
  }
  run->back_ms[c->idx] = wall_ms();
  long reheld = atomic_fetch_add(&run->reheld, 1) + 1;
  if (run->o->back_file && live == run->o->count) {
    char line[64];
    snprintf(line, sizeof line, "back=%ld\n", reheld);
    write_note(run->o->back_file, line);
  }
}

/* --reconnect: whether a connection that ended with out (dropped or not)
 * is tried again rather than finished. */
static int conn_retries(const struct worker *w, const struct conn *c, enum outcome out)
{
  const struct run *run = w->run;
  if (!run->o->reconnect || w->stopping || g_stop || now_ns() >= run->hold_end_ns)
    return 0;
  return c->dropped || out != OUT_OK;
}

/* Records the outcome, closes the connection and starts the next one (or,
 * with --reconnect, schedules the same one again). */
static void conn_finish(struct worker *w, struct conn *c, enum outcome out)
{
  struct run *run = w->run;
  int retry = conn_retries(w, c, out);
  run->outcome[c->idx] = (unsigned char)out;
  if (out == OUT_OK && !c->dropped) {
    /* DISCONNECT then close_notify; neither is waited for. */
    static const unsigned char disconnect[2] = {0xe0, 0x00};
    ERR_clear_error();
    (void)SSL_write(c->ssl, disconnect, sizeof disconnect);
    (void)SSL_shutdown(c->ssl);
  }
  if (out == OUT_OK && !c->held)
    run->total_us[c->idx] = (now_ns() - c->t_start) / 1000;
  if (c->held)
    atomic_fetch_sub(&run->live, 1);
  else if (!retry && !run->drop_ms[c->idx])
    run_settle(run);
  ERR_clear_error();
  SSL_free(c->ssl);
  close(c->fd); /* also removes it from the epoll set */
  c->ssl = NULL;
  c->fd = -1;
  if (retry) {
    /* Backoff: RETRY_FIRST_MS doubled per failure in a row up to
     * RETRY_MAX_MS, each wait drawn from its upper half (jitter). */
    unsigned ms = RETRY_FIRST_MS << (c->tries < 4 ? c->tries : 4);
    if (ms > RETRY_MAX_MS)
      ms = RETRY_MAX_MS;
    w->rnd = w->rnd * 1103515245u + 12345u;
    ms = ms / 2 + (w->rnd >> 8) % (ms / 2 + 1);
    c->tries++;
    c->held = 0;
    c->dropped = 0;
    c->st = ST_RETRY;
    c->t_deadline = now_ns() + (uint64_t)ms * 1000000ULL;
    atomic_fetch_add(&run->retries, 1);
    return;
  }
  c->st = ST_IDLE;
  w->active--;
  conn_start(w, c);
}

static void conn_want(struct worker *w, struct conn *c, uint32_t events)
{
  if (c->events == events)
    return;
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->events = events;
}

/* Handles a non-positive return of an SSL I/O call. Returns 1 when the caller
 * should wait for the socket, 0 when the connection was finished. */
static int conn_ssl_error(struct worker *w, struct conn *c, int r)
{
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ) {
    conn_want(w, c, EPOLLIN);
    return 1;
  }
  if (e == SSL_ERROR_WANT_WRITE) {
    conn_want(w, c, EPOLLOUT);
    return 1;
  }
  /* With TLS 1.3 a client finishes its handshake before the server has
   * checked the client certificate, so a rejected certificate shows up as
   * an alert while we wait for the CONNACK: count any TLS-level error as a
   * TLS failure, and a plain close as one only during the handshake. */
  enum outcome out;
  if (c->st == ST_HOLD) {
    /* The broker closed a held session (a kick): still an accepted one. */
    c->dropped = 1;
    if (!w->run->drop_ms[c->idx])
      w->run->drop_ms[c->idx] = wall_ms();
    conn_finish(w, c, OUT_OK);
    return 0;
  }
  if (e == SSL_ERROR_SSL || c->st == ST_TLS)
    out = OUT_TLS_FAIL;
  else
    out = OUT_CLOSED;
  run_note_error(w->run, c->st == ST_TLS ? "handshake" : "after handshake");
  conn_finish(w, c, out);
  return 0;
}

/* Consumes whole MQTT packets from c->in. Returns 1 to keep reading, 0 when
 * the connection moved to another state, -1 when it was finished (the slot
 * may already hold the next connection). */
static int conn_packets(struct worker *w, struct conn *c)
{
  struct run *run = w->run;
  while (c->in_len >= 2) {
    size_t rem = 0, mult = 1, hdr = 1;
    for (;;) {
      if (hdr >= c->in_len)
        return 1; /* length incomplete */
      unsigned char b = c->in[hdr++];
      rem += (size_t)(b & 0x7f) * mult;
      mult *= 128;
      if (!(b & 0x80))
        break;
      if (hdr > 4) {
        conn_finish(w, c, OUT_PROTO);
        return -1;
      }
    }
    if (hdr + rem > sizeof c->in) {
      conn_finish(w, c, OUT_PROTO);
      return -1;
    }
    if (hdr + rem > c->in_len)
      return 1;
    unsigned type = c->in[0] >> 4;
    const unsigned char *body = c->in + hdr;
    if (c->st == ST_WAIT_CONNACK) {
      if (type != 2 || rem != 2) {
        conn_finish(w, c, OUT_PROTO);
        return -1;
      }
      uint64_t t = now_ns();
      run->connack_us[c->idx] = (t - c->t_sent) / 1000;
      run->rc[c->idx] = body[1];
      if (body[1] != 0) {
        conn_finish(w, c, OUT_REFUSED);
        return -1;
      }
      if (!run->o->publish) {
        if (run->o->hold_ms) {
          conn_hold(w, c);
          return 0;
        }
        conn_finish(w, c, OUT_OK);
        return -1;
      }
      c->out = c->id->publish_pkt;
      c->out_len = c->id->publish_len;
      c->out_off = 0;
      c->after_send = ST_WAIT_PUBACK;
      c->t_sent = t;
      c->st = ST_SEND;
      c->in_len = 0;
      return 0;
    }
    if (type == 4 && rem == 2 && body[0] == 0 && body[1] == 1) {
      run->pub_us[c->idx] = (now_ns() - c->t_sent) / 1000;
      if (run->o->hold_ms) {
        conn_hold(w, c);
        return 0;
      }
      conn_finish(w, c, OUT_OK);
      return -1;
    }
    /* Anything else while waiting for the PUBACK is skipped. */
    memmove(c->in, c->in + hdr + rem, c->in_len - hdr - rem);
    c->in_len -= hdr + rem;
  }
  return 1;
}

/* Advances a connection as far as it goes without blocking. */
static void conn_drive(struct worker *w, struct conn *c)
{
  struct run *run = w->run;
  for (;;) {
    int r;
    switch (c->st) {
    case ST_IDLE:
      return;
    case ST_TCP: {
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
        errno = err;
        ERR_clear_error();
        run_note_error(run, "tcp connect");
        conn_finish(w, c, OUT_CONN_FAIL);
        return;
      }
      c->st = ST_TLS;
      break;
    }
    case ST_TLS:
      ERR_clear_error();
      r = SSL_do_handshake(c->ssl);
      if (r != 1) {
        conn_ssl_error(w, c, r);
        return;
      }
      c->t_sent = now_ns();
      run->hs_us[c->idx] = (c->t_sent - c->t_start) / 1000;
      c->out = c->id->connect_pkt;
      c->out_len = c->id->connect_len;
      c->out_off = 0;
      c->after_send = ST_WAIT_CONNACK;
      c->st = ST_SEND;
      break;
    case ST_SEND:
      ERR_clear_error();
      r = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
      if (r <= 0) {
        conn_ssl_error(w, c, r);
        return;
      }
      c->out_off += (size_t)r;
      if (c->out_off == c->out_len) {
        c->st = c->after_send;
        c->in_len = 0;
      }
      break;
    case ST_WAIT_CONNACK:
    case ST_WAIT_PUBACK:
      ERR_clear_error();
      r = SSL_read(c->ssl, c->in + c->in_len, (int)(sizeof c->in - c->in_len));
      if (r <= 0) {
        conn_ssl_error(w, c, r);
        return;
      }
      c->in_len += (size_t)r;
      r = conn_packets(w, c);
      if (r < 0)
        return;
      if (r > 0 && c->in_len == sizeof c->in) {
        conn_finish(w, c, OUT_PROTO);
        return;
      }
      break;
    case ST_RETRY:
      return;
    case ST_HOLD:
      /* Whatever the broker sends a held session is read and dropped. */
      ERR_clear_error();
      r = SSL_read(c->ssl, c->in, (int)sizeof c->in);
      if (r <= 0) {
        conn_ssl_error(w, c, r);
        return;
      }
      break;
    }
  }
}

/* Takes the next connection index, if any is left and time remains, and
 * starts its TCP connect. Failures to start count as connect failures. */
static void conn_start(struct worker *w, struct conn *c)
{
  struct run *run = w->run;
  const struct opts *o = run->o;
  for (;;) {
    if (now_ns() >= run->stop_ns || g_stop)
      return;
    long idx = atomic_fetch_add(&run->next, 1);
    if (idx >= o->count)
      return;
    c->tries = 0;
    if (conn_begin(w, c, idx) == 0) {
      w->active++;
      return;
    }
    if (o->reconnect) {
      /* A connection that cannot start is retried like a failed one. */
      c->st = ST_RETRY;
      c->tries = 1;
      c->t_deadline = now_ns() + (uint64_t)RETRY_MAX_MS * 1000000ULL;
      w->active++;
      return;
    }
    run_settle(run);
  }
}

/* Starts connection idx in slot c: socket, TLS object, TCP connect.
 * Returns 0, or -1 with the failure recorded as idx's outcome. */
static int conn_begin(struct worker *w, struct conn *c, long idx)
{
  struct run *run = w->run;
  const struct opts *o = run->o;
  {
    uint64_t t = now_ns();
    memset(c, 0, offsetof(struct conn, in));
    c->idx = idx;
    c->id = &run->ids[(size_t)idx % run->nids];
    c->t_start = t;
    c->t_deadline = t + (uint64_t)o->timeout_ms * 1000000ULL;
    c->fd = socket(run->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
      run_note_error(run, "socket");
      run->outcome[idx] = OUT_CONN_FAIL;
      return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->ssl = SSL_new(w->ctx);
    if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || SSL_use_certificate(c->ssl, c->id->leaf) != 1 ||
        SSL_use_PrivateKey(c->ssl, c->id->key) != 1 ||
        (c->id->chain && SSL_set1_chain(c->ssl, c->id->chain) != 1)) {
      run_note_error(run, "SSL set-up");
      ERR_clear_error();
      SSL_free(c->ssl);
      close(c->fd);
      run->outcome[idx] = OUT_TLS_FAIL;
      return -1;
    }
    SSL_set_connect_state(c->ssl);
    if (connect(c->fd, (struct sockaddr *)&run->addr, run->addrlen) && errno != EINPROGRESS) {
      run_note_error(run, "tcp connect");
      SSL_free(c->ssl);
      close(c->fd);
      run->outcome[idx] = OUT_CONN_FAIL;
      return -1;
    }
    c->st = ST_TCP;
    c->events = EPOLLOUT;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev);
    return 0;
  }
}

/* --reconnect: the slot's backoff is over; try the same connection again
 * (a connection that cannot even start waits for another round). */
static void conn_retry(struct worker *w, struct conn *c)
{
  struct run *run = w->run;
  long idx = c->idx;
  if (w->stopping || g_stop || now_ns() >= run->hold_end_ns) {
    c->st = ST_IDLE;
    w->active--;
    if (!run->drop_ms[idx])
      run_settle(run); /* never held: it settles now */
    return;
  }
  unsigned tries = c->tries;
  if (conn_begin(w, c, idx) == 0)
    return;
  c->st = ST_RETRY;
  c->tries = tries + 1;
  c->t_deadline = now_ns() + (uint64_t)RETRY_MAX_MS * 1000000ULL;
}

static void worker_expire(struct worker *w, uint64_t t)
{
  for (int i = 0; i < w->nconns; i++) {
    struct conn *c = &w->conns[i];
    if (c->st == ST_IDLE || t < c->t_deadline)
      continue;
    if (c->st == ST_RETRY)
      conn_retry(w, c);
    else
      conn_finish(w, c, c->st == ST_HOLD ? OUT_OK : OUT_TIMEOUT);
  }
}

/* SIGUSR1: every held session ends now (DISCONNECT), nothing new starts,
 * connections still on their way finish as they would. */
static void worker_stop(struct worker *w)
{
  w->stopping = 1;
  for (int i = 0; i < w->nconns; i++) {
    struct conn *c = &w->conns[i];
    if (c->st == ST_HOLD)
      conn_finish(w, c, OUT_OK);
    else if (c->st == ST_RETRY) {
      c->st = ST_IDLE;
      w->active--;
    }
  }
}

static void *worker_main(void *arg)
{
  struct worker *w = arg;
  struct epoll_event evs[256];
  uint64_t last_scan = now_ns();
  for (int i = 0; i < w->nconns; i++)
    conn_start(w, &w->conns[i]);
  while (w->active > 0) {
    int n = epoll_wait(w->epfd, evs, 256, (int)(SCAN_INTERVAL_NS / 1000000ULL));
    for (int i = 0; i < n; i++)
      conn_drive(w, evs[i].data.ptr);
    uint64_t t = now_ns();
    if (g_stop && !w->stopping)
      worker_stop(w);
    if (t - last_scan >= SCAN_INTERVAL_NS) {
      worker_expire(w, t);
      last_scan = t;
    }
  }
  return NULL;
}

/* ---------------------------------------------------------------------------
 * Set-up
 * ------------------------------------------------------------------------- */

static SSL_CTX *client_ctx_new(const struct opts *o)
{
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx)
    return NULL;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (o->tls_max)
    SSL_CTX_set_max_proto_version(ctx, o->tls_max);
  /* Every handshake must be full: no client session cache, no tickets. */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  if (o->cafile) {
    if (SSL_CTX_load_verify_locations(ctx, o->cafile, NULL) != 1) {
      fprintf(stderr, "xca_loadgen: cannot load --cafile %s\n", o->cafile);
      SSL_CTX_free(ctx);
      return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  }
  return ctx;
}

static int resolve(struct run *run, const struct opts *o)
{
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
  int e = getaddrinfo(o->host, o->port, &hints, &ai);
  if (e || !ai) {
    fprintf(stderr, "xca_loadgen: cannot resolve %s:%s: %s\n", o->host, o->port,
            gai_strerror(e));
    return -1;
  }
  memcpy(&run->addr, ai->ai_addr, ai->ai_addrlen);
  run->addrlen = ai->ai_addrlen;
  freeaddrinfo(ai);
  return 0;
}

static void raise_nofile(long need)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)need) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* CPU seconds (user + system) used so far by process `pid`, or -1. */
static double proc_cpu_seconds(long pid)
{
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  unsigned long ut, st;
  /* Fields after "pid (comm)": state ppid pgrp session tty tpgid flags
   * minflt cminflt majflt cmajflt utime stime. */
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
    return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Resident memory (VmRSS) of process pid in kB, or -1. */
static long proc_rss_kb(long pid)
{
  char path[64], line[256];
  long kb = -1;
  snprintf(path, sizeof path, "/proc/%ld/status", pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
      break;
  fclose(f);
  return kb;
}

/* CPU seconds the whole machine spent busy so far (all CPUs), or -1. */
static double machine_busy_seconds(void)
{
  FILE *f = fopen("/proc/stat", "r");
  unsigned long long v[8] = {0};
  if (!f)
    return -1;
  /* cpu user nice system idle iowait irq softirq steal */
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                 &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (n != 8)
    return -1;
  return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_seconds(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---------------------------------------------------------------------------
 * Report
 * ------------------------------------------------------------------------- */

struct pct {
  size_t n;
  uint64_t p50, p90, p99, max;
  double mean;
};

static int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentiles over the values whose outcome is in `mask`
 * (and, if `nonzero`, whose value is non-zero). */
static struct pct percentiles(const struct run *run, const uint64_t *v, unsigned mask, int nonzero)
{
  struct pct p = {0};
  long count = run->o->count;
  uint64_t *tmp = xcalloc((size_t)count, sizeof *tmp);
  double sum = 0;
  for (long i = 0; i < count; i++) {
    if (!(mask & (1u << run->outcome[i])) || (nonzero && !v[i]))
      continue;
    tmp[p.n++] = v[i];
    sum += (double)v[i];
  }
  if (p.n) {
    qsort(tmp, p.n, sizeof *tmp, cmp_u64);
#define RANK(q) tmp[(size_t)((double)p.n * (q) + 0.999999) - 1]
    p.p50 = RANK(0.50);
    p.p90 = RANK(0.90);
    p.p99 = RANK(0.99);
#undef RANK
    p.max = tmp[p.n - 1];
    p.mean = sum / (double)p.n;
  }
  free(tmp);
  return p;
}

/* Adds {n,p50,p90,p99,max,mean} (microseconds) under name. */
static void json_pct(cJSON *obj, const char *name, struct pct p)
{
  cJSON *o = cJSON_AddObjectToObject(obj, name);
  cJSON_AddNumberToObject(o, "n", (double)p.n);
  cJSON_AddNumberToObject(o, "p50", (double)p.p50);
  cJSON_AddNumberToObject(o, "p90", (double)p.p90);
  cJSON_AddNumberToObject(o, "p99", (double)p.p99);
  cJSON_AddNumberToObject(o, "max", (double)p.max);
  cJSON_AddNumberToObject(o, "mean", round(p.mean * 10) / 10);
}

/* v rounded to one decimal, as the report prints rates and percentages. */
static double dec1(double v)
{
  return round(v * 10) / 10;
}

static void human_pct(const char *name, struct pct p)
{
  fprintf(stderr, "  %-10s n=%-7zu p50=%-7llu p90=%-7llu p99=%-7llu max=%-8llu us\n", name, p.n,
          (unsigned long long)p.p50, (unsigned long long)p.p90, (unsigned long long)p.p99,
          (unsigned long long)p.max);
}

static void report(const struct run *run, double seconds, double self_cpu, double broker_cpu,
                   double machine_cpu, long rss_start_kb)
{
  const struct opts *o = run->o;
  long n[OUT__COUNT] = {0};
  long rcs[256] = {0};
  for (long i = 0; i < o->count; i++) {
    n[run->outcome[i]]++;
    if (run->outcome[i] == OUT_REFUSED)
      rcs[run->rc[i]]++;
  }
  double cps = seconds > 0 ? (double)n[OUT_OK] / seconds : 0;
  unsigned ok = 1u << OUT_OK, any = 0xffu;
  struct pct hs = percentiles(run, run->hs_us, any, 1);
  struct pct ca = percentiles(run, run->connack_us, ok | (1u << OUT_REFUSED), 1);
  struct pct tot = percentiles(run, run->total_us, ok, 0);
  struct pct pub = percentiles(run, run->pub_us, ok, 0);
  long dropped = 0;
  uint64_t first_drop = 0, last_drop = 0;
  for (long i = 0; i < o->count; i++) {
    uint64_t d = run->drop_ms[i];
    if (!d)
      continue;
    dropped++;
    if (!first_drop || d < first_drop)
      first_drop = d;
    if (d > last_drop)
      last_drop = d;
  }
  long back = 0;
  uint64_t last_back = 0;
  for (long i = 0; i < o->count; i++) {
    if (!run->drop_ms[i] || !run->back_ms[i])
      continue;
    back++;
    if (run->back_ms[i] > last_back)
      last_back = run->back_ms[i];
  }

  if (!o->quiet) {
    fprintf(stderr, "xca_loadgen%s%s: %s:%s count=%ld concurrency=%d threads=%d%s\n",
            o->label ? " " : "", o->label ? o->label : "", o->host, o->port, o->count,
            o->concurrency, o->threads, o->publish ? " publish" : "");
    fprintf(stderr, "  ok=%ld refused=%ld tls_fail=%ld timeouts=%ld conn_fail=%ld closed=%ld "
                    "proto_err=%ld not_run=%ld\n",
            n[OUT_OK], n[OUT_REFUSED], n[OUT_TLS_FAIL], n[OUT_TIMEOUT], n[OUT_CONN_FAIL],
            n[OUT_CLOSED], n[OUT_PROTO], n[OUT_NOT_RUN]);
    fprintf(stderr, "  %.3f s, %.1f connects/s; loadgen cpu %.0f%%", seconds, cps,
            100.0 * self_cpu / seconds);
    if (broker_cpu >= 0)
      fprintf(stderr, ", broker cpu %.0f%%", 100.0 * broker_cpu / seconds);
    if (machine_cpu >= 0)
      fprintf(stderr, ", machine busy %.0f%% of %ld", 100.0 * machine_cpu / seconds,
              100 * sysconf(_SC_NPROCESSORS_ONLN));
    fprintf(stderr, " (100%% = one core)\n");
    human_pct("handshake", hs);
    human_pct("connack", ca);
    if (o->publish)
      human_pct("puback", pub);
    human_pct("total", tot);
    if (o->hold_ms)
      fprintf(stderr, "  held=%ld dropped_by_broker=%ld\n", atomic_load(&run->held), dropped);
    if (o->reconnect)
      fprintf(stderr, "  back=%ld retries=%ld all back %lld ms after the first drop\n", back,
              atomic_load(&run->retries),
              first_drop && back == dropped && last_back >= first_drop
                  ? (long long)(last_back - first_drop) : -1LL);
    if (run->first_error[0])
      fprintf(stderr, "  first error: %s\n", run->first_error);
  }

  cJSON *j = cJSON_CreateObject();
  if (!j) {
    fprintf(stderr, "xca_loadgen: out of memory\n");
    exit(1);
  }
  if (o->label)
    cJSON_AddStringToObject(j, "label", o->label);
  static const char *const names[OUT__COUNT] = {
    [OUT_NOT_RUN] = "not_run", [OUT_OK] = "ok", [OUT_REFUSED] = "refused",
    [OUT_TLS_FAIL] = "tls_fail", [OUT_TIMEOUT] = "timeouts", [OUT_CONN_FAIL] = "conn_fail",
    [OUT_CLOSED] = "closed", [OUT_PROTO] = "proto_err",
  };
  cJSON_AddNumberToObject(j, "count", (double)o->count);
  for (int i = OUT_OK; i < OUT__COUNT; i++)
    cJSON_AddNumberToObject(j, names[i], (double)n[i]);
  cJSON_AddNumberToObject(j, "not_run", (double)n[OUT_NOT_RUN]);
  cJSON_AddNumberToObject(j, "concurrency", o->concurrency);
  cJSON_AddNumberToObject(j, "threads", o->threads);
  cJSON_AddBoolToObject(j, "publish", o->publish);
  cJSON_AddNumberToObject(j, "identities", (double)run->nids);
  cJSON_AddNumberToObject(j, "seconds", round(seconds * 1e6) / 1e6);
  cJSON_AddNumberToObject(j, "cps", dec1(cps));
  json_pct(j, "handshake_us", hs);
  json_pct(j, "connack_us", ca);
  json_pct(j, "total_us", tot);
  if (o->publish)
    json_pct(j, "puback_us", pub);
  cJSON *rc = cJSON_AddObjectToObject(j, "refused_rc");
  for (int i = 0; i < 256; i++)
    if (rcs[i]) {
      char key[8];
      snprintf(key, sizeof key, "%d", i);
      cJSON_AddNumberToObject(rc, key, (double)rcs[i]);
    }
  cJSON_AddNumberToObject(j, "loadgen_cpu_pct", seconds > 0 ? dec1(100.0 * self_cpu / seconds) : 0);
  if (broker_cpu >= 0)
    cJSON_AddNumberToObject(j, "broker_cpu_pct", seconds > 0 ? dec1(100.0 * broker_cpu / seconds) : 0);
  if (machine_cpu >= 0) {
    cJSON_AddNumberToObject(j, "machine_cpu_pct",
                            seconds > 0 ? dec1(100.0 * machine_cpu / seconds) : 0);
    cJSON_AddNumberToObject(j, "cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
  }
  if (o->broker_pid) {
    cJSON_AddNumberToObject(j, "broker_rss_kb_start", (double)rss_start_kb);
    cJSON_AddNumberToObject(j, "broker_rss_kb_ready", (double)atomic_load(&run->rss_ready_kb));
  }
  if (o->hold_ms) {
    cJSON_AddNumberToObject(j, "held", (double)atomic_load(&run->held));
    cJSON_AddNumberToObject(j, "dropped", (double)dropped);
    cJSON_AddNumberToObject(j, "first_drop_ms", (double)first_drop);
    cJSON_AddNumberToObject(j, "last_drop_ms", (double)last_drop);
  }
  if (o->reconnect) {
    cJSON_AddNumberToObject(j, "reheld", (double)atomic_load(&run->reheld));
    cJSON_AddNumberToObject(j, "retries", (double)atomic_load(&run->retries));
    cJSON_AddNumberToObject(j, "last_back_ms", (double)last_back);
    cJSON_AddNumberToObject(j, "storm_ms",
                            first_drop && last_back >= first_drop && back == dropped
                                ? (double)(last_back - first_drop) : -1);
  }
  if (run->first_error[0])
    cJSON_AddStringToObject(j, "first_error", run->first_error);
  char *text = cJSON_PrintUnformatted(j);
  if (!text) {
    fprintf(stderr, "xca_loadgen: out of memory\n");
    exit(1);
  }
  puts(text);
  cJSON_free(text);
  cJSON_Delete(j);
}

/* ---------------------------------------------------------------------------
 * Command line
 * ------------------------------------------------------------------------- */

static void usage(FILE *f)
{
  fprintf(f,
    "usage: xca_loadgen --port P (--cert-pattern PAT --key-pattern PAT --ids K | --cert-dir DIR)\n"
    "                   [options]\n"
    "\n"
    "Opens --count TLS connections to an MQTT broker, --concurrency at a time, each\n"
    "with its own client certificate; sends MQTT 3.1.1 CONNECT (clean session), waits\n"
    "for CONNACK, optionally publishes one QoS 1 message, then DISCONNECTs.\n"
    "Every TLS handshake is full (no session resumption). Summary on stderr, one JSON\n"
    "object on stdout. Exit 0 when the run happened (refusals included), 1 on a set-up\n"
    "failure, 2 on a usage error.\n"
    "\n"
    "Target:\n"
    "  --host H               broker address [127.0.0.1]\n"
    "  --port P               broker TLS port (required)\n"
    "  --cafile FILE          CA that signed the server certificate; without it the\n"
    "                         server certificate is not verified\n"
    "  --tls-max 1.2|1.3      highest TLS version offered [1.3]\n"
    "Load:\n"
    "  --count N              connections to make [1000]\n"
    "  --concurrency C        connections in flight at once [8]\n"
    "  --threads T            epoll worker threads, each with C/T connections [1]\n"
    "  --timeout-ms MS        per-connection limit, connect start to end [10000]\n"
    "  --max-seconds S        start no connection after S seconds [300]\n"
    "  --publish              after CONNACK rc 0, send one QoS 1 PUBLISH, wait PUBACK\n"
    "  --topic-pattern PAT    publish topic; %%s = client id [devices/%%s/messages/events/]\n"
    "  --payload-size B       publish payload bytes [16]\n"
    "  --keepalive S          MQTT keepalive [60]\n"
    "  --hold-seconds S       keep each accepted session open S seconds instead of\n"
    "                         disconnecting (give --concurrency = --count to hold\n"
    "                         them all at once, --keepalive 0 so that the broker\n"
    "                         expects no pings); a session the broker closes\n"
    "                         meanwhile counts as dropped\n"
    "  --ready-file FILE      write held=N to FILE once every connection is held or\n"
    "                         finished\n"
    "  --reconnect            with --hold-seconds: a session the broker closes, and\n"
    "                         any attempt that fails, is tried again (backoff 50 ms\n"
    "                         doubling to 800 ms, jittered) until the hold ends;\n"
    "                         every hold then ends --hold-seconds after the start\n"
    "  --back-file FILE       with --reconnect: write back=N to FILE each time every\n"
    "                         session is held again after drops\n"
    "  SIGUSR1 ends every hold at once (the report follows).\n"
    "Identities (all loaded into memory before timing starts):\n"
    "  --cert-pattern PAT     leaf + intermediates PEM, e.g. DIR/widget-%%06d.chain.pem\n"
    "  --key-pattern PAT      private key PEM, e.g. DIR/widget-%%06d.key\n"
    "  --ids K                number of identities; connection i uses index\n"
    "                         first-id + (i mod K)\n"
    "  --first-id F           first identity index [0]\n"
    "  --client-id-pattern PAT  MQTT client id [basename of --cert-pattern up to its\n"
    "                         first '.', e.g. widget-%%06d]\n"
    "  --cert-dir DIR         instead of patterns: every NAME.chain.pem (else NAME.crt)\n"
    "                         in DIR with NAME.key; client id = NAME, sorted by NAME\n"
    "  --username-pattern PAT MQTT username; %%d = index, %%s = client id [none]\n"
    "  Patterns take one %%d conversion (%%06d etc.), or %%s where noted; %%%% = %%.\n"
    "Report:\n"
    "  --broker-pid PID       also report that process's CPU use during the run\n"
    "  --label NAME           copied into the JSON output\n"
    "  --quiet                no summary on stderr\n"
    "  --help                 this text\n"
    "\n"
    "JSON: count ok refused tls_fail timeouts conn_fail closed proto_err not_run\n"
    "seconds cps, and {n,p50,p90,p99,max,mean} in microseconds for handshake_us (TCP\n"
    "connect start to client TLS handshake done), connack_us (CONNECT sent to CONNACK),\n"
    "total_us (connect start to DISCONNECT sent, successful connections only) and,\n"
    "with --publish, puback_us. cps = ok / seconds. CPU use during the run, 100 =\n"
    "one core: loadgen_cpu_pct, broker_cpu_pct (--broker-pid), machine_cpu_pct (all\n"
    "processes, from /proc/stat; compare with cpus * 100 to see if CPU was short).\n"
    "Also refused_rc (CONNACK codes seen), first_error, label. With --hold-seconds:\n"
    "held, dropped (closed by the broker while held), first_drop_ms and last_drop_ms\n"
    "(wall clock, Unix milliseconds; 0 when none). With --reconnect: reheld,\n"
    "retries, last_back_ms, storm_ms (first drop to the last session held again;\n"
    "-1 unless every dropped session came back). With --broker-pid:\n"
    "broker_rss_kb_start and broker_rss_kb_ready (VmRSS at the start and once every\n"
    "connection was held or finished; -1 = not reached).\n"
    "With TLS 1.3 the client finishes its handshake before the server has checked\n"
    "the client certificate, so the server's verification time is part of\n"
    "connack_us, and a rejected certificate counts as tls_fail when its alert\n"
    "arrives.\n");
}

static int parse_long(const char *s, long min, long max, long *out)
{
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

/* Default client id pattern: basename of the cert pattern up to its first '.'. */
static char *default_client_id_pattern(const char *cert_pattern)
{
  const char *base = strrchr(cert_pattern, '/');
  base = base ? base + 1 : cert_pattern;
  return strndup(base, strcspn(base, "."));
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
  enum {
    O_HOST = 256, O_PORT, O_COUNT, O_CONC, O_THREADS, O_CERT, O_KEY, O_CID, O_USER, O_TOPIC,
    O_DIR, O_IDS, O_FIRST, O_CAFILE, O_PUBLISH, O_PAYLOAD, O_TIMEOUT, O_MAXSEC, O_KEEPALIVE,
    O_TLSMAX, O_PID, O_LABEL, O_QUIET, O_HELP, O_HOLD, O_READY, O_RECONNECT, O_BACK
  };
  static const struct option lo[] = {
    {"host", required_argument, NULL, O_HOST},
    {"port", required_argument, NULL, O_PORT},
    {"count", required_argument, NULL, O_COUNT},
    {"concurrency", required_argument, NULL, O_CONC},
    {"threads", required_argument, NULL, O_THREADS},
    {"cert-pattern", required_argument, NULL, O_CERT},
    {"key-pattern", required_argument, NULL, O_KEY},
    {"client-id-pattern", required_argument, NULL, O_CID},
    {"username-pattern", required_argument, NULL, O_USER},
    {"topic-pattern", required_argument, NULL, O_TOPIC},
    {"cert-dir", required_argument, NULL, O_DIR},
    {"ids", required_argument, NULL, O_IDS},
    {"first-id", required_argument, NULL, O_FIRST},
    {"cafile", required_argument, NULL, O_CAFILE},
    {"publish", no_argument, NULL, O_PUBLISH},
    {"payload-size", required_argument, NULL, O_PAYLOAD},
    {"timeout-ms", required_argument, NULL, O_TIMEOUT},
    {"max-seconds", required_argument, NULL, O_MAXSEC},
    {"keepalive", required_argument, NULL, O_KEEPALIVE},
    {"tls-max", required_argument, NULL, O_TLSMAX},
    {"broker-pid", required_argument, NULL, O_PID},
    {"label", required_argument, NULL, O_LABEL},
    {"quiet", no_argument, NULL, O_QUIET},
    {"help", no_argument, NULL, O_HELP},
    {"hold-seconds", required_argument, NULL, O_HOLD},
    {"ready-file", required_argument, NULL, O_READY},
    {"reconnect", no_argument, NULL, O_RECONNECT},
    {"back-file", required_argument, NULL, O_BACK},
    {NULL, 0, NULL, 0},
  };
  long v;
  int c;
  while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case O_HOST: o->host = optarg; break;
    case O_PORT: bad = parse_long(optarg, 1, 65535, &v); o->port = optarg; break;
    case O_COUNT: bad = parse_long(optarg, 1, 100000000, &o->count); break;
    case O_CONC: bad = parse_long(optarg, 1, 100000, &v); o->concurrency = (int)v; break;
    case O_THREADS: bad = parse_long(optarg, 1, MAX_THREADS, &v); o->threads = (int)v; break;
    case O_CERT: o->cert_pattern = optarg; break;
    case O_KEY: o->key_pattern = optarg; break;
    case O_CID: o->client_id_pattern = optarg; break;
    case O_USER: o->username_pattern = optarg; break;
    case O_TOPIC: o->topic_pattern = optarg; break;
    case O_DIR: o->cert_dir = optarg; break;
    case O_IDS: bad = parse_long(optarg, 1, 10000000, &o->ids); break;
    case O_FIRST: bad = parse_long(optarg, 0, LONG_MAX / 2, &o->first_id); break;
    case O_CAFILE: o->cafile = optarg; break;
    case O_PUBLISH: o->publish = 1; break;
    case O_PAYLOAD: bad = parse_long(optarg, 0, 512, &o->payload_size); break;
    case O_TIMEOUT: bad = parse_long(optarg, 1, 3600000, &o->timeout_ms); break;
    case O_MAXSEC: bad = parse_long(optarg, 1, 86400, &v); o->max_seconds = (double)v; break;
    case O_KEEPALIVE: bad = parse_long(optarg, 0, 65535, &v); o->keepalive = (int)v; break;
    case O_TLSMAX:
      if (strcmp(optarg, "1.2") == 0)
        o->tls_max = TLS1_2_VERSION;
      else if (strcmp(optarg, "1.3") == 0)
        o->tls_max = TLS1_3_VERSION;
      else
        bad = 1;
      break;
    case O_PID: bad = parse_long(optarg, 1, INT_MAX, &o->broker_pid); break;
    case O_LABEL: o->label = optarg; break;
    case O_QUIET: o->quiet = 1; break;
    case O_HELP: usage(stdout); exit(0);
    case O_HOLD: bad = parse_long(optarg, 1, 86400, &v); o->hold_ms = v * 1000; break;
    case O_READY: o->ready_file = optarg; break;
    case O_RECONNECT: o->reconnect = 1; break;
    case O_BACK: o->back_file = optarg; break;
    default: return -1;
    }
    if (bad) {
      fprintf(stderr, "xca_loadgen: bad value for --%s: %s\n", lo[c - O_HOST].name, optarg);
      return -1;
    }
  }
  if (optind != argc) {
    fprintf(stderr, "xca_loadgen: unexpected argument %s\n", argv[optind]);
    return -1;
  }
  if (!o->port) {
    fprintf(stderr, "xca_loadgen: --port is required\n");
    return -1;
  }
  if (!o->cert_dir == !o->cert_pattern) {
    fprintf(stderr, "xca_loadgen: give either --cert-pattern or --cert-dir\n");
    return -1;
  }
  if (o->cert_pattern && (!o->key_pattern || !o->ids)) {
    fprintf(stderr, "xca_loadgen: --cert-pattern needs --key-pattern and --ids\n");
    return -1;
  }
  if ((o->reconnect || o->back_file) && !o->hold_ms) {
    fprintf(stderr, "xca_loadgen: --reconnect and --back-file need --hold-seconds\n");
    return -1;
  }
  if (o->back_file && !o->reconnect) {
    fprintf(stderr, "xca_loadgen: --back-file needs --reconnect\n");
    return -1;
  }
  if (o->threads > o->concurrency)
    o->threads = o->concurrency;
  return 0;
}

static void on_usr1(int sig)
{
  (void)sig;
  g_stop = 1;
}

int main(int argc, char **argv)
{
  struct opts o = {
    .host = "127.0.0.1", .count = 1000, .concurrency = 8, .threads = 1,
    .topic_pattern = "devices/%s/messages/events/", .payload_size = 16,
    .timeout_ms = 10000, .max_seconds = 300, .keepalive = 60,
  };
  if (parse_opts(argc, argv, &o)) {
    fprintf(stderr, "Try 'xca_loadgen --help'.\n");
    return 2;
  }
  char *cid_default = NULL;
  if (o.cert_pattern && !o.client_id_pattern)
    o.client_id_pattern = cid_default = default_client_id_pattern(o.cert_pattern);

  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {.sa_handler = on_usr1};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  raise_nofile((long)o.concurrency + 64);

  static struct run run; /* zeroed; large and shared by the workers */
  run.o = &o;
  pthread_mutex_init(&run.err_lock, NULL);
  if (resolve(&run, &o) || (o.cert_dir ? load_dir(&run, &o) : load_patterns(&run, &o)))
    return 1;
  size_t count = (size_t)o.count;
  run.outcome = xcalloc(count, 1);
  run.rc = xcalloc(count, 1);
  run.hs_us = xcalloc(count, sizeof(uint64_t));
  run.connack_us = xcalloc(count, sizeof(uint64_t));
  run.total_us = xcalloc(count, sizeof(uint64_t));
  run.pub_us = xcalloc(count, sizeof(uint64_t));
  run.drop_ms = xcalloc(count, sizeof(uint64_t));
  run.back_ms = xcalloc(count, sizeof(uint64_t));
  atomic_store(&run.rss_ready_kb, -1);

  struct worker workers[MAX_THREADS];
  memset(workers, 0, sizeof workers);
  for (int t = 0; t < o.threads; t++) {
    struct worker *w = &workers[t];
    w->run = &run;
    w->rnd = (unsigned)getpid() * 2654435761u + (unsigned)t;
    w->nconns = o.concurrency / o.threads + (t < o.concurrency % o.threads);
    w->conns = xcalloc((size_t)w->nconns, sizeof *w->conns);
    w->ctx = client_ctx_new(&o);
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!w->ctx || w->epfd < 0)
      return 1;
  }

  double cpu0 = self_cpu_seconds();
  double bcpu0 = o.broker_pid ? proc_cpu_seconds(o.broker_pid) : -1;
  double mcpu0 = machine_busy_seconds();
  long rss0 = o.broker_pid ? proc_rss_kb(o.broker_pid) : -1;
  uint64_t t0 = now_ns();
  run.stop_ns = t0 + (uint64_t)(o.max_seconds * 1e9);
  run.hold_end_ns = t0 + (uint64_t)o.hold_ms * 1000000ULL;
  for (int t = 0; t < o.threads; t++)
    if (pthread_create(&workers[t].tid, NULL, worker_main, &workers[t])) {
      fprintf(stderr, "xca_loadgen: cannot start thread\n");
      return 1;
    }
  for (int t = 0; t < o.threads; t++)
    pthread_join(workers[t].tid, NULL);
  double seconds = (double)(now_ns() - t0) / 1e9;
  double cpu = self_cpu_seconds() - cpu0;
  double bcpu = -1;
  if (bcpu0 >= 0) {
    double b1 = proc_cpu_seconds(o.broker_pid);
    bcpu = b1 >= 0 ? b1 - bcpu0 : -1;
  }

  double mcpu = mcpu0 >= 0 ? machine_busy_seconds() - mcpu0 : -1;
  report(&run, seconds, cpu, bcpu, mcpu, rss0);

  for (int t = 0; t < o.threads; t++) {
    SSL_CTX_free(workers[t].ctx);
    close(workers[t].epfd);
    free(workers[t].conns);
  }
  identities_free(&run);
  free(run.outcome);
  free(run.rc);
  free(run.hs_us);
  free(run.connack_us);
  free(run.total_us);
  free(run.pub_us);
  free(run.drop_ms);
  free(run.back_ms);
  free(cid_default);
  return 0;
}
