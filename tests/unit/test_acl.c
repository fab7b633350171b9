/* test_acl.c - unit tests of common/acl.h: confinement of devices and
 * modules to their IoT-Hub-style topics (README "How a device connects"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "acl.h"
#include "xca_err.h"

static struct xca_ident ident(const char *text)
{
  struct xca_ident id;
  assert_int_equal(xca_ident_parse(text, &id), XCA_OK);
  return id;
}

static int pub(const char *who, const char *topic)
{
  struct xca_ident id = ident(who);
  return xca_acl_allowed(&id, XCA_ACCESS_PUBLISH, topic);
}

static int sub(const char *who, const char *filter)
{
  struct xca_ident id = ident(who);
  return xca_acl_allowed(&id, XCA_ACCESS_SUBSCRIBE, filter);
}

static int recv_(const char *who, const char *topic)
{
  struct xca_ident id = ident(who);
  return xca_acl_allowed(&id, XCA_ACCESS_RECEIVE, topic);
}

static int unsub(const char *who, const char *filter)
{
  struct xca_ident id = ident(who);
  return xca_acl_allowed(&id, XCA_ACCESS_UNSUBSCRIBE, filter);
}

/* ---- device publish ---------------------------------------------------- */

static void test_device_publish_events_allowed(void **state)
{
  (void)state;
  assert_int_equal(pub("d", "devices/d/messages/events/"), 1);
  assert_int_equal(pub("d", "devices/d/messages/events/a"), 1);
  assert_int_equal(pub("d", "devices/d/messages/events/$.ct=json&k=v"), 1);
  assert_int_equal(pub("d", "devices/d/messages/events/a/b/c"), 1);
}

/* "devices/d/messages/events" (no trailing '/') is matched by the allowed
 * filter "devices/d/messages/events/#" (a '#' also matches its parent level),
 * so the code allows it. */
static void test_device_publish_events_without_slash_allowed(void **state)
{
  (void)state;
  assert_int_equal(pub("d", "devices/d/messages/events"), 1);
}

static void test_device_publish_events_lookalike_denied(void **state)
{
  (void)state;
  assert_int_equal(pub("d", "devices/d/messages/eventsX"), 0);
  assert_int_equal(pub("d", "devices/d/messages/event"), 0);
  assert_int_equal(pub("d", "devices/d/messages/"), 0);
  assert_int_equal(pub("d", "devices/d"), 0);
  assert_int_equal(pub("d", "/devices/d/messages/events/"), 0);
  assert_int_equal(pub("d", "Devices/d/messages/events/"), 0);
}

static void test_device_publish_other_device_events_denied(void **state)
{
  (void)state;
  assert_int_equal(pub("d", "devices/e/messages/events/"), 0);
  assert_int_equal(pub("d", "devices/D/messages/events/"), 0);
}

static void test_device_publish_prefix_device_denied(void **state)
{
  (void)state;
  assert_int_equal(pub("d", "devices/dd/messages/events/"), 0);
  assert_int_equal(pub("dd", "devices/d/messages/events/"), 0);
}

static void test_device_publish_devicebound_denied(void **state)
{
  (void)state;
  assert_int_equal(pub("d", "devices/d/messages/devicebound/"), 0);
  assert_int_equal(pub("d", "devices/d/messages/devicebound/x"), 0);
  assert_int_equal(pub("d", "devices/e/messages/devicebound/x"), 0);
}

static void test_device_publish_wildcards_denied(void **state)
{
  (void)state;
  assert_int_equal(pub("d", "devices/d/messages/events/#"), 0);
  assert_int_equal(pub("d", "devices/d/messages/events/+"), 0);
  assert_int_equal(pub("d", "devices/d/messages/events/a+b"), 0);
  assert_int_equal(pub("d", "devices/+/messages/events/"), 0);
  assert_int_equal(pub("d", "#"), 0);
}

static void test_device_publish_control_and_sys_denied(void **state)
{
  (void)state;
  assert_int_equal(pub("d", "$CONTROL/x509ca/v1"), 0);
  assert_int_equal(pub("d", "$CONTROL/dynamic-security/v1"), 0);
  assert_int_equal(pub("d", "$SYS/broker/uptime"), 0);
}

static void test_device_publish_module_namespace_denied(void **state)
{
  (void)state;
  assert_int_equal(pub("d", "devices/d/modules/m/messages/events/"), 0);
}

static void test_device_publish_empty_topic_denied(void **state)
{
  (void)state;
  assert_int_equal(pub("d", ""), 0);
}

/* ---- device subscribe / receive ---------------------------------------- */

static void test_device_subscribe_devicebound_allowed(void **state)
{
  (void)state;
  assert_int_equal(sub("d", "devices/d/messages/devicebound/#"), 1);
  assert_int_equal(sub("d", "devices/d/messages/devicebound/+/x"), 1);
  assert_int_equal(sub("d", "devices/d/messages/devicebound/a"), 1);
}

static void test_device_subscribe_other_devices_denied(void **state)
{
  (void)state;
  assert_int_equal(sub("d", "devices/+/messages/devicebound/#"), 0);
  assert_int_equal(sub("d", "devices/e/messages/devicebound/#"), 0);
  assert_int_equal(sub("d", "devices/dd/messages/devicebound/#"), 0);
}

static void test_device_subscribe_broad_filters_denied(void **state)
{
  (void)state;
  assert_int_equal(sub("d", "devices/d/messages/#"), 0);
  assert_int_equal(sub("d", "devices/d/messages/+/#"), 0);
  assert_int_equal(sub("d", "devices/d/#"), 0);
  assert_int_equal(sub("d", "devices/#"), 0);
  assert_int_equal(sub("d", "#"), 0);
  assert_int_equal(sub("d", "+/d/messages/devicebound/#"), 0);
}

static void test_device_subscribe_events_denied(void **state)
{
  (void)state;
  assert_int_equal(sub("d", "devices/d/messages/events/#"), 0);
  assert_int_equal(sub("d", "devices/+/messages/events/#"), 0);
}

static void test_device_subscribe_control_and_sys_denied(void **state)
{
  (void)state;
  assert_int_equal(sub("d", "$CONTROL/x509ca/v1/response"), 0);
  assert_int_equal(sub("d", "$CONTROL/#"), 0);
  assert_int_equal(sub("d", "$SYS/#"), 0);
}

static void test_device_subscribe_lookalike_denied(void **state)
{
  (void)state;
  assert_int_equal(sub("d", "devices/d/messages/deviceboundX/#"), 0);
  assert_int_equal(sub("d", "$share/g/devices/d/messages/devicebound/#"), 0);
}

static void test_device_receive_own_devicebound_allowed(void **state)
{
  (void)state;
  assert_int_equal(recv_("d", "devices/d/messages/devicebound/x"), 1);
  assert_int_equal(recv_("d", "devices/d/messages/devicebound/%24.to=%2Fdevices"), 1);
}

static void test_device_receive_other_devicebound_denied(void **state)
{
  (void)state;
  assert_int_equal(recv_("d", "devices/e/messages/devicebound/x"), 0);
  assert_int_equal(recv_("d", "devices/dd/messages/devicebound/x"), 0);
  assert_int_equal(recv_("dd", "devices/d/messages/devicebound/x"), 0);
}

static void test_device_receive_events_and_control_denied(void **state)
{
  (void)state;
  assert_int_equal(recv_("d", "devices/d/messages/events/x"), 0);
  assert_int_equal(recv_("d", "$CONTROL/x509ca/v1/response"), 0);
  assert_int_equal(recv_("d", "$SYS/broker/uptime"), 0);
}

/* ---- module ------------------------------------------------------------ */

static void test_module_publish_events_allowed(void **state)
{
  (void)state;
  assert_int_equal(pub("d/m", "devices/d/modules/m/messages/events/"), 1);
  assert_int_equal(pub("d/m", "devices/d/modules/m/messages/events/a/b"), 1);
}

static void test_module_publish_device_events_denied(void **state)
{
  (void)state;
  assert_int_equal(pub("d/m", "devices/d/messages/events/"), 0);
}

static void test_module_publish_other_module_denied(void **state)
{
  (void)state;
  assert_int_equal(pub("d/m", "devices/d/modules/n/messages/events/"), 0);
  assert_int_equal(pub("d/m", "devices/d/modules/mm/messages/events/"), 0);
  assert_int_equal(pub("d/m", "devices/e/modules/m/messages/events/"), 0);
  assert_int_equal(pub("d/m", "devices/dd/modules/m/messages/events/"), 0);
}

static void test_module_publish_outside_events_denied(void **state)
{
  (void)state;
  assert_int_equal(pub("d/m", "devices/d/modules/m/inputs/x"), 0);
  assert_int_equal(pub("d/m", "devices/d/modules/m"), 0);
  assert_int_equal(pub("d/m", "devices/d/modules/m/messages/events/+"), 0);
  assert_int_equal(pub("d/m", "$CONTROL/x509ca/v1"), 0);
}

static void test_module_subscribe_own_namespace_allowed(void **state)
{
  (void)state;
  assert_int_equal(sub("d/m", "devices/d/modules/m/#"), 1);
  assert_int_equal(sub("d/m", "devices/d/modules/m/inputs/+"), 1);
  assert_int_equal(sub("d/m", "devices/d/modules/m/messages/devicebound/#"), 1);
}

static void test_module_subscribe_other_modules_denied(void **state)
{
  (void)state;
  assert_int_equal(sub("d/m", "devices/d/modules/+/#"), 0);
  assert_int_equal(sub("d/m", "devices/d/modules/#"), 0);
  assert_int_equal(sub("d/m", "devices/d/modules/n/#"), 0);
  assert_int_equal(sub("d/m", "devices/d/modules/mm/#"), 0);
  assert_int_equal(sub("d/m", "devices/+/modules/m/#"), 0);
}

static void test_module_subscribe_device_devicebound_denied(void **state)
{
  (void)state;
  assert_int_equal(sub("d/m", "devices/d/messages/devicebound/#"), 0);
  assert_int_equal(sub("d/m", "devices/d/#"), 0);
  assert_int_equal(sub("d/m", "#"), 0);
}

static void test_module_receive_own_allowed_other_denied(void **state)
{
  (void)state;
  assert_int_equal(recv_("d/m", "devices/d/modules/m/inputs/x"), 1);
  assert_int_equal(recv_("d/m", "devices/d/modules/n/inputs/x"), 0);
  assert_int_equal(recv_("d/m", "devices/d/messages/devicebound/x"), 0);
}

/* A device's filters never reach into its modules' namespaces. */
static void test_device_subscribe_module_namespace_denied(void **state)
{
  (void)state;
  assert_int_equal(sub("d", "devices/d/modules/m/#"), 0);
  assert_int_equal(recv_("d", "devices/d/modules/m/inputs/x"), 0);
}

/* ---- special ids and arguments ----------------------------------------- */

static void test_id_with_special_chars_confined(void **state)
{
  (void)state;
  assert_int_equal(pub("a$b", "devices/a$b/messages/events/"), 1);
  assert_int_equal(pub("a$b", "devices/a$c/messages/events/"), 0);
  assert_int_equal(sub("a*", "devices/a*/messages/devicebound/#"), 1);
  assert_int_equal(sub("a*", "devices/ab/messages/devicebound/#"), 0);
}

static void test_max_length_module_topics(void **state)
{
  char d[XCA_ID_MAX + 1];
  char m[XCA_ID_MAX + 1];
  char who[2 * XCA_ID_MAX + 2];
  char topic[600];
  (void)state;
  memset(d, 'd', XCA_ID_MAX);
  d[XCA_ID_MAX] = '\0';
  memset(m, 'm', XCA_ID_MAX);
  m[XCA_ID_MAX] = '\0';
  strcpy(who, d);
  strcat(who, "/");
  strcat(who, m);
  strcpy(topic, "devices/");
  strcat(topic, d);
  strcat(topic, "/modules/");
  strcat(topic, m);
  strcat(topic, "/messages/events/");
  assert_int_equal(pub(who, topic), 1);
  topic[strlen(topic) - 2] = 'X'; /* ".../eventX/" */
  assert_int_equal(pub(who, topic), 0);
}

static void test_unsubscribe_always_allowed(void **state)
{
  (void)state;
  assert_int_equal(unsub("d", "#"), 1);
  assert_int_equal(unsub("d", "devices/e/messages/devicebound/#"), 1);
  assert_int_equal(unsub("d/m", "$CONTROL/x509ca/v1"), 1);
}

static void test_null_arguments_denied(void **state)
{
  struct xca_ident id = ident("d");
  (void)state;
  assert_int_equal(xca_acl_allowed(NULL, XCA_ACCESS_PUBLISH, "devices/d/messages/events/"), 0);
  assert_int_equal(xca_acl_allowed(&id, XCA_ACCESS_PUBLISH, NULL), 0);
  assert_int_equal(xca_acl_allowed(&id, XCA_ACCESS_SUBSCRIBE, NULL), 0);
}

static void test_unknown_access_denied(void **state)
{
  struct xca_ident id = ident("d");
  (void)state;
  assert_int_equal(xca_acl_allowed(&id, (enum xca_access)99, "devices/d/messages/events/"), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_device_publish_events_allowed),
    cmocka_unit_test(test_device_publish_events_without_slash_allowed),
    cmocka_unit_test(test_device_publish_events_lookalike_denied),
    cmocka_unit_test(test_device_publish_other_device_events_denied),
    cmocka_unit_test(test_device_publish_prefix_device_denied),
    cmocka_unit_test(test_device_publish_devicebound_denied),
    cmocka_unit_test(test_device_publish_wildcards_denied),
    cmocka_unit_test(test_device_publish_control_and_sys_denied),
    cmocka_unit_test(test_device_publish_module_namespace_denied),
    cmocka_unit_test(test_device_publish_empty_topic_denied),
    cmocka_unit_test(test_device_subscribe_devicebound_allowed),
    cmocka_unit_test(test_device_subscribe_other_devices_denied),
    cmocka_unit_test(test_device_subscribe_broad_filters_denied),
    cmocka_unit_test(test_device_subscribe_events_denied),
    cmocka_unit_test(test_device_subscribe_control_and_sys_denied),
    cmocka_unit_test(test_device_subscribe_lookalike_denied),
    cmocka_unit_test(test_device_receive_own_devicebound_allowed),
    cmocka_unit_test(test_device_receive_other_devicebound_denied),
    cmocka_unit_test(test_device_receive_events_and_control_denied),
    cmocka_unit_test(test_module_publish_events_allowed),
    cmocka_unit_test(test_module_publish_device_events_denied),
    cmocka_unit_test(test_module_publish_other_module_denied),
    cmocka_unit_test(test_module_publish_outside_events_denied),
    cmocka_unit_test(test_module_subscribe_own_namespace_allowed),
    cmocka_unit_test(test_module_subscribe_other_modules_denied),
    cmocka_unit_test(test_module_subscribe_device_devicebound_denied),
    cmocka_unit_test(test_module_receive_own_allowed_other_denied),
    cmocka_unit_test(test_device_subscribe_module_namespace_denied),
    cmocka_unit_test(test_id_with_special_chars_confined),
    cmocka_unit_test(test_max_length_module_topics),
    cmocka_unit_test(test_unsubscribe_always_allowed),
    cmocka_unit_test(test_null_arguments_denied),
    cmocka_unit_test(test_unknown_access_denied),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
