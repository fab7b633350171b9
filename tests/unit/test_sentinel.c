/* test_sentinel.c - unit tests of common/sentinel.h: the Sentinel and ROLE
 * replies (built with hiredis's reader from RESP text, no server), and the
 * address used when no Sentinel is configured. The exchange with real
 * Sentinels is tested by tests/integration/test_sentinel.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "sentinel.h"
#include "replies.h"
#include "xca_err.h"


/* parse_addr of resp: returns its code; *out is written only on success. */
static int addr_of(const char *resp, struct xca_hostport *out)
{
  redisReply *reply = xca_test_reply(resp);
  int rc = xca_sentinel_parse_addr(reply, out);
  freeReplyObject(reply);
  return rc;
}

static const struct xca_hostport untouched = {"untouched", 7};

/* ---- SENTINEL get-master-addr-by-name ---------------------------------- */

static void an_address_reply_gives_host_and_port(void **state)
{
  struct xca_hostport out = untouched;
  (void)state;
  assert_int_equal(addr_of("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n", &out), XCA_OK);
  assert_string_equal(out.host, "127.0.0.1");
  assert_int_equal(out.port, 6380);
  assert_int_equal(addr_of("*2\r\n$3\r\n::1\r\n$5\r\n65535\r\n", &out), XCA_OK);
  assert_string_equal(out.host, "::1");
  assert_int_equal(out.port, 65535);
}

static void a_nil_reply_means_the_master_is_unknown(void **state)
{
  struct xca_hostport out = untouched;
  (void)state;
  assert_int_equal(addr_of("$-1\r\n", &out), XCA_E_NOT_FOUND);
  assert_int_equal(addr_of("*-1\r\n", &out), XCA_E_NOT_FOUND);
  assert_string_equal(out.host, "untouched");
  assert_int_equal(out.port, 7);
}

/* RESP text with its length (one case holds a NUL byte). */
struct resp {
  const char *text;
  size_t len;
};
#define RESP(s) {s, sizeof(s) - 1}

static void error_and_malformed_replies_are_refused(void **state)
{
  static const struct resp bad[] = {
    RESP("-ERR unknown command 'SENTINEL'\r\n"),        /* a plain Redis, not a Sentinel */
    RESP("+OK\r\n"),                                    /* a status */
    RESP(":6379\r\n"),                                  /* an integer */
    RESP("*1\r\n$9\r\n127.0.0.1\r\n"),                  /* no port */
    RESP("*3\r\n$1\r\nh\r\n$1\r\n1\r\n$1\r\n2\r\n"),    /* too many elements */
    RESP("*2\r\n$0\r\n\r\n$4\r\n6379\r\n"),             /* empty host */
    RESP("*2\r\n$1\r\nh\r\n$0\r\n\r\n"),                /* empty port */
    RESP("*2\r\n$1\r\nh\r\n$1\r\n0\r\n"),               /* port 0 */
    RESP("*2\r\n$1\r\nh\r\n$5\r\n65536\r\n"),           /* port too large */
    RESP("*2\r\n$1\r\nh\r\n$3\r\n6x9\r\n"),             /* not a number */
    RESP("*2\r\n:1\r\n$4\r\n6379\r\n"),                 /* host not a string */
    RESP("*2\r\n$1\r\nh\r\n:6379\r\n"),                 /* port not a string */
    RESP("*2\r\n$3\r\na\0b\r\n$4\r\n6379\r\n"),         /* NUL inside the host */
  };
  struct xca_hostport out = untouched;
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    redisReader *r = redisReaderCreate();
    void *reply = NULL;
    assert_int_equal(redisReaderFeed(r, bad[i].text, bad[i].len), REDIS_OK);
    assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
    redisReaderFree(r);
    assert_non_null(reply);
    assert_int_equal(xca_sentinel_parse_addr(reply, &out), XCA_E_REGISTRY_UNAVAILABLE);
    freeReplyObject(reply);
  }
  assert_int_equal(xca_sentinel_parse_addr(NULL, &out), XCA_E_REGISTRY_UNAVAILABLE);
  assert_string_equal(out.host, "untouched");
}

static void a_host_of_253_characters_fits_254_does_not(void **state)
{
  char resp[400];
  char host[260];
  struct xca_hostport out = untouched;
  (void)state;
  memset(host, 'h', 254);
  host[254] = '\0';
  snprintf(resp, sizeof(resp), "*2\r\n$254\r\n%s\r\n$4\r\n6379\r\n", host);
  assert_int_equal(addr_of(resp, &out), XCA_E_REGISTRY_UNAVAILABLE);
  host[253] = '\0';
  snprintf(resp, sizeof(resp), "*2\r\n$253\r\n%s\r\n$4\r\n6379\r\n", host);
  assert_int_equal(addr_of(resp, &out), XCA_OK);
  assert_string_equal(out.host, host);
}

/* ---- ROLE ---------------------------------------------------------------- */

static int role_of(const char *resp)
{
  redisReply *reply = xca_test_reply(resp);
  int primary = xca_sentinel_role_is_primary(reply);
  freeReplyObject(reply);
  return primary;
}

static void role_master_is_a_primary(void **state)
{
  (void)state;
  /* ["master", offset, [[replica ip, port, offset]]] as Redis 7 answers */
  assert_int_equal(role_of("*3\r\n$6\r\nmaster\r\n:3129\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n"
                           "$4\r\n6380\r\n$4\r\n3129\r\n"),
                   1);
  assert_int_equal(role_of("*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"), 1);
}

static void any_other_role_or_reply_is_not(void **state)
{
  (void)state;
  assert_int_equal(role_of("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:6379\r\n"
                           "$9\r\nconnected\r\n:3129\r\n"),
                   0);
  assert_int_equal(role_of("*2\r\n$8\r\nsentinel\r\n*1\r\n$8\r\nmymaster\r\n"), 0);
  assert_int_equal(role_of("-NOAUTH Authentication required.\r\n"), 0);
  assert_int_equal(role_of("*0\r\n"), 0);
  assert_int_equal(role_of("*1\r\n:1\r\n"), 0);
  assert_int_equal(role_of("$6\r\nmaster\r\n"), 0);        /* not an array */
  assert_int_equal(role_of("*1\r\n$7\r\nmasters\r\n"), 0);  /* exact word only */
  assert_int_equal(xca_sentinel_role_is_primary(NULL), 0);
}

/* ---- without Sentinels ------------------------------------------------- */

static void without_sentinels_the_configured_host_is_the_primary(void **state)
{
  struct xca_config cfg;
  struct xca_hostport out = untouched;
  char why[64] = "";
  (void)state;
  assert_int_equal(xca_config_init(&cfg), XCA_OK);
  assert_int_equal(xca_config_set(&cfg, "redis_host", "redis.example", why, sizeof(why)), XCA_OK);
  assert_int_equal(xca_config_set(&cfg, "redis_port", "6390", why, sizeof(why)), XCA_OK);
  assert_int_equal(xca_sentinel_resolve(&cfg, 100, &out, why, sizeof(why)), XCA_OK);
  assert_string_equal(out.host, "redis.example");
  assert_int_equal(out.port, 6390);
  /* No ROLE is asked: a NULL context would crash if it were. */
  assert_int_equal(xca_sentinel_check_role(&cfg, NULL, why, sizeof(why)), XCA_OK);
  xca_config_free(&cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(an_address_reply_gives_host_and_port),
    cmocka_unit_test(a_nil_reply_means_the_master_is_unknown),
    cmocka_unit_test(error_and_malformed_replies_are_refused),
    cmocka_unit_test(a_host_of_253_characters_fits_254_does_not),
    cmocka_unit_test(role_master_is_a_primary),
    cmocka_unit_test(any_other_role_or_reply_is_not),
    cmocka_unit_test(without_sentinels_the_configured_host_is_the_primary),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
