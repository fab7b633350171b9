/* driver.c - a portable main() for the libFuzzer-shaped targets, so that they
 * build with any C compiler and run under CTest.
 *
 *   fuzz_<name> CORPUS_DIR [RUNS [SECONDS]]
 *     runs every file of CORPUS_DIR (in name order), then RUNS (default
 *     20000) inputs made by mutating corpus entries with a fixed-seed PRNG,
 *     stopping early after SECONDS (default 20) of wall time.
 *   fuzz_<name> FILE
 *     runs one input, e.g. a saved crash, and exits.
 *
 * The mutations are byte flips, random and "interesting" bytes, inserts,
 * deletes, copies within an input, splices of two corpus entries and
 * inserted tokens: blind (no coverage feedback), but deterministic, so a
 * failure reproduces with the same corpus and seed. Environment:
 *   XCA_FUZZ_SEED       PRNG seed (default 0x78636166757a7a)
 *   XCA_FUZZ_ARTIFACTS  where a failing input is saved (default ".")
 * A failing input - abort(), a signal, a sanitizer report, or one input
 * running over 10 s - is written to ARTIFACTS/crash-<name>-<iteration>
 * before the process dies. Exit status: 0 when every input ran, 2 on bad
 * usage or an unreadable corpus.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

#define DEFAULT_RUNS 20000L
#define DEFAULT_SECONDS 20.0
#define DEFAULT_SEED 0x78636166757a7aULL
#define MAX_INPUT_LEN (1024 * 1024) /* longest input made by mutation */
#define MIN_MAX_LEN 4096        /* mutations may grow inputs at least this far */
#define INPUT_TIMEOUT_S 10      /* one input running longer is a hang */
#define COPY_MAX 256            /* longest range copied within one input */

/* Make UBSan reports fatal (abort, so that on_signal saves the input). */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
  return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

/* Present when linked with a sanitizer runtime. */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

struct input {
  char *name; /* file name, NULL for a generated input */
  uint8_t *data;
  size_t size;
};

struct corpus {
  struct input *item;
  size_t count;
  size_t cap;
};

/* ------------------------------------------------------------------------ */
/* Saving the failing input (signal context: only async-signal-safe calls)   */
/* ------------------------------------------------------------------------ */

static const uint8_t *volatile cur_data; /* the input being run */
static volatile size_t cur_size;
static volatile long cur_iter = -1;        /* mutation number, -1 for a file */
static const char *volatile cur_file;      /* the file being run, if any */
static char artifact_prefix[1024];         /* "<dir>/crash-<prog>-" */

static void say(const char *s)
{
  ssize_t unused = write(STDERR_FILENO, s, strlen(s));
  (void)unused;
}

/* Write the current input to artifact_prefix<iteration> and say where. */
static void save_current(const char *why)
{
  char path[sizeof(artifact_prefix) + 24];
  char digits[24];
  size_t n = strlen(artifact_prefix);
  size_t d = 0;
  unsigned long v = (unsigned long)cur_iter;
  int fd;

  say("fuzz: ");
  say(why);
  if (cur_data == NULL) {
    say(" outside of an input\n");
    return;
  }
  if (cur_iter < 0) {
    say(" on corpus file ");
    say(cur_file ? cur_file : "?");
    say("\n");
    return;
  }
  do {
    digits[d++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  memcpy(path, artifact_prefix, n);
  while (d > 0) {
    path[n++] = digits[--d];
  }
  path[n] = '\0';
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  for (size_t off = 0; fd >= 0 && off < cur_size;) {
    ssize_t w = write(fd, cur_data + off, cur_size - off);
    if (w <= 0) {
      break;
    }
    off += (size_t)w;
  }
  if (fd >= 0) {
    close(fd);
  }
  say(fd >= 0 ? " on a mutated input, saved to " : " on a mutated input, could not save it to ");
  say(path);
  say("\n");
}

static void on_sanitizer_death(void)
{
  save_current("sanitizer error");
}

static void on_signal(int sig)
{
  save_current(sig == SIGALRM ? "timeout" : "fatal signal");
  if (sig == SIGALRM) {
    _exit(70);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static void install_handlers(void)
{
  struct sigaction sa;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGABRT, &sa, NULL);
  sigaction(SIGALRM, &sa, NULL);
  if (__sanitizer_set_death_callback != NULL) {
    /* The sanitizer reports SEGV and friends itself, then calls us. */
    __sanitizer_set_death_callback(on_sanitizer_death);
  } else {
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
  }
}

/* ------------------------------------------------------------------------ */
/* Running inputs                                                            */
/* ------------------------------------------------------------------------ */

/* Run data through the target from an exact-size heap copy, so that the
 * sanitizer sees any read past size. */
static void run_one(const uint8_t *data, size_t size, long iter, const char *file)
{
  uint8_t *copy = malloc(size ? size : 1);

  if (copy == NULL) {
    fprintf(stderr, "fuzz: out of memory\n");
    exit(2);
  }
  if (size > 0) {
    memcpy(copy, data, size);
  }
  cur_size = size;
  cur_iter = iter;
  cur_file = file;
  cur_data = copy;
  alarm(INPUT_TIMEOUT_S);
  LLVMFuzzerTestOneInput(copy, size);
  alarm(0);
  cur_data = NULL;
  free(copy);
}

/* ------------------------------------------------------------------------ */
/* Corpus                                                                    */
/* ------------------------------------------------------------------------ */

/* Read path into a new corpus entry. Returns 0, or -1 (message printed). */
static int corpus_add_file(struct corpus *c, const char *path, const char *name)
{
  FILE *fp = fopen(path, "rb");
  struct input in = {0};
  long len;

  if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0 ||
      fseek(fp, 0, SEEK_SET) != 0) {
    fprintf(stderr, "fuzz: cannot read %s: %s\n", path, strerror(errno));
    if (fp != NULL) {
      fclose(fp);
    }
    return -1;
  }
  in.size = (size_t)len;
  in.data = malloc(in.size ? in.size : 1);
  in.name = strdup(name);
  if (in.data == NULL || in.name == NULL || fread(in.data, 1, in.size, fp) != in.size) {
    fprintf(stderr, "fuzz: cannot read %s\n", path);
    fclose(fp);
    free(in.data);
    free(in.name);
    return -1;
  }
  fclose(fp);
  if (c->count == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 32;
    struct input *item = realloc(c->item, cap * sizeof(*item));
    if (item == NULL) {
      free(in.data);
      free(in.name);
      return -1;
    }
    c->item = item;
    c->cap = cap;
  }
  c->item[c->count++] = in;
  return 0;
}

static int cmp_name(const void *a, const void *b)
{
  return strcmp(((const struct input *)a)->name, ((const struct input *)b)->name);
}

/* Load every regular, non-hidden file of dir, sorted by name. Returns 0 or -1. */
static int corpus_load_dir(struct corpus *c, const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  int rc = 0;

  if (d == NULL) {
    fprintf(stderr, "fuzz: cannot open %s: %s\n", dir, strerror(errno));
    return -1;
  }
  while (rc == 0 && (e = readdir(d)) != NULL) {
    char path[4096];
    struct stat st;
    if (e->d_name[0] == '.' ||
        (size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path) ||
        stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
      continue;
    }
    rc = corpus_add_file(c, path, e->d_name);
  }
  closedir(d);
  if (rc == 0 && c->count > 1) {
    qsort(c->item, c->count, sizeof(c->item[0]), cmp_name);
  }
  return rc;
}

static void corpus_free(struct corpus *c)
{
  for (size_t i = 0; i < c->count; i++) {
    free(c->item[i].name);
    free(c->item[i].data);
  }
  free(c->item);
  memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------------------ */
/* Mutations                                                                 */
/* ------------------------------------------------------------------------ */

static uint64_t rng_state;

/* splitmix64: small, fast, and the same sequence everywhere. */
static uint64_t rnd(void)
{
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* A uniform-enough number in [0, n); n > 0. */
static size_t below(size_t n)
{
  return (size_t)(rnd() % n);
}

static const uint8_t interesting[] = {0,   1,   0x7f, 0x80, 0xff, ' ', '\t', '\n', '\r', '"',
                                      '\\', '/', ':',  ',',  '{',  '}', '[',  ']',  '#',  '+',
                                      '?',  '*', '=',  '%',  '-',  '.', '0',  '9',  'a',  'Z'};

/* Fragments of the languages our inputs are written in (JSON, PEM, MQTT
 * topics, IoT Hub usernames, integers). */
static const char *const tokens[] = {
  "\"", "{", "}", "[", "]", ":", ",", "null", "true", "false", "0", "-1", "1e308", "-0",
  "4294967296", "9223372036854775808", "18446744073709551615", "\\u0000", "\\ud800", "\\\"",
  "\"command\":", "\"commands\":[", "\"deviceId\":", "\"moduleId\":", "\"name\":",
  "\"certificate\":", "\"cursor\":", "\"count\":", "\"correlationData\":",
  "-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n", "PRIVATE KEY", "-----",
  "\n", "\r\n", "=", "/", "//", "/?", "#", "+", "/#", "/+/", "devices/", "/modules/",
  "/messages/events/", "/messages/devicebound/", "$SYS/", "$CONTROL/", "api-version=",
  "*", "?", "%", "\\", " ", "x509ca:", "ca:", "device:"};

/* Insert n bytes of src at pos, clipped to cap. src must not overlap buf. */
static size_t insert_bytes(uint8_t *buf, size_t size, size_t cap, size_t pos, const uint8_t *src,
                           size_t n)
{
  if (n > cap - size) {
    n = cap - size;
  }
  memmove(buf + pos + n, buf + pos, size - pos);
  memcpy(buf + pos, src, n);
  return size + n;
}

/* Apply one random mutation to buf[0..size) (capacity cap); return the new size. */
static size_t mutate_once(uint8_t *buf, size_t size, size_t cap, const struct corpus *c)
{
  uint8_t tmp[COPY_MAX];
  size_t pos = below(size + 1);
  size_t n;

  switch (below(10)) {
  case 0: /* flip a bit */
    if (size > 0) {
      buf[below(size)] ^= (uint8_t)(1u << below(8));
    }
    return size;
  case 1: /* a random byte */
    if (size > 0) {
      buf[below(size)] = (uint8_t)rnd();
    }
    return size;
  case 2: /* an interesting byte */
    if (size > 0) {
      buf[below(size)] = interesting[below(sizeof(interesting))];
    }
    return size;
  case 3: /* insert random bytes */
    n = 1 + below(8);
    for (size_t i = 0; i < n; i++) {
      tmp[i] = (uint8_t)rnd();
    }
    return insert_bytes(buf, size, cap, pos, tmp, n);
  case 4: /* delete a range */
    if (size > 0) {
      pos = below(size);
      n = 1 + below(size - pos < 32 ? size - pos : 32);
      memmove(buf + pos, buf + pos + n, size - pos - n);
      return size - n;
    }
    return size;
  case 5: /* copy a range of the input elsewhere into it */
    if (size > 0) {
      size_t from = below(size);
      n = 1 + below(size - from < COPY_MAX ? size - from : COPY_MAX);
      memcpy(tmp, buf + from, n);
      return insert_bytes(buf, size, cap, pos, tmp, n);
    }
    return size;
  case 6: /* splice: our head, then the tail of another entry */
    if (c->count > 0) {
      const struct input *o = &c->item[below(c->count)];
      size_t from = below(o->size + 1);
      n = o->size - from;
      if (n > cap - pos) {
        n = cap - pos;
      }
      memcpy(buf + pos, o->data + from, n);
      return pos + n;
    }
    return size;
  case 7: /* insert a range of another entry */
    if (c->count > 0) {
      const struct input *o = &c->item[below(c->count)];
      if (o->size > 0) {
        size_t from = below(o->size);
        n = 1 + below(o->size - from < COPY_MAX ? o->size - from : COPY_MAX);
        return insert_bytes(buf, size, cap, pos, o->data + from, n);
      }
    }
    return size;
  case 8: { /* insert or overwrite with a token */
    const char *t = tokens[below(sizeof(tokens) / sizeof(tokens[0]))];
    n = strlen(t);
    if ((rnd() & 1) && pos + n <= size) {
      memcpy(buf + pos, t, n);
      return size;
    }
    return insert_bytes(buf, size, cap, pos, (const uint8_t *)t, n);
  }
  default: /* nudge a byte, e.g. a digit or a letter, up or down */
    if (size > 0) {
      size_t i = below(size);
      buf[i] = (uint8_t)(buf[i] + (rnd() & 1 ? 1 : 0xff));
    }
    return size;
  }
}

/* Make the next input in buf from a random corpus entry. Returns its size. */
static size_t make_input(uint8_t *buf, size_t cap, const struct corpus *c)
{
  size_t size = 0;
  size_t rounds = (size_t)1 << below(4); /* 1, 2, 4 or 8 mutations */

  if (c->count > 0) {
    const struct input *base = &c->item[below(c->count)];
    size = base->size < cap ? base->size : cap;
    memcpy(buf, base->data, size);
  }
  for (size_t i = 0; i < rounds; i++) {
    size = mutate_once(buf, size, cap, c);
  }
  return size;
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */
/* ------------------------------------------------------------------------ */

static double seconds_since(const struct timespec *t0)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void usage(const char *prog)
{
  fprintf(stderr, "usage: %s CORPUS_DIR [RUNS [SECONDS]] | %s FILE\n", prog, prog);
}

int main(int argc, char **argv)
{
  const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
  const char *dir = getenv("XCA_FUZZ_ARTIFACTS");
  const char *seed_env = getenv("XCA_FUZZ_SEED");
  long runs = argc > 2 ? strtol(argv[2], NULL, 10) : DEFAULT_RUNS;
  double limit = argc > 3 ? strtod(argv[3], NULL) : DEFAULT_SECONDS;
  struct corpus c = {0};
  struct timespec t0;
  struct stat st;
  uint8_t *buf;
  size_t cap = MIN_MAX_LEN;
  long done = 0;

  if (argc < 2 || argc > 4 || runs < 0 || limit <= 0) {
    usage(prog);
    return 2;
  }
  snprintf(artifact_prefix, sizeof(artifact_prefix), "%s/crash-%s-", dir ? dir : ".", prog);
  rng_state = seed_env ? strtoull(seed_env, NULL, 0) : DEFAULT_SEED;
  install_handlers();
  clock_gettime(CLOCK_MONOTONIC, &t0);

  if (stat(argv[1], &st) == 0 && S_ISREG(st.st_mode)) {
    if (corpus_add_file(&c, argv[1], argv[1]) != 0) {
      return 2;
    }
    run_one(c.item[0].data, c.item[0].size, -1, c.item[0].name);
    printf("%s: %s: ok\n", prog, argv[1]);
    corpus_free(&c);
    return 0;
  }
  if (corpus_load_dir(&c, argv[1]) != 0) {
    corpus_free(&c);
    return 2;
  }
  for (size_t i = 0; i < c.count; i++) {
    run_one(c.item[i].data, c.item[i].size, -1, c.item[i].name);
    if (2 * c.item[i].size > cap) {
      cap = 2 * c.item[i].size;
    }
  }
  cap = cap < MAX_INPUT_LEN ? cap : MAX_INPUT_LEN;
  buf = malloc(cap);
  if (buf == NULL) {
    corpus_free(&c);
    return 2;
  }
  for (; done < runs && seconds_since(&t0) < limit; done++) {
    size_t size = make_input(buf, cap, &c);
    run_one(buf, size, done, NULL);
  }
  printf("%s: %zu corpus files, %ld of %ld mutations (seed %#llx) in %.1f s%s\n", prog, c.count,
         done, runs, (unsigned long long)(seed_env ? strtoull(seed_env, NULL, 0) : DEFAULT_SEED),
         seconds_since(&t0), done < runs ? ", stopped by the time limit" : "");
  free(buf);
  corpus_free(&c);
  return 0;
}
