/* fuzz_ids.c - common/ids.h and common/acl.h on what a connecting client
 * chooses: its client id, username and topics.
 *
 * The input is split at NUL bytes: part 0 is the client id (parsed with
 * xca_ident_parse), part 1 the username, part 2 the hub hostname (absent =
 * NULL); every part is also tried as a topic, with each access kind, for the
 * parsed identity and for a fixed device and module. Checked against
 * independent models of the contracts; above all, an identity never
 * publishes, subscribes or receives outside devices/<its id>/.
 */
#include <string.h>
#include <strings.h>

#include "acl.h"
#include "fuzz.h"
#include "ids.h"
#include "xca_err.h"

#define MAX_PARTS 8

static const char id_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                               "-.%_*?!(),:=@$'";

/* 1 if s[0..n) is a valid id: 1-128 characters of id_chars. */
static int model_id(const char *s, size_t n)
{
  return n >= 1 && n <= XCA_ID_MAX && strspn(s, id_chars) >= n;
}

/* Whether xca_ident_parse should accept text: one or two valid ids. */
static int model_ident(const char *text)
{
  const char *slash = strchr(text, '/');

  if (slash == NULL) {
    return model_id(text, strlen(text));
  }
  return model_id(text, (size_t)(slash - text)) && model_id(slash + 1, strlen(slash + 1)) &&
         strchr(slash + 1, '/') == NULL;
}

/* The verdict xca_username_check should give. */
static int model_username(const char *user, const struct xca_ident *id, const char *hub)
{
  const char *rest;
  size_t host_len;
  size_t id_len = strlen(id->full);

  if (user == NULL || user[0] == '\0' || strcmp(user, id->full) == 0) {
    return XCA_OK;
  }
  rest = strchr(user, '/');
  if (rest == NULL || rest == user) {
    return XCA_E_BAD_USERNAME;
  }
  host_len = (size_t)(rest - user);
  rest++;
  if (strlen(rest) < id_len + 2 || memcmp(rest, id->full, id_len) != 0 ||
      rest[id_len] != '/' || rest[id_len + 1] != '?') {
    return XCA_E_BAD_USERNAME;
  }
  if (hub != NULL && (strlen(hub) != host_len || strncasecmp(user, hub, host_len) != 0)) {
    return XCA_E_BAD_HOSTNAME;
  }
  return XCA_OK;
}

static void check_ident(const char *text, struct xca_ident *out, int *ok)
{
  struct xca_ident id;
  struct xca_ident untouched;
  int rc;

  memset(&id, 0xa5, sizeof(id));
  memcpy(&untouched, &id, sizeof(id));
  rc = xca_ident_parse(text, &id);
  FUZZ_CHECK((rc == XCA_OK) == model_ident(text));
  *ok = rc == XCA_OK;
  if (rc != XCA_OK) {
    FUZZ_CHECK(rc == XCA_E_BAD_ID && memcmp(&id, &untouched, sizeof(id)) == 0);
    return;
  }
  /* Accepted: only allowed characters, and the parts add up to the text. */
  FUZZ_CHECK(model_id(id.device, strlen(id.device)) && xca_id_valid(id.device));
  FUZZ_CHECK(id.module[0] == '\0' || model_id(id.module, strlen(id.module)));
  FUZZ_CHECK(strcmp(id.full, text) == 0);
  FUZZ_CHECK(xca_ident_is_module(&id) == (strchr(text, '/') != NULL));
  *out = id;
}

/* The topic prefixes an identity owns (without a trailing '/'). */
static void namespaces(const struct xca_ident *id, char *events, char *inbox, size_t len)
{
  if (xca_ident_is_module(id)) {
    snprintf(events, len, "devices/%s/modules/%s/messages/events", id->device, id->module);
    snprintf(inbox, len, "devices/%s/modules/%s", id->device, id->module);
  } else {
    snprintf(events, len, "devices/%s/messages/events", id->device);
    snprintf(inbox, len, "devices/%s/messages/devicebound", id->device);
  }
}

/* 1 if topic is prefix itself or lies below it, literally. */
static int under(const char *topic, const char *prefix)
{
  size_t n = strlen(prefix);
  return strncmp(topic, prefix, n) == 0 && (topic[n] == '\0' || topic[n] == '/');
}

static void check_acl(const struct xca_ident *id, const char *topic)
{
  char events[512];
  char inbox[512];
  char own[512];
  int pub = xca_acl_allowed(id, XCA_ACCESS_PUBLISH, topic);
  int sub = xca_acl_allowed(id, XCA_ACCESS_SUBSCRIBE, topic);
  int recv = xca_acl_allowed(id, XCA_ACCESS_RECEIVE, topic);

  namespaces(id, events, inbox, sizeof(events));
  snprintf(own, sizeof(own), "devices/%s/", id->device);
  FUZZ_CHECK(xca_acl_allowed(id, XCA_ACCESS_UNSUBSCRIBE, topic) == 1);
  FUZZ_CHECK(xca_acl_allowed(NULL, XCA_ACCESS_PUBLISH, topic) == 0);
  /* Never outside devices/<id>/, and exactly the documented namespaces. */
  if (pub || sub || recv) {
    FUZZ_CHECK(strncmp(topic, own, strlen(own)) == 0);
  }
  FUZZ_CHECK(pub == (strpbrk(topic, "+#") == NULL && under(topic, events)));
  FUZZ_CHECK(sub == under(topic, inbox));
  FUZZ_CHECK(recv == under(topic, inbox));
  /* A granted filter has no wildcard where the namespace is fixed. */
  if (sub) {
    FUZZ_CHECK(strcspn(topic, "+#") >= strlen(inbox));
  }
  /* $-topics are never reachable. */
  if (topic[0] == '$') {
    FUZZ_CHECK(!pub && !sub && !recv);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = fuzz_strndup(data, size);
  const char *part[MAX_PARTS];
  int nparts = 0;
  struct xca_ident fixed[2];
  struct xca_ident parsed;
  int parsed_ok = 0;

  /* Split at NUL bytes (fuzz_strndup keeps them; the copy ends with one). */
  for (size_t i = 0; i <= size && nparts < MAX_PARTS; i += strlen(text + i) + 1) {
    part[nparts++] = text + i;
  }
  FUZZ_CHECK(xca_ident_make("dev-1", NULL, &fixed[0]) == XCA_OK);
  FUZZ_CHECK(xca_ident_make("dev-1", "mod-1", &fixed[1]) == XCA_OK);

  check_ident(part[0], &parsed, &parsed_ok);
  for (int k = 0; k < 2 + parsed_ok; k++) {
    const struct xca_ident *id = k < 2 ? &fixed[k] : &parsed;
    const char *user = nparts > 1 ? part[1] : NULL;
    const char *hub = nparts > 2 ? part[2] : NULL;
    FUZZ_CHECK(xca_username_check(user, id, hub) == model_username(user, id, hub));
    FUZZ_CHECK(xca_username_check(user, id, NULL) == model_username(user, id, NULL));
    for (int p = 0; p < nparts; p++) {
      check_acl(id, part[p]);
    }
  }
  /* The parts as separate ids, the way createDevice takes them. */
  if (nparts > 1) {
    struct xca_ident made;
    int rc = xca_ident_make(part[0], part[1], &made);
    int want = model_id(part[0], strlen(part[0])) &&
               (part[1][0] == '\0' || model_id(part[1], strlen(part[1])));
    FUZZ_CHECK((rc == XCA_OK) == want);
    FUZZ_CHECK(xca_id_valid(part[1]) == model_id(part[1], strlen(part[1])));
  }
  free(text);
  return 0;
}
