/* test_strlist.c - unit tests of common/strlist.h: the growable list of
 * owned strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "strlist.h"
#include "xca_err.h"

static void an_empty_list_is_all_zero(void **state)
{
  struct xca_strlist l = {0};
  (void)state;
  assert_int_equal(l.count, 0);
  xca_strlist_sort(&l);
  assert_int_equal(l.count, 0);
  xca_strlist_free(&l);
  assert_null(l.item);
}

static void items_are_copies_kept_in_order(void **state)
{
  struct xca_strlist l = {0};
  char s[8] = "first";
  (void)state;
  assert_int_equal(xca_strlist_add(&l, s), XCA_OK);
  assert_int_equal(xca_strlist_add(&l, ""), XCA_OK);
  assert_int_equal(xca_strlist_add(&l, "third"), XCA_OK);
  s[0] = 'X';
  assert_int_equal(l.count, 3);
  assert_string_equal(l.item[0], "first");
  assert_string_equal(l.item[1], "");
  assert_string_equal(l.item[2], "third");
  xca_strlist_free(&l);
}

static void the_list_grows_past_its_first_allocation(void **state)
{
  struct xca_strlist l = {0};
  char s[16];
  (void)state;
  for (int i = 0; i < 1000; i++) {
    snprintf(s, sizeof(s), "s%d", i);
    assert_int_equal(xca_strlist_add(&l, s), XCA_OK);
  }
  assert_int_equal(l.count, 1000);
  assert_true(l.cap >= l.count);
  assert_string_equal(l.item[0], "s0");
  assert_string_equal(l.item[511], "s511");
  assert_string_equal(l.item[999], "s999");
  xca_strlist_free(&l);
}

static void sort_orders_by_strcmp(void **state)
{
  struct xca_strlist l = {0};
  const char *in[] = {"b", "B", "a", "ab", "", "a"};
  const char *want[] = {"", "B", "a", "a", "ab", "b"};
  (void)state;
  for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
    assert_int_equal(xca_strlist_add(&l, in[i]), XCA_OK);
  }
  xca_strlist_sort(&l);
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    assert_string_equal(l.item[i], want[i]);
  }
  xca_strlist_free(&l);
}

static void free_zeroes_and_is_null_safe(void **state)
{
  struct xca_strlist l = {0};
  (void)state;
  assert_int_equal(xca_strlist_add(&l, "x"), XCA_OK);
  xca_strlist_free(&l);
  assert_null(l.item);
  assert_int_equal(l.count, 0);
  assert_int_equal(l.cap, 0);
  xca_strlist_free(&l);
  xca_strlist_free(NULL);
  /* A freed list is empty and usable again. */
  assert_int_equal(xca_strlist_add(&l, "again"), XCA_OK);
  assert_string_equal(l.item[0], "again");
  xca_strlist_free(&l);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(an_empty_list_is_all_zero),
    cmocka_unit_test(items_are_copies_kept_in_order),
    cmocka_unit_test(the_list_grows_past_its_first_allocation),
    cmocka_unit_test(sort_orders_by_strcmp),
    cmocka_unit_test(free_zeroes_and_is_null_safe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
