/* test_enroll.c - unit tests of common/enroll.h: the set of enrollment
 * groups, the walk up a verified chain, and enrollment in the connect
 * decision (xca_auth_decide_enroll with xca_enroll) over an in-memory
 * registry (support/fake_kv) and the real lookup and cache. The chain is
 * Company-X (root) -> Factory-Y -> Technician-Z -> the device, made at run
 * time (support/certgen); "Other" is an unrelated root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cache.h"
#include "certgen.h"
#include "enroll.h"
#include "fake_kv.h"
#include "lookup.h"
#include "xca_err.h"

#define NOW 1700000000 /* the enroller's clock */
#define NOW_TEXT "1700000000"

static struct xca_tcert company_x, factory_y, technician_z, other_root, widget;
static char *pem_x, *pem_y, *pem_z, *pem_other;
static char sha_x[XCA_SHA256_HEX], sha_y[XCA_SHA256_HEX], sha_z[XCA_SHA256_HEX];
static char sha_other[XCA_SHA256_HEX], sha_widget[XCA_SHA256_HEX];

struct fx {
  struct xca_fake_kv *fake;
  struct xca_registry reg;
  struct xca_groups *groups;
  struct xca_cache *cache;
  struct xca_lookup lookup;
  struct xca_enroller enroller;
  struct xca_ident ident;
};

static time_t fixed_now(void)
{
  return NOW;
}

static int following(void *arg)
{
  (void)arg;
  return 1;
}

/* ------------------------------------------------------------------------ */
/* Fixture                                                                   */
/* ------------------------------------------------------------------------ */

static int group_setup(void **state)
{
  (void)state;
  if (xca_certgen(&company_x, "Company-X Root CA", NULL, 1, -3600, 86400) ||
      xca_certgen(&factory_y, "Factory-Y CA", &company_x, 1, -3600, 86400) ||
      xca_certgen(&technician_z, "Technician-Z CA", &factory_y, 1, -3600, 86400) ||
      xca_certgen(&other_root, "Other Root CA", NULL, 1, -3600, 86400) ||
      xca_certgen(&widget, "w9", &technician_z, 0, -3600, 86400)) {
    return -1;
  }
  pem_x = xca_certgen_pem(&company_x);
  pem_y = xca_certgen_pem(&factory_y);
  pem_z = xca_certgen_pem(&technician_z);
  pem_other = xca_certgen_pem(&other_root);
  xca_cert_sha256(company_x.cert, sha_x);
  xca_cert_sha256(factory_y.cert, sha_y);
  xca_cert_sha256(technician_z.cert, sha_z);
  xca_cert_sha256(other_root.cert, sha_other);
  xca_cert_sha256(widget.cert, sha_widget);
  return pem_x && pem_y && pem_z && pem_other ? 0 : -1;
}

static int group_teardown(void **state)
{
  (void)state;
  xca_certgen_free(&company_x);
  xca_certgen_free(&factory_y);
  xca_certgen_free(&technician_z);
  xca_certgen_free(&other_root);
  xca_certgen_free(&widget);
  free(pem_x);
  free(pem_y);
  free(pem_z);
  free(pem_other);
  return 0;
}

static int setup(void **state)
{
  struct fx *fx = calloc(1, sizeof(*fx));

  assert_non_null(fx);
  fx->fake = xca_fake_kv_new();
  fx->groups = xca_groups_new();
  fx->cache = xca_cache_new(100);
  assert_non_null(fx->fake);
  assert_non_null(fx->groups);
  assert_non_null(fx->cache);
  fx->reg.kv = xca_fake_kv(fx->fake);
  fx->reg.prefix = "x509ca:";
  fx->lookup.cache = fx->cache;
  fx->lookup.registry = &fx->reg;
  fx->lookup.following = following;
  fx->lookup.stale_max_s = 300;
  fx->enroller.groups = fx->groups;
  fx->enroller.reg = &fx->reg;
  fx->enroller.cache = fx->cache;
  fx->enroller.now = fixed_now;
  *state = fx;
  return 0;
}

static int teardown(void **state)
{
  struct fx *fx = *state;
  xca_groups_free(fx->groups);
  xca_cache_free(fx->cache);
  xca_fake_kv_free(fx->fake);
  free(fx);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* Store the group name for the CA pem/sha with status and initialStatus
 * (NULL: field absent), as createEnrollmentGroup or redis-cli would. */
static void store_group(struct fx *fx, const char *name, const char *pem, const char *sha,
                        const char *status, const char *initial)
{
  char key[128];

  snprintf(key, sizeof(key), "x509ca:group:%s", name);
  assert_int_equal(xca_fake_kv_hset(fx->fake, key, "certificate", pem), XCA_OK);
  assert_int_equal(xca_fake_kv_hset(fx->fake, key, "thumbprint", sha), XCA_OK);
  if (status != NULL) {
    assert_int_equal(xca_fake_kv_hset(fx->fake, key, "status", status), XCA_OK);
  }
  if (initial != NULL) {
    assert_int_equal(xca_fake_kv_hset(fx->fake, key, "initialStatus", initial), XCA_OK);
  }
}

/* Store the group and load it into the set, as a broker would. */
static void add_group(struct fx *fx, const char *name, const char *pem, const char *sha,
                      const char *status, const char *initial)
{
  store_group(fx, name, pem, sha, status, initial);
  assert_int_equal(xca_groups_reload(fx->groups, &fx->reg, name), XCA_OK);
}

/* A registry entry written as redis-cli HSET would (no eviction). */
static void hset_device(struct fx *fx, const char *id, const char *name, const char *value)
{
  char key[128];

  snprintf(key, sizeof(key), "x509ca:device:%s", id);
  assert_int_equal(xca_fake_kv_hset(fx->fake, key, name, value), XCA_OK);
}

static const char *device_field(struct fx *fx, const char *id, const char *name)
{
  char key[128];

  snprintf(key, sizeof(key), "x509ca:device:%s", id);
  return xca_fake_kv_hget(fx->fake, key, name);
}

static int device_exists(struct fx *fx, const char *id)
{
  char key[128];

  snprintf(key, sizeof(key), "x509ca:device:%s", id);
  return xca_fake_kv_exists(fx->fake, key);
}

/* Facts of a leaf with CN cn whose verified chain is the leaf then the
 * thumbprints given (NULL-terminated), as the handshake leaves them. */
static struct xca_cert_facts chain_facts(const char *cn, ...)
{
  struct xca_cert_facts f;
  const char *sha;
  va_list ap;

  memset(&f, 0, sizeof(f));
  f.chain_ok = 1;
  f.cn_ok = 1;
  f.leaf_time_valid = 1;
  snprintf(f.cn, sizeof(f.cn), "%s", cn);
  strcpy(f.sha256, sha_widget);
  strcpy(f.chain.chain_sha256[f.chain.chain_len++], sha_widget);
  va_start(ap, cn);
  while ((sha = va_arg(ap, const char *)) != NULL) {
    strcpy(f.chain.chain_sha256[f.chain.chain_len++], sha);
  }
  va_end(ap);
  return f;
}

/* The widget's chain: Technician-Z, Factory-Y, Company-X. */
static struct xca_cert_facts widget_facts(const char *cn)
{
  return chain_facts(cn, sha_z, sha_y, sha_x, NULL);
}

static int decide(struct fx *fx, const struct xca_cert_facts *facts, const char *client_id)
{
  xca_enroller_begin(&fx->enroller);
  return xca_auth_decide_enroll(facts, client_id, NULL, NULL, xca_lookup_identity, &fx->lookup,
                                xca_enroll, &fx->enroller, &fx->ident);
}

/* ------------------------------------------------------------------------ */
/* The set                                                                   */
/* ------------------------------------------------------------------------ */

static void test_set_indexes_by_name_and_thumbprint(void **state)
{
  struct fx *fx = *state;

  assert_int_equal(xca_groups_count(fx->groups), 0);
  add_group(fx, "factory-y", pem_y, sha_y, "enabled", "enabled");
  add_group(fx, "company-x", pem_x, sha_x, "disabled", NULL);
  assert_int_equal(xca_groups_count(fx->groups), 2);
  assert_string_equal(xca_groups_find(fx->groups, sha_y)->name, "factory-y");
  assert_string_equal(xca_groups_get(fx->groups, "company-x")->thumbprint, sha_x);
  assert_false(xca_groups_get(fx->groups, "company-x")->enabled);
  assert_true(xca_groups_get(fx->groups, "company-x")->initial_enabled);
  assert_null(xca_groups_find(fx->groups, sha_z));
  /* Reloaded with another certificate under the same name: indexed anew. */
  add_group(fx, "factory-y", pem_z, sha_z, "enabled", "enabled");
  assert_null(xca_groups_find(fx->groups, sha_y));
  assert_string_equal(xca_groups_find(fx->groups, sha_z)->name, "factory-y");
  assert_int_equal(xca_groups_remove(fx->groups, "factory-y"), XCA_OK);
  assert_int_equal(xca_groups_remove(fx->groups, "factory-y"), XCA_E_NOT_FOUND);
  assert_null(xca_groups_find(fx->groups, sha_z));
  xca_groups_clear(fx->groups);
  assert_int_equal(xca_groups_count(fx->groups), 0);
  assert_null(xca_groups_find(fx->groups, sha_x));
}

static void test_set_same_certificate_smallest_name_decides(void **state)
{
  struct fx *fx = *state;

  add_group(fx, "m-group", pem_y, sha_y, "enabled", NULL);
  add_group(fx, "z-group", pem_y, sha_y, "disabled", NULL);
  add_group(fx, "a-group", pem_y, sha_y, "enabled", "disabled");
  assert_string_equal(xca_groups_find(fx->groups, sha_y)->name, "a-group");
  xca_groups_remove(fx->groups, "a-group");
  assert_string_equal(xca_groups_find(fx->groups, sha_y)->name, "m-group");
  xca_groups_remove(fx->groups, "m-group");
  assert_string_equal(xca_groups_find(fx->groups, sha_y)->name, "z-group");
}

static void test_reload_drops_what_cannot_be_used(void **state)
{
  struct fx *fx = *state;

  add_group(fx, "factory-y", pem_y, sha_y, NULL, NULL);
  /* A thumbprint field naming another certificate. */
  assert_int_equal(xca_fake_kv_hset(fx->fake, "x509ca:group:factory-y", "thumbprint", sha_x),
                   XCA_OK);
  assert_int_equal(xca_groups_reload(fx->groups, &fx->reg, "factory-y"), XCA_E_BAD_THUMBPRINT);
  assert_null(xca_groups_get(fx->groups, "factory-y"));
  /* No usable certificate. */
  add_group(fx, "company-x", pem_x, sha_x, NULL, NULL);
  assert_int_equal(xca_fake_kv_hset(fx->fake, "x509ca:group:company-x", "certificate", "junk"),
                   XCA_OK);
  assert_int_equal(xca_groups_reload(fx->groups, &fx->reg, "company-x"), XCA_E_BAD_PEM);
  assert_null(xca_groups_get(fx->groups, "company-x"));
  /* Deleted, and Redis unreachable: dropped too (fail closed). */
  add_group(fx, "other", pem_other, sha_other, NULL, NULL);
  xca_fake_kv_set_down(fx->fake, 1);
  assert_int_equal(xca_groups_reload(fx->groups, &fx->reg, "other"), XCA_E_REGISTRY_UNAVAILABLE);
  assert_null(xca_groups_get(fx->groups, "other"));
  xca_fake_kv_set_down(fx->fake, 0);
  assert_int_equal(xca_groups_reload(fx->groups, &fx->reg, "nope"), XCA_E_NOT_FOUND);
  assert_int_equal(xca_groups_count(fx->groups), 0);
}

/* ------------------------------------------------------------------------ */
/* The walk                                                                  */
/* ------------------------------------------------------------------------ */

static void test_walk_takes_the_first_group_above_the_leaf(void **state)
{
  struct fx *fx = *state;
  struct xca_cert_facts f = widget_facts("w9");
  struct xca_group_rec leaf_group;

  assert_null(xca_groups_for_chain(fx->groups, &f.chain));
  add_group(fx, "company-x", pem_x, sha_x, "enabled", NULL);
  assert_string_equal(xca_groups_for_chain(fx->groups, &f.chain)->name, "company-x");
  add_group(fx, "factory-y", pem_y, sha_y, "enabled", NULL);
  assert_string_equal(xca_groups_for_chain(fx->groups, &f.chain)->name, "factory-y");
  add_group(fx, "technician-z", pem_z, sha_z, "disabled", NULL);
  assert_string_equal(xca_groups_for_chain(fx->groups, &f.chain)->name, "technician-z");
  /* The leaf itself (depth 0) never names a group. */
  xca_groups_clear(fx->groups);
  memset(&leaf_group, 0, sizeof(leaf_group));
  strcpy(leaf_group.name, "leaf");
  strcpy(leaf_group.thumbprint, sha_widget);
  leaf_group.enabled = 1;
  assert_int_equal(xca_groups_put(fx->groups, &leaf_group), XCA_OK);
  assert_null(xca_groups_for_chain(fx->groups, &f.chain));
  /* A chain that does not pass through the group's CA. */
  add_group(fx, "other", pem_other, sha_other, "enabled", NULL);
  assert_null(xca_groups_for_chain(fx->groups, &f.chain));
}

static void test_walk_order_decides_enrollment(void **state)
{
  struct fx *fx = *state;
  struct xca_cert_facts f = widget_facts("w9");

  /* Technician-Z has no group: Factory-Y's decides, not Company-X's. */
  add_group(fx, "company-x", pem_x, sha_x, "enabled", "disabled");
  add_group(fx, "factory-y", pem_y, sha_y, "enabled", "enabled");
  assert_int_equal(decide(fx, &f, "w9"), XCA_OK);
  assert_string_equal(device_field(fx, "w9", "enrollmentGroup"), "factory-y");
  assert_string_equal(device_field(fx, "w9", "status"), "enabled");
  /* A disabled group below an enabled one refuses: the first one decides. */
  add_group(fx, "technician-z", pem_z, sha_z, "disabled", NULL);
  f = widget_facts("w10");
  assert_int_equal(decide(fx, &f, "w10"), XCA_E_GROUP_DISABLED);
  assert_string_equal(fx->enroller.group, "technician-z");
  assert_false(device_exists(fx, "w10"));
}

/* ------------------------------------------------------------------------ */
/* Which entry decides                                                       */
/* ------------------------------------------------------------------------ */

static void test_new_device_is_enrolled(void **state)
{
  struct fx *fx = *state;
  struct xca_cert_facts f = widget_facts("w9");

  add_group(fx, "factory-y", pem_y, sha_y, "enabled", "enabled");
  assert_int_equal(decide(fx, &f, "w9"), XCA_OK);
  assert_string_equal(fx->ident.full, "w9");
  assert_int_equal(fx->enroller.created, 1);
  assert_int_equal(fx->enroller.created_enabled, 1);
  assert_string_equal(fx->enroller.group, "factory-y");
  assert_int_equal(fx->enroller.found_meanwhile, 0);
  assert_string_equal(device_field(fx, "w9", "status"), "enabled");
  assert_string_equal(device_field(fx, "w9", "authentication"), "certificateAuthority");
  assert_string_equal(device_field(fx, "w9", "enrollmentGroup"), "factory-y");
  assert_string_equal(device_field(fx, "w9", "enrolledAt"), NOW_TEXT);
  /* Next time its own entry decides: nothing is created again. */
  assert_int_equal(decide(fx, &f, "w9"), XCA_OK);
  assert_int_equal(fx->enroller.created, 0);
  assert_int_equal(xca_fake_kv_creates_if(fx->fake), 1);
}

static void test_own_entry_always_decides(void **state)
{
  struct fx *fx = *state;
  struct xca_cert_facts f = widget_facts("w9");

  add_group(fx, "factory-y", pem_y, sha_y, "enabled", "enabled");
  hset_device(fx, "w9", "status", "disabled");
  assert_int_equal(decide(fx, &f, "w9"), XCA_E_DISABLED);
  /* A disabled group does not refuse a device that has its own entry. */
  hset_device(fx, "w8", "status", "enabled");
  add_group(fx, "factory-y", pem_y, sha_y, "disabled", "enabled");
  f = widget_facts("w8");
  assert_int_equal(decide(fx, &f, "w8"), XCA_OK);
  assert_int_equal(xca_fake_kv_creates_if(fx->fake), 0);
  assert_null(device_field(fx, "w8", "enrollmentGroup"));
  assert_null(device_field(fx, "w9", "enrollmentGroup"));
}

static void test_deleted_entry_enrolls_again(void **state)
{
  struct fx *fx = *state;
  struct xca_cert_facts f = widget_facts("w9");

  add_group(fx, "factory-y", pem_y, sha_y, "enabled", "enabled");
  assert_int_equal(decide(fx, &f, "w9"), XCA_OK);
  /* Deleted: the change notification evicts the cached entry. */
  xca_fake_kv(fx->fake).ops->del(fx->fake, "x509ca:device:w9");
  xca_cache_remove(fx->cache, "w9");
  fx->enroller.now = NULL; /* a new enrolledAt */
  assert_int_equal(decide(fx, &f, "w9"), XCA_OK);
  assert_int_equal(fx->enroller.created, 1);
  assert_string_not_equal(device_field(fx, "w9", "enrolledAt"), NOW_TEXT);
}

static void test_initial_status_disabled(void **state)
{
  struct fx *fx = *state;
  struct xca_cert_facts f = widget_facts("w9");

  add_group(fx, "factory-y", pem_y, sha_y, "enabled", "disabled");
  assert_int_equal(decide(fx, &f, "w9"), XCA_E_DISABLED);
  assert_int_equal(fx->enroller.created, 1);
  assert_int_equal(fx->enroller.created_enabled, 0);
  assert_string_equal(device_field(fx, "w9", "status"), "disabled");
  /* The operator enables it. */
  hset_device(fx, "w9", "status", "enabled");
  xca_cache_remove(fx->cache, "w9");
  assert_int_equal(decide(fx, &f, "w9"), XCA_OK);
  assert_int_equal(fx->enroller.created, 0);
}

static void test_disabled_group_refuses_naming_it(void **state)
{
  struct fx *fx = *state;
  struct xca_cert_facts f = widget_facts("w9");
  char why[128];

  add_group(fx, "factory-y", pem_y, sha_y, "disabled", "enabled");
  assert_int_equal(decide(fx, &f, "w9"), XCA_E_GROUP_DISABLED);
  assert_false(device_exists(fx, "w9"));
  assert_int_equal(xca_fake_kv_creates_if(fx->fake), 0);
  xca_enroll_describe(&fx->enroller, XCA_E_GROUP_DISABLED, why, sizeof(why));
  assert_string_equal(why, "enrollment group 'factory-y' is disabled");
  xca_enroll_describe(&fx->enroller, XCA_E_NOT_FOUND, why, sizeof(why));
  assert_string_equal(why, "not found");
  /* A status that is not "enabled" disables; an absent one enables. */
  add_group(fx, "factory-y", pem_y, sha_y, "paused", NULL);
  assert_int_equal(decide(fx, &f, "w9"), XCA_E_GROUP_DISABLED);
  store_group(fx, "plain", pem_x, sha_x, NULL, NULL);
  xca_groups_clear(fx->groups);
  assert_int_equal(xca_groups_reload(fx->groups, &fx->reg, "plain"), XCA_OK);
  assert_int_equal(decide(fx, &f, "w9"), XCA_OK);
  assert_string_equal(device_field(fx, "w9", "enrollmentGroup"), "plain");
}

static void test_no_group_is_not_found(void **state)
{
  struct fx *fx = *state;
  struct xca_cert_facts f = widget_facts("w9");
  struct xca_cert_facts stranger = chain_facts("s1", sha_other, NULL);

  assert_int_equal(decide(fx, &f, "w9"), XCA_E_NOT_FOUND);
  add_group(fx, "factory-y", pem_y, sha_y, "enabled", "enabled");
  assert_int_equal(decide(fx, &stranger, "s1"), XCA_E_NOT_FOUND);
  assert_string_equal(fx->enroller.group, "");
  assert_int_equal(xca_fake_kv_count(fx->fake), 1); /* the group alone */
}

static void test_modules_never_enrolled(void **state)
{
  struct fx *fx = *state;
  struct xca_cert_facts f = widget_facts("w9/m1");

  add_group(fx, "factory-y", pem_y, sha_y, "enabled", "enabled");
  /* Neither the module nor its missing device. */
  assert_int_equal(decide(fx, &f, "w9/m1"), XCA_E_DEVICE_DISABLED);
  assert_false(device_exists(fx, "w9"));
  hset_device(fx, "w9", "status", "enabled");
  xca_cache_remove(fx->cache, "w9"); /* as its change notification does */
  assert_int_equal(decide(fx, &f, "w9/m1"), XCA_E_NOT_FOUND);
  assert_false(device_exists(fx, "w9/m1"));
  assert_int_equal(xca_fake_kv_creates_if(fx->fake), 0);
}

static void test_only_a_verified_chain_with_its_cn_enrolls(void **state)
{
  struct fx *fx = *state;
  struct xca_cert_facts mismatch = widget_facts("w8");
  struct xca_cert_facts broken = widget_facts("w9");
  struct xca_cert_facts self_signed = widget_facts("w9");

  add_group(fx, "factory-y", pem_y, sha_y, "enabled", "enabled");
  /* An identity is never created for a name the certificate lacks: the
   * refusal names what the device got wrong (README "How a device
   * connects"). */
  assert_int_equal(decide(fx, &mismatch, "w9"), XCA_E_CN_MISMATCH);
  broken.chain_ok = 0;
  assert_int_equal(decide(fx, &broken, "w9"), XCA_E_CHAIN);
  self_signed.chain_ok = 0;
  self_signed.self_signed = 1;
  assert_int_equal(decide(fx, &self_signed, "w9"), XCA_E_NOT_FOUND);
  /* Called directly, the hook refuses an unverified chain too. */
  assert_int_equal(xca_enroll(&fx->enroller, &broken, "w9", &(struct xca_identity_rec){0}),
                   XCA_E_NOT_FOUND);
  assert_int_equal(xca_fake_kv_count(fx->fake), 1);
  assert_int_equal(xca_fake_kv_creates_if(fx->fake), 0);
}

/* ------------------------------------------------------------------------ */
/* Races and failures                                                        */
/* ------------------------------------------------------------------------ */

static void test_race_existing_entry_decides(void **state)
{
  struct fx *fx = *state;
  struct xca_cert_facts f = widget_facts("w9");
  struct xca_identity_rec rec;
  int found = -1;

  /* This broker cached "not found"; another enrolls w9 (disabled) before
   * the change notification arrives. */
  assert_int_equal(decide(fx, &f, "w9"), XCA_E_NOT_FOUND);
  assert_int_equal(xca_cache_get(fx->cache, "w9", 0, &found, &rec), 1);
  assert_int_equal(found, 0);
  add_group(fx, "factory-y", pem_y, sha_y, "enabled", "enabled");
  hset_device(fx, "w9", "status", "disabled");
  hset_device(fx, "w9", "enrollmentGroup", "factory-y");
  hset_device(fx, "w9", "enrolledAt", "1600000000");
  assert_int_equal(decide(fx, &f, "w9"), XCA_E_DISABLED);
  assert_int_equal(fx->enroller.created, 0);
  assert_int_equal(fx->enroller.found_meanwhile, 1);
  assert_int_equal(xca_fake_kv_creates_if(fx->fake), 1);
  assert_string_equal(device_field(fx, "w9", "enrolledAt"), "1600000000");
  assert_string_equal(device_field(fx, "w9", "status"), "disabled");
  /* The stale "not found" is gone. */
  found = -1;
  assert_true(xca_cache_get(fx->cache, "w9", 0, &found, &rec) == 0 || found == 1);
  /* Enabled by the winner: the existing entry admits. */
  xca_cache_remove(fx->cache, "w9");
  assert_int_equal(decide(fx, &f, "w9"), XCA_E_DISABLED);
  hset_device(fx, "w9", "status", "enabled");
  xca_cache_put(fx->cache, "w9", 0, NULL, 0); /* "not found" again, stale */
  assert_int_equal(decide(fx, &f, "w9"), XCA_OK);
  assert_int_equal(fx->enroller.created, 0);
}

/* A lookup that answers "not found" and then loses Redis: the failure
 * happens during the enrollment itself. */
static int lookup_then_outage(void *arg, const char *identity, struct xca_identity_rec *out)
{
  struct fx *fx = arg;
  int rc = xca_lookup_identity(&fx->lookup, identity, out);

  xca_fake_kv_set_down(fx->fake, 1);
  return rc;
}

static void test_redis_failure_fails_closed(void **state)
{
  struct fx *fx = *state;
  struct xca_cert_facts f = widget_facts("w9");

  add_group(fx, "factory-y", pem_y, sha_y, "enabled", "enabled");
  assert_int_equal(xca_auth_decide_enroll(&f, "w9", NULL, NULL, lookup_then_outage, fx,
                                          xca_enroll, &fx->enroller, &fx->ident),
                   XCA_E_REGISTRY_UNAVAILABLE);
  assert_int_equal(fx->enroller.created, 0);
  xca_fake_kv_set_down(fx->fake, 0);
  assert_false(device_exists(fx, "w9"));
  /* Redis back: enrolled. */
  assert_int_equal(decide(fx, &f, "w9"), XCA_OK);
  assert_int_equal(fx->enroller.created, 1);
}

static void test_group_changed_in_redis_is_reread(void **state)
{
  struct fx *fx = *state;
  struct xca_cert_facts f = widget_facts("w9");

  /* Disabled in Redis after this broker loaded it enabled. */
  add_group(fx, "factory-y", pem_y, sha_y, "enabled", "enabled");
  assert_int_equal(xca_fake_kv_hset(fx->fake, "x509ca:group:factory-y", "status", "disabled"),
                   XCA_OK);
  assert_int_equal(decide(fx, &f, "w9"), XCA_E_GROUP_DISABLED);
  assert_false(device_exists(fx, "w9"));
  assert_false(xca_groups_get(fx->groups, "factory-y")->enabled);
  /* Its initialStatus changed: the identity gets the new one. */
  add_group(fx, "factory-y", pem_y, sha_y, "enabled", "enabled");
  assert_int_equal(
    xca_fake_kv_hset(fx->fake, "x509ca:group:factory-y", "initialStatus", "disabled"), XCA_OK);
  assert_int_equal(decide(fx, &f, "w9"), XCA_E_DISABLED);
  assert_string_equal(device_field(fx, "w9", "status"), "disabled");
  /* Deleted in Redis: Company-X's group, above it, decides now. */
  add_group(fx, "company-x", pem_x, sha_x, "enabled", "enabled");
  xca_fake_kv(fx->fake).ops->del(fx->fake, "x509ca:group:factory-y");
  f = widget_facts("w8");
  assert_int_equal(decide(fx, &f, "w8"), XCA_OK);
  assert_string_equal(device_field(fx, "w8", "enrollmentGroup"), "company-x");
  assert_null(xca_groups_get(fx->groups, "factory-y"));
}

static void test_enrollment_drops_the_cached_not_found(void **state)
{
  struct fx *fx = *state;
  struct xca_cert_facts f = widget_facts("w9");
  struct xca_identity_rec rec;
  int found = -1;

  assert_int_equal(decide(fx, &f, "w9"), XCA_E_NOT_FOUND);
  assert_int_equal(xca_cache_get(fx->cache, "w9", 0, &found, &rec), 1);
  assert_int_equal(found, 0);
  add_group(fx, "factory-y", pem_y, sha_y, "enabled", "enabled");
  assert_int_equal(decide(fx, &f, "w9"), XCA_OK);
  assert_int_equal(fx->enroller.created, 1);
  found = -1;
  assert_true(xca_cache_get(fx->cache, "w9", 0, &found, &rec) == 0 || found == 1);
  /* The next lookup finds the new entry: no second enrollment. */
  assert_int_equal(decide(fx, &f, "w9"), XCA_OK);
  assert_int_equal(fx->enroller.created, 0);
  assert_int_equal(xca_fake_kv_creates_if(fx->fake), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(test_set_indexes_by_name_and_thumbprint),
    T(test_set_same_certificate_smallest_name_decides),
    T(test_reload_drops_what_cannot_be_used),
    T(test_walk_takes_the_first_group_above_the_leaf),
    T(test_walk_order_decides_enrollment),
    T(test_new_device_is_enrolled),
    T(test_own_entry_always_decides),
    T(test_deleted_entry_enrolls_again),
    T(test_initial_status_disabled),
    T(test_disabled_group_refuses_naming_it),
    T(test_no_group_is_not_found),
    T(test_modules_never_enrolled),
    T(test_only_a_verified_chain_with_its_cn_enrolls),
    T(test_race_existing_entry_decides),
    T(test_redis_failure_fails_closed),
    T(test_group_changed_in_redis_is_reread),
    T(test_enrollment_drops_the_cached_not_found),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
