/* test_sessions.c - unit tests of common/sessions.h: the live-session table,
 * its dirty marking and the certificate references it holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certgen.h"
#include "sessions.h"
#include "xca_err.h"

/* ---- a small self-signed certificate whose frees we can count ---------- */

static int ex_index = -1;
static int frees;

static void count_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
  (void)parent;
  (void)ptr;
  (void)ad;
  (void)idx;
  (void)argl;
  (void)argp;
  frees++;
}

static X509 *make_cert(const char *cn)
{
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *x = X509_new();
  X509_NAME *name;

  assert_non_null(key);
  assert_non_null(x);
  assert_int_equal(X509_set_version(x, 2), 1);
  assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
  assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
  assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
  name = X509_get_subject_name(x);
  assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                              (const unsigned char *)cn, -1, -1, 0),
                   1);
  assert_int_equal(X509_set_issuer_name(x, name), 1);
  assert_int_equal(X509_set_pubkey(x, key), 1);
  assert_true(X509_sign(x, key, EVP_sha256()) > 0);
  EVP_PKEY_free(key);
  /* any non-NULL value: the free callback runs when the X509 is freed */
  assert_int_equal(X509_set_ex_data(x, ex_index, &frees), 1);
  return x;
}

static void cert_cn(X509 *x, char *buf, int len)
{
  assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, len) > 0);
}

/* ---- helpers ----------------------------------------------------------- */

static struct xca_ident ident(const char *text)
{
  struct xca_ident id;
  assert_int_equal(xca_ident_parse(text, &id), XCA_OK);
  return id;
}

static struct xca_chain_result chain_of(const char *a, const char *b)
{
  struct xca_chain_result r;
  memset(&r, 0, sizeof(r));
  r.error_depth = -1;
  if (a != NULL) {
    strcpy(r.anchors[r.anchor_count++], a);
  }
  if (b != NULL) {
    strcpy(r.anchors[r.anchor_count++], b);
  }
  return r;
}

/* tokens: distinct addresses standing for broker client objects */
static const int tok1 = 1;
static const int tok2 = 2;

/* Refuse (kick) a session: it leaves the open table. */
static void refuse(struct xca_sessions *s, const char *who, const void *token)
{
  xca_sessions_refuse(s, who, token, 1000);
}

static void add(struct xca_sessions *s, const char *who, const void *token,
                const struct xca_chain_result *chain)
{
  struct xca_ident id = ident(who);
  assert_int_equal(xca_sessions_add(s, &id, token, NULL, NULL, chain), XCA_OK);
}

/* Pop every dirty session; return how many, and whether each of want[]
 * (NULL-terminated) was popped exactly once with nothing else popped. */
static int drain_equals(struct xca_sessions *s, const char *const *want)
{
  char buf[XCA_IDENTITY_MAX];
  int seen[16] = {0};
  int nwant = 0;
  int ok = 1;

  while (want[nwant] != NULL) {
    nwant++;
  }
  while (xca_sessions_pop_dirty(s, buf)) {
    int matched = 0;
    for (int i = 0; i < nwant; i++) {
      if (strcmp(buf, want[i]) == 0) {
        seen[i]++;
        matched = 1;
      }
    }
    ok = ok && matched;
  }
  for (int i = 0; i < nwant; i++) {
    ok = ok && seen[i] == 1;
  }
  return ok;
}

static int setup(void **state)
{
  *state = xca_sessions_new();
  frees = 0;
  return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
  xca_sessions_free(*state);
  return 0;
}

static int group_setup(void **state)
{
  (void)state;
  ex_index = X509_get_ex_new_index(0, NULL, NULL, NULL, count_free);
  return ex_index < 0 ? -1 : 0;
}

/* ---- add / get / remove ------------------------------------------------ */

static void test_empty_table(void **state)
{
  struct xca_sessions *s = *state;
  char buf[XCA_IDENTITY_MAX];
  assert_int_equal(xca_sessions_count(s), 0);
  assert_null(xca_sessions_get(s, "d"));
  assert_null(xca_sessions_get(s, NULL));
  assert_int_equal(xca_sessions_pop_dirty(s, buf), 0);
}

static void test_add_then_get(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_chain_result ch = chain_of("root", "inter");
  struct xca_session *sess;
  add(s, "d/m", &tok1, &ch);
  sess = xca_sessions_get(s, "d/m");
  assert_non_null(sess);
  assert_string_equal(sess->ident.full, "d/m");
  assert_string_equal(sess->ident.device, "d");
  assert_string_equal(sess->ident.module, "m");
  assert_ptr_equal(sess->token, &tok1);
  assert_string_equal(sess->anchors, ",root,inter,");
  assert_int_equal(sess->dirty, 0);
  assert_null(sess->leaf);
  assert_int_equal(xca_sessions_count(s), 1);
}

static void test_add_without_chain_has_empty_anchor_list(void **state)
{
  struct xca_sessions *s = *state;
  add(s, "d", &tok1, NULL);
  assert_string_equal(xca_sessions_get(s, "d")->anchors, ",");
}

static void test_get_is_exact(void **state)
{
  struct xca_sessions *s = *state;
  add(s, "d", &tok1, NULL);
  assert_null(xca_sessions_get(s, "dd"));
  assert_null(xca_sessions_get(s, "D"));
  assert_null(xca_sessions_get(s, "d/m"));
}

static void test_add_same_client_replaces(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_chain_result a = chain_of("a", NULL);
  struct xca_chain_result b = chain_of("b", NULL);
  add(s, "d", &tok1, &a);
  add(s, "d", &tok2, &b);
  assert_int_equal(xca_sessions_count(s), 1);
  assert_ptr_equal(xca_sessions_get(s, "d")->token, &tok2);
  assert_string_equal(xca_sessions_get(s, "d")->anchors, ",b,");
}

static void test_refuse_with_token(void **state)
{
  struct xca_sessions *s = *state;
  add(s, "d", &tok1, NULL);
  add(s, "e", &tok1, NULL);
  refuse(s, "d", &tok1);
  assert_null(xca_sessions_get(s, "d"));
  assert_non_null(xca_sessions_get(s, "e"));
  assert_int_equal(xca_sessions_count(s), 1);
}

static void test_refuse_by_old_token_keeps_newer_session(void **state)
{
  struct xca_sessions *s = *state;
  add(s, "d", &tok1, NULL);
  add(s, "d", &tok2, NULL); /* the client id was taken over */
  refuse(s, "d", &tok1);
  assert_non_null(xca_sessions_get(s, "d"));
  assert_ptr_equal(xca_sessions_get(s, "d")->token, &tok2);
  refuse(s, "d", &tok2);
  assert_null(xca_sessions_get(s, "d"));
}

static void test_refuse_unknown_or_null_is_noop(void **state)
{
  struct xca_sessions *s = *state;
  add(s, "d", &tok1, NULL);
  refuse(s, "e", &tok1);
  refuse(s, NULL, &tok1);
  assert_int_equal(xca_sessions_count(s), 1);
}

/* ---- mark_identity ----------------------------------------------------- */

static void add_population(struct xca_sessions *s)
{
  add(s, "d", &tok1, NULL);
  add(s, "d/m", &tok1, NULL);
  add(s, "d/n", &tok1, NULL);
  add(s, "d2", &tok1, NULL);
  add(s, "d2/m", &tok1, NULL);
  add(s, "dd/m", &tok1, NULL);
}

static void test_mark_device_marks_its_modules(void **state)
{
  struct xca_sessions *s = *state;
  const char *const want[] = {"d", "d/m", "d/n", NULL};
  add_population(s);
  xca_sessions_mark_identity(s, "d");
  assert_true(drain_equals(s, want));
}

static void test_mark_module_marks_only_that_module(void **state)
{
  struct xca_sessions *s = *state;
  const char *const want[] = {"d/m", NULL};
  add_population(s);
  xca_sessions_mark_identity(s, "d/m");
  assert_true(drain_equals(s, want));
}

static void test_mark_device_without_device_session_marks_modules(void **state)
{
  struct xca_sessions *s = *state;
  const char *const want[] = {"d/m", NULL};
  add(s, "d/m", &tok1, NULL);
  add(s, "d2/m", &tok1, NULL);
  xca_sessions_mark_identity(s, "d");
  assert_true(drain_equals(s, want));
}

static void test_mark_unknown_identity_marks_nothing(void **state)
{
  struct xca_sessions *s = *state;
  const char *const want[] = {NULL};
  add_population(s);
  xca_sessions_mark_identity(s, "x");
  xca_sessions_mark_identity(s, "d/x");
  xca_sessions_mark_identity(s, "");
  assert_true(drain_equals(s, want));
}

/* module_count must stay right across replace and remove, or device changes
 * would stop reaching modules. */
static void test_mark_device_after_module_replace_and_remove(void **state)
{
  struct xca_sessions *s = *state;
  const char *const want[] = {"d/m", NULL};
  add(s, "d/m", &tok1, NULL);
  add(s, "d/m", &tok2, NULL);
  add(s, "d/n", &tok1, NULL);
  refuse(s, "d/n", &tok1);
  xca_sessions_mark_identity(s, "d");
  assert_true(drain_equals(s, want));
}

/* ---- mark_anchor ------------------------------------------------------- */

static void test_mark_anchor_matches_whole_names(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_chain_result abc = chain_of("abc", NULL);
  struct xca_chain_result ab = chain_of("ab", NULL);
  struct xca_chain_result xab = chain_of("xab", "ab-2");
  const char *const want[] = {"two", NULL};
  add(s, "one", &tok1, &abc);
  add(s, "two", &tok1, &ab);
  add(s, "three", &tok1, &xab);
  xca_sessions_mark_anchor(s, "ab");
  assert_true(drain_equals(s, want));
}

static void test_mark_anchor_prefix_name_marks_nothing(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_chain_result abc = chain_of("abc", NULL);
  const char *const want[] = {NULL};
  add(s, "one", &tok1, &abc);
  xca_sessions_mark_anchor(s, "ab");
  xca_sessions_mark_anchor(s, "bc");
  xca_sessions_mark_anchor(s, "b");
  assert_true(drain_equals(s, want));
}

static void test_mark_anchor_any_position_in_chain(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_chain_result ch = chain_of("root", "inter");
  const char *const want[] = {"d", NULL};
  add(s, "d", &tok1, &ch);
  add(s, "e", &tok1, NULL);
  xca_sessions_mark_anchor(s, "root");
  assert_true(drain_equals(s, want));
  xca_sessions_mark_anchor(s, "inter");
  assert_true(drain_equals(s, want));
}

static void test_mark_anchor_empty_name_marks_nothing(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_chain_result ch = chain_of("root", NULL);
  const char *const want[] = {NULL};
  add(s, "d", &tok1, &ch);
  add(s, "e", &tok1, NULL);
  xca_sessions_mark_anchor(s, "");
  assert_true(drain_equals(s, want));
}

/* ---- mark_thumbprint --------------------------------------------------- */

/* A verified chain of n thumbprints "<c>...<c>" (64 times c) for c in chars. */
static struct xca_chain_result thumbs_of(const char *chars)
{
  struct xca_chain_result r;

  memset(&r, 0, sizeof(r));
  for (int i = 0; chars[i] != '\0'; i++) {
    memset(r.chain_sha256[i], chars[i], 64);
    r.chain_sha256[i][64] = '\0';
    r.chain_len++;
  }
  return r;
}

static void test_mark_thumbprint_marks_only_chains_holding_it(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_chain_result dz = thumbs_of("1zyx"); /* leaf, Technician-Z, Factory-Y, root */
  struct xca_chain_result dy = thumbs_of("2yx");  /* leaf, Factory-Y, root */
  struct xca_chain_result other = thumbs_of("3w");
  const char *const z_only[] = {"dz", NULL};
  const char *const y_all[] = {"dz", "dy", NULL};
  const char *const none[] = {NULL};
  char thumb[XCA_SHA256_HEX];

  add(s, "dz", &tok1, &dz);
  add(s, "dy", &tok1, &dy);
  add(s, "other", &tok1, &other);
  add(s, "nochain", &tok1, NULL);
  memset(thumb, 'z', 64);
  thumb[64] = '\0';
  xca_sessions_mark_thumbprint(s, thumb);
  assert_true(drain_equals(s, z_only));
  memset(thumb, 'y', 64);
  xca_sessions_mark_thumbprint(s, thumb);
  assert_true(drain_equals(s, y_all));
  /* A part of a thumbprint, or another length, matches nothing. */
  xca_sessions_mark_thumbprint(s, "yyyy");
  thumb[63] = '\0';
  xca_sessions_mark_thumbprint(s, thumb);
  assert_true(drain_equals(s, none));
}

/* ---- mark_all / pop_dirty ---------------------------------------------- */

static void test_mark_all_then_pop_each_once(void **state)
{
  struct xca_sessions *s = *state;
  const char *const want[] = {"d", "d/m", "d/n", "d2", "d2/m", "dd/m", NULL};
  add_population(s);
  xca_sessions_mark_all(s);
  xca_sessions_mark_all(s); /* marking twice queues once */
  xca_sessions_mark_identity(s, "d");
  assert_true(drain_equals(s, want));
}

static void test_pop_clears_dirty_and_allows_remark(void **state)
{
  struct xca_sessions *s = *state;
  char buf[XCA_IDENTITY_MAX];
  add(s, "d", &tok1, NULL);
  xca_sessions_mark_identity(s, "d");
  assert_int_equal(xca_sessions_get(s, "d")->dirty, 1);
  assert_int_equal(xca_sessions_pop_dirty(s, buf), 1);
  assert_string_equal(buf, "d");
  assert_int_equal(xca_sessions_get(s, "d")->dirty, 0);
  assert_int_equal(xca_sessions_pop_dirty(s, buf), 0);
  xca_sessions_mark_identity(s, "d");
  assert_int_equal(xca_sessions_pop_dirty(s, buf), 1);
}

static void test_pop_keeps_session(void **state)
{
  struct xca_sessions *s = *state;
  char buf[XCA_IDENTITY_MAX];
  add(s, "d", &tok1, NULL);
  xca_sessions_mark_all(s);
  assert_int_equal(xca_sessions_pop_dirty(s, buf), 1);
  assert_non_null(xca_sessions_get(s, "d"));
}

static void test_removed_dirty_session_not_popped(void **state)
{
  struct xca_sessions *s = *state;
  const char *const want[] = {"e", NULL};
  add(s, "d", &tok1, NULL);
  add(s, "e", &tok1, NULL);
  add(s, "f", &tok1, NULL);
  xca_sessions_mark_all(s);
  refuse(s, "d", &tok1);
  refuse(s, "f", &tok1);
  assert_true(drain_equals(s, want));
}

static void test_replaced_dirty_session_popped_at_most_once(void **state)
{
  struct xca_sessions *s = *state;
  char buf[XCA_IDENTITY_MAX];
  int pops = 0;
  add(s, "d", &tok1, NULL);
  xca_sessions_mark_all(s);
  add(s, "d", &tok2, NULL);
  while (xca_sessions_pop_dirty(s, buf)) {
    assert_string_equal(buf, "d");
    pops++;
  }
  assert_true(pops <= 1);
}

static void test_pop_max_length_module_id(void **state)
{
  struct xca_sessions *s = *state;
  char full[XCA_IDENTITY_MAX];
  char buf[XCA_IDENTITY_MAX];
  memset(full, 'd', XCA_ID_MAX);
  full[XCA_ID_MAX] = '/';
  memset(full + XCA_ID_MAX + 1, 'm', XCA_ID_MAX);
  full[2 * XCA_ID_MAX + 1] = '\0';
  add(s, full, &tok1, NULL);
  xca_sessions_mark_all(s);
  assert_int_equal(xca_sessions_pop_dirty(s, buf), 1);
  assert_string_equal(buf, full);
}

/* ---- X509 references --------------------------------------------------- */

static void test_session_keeps_leaf_after_caller_frees(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_ident id = ident("d");
  X509 *leaf = make_cert("d");
  char cn[64];
  assert_int_equal(xca_sessions_add(s, &id, &tok1, NULL, leaf, NULL), XCA_OK);
  X509_free(leaf);
  assert_int_equal(frees, 0);
  assert_ptr_equal(xca_sessions_get(s, "d")->leaf, leaf);
  cert_cn(xca_sessions_get(s, "d")->leaf, cn, sizeof(cn));
  assert_string_equal(cn, "d");
}

static void test_refuse_releases_leaf(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_ident id = ident("d");
  X509 *leaf = make_cert("d");
  assert_int_equal(xca_sessions_add(s, &id, &tok1, NULL, leaf, NULL), XCA_OK);
  X509_free(leaf);
  refuse(s, "d", &tok1);
  assert_int_equal(frees, 1);
}

static void test_refuse_with_wrong_token_keeps_leaf(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_ident id = ident("d");
  X509 *leaf = make_cert("d");
  assert_int_equal(xca_sessions_add(s, &id, &tok1, NULL, leaf, NULL), XCA_OK);
  X509_free(leaf);
  refuse(s, "d", &tok2);
  assert_int_equal(frees, 0);
}

static void test_replace_releases_old_leaf(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_ident id = ident("d");
  X509 *a = make_cert("d");
  X509 *b = make_cert("d");
  assert_int_equal(xca_sessions_add(s, &id, &tok1, NULL, a, NULL), XCA_OK);
  X509_free(a);
  assert_int_equal(xca_sessions_add(s, &id, &tok2, NULL, b, NULL), XCA_OK);
  X509_free(b);
  assert_int_equal(frees, 1); /* a */
  assert_ptr_equal(xca_sessions_get(s, "d")->leaf, b);
}

static void test_replace_with_same_leaf_keeps_it_alive(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_ident id = ident("d");
  X509 *leaf = make_cert("d");
  char cn[64];
  assert_int_equal(xca_sessions_add(s, &id, &tok1, NULL, leaf, NULL), XCA_OK);
  X509_free(leaf); /* the session holds the only reference now */
  assert_int_equal(xca_sessions_add(s, &id, &tok2, NULL, xca_sessions_get(s, "d")->leaf, NULL), XCA_OK);
  assert_int_equal(frees, 0);
  cert_cn(xca_sessions_get(s, "d")->leaf, cn, sizeof(cn));
  assert_string_equal(cn, "d");
}

static void test_table_free_releases_every_leaf(void **state)
{
  struct xca_sessions *s = xca_sessions_new();
  const char *who[] = {"a", "b", "c/m"};
  (void)state;
  assert_non_null(s);
  for (int i = 0; i < 3; i++) {
    struct xca_ident id = ident(who[i]);
    X509 *leaf = make_cert(who[i]);
    assert_int_equal(xca_sessions_add(s, &id, &tok1, NULL, leaf, NULL), XCA_OK);
    X509_free(leaf);
  }
  xca_sessions_mark_all(s);
  xca_sessions_free(s);
  assert_int_equal(frees, 3);
}

/* ---- closed sessions --------------------------------------------------- */

static struct xca_cert_facts facts_for(const char *cn)
{
  struct xca_cert_facts f;
  memset(&f, 0, sizeof(f));
  f.chain_ok = 1;
  f.cn_ok = 1;
  strcpy(f.cn, cn);
  return f;
}

static void test_close_moves_session_to_its_token(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_ident id = ident("d");
  struct xca_cert_facts f = facts_for("d");
  struct xca_chain_result ch = chain_of("root", NULL);
  X509 *leaf = make_cert("d");
  char buf[XCA_IDENTITY_MAX];
  struct xca_session *closed;
  assert_int_equal(xca_sessions_add(s, &id, &tok1, "user-d", leaf, &ch), XCA_OK);
  X509_free(leaf);
  xca_sessions_mark_identity(s, "d");
  xca_sessions_close(s, "d", &tok1, &f, 1000);
  assert_int_equal(frees, 1);
  /* Never again found by client id: a new connection is not judged by it. */
  assert_null(xca_sessions_get(s, "d"));
  assert_int_equal(xca_sessions_count(s), 0);
  closed = xca_sessions_closed(s, &tok1);
  assert_non_null(closed);
  assert_string_equal(closed->ident.full, "d");
  assert_string_equal(closed->username, "user-d");
  assert_string_equal(closed->anchors, ",root,");
  assert_string_equal(closed->facts.cn, "d");
  assert_int_equal(closed->refused, 0);
  assert_int_equal(closed->closed_ms, 1000);
  assert_null(closed->leaf);
  assert_null(xca_sessions_closed(s, &tok2));
  /* A closed session is never re-checked. */
  assert_int_equal(xca_sessions_pop_dirty(s, buf), 0);
  xca_sessions_mark_all(s);
  assert_int_equal(xca_sessions_pop_dirty(s, buf), 0);
}

static void test_close_with_wrong_token_is_ignored(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_ident id = ident("d");
  struct xca_cert_facts f = facts_for("d");
  X509 *leaf = make_cert("d");
  assert_int_equal(xca_sessions_add(s, &id, &tok1, NULL, leaf, NULL), XCA_OK);
  X509_free(leaf);
  xca_sessions_close(s, "d", &tok2, &f, 1000);
  assert_int_equal(frees, 0);
  assert_non_null(xca_sessions_get(s, "d")->leaf);
  assert_null(xca_sessions_closed(s, &tok2));
  assert_int_equal(xca_sessions_closed_count(s), 0);
}

/* The broker reuses a freed client object for the next connection: the
 * plugin forgets the closed session held under that token when the new
 * connection authenticates, and a new session of the same client id is an
 * open one of its own. */
static void test_closed_session_never_stands_for_a_new_connection(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_ident id = ident("d");
  struct xca_cert_facts f = facts_for("d");
  assert_int_equal(xca_sessions_add(s, &id, &tok1, NULL, NULL, NULL), XCA_OK);
  xca_sessions_close(s, "d", &tok1, &f, 1000);
  xca_sessions_forget_token(s, &tok1);
  assert_null(xca_sessions_closed(s, &tok1));
  assert_null(xca_sessions_get(s, "d"));
  assert_int_equal(xca_sessions_closed_count(s), 0);
  xca_sessions_forget_token(s, &tok1); /* twice: a no-op */
  xca_sessions_forget_token(NULL, &tok1);
  assert_int_equal(xca_sessions_closed_count(s), 0);
}

/* A connection taken over while still open is closed first (its will stays
 * confined), then the new connection's session is added. */
static void test_takeover_keeps_old_connection_closed_by_token(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_ident id = ident("d");
  struct xca_cert_facts f = facts_for("d");
  assert_int_equal(xca_sessions_add(s, &id, &tok1, NULL, NULL, NULL), XCA_OK);
  xca_sessions_close(s, "d", &tok1, &f, 1000);
  assert_int_equal(xca_sessions_add(s, &id, &tok2, NULL, NULL, NULL), XCA_OK);
  assert_ptr_equal(xca_sessions_get(s, "d")->token, &tok2);
  assert_int_equal(xca_sessions_get(s, "d")->closed_ms, 0);
  assert_non_null(xca_sessions_closed(s, &tok1));
  /* Closing the new one leaves the old closed session alone. */
  xca_sessions_close(s, "d", &tok2, &f, 2000);
  assert_non_null(xca_sessions_closed(s, &tok1));
  assert_non_null(xca_sessions_closed(s, &tok2));
  assert_int_equal(xca_sessions_closed_count(s), 2);
}

static void test_one_closed_session_per_token(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_ident a = ident("a");
  struct xca_ident b = ident("b");
  struct xca_cert_facts f = facts_for("a");
  assert_int_equal(xca_sessions_add(s, &a, &tok1, NULL, NULL, NULL), XCA_OK);
  xca_sessions_close(s, "a", &tok1, &f, 1000);
  assert_int_equal(xca_sessions_add(s, &b, &tok1, NULL, NULL, NULL), XCA_OK);
  xca_sessions_close(s, "b", &tok1, &f, 2000);
  assert_int_equal(xca_sessions_closed_count(s), 1);
  assert_string_equal(xca_sessions_closed(s, &tok1)->ident.full, "b");
  xca_sessions_purge_closed(s, 1500); /* the purge list lost "a" too */
  assert_int_equal(xca_sessions_closed_count(s), 1);
  xca_sessions_purge_closed(s, 99999);
  assert_int_equal(xca_sessions_closed_count(s), 0);
}

static void test_refuse_closes_as_refused(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_ident id = ident("d");
  X509 *leaf = make_cert("d");
  assert_int_equal(xca_sessions_add(s, &id, &tok1, NULL, leaf, NULL), XCA_OK);
  X509_free(leaf);
  xca_sessions_refuse(s, "d", &tok1, 1000);
  assert_int_equal(frees, 1);
  assert_null(xca_sessions_get(s, "d"));
  assert_non_null(xca_sessions_closed(s, &tok1));
  assert_int_equal(xca_sessions_closed(s, &tok1)->refused, 1);
}

static void test_close_without_facts_is_refused(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_ident id = ident("d");
  assert_int_equal(xca_sessions_add(s, &id, &tok1, NULL, NULL, NULL), XCA_OK);
  xca_sessions_close(s, "d", &tok1, NULL, 1000);
  assert_int_equal(xca_sessions_closed(s, &tok1)->refused, 1);
}

static void test_purge_forgets_only_sessions_closed_long_enough(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_ident a = ident("a");
  struct xca_ident b = ident("b");
  struct xca_ident c = ident("c");
  struct xca_cert_facts f = facts_for("a");
  assert_int_equal(xca_sessions_add(s, &a, &tok1, NULL, NULL, NULL), XCA_OK);
  assert_int_equal(xca_sessions_add(s, &b, &tok2, NULL, NULL, NULL), XCA_OK);
  assert_int_equal(xca_sessions_add(s, &c, &tok1, NULL, NULL, NULL), XCA_OK);
  xca_sessions_close(s, "a", &tok1, &f, 1000);
  xca_sessions_close(s, "b", &tok2, &f, 2000);
  xca_sessions_purge_closed(s, 1500);
  assert_null(xca_sessions_closed(s, &tok1));
  assert_non_null(xca_sessions_closed(s, &tok2));
  assert_non_null(xca_sessions_get(s, "c"));
  xca_sessions_purge_closed(s, 99999);
  assert_null(xca_sessions_closed(s, &tok2));
  assert_non_null(xca_sessions_get(s, "c")); /* open sessions are never purged */
  assert_int_equal(xca_sessions_count(s), 1);
  assert_int_equal(xca_sessions_closed_count(s), 0);
}

static void test_anchors_trusted(void **state)
{
  struct xca_sessions *s = *state;
  struct xca_trust *trust = xca_trust_new();
  struct xca_chain_result two = chain_of("root", "inter");
  struct xca_ident d = ident("d");
  struct xca_ident e = ident("e");
  struct xca_tcert root;
  struct xca_tcert inter;
  assert_non_null(trust);
  assert_int_equal(xca_certgen(&root, "root", NULL, 1, -60, 3600), 0);
  assert_int_equal(xca_certgen(&inter, "inter", &root, 1, -60, 3600), 0);
  assert_int_equal(xca_sessions_add(s, &d, &tok1, NULL, NULL, &two), XCA_OK);
  assert_int_equal(xca_sessions_add(s, &e, &tok2, NULL, NULL, NULL), XCA_OK);
  assert_int_equal(xca_trust_put(trust, "root", root.cert), XCA_OK);
  /* one of the two names missing */
  assert_int_equal(xca_sessions_anchors_trusted(xca_sessions_get(s, "d"), trust), 0);
  assert_int_equal(xca_trust_put(trust, "inter", inter.cert), XCA_OK);
  assert_int_equal(xca_sessions_anchors_trusted(xca_sessions_get(s, "d"), trust), 1);
  /* no anchor at all is never trusted */
  assert_int_equal(xca_sessions_anchors_trusted(xca_sessions_get(s, "e"), trust), 0);
  assert_int_equal(xca_trust_remove(trust, "root"), XCA_OK);
  assert_int_equal(xca_sessions_anchors_trusted(xca_sessions_get(s, "d"), trust), 0);
  xca_certgen_free(&root);
  xca_certgen_free(&inter);
  xca_trust_free(trust);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(test_empty_table),
    T(test_mark_thumbprint_marks_only_chains_holding_it),
    T(test_close_moves_session_to_its_token),
    T(test_close_with_wrong_token_is_ignored),
    T(test_closed_session_never_stands_for_a_new_connection),
    T(test_takeover_keeps_old_connection_closed_by_token),
    T(test_one_closed_session_per_token),
    T(test_refuse_closes_as_refused),
    T(test_close_without_facts_is_refused),
    T(test_purge_forgets_only_sessions_closed_long_enough),
    T(test_anchors_trusted),
    T(test_add_then_get),
    T(test_add_without_chain_has_empty_anchor_list),
    T(test_get_is_exact),
    T(test_add_same_client_replaces),
    T(test_refuse_with_token),
    T(test_refuse_by_old_token_keeps_newer_session),
    T(test_refuse_unknown_or_null_is_noop),
    T(test_mark_device_marks_its_modules),
    T(test_mark_module_marks_only_that_module),
    T(test_mark_device_without_device_session_marks_modules),
    T(test_mark_unknown_identity_marks_nothing),
    T(test_mark_device_after_module_replace_and_remove),
    T(test_mark_anchor_matches_whole_names),
    T(test_mark_anchor_prefix_name_marks_nothing),
    T(test_mark_anchor_any_position_in_chain),
    T(test_mark_anchor_empty_name_marks_nothing),
    T(test_mark_all_then_pop_each_once),
    T(test_pop_clears_dirty_and_allows_remark),
    T(test_pop_keeps_session),
    T(test_removed_dirty_session_not_popped),
    T(test_replaced_dirty_session_popped_at_most_once),
    T(test_pop_max_length_module_id),
    T(test_session_keeps_leaf_after_caller_frees),
    T(test_refuse_releases_leaf),
    T(test_refuse_with_wrong_token_keeps_leaf),
    T(test_replace_releases_old_leaf),
    T(test_replace_with_same_leaf_keeps_it_alive),
    T(test_table_free_releases_every_leaf),
  };
  return cmocka_run_group_tests(tests, group_setup, NULL);
}
