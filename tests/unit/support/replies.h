/* replies.h - hiredis reply objects for unit tests, built by hiredis's own
 * reader from RESP text (no server needed). */
#ifndef XCA_TEST_REPLIES_H
#define XCA_TEST_REPLIES_H

#include <hiredis/hiredis.h>

/* The reply hiredis builds from the complete RESP text resp (e.g.
 * "*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6379\r\n"). Fails the running cmocka test
 * when resp is not one complete reply. Free it with freeReplyObject. */
redisReply *xca_test_reply(const char *resp);

#endif
