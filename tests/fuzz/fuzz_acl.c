/* fuzz_acl.c - common/acl.h, the topic confinement of every publish,
 * subscribe and delivery, on topics and filters a client chooses.
 *
 * The input is split at NUL bytes: part 0 is a device id, part 1 a module
 * id ("" = a device identity); the identity is made with xca_ident_make
 * (inputs it refuses only exercise the refusal). Every later part is a
 * topic or filter, tried with each access kind. Checked against a model
 * written level by level with MQTT's own matching rules, independent of
 * acl.c's prefix comparison:
 *   - publish: exactly the topics at or below the identity's events
 *     namespace, no wildcard;
 *   - subscribe / receive: exactly what lies at or below its inbox;
 *   - a filter granted for SUBSCRIBE matches no topic, among every part
 *     and a set of probes, that the identity may not RECEIVE.
 */
#include <string.h>

#include "acl.h"
#include "fuzz.h"
#include "ids.h"
#include "xca_err.h"

#define MAX_PARTS 8
#define MAX_LEVELS 64

/* Topic levels: pointers into a copy, split at '/'. */
struct levels {
  char buf[2048];
  const char *lv[MAX_LEVELS];
  int n;
  int overflow; /* too long or too many levels for the model */
};

static void split(const char *topic, struct levels *out)
{
  size_t len = strlen(topic);
  char *p;

  out->n = 0;
  out->overflow = len >= sizeof(out->buf);
  if (out->overflow) {
    return;
  }
  memcpy(out->buf, topic, len + 1);
  p = out->buf;
  for (;;) {
    char *slash = strchr(p, '/');
    if (out->n == MAX_LEVELS) {
      out->overflow = 1;
      return;
    }
    out->lv[out->n++] = p;
    if (slash == NULL) {
      return;
    }
    *slash = '\0';
    p = slash + 1;
  }
}

/* The namespace levels of an identity: events (publish) and inbox
 * (subscribe / receive), as README "How a device connects" lists them. */
static int ns_events(const struct xca_ident *id, const char **lv)
{
  int n = 0;

  lv[n++] = "devices";
  lv[n++] = id->device;
  if (xca_ident_is_module(id)) {
    lv[n++] = "modules";
    lv[n++] = id->module;
  }
  lv[n++] = "messages";
  lv[n++] = "events";
  return n;
}

static int ns_inbox(const struct xca_ident *id, const char **lv)
{
  int n = 0;

  lv[n++] = "devices";
  lv[n++] = id->device;
  if (xca_ident_is_module(id)) {
    lv[n++] = "modules";
    lv[n++] = id->module;
  } else {
    lv[n++] = "messages";
    lv[n++] = "devicebound";
  }
  return n;
}

/* 1 if the topic's first n levels are literally ns[0..n). */
static int model_under(const struct levels *t, const char **ns, int n)
{
  if (t->n < n) {
    return 0;
  }
  for (int i = 0; i < n; i++) {
    if (strcmp(t->lv[i], ns[i]) != 0) {
      return 0;
    }
  }
  return 1;
}

static int has_wildcard(const char *s)
{
  return strpbrk(s, "+#") != NULL;
}

/* MQTT 3.1.1 section 4.7: does filter match topic name? A topic name has
 * no wildcard; '+' is one whole level, '#' the last level and everything
 * below its parent; a wildcard as the first level never matches a topic
 * starting with '$'. */
static int mqtt_match(const struct levels *f, const struct levels *t)
{
  int i;

  if (t->n > 0 && t->lv[0][0] == '$' && f->n > 0 &&
      (strcmp(f->lv[0], "+") == 0 || strcmp(f->lv[0], "#") == 0)) {
    return 0;
  }
  for (i = 0; i < f->n; i++) {
    if (strcmp(f->lv[i], "#") == 0) {
      return i == f->n - 1; /* also matches the parent level itself */
    }
    if (i >= t->n) {
      return 0;
    }
    if (strcmp(f->lv[i], "+") != 0 && strcmp(f->lv[i], t->lv[i]) != 0) {
      return 0;
    }
  }
  return i == t->n;
}

/* The probes every granted filter is matched against besides the input's
 * parts: the identity's own topics, its neighbours' and the broker's. */
static void probes_for(const struct xca_ident *id, char probe[][512], int *count)
{
  int n = 0;

  snprintf(probe[n++], 512, "devices/%s/messages/devicebound/x", id->device);
  snprintf(probe[n++], 512, "devices/%s/messages/devicebound", id->device);
  snprintf(probe[n++], 512, "devices/%s/messages/events/x", id->device);
  snprintf(probe[n++], 512, "devices/%s/modules/%s/x", id->device,
           xca_ident_is_module(id) ? id->module : "m");
  snprintf(probe[n++], 512, "devices/%s/modules/%s", id->device,
           xca_ident_is_module(id) ? id->module : "m");
  snprintf(probe[n++], 512, "devices/%s-x/messages/devicebound/x", id->device);
  snprintf(probe[n++], 512, "devices/other/messages/devicebound/x");
  snprintf(probe[n++], 512, "devices/other/modules/m/x");
  snprintf(probe[n++], 512, "$SYS/broker/x509ca/sessions");
  snprintf(probe[n++], 512, "$CONTROL/x509ca/v1");
  snprintf(probe[n++], 512, "devices");
  *count = n;
}

static void check_topic(const struct xca_ident *id, const char *topic, const char *const *others,
                        int nothers)
{
  const char *events[6];
  const char *inbox[6];
  int nev = ns_events(id, events);
  int nin = ns_inbox(id, inbox);
  struct levels t;
  int pub = xca_acl_allowed(id, XCA_ACCESS_PUBLISH, topic);
  int sub = xca_acl_allowed(id, XCA_ACCESS_SUBSCRIBE, topic);
  int recv = xca_acl_allowed(id, XCA_ACCESS_RECEIVE, topic);

  FUZZ_CHECK(xca_acl_allowed(id, XCA_ACCESS_UNSUBSCRIBE, topic) == 1);
  FUZZ_CHECK(xca_acl_allowed(NULL, XCA_ACCESS_SUBSCRIBE, topic) == 0);
  FUZZ_CHECK(xca_acl_allowed(id, (enum xca_access)99, topic) == 0);
  FUZZ_CHECK(sub == recv);
  split(topic, &t);
  if (t.overflow) {
    return;
  }
  FUZZ_CHECK(pub == (!has_wildcard(topic) && model_under(&t, events, nev)));
  FUZZ_CHECK(sub == model_under(&t, inbox, nin));
  if (!sub) {
    return;
  }
  /* A granted filter reaches nothing the identity may not receive. */
  {
    char probe[16][512];
    int nprobes;
    struct levels p;

    probes_for(id, probe, &nprobes);
    for (int i = 0; i < nprobes + nothers; i++) {
      const char *name = i < nprobes ? probe[i] : others[i - nprobes];
      if (has_wildcard(name)) {
        continue; /* not a topic name */
      }
      split(name, &p);
      if (!p.overflow && mqtt_match(&t, &p)) {
        FUZZ_CHECK(xca_acl_allowed(id, XCA_ACCESS_RECEIVE, name) == 1);
      }
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = fuzz_strndup(data, size);
  const char *part[MAX_PARTS];
  int nparts = 0;
  struct xca_ident id;

  for (size_t i = 0; i <= size && nparts < MAX_PARTS; i += strlen(text + i) + 1) {
    part[nparts++] = text + i;
  }
  FUZZ_CHECK(xca_acl_allowed(NULL, XCA_ACCESS_UNSUBSCRIBE, "x") == 0);
  if (nparts >= 2 &&
      xca_ident_make(part[0], part[1][0] != '\0' ? part[1] : NULL, &id) == XCA_OK) {
    FUZZ_CHECK(xca_acl_allowed(&id, XCA_ACCESS_PUBLISH, NULL) == 0);
    for (int p = 2; p < nparts; p++) {
      check_topic(&id, part[p], part + 2, nparts - 2);
    }
  }
  free(text);
  return 0;
}
