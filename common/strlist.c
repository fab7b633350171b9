#include "strlist.h"

#include <stdlib.h>
#include <string.h>

#include "xca_err.h"

int xca_strlist_add(struct xca_strlist *l, const char *s)
{
  char *copy = strdup(s);

  if (copy == NULL) {
    return XCA_E_NOMEM;
  }
  if (l->count == l->cap) {
    int cap = l->cap ? l->cap * 2 : 8;
    char **item = realloc(l->item, (size_t)cap * sizeof(char *));
    if (item == NULL) {
      free(copy);
      return XCA_E_NOMEM;
    }
    l->item = item;
    l->cap = cap;
  }
  l->item[l->count++] = copy;
  return XCA_OK;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void xca_strlist_sort(struct xca_strlist *l)
{
  if (l->count > 1) {
    qsort(l->item, (size_t)l->count, sizeof(char *), cmp_str);
  }
}

void xca_strlist_free(struct xca_strlist *l)
{
  if (l == NULL) {
    return;
  }
  for (int i = 0; i < l->count; i++) {
    free(l->item[i]);
  }
  free(l->item);
  memset(l, 0, sizeof(*l));
}
