#include "replies.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

redisReply *xca_test_reply(const char *resp)
{
  redisReader *r = redisReaderCreate();
  void *reply = NULL;

  assert_non_null(r);
  assert_int_equal(redisReaderFeed(r, resp, strlen(resp)), REDIS_OK);
  assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
  redisReaderFree(r);
  assert_non_null(reply);
  return reply;
}
