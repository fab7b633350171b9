/* strlist.h - a growable array of owned strings: the one list type of
 * common/ (scan results, CA names, audit lines, changed keys). */
#ifndef XCA_STRLIST_H
#define XCA_STRLIST_H

/* Zero-initialise ({0}) for an empty list. item[0..count) are owned,
 * NUL-terminated copies. */
struct xca_strlist {
  char **item;
  int count;
  int cap;
};

/* Append a copy of s to l. Returns XCA_OK or XCA_E_NOMEM (l unchanged). */
int xca_strlist_add(struct xca_strlist *l, const char *s);

/* Sort the items of l in strcmp order. */
void xca_strlist_sort(struct xca_strlist *l);

/* Release every string and the array, and zero l. NULL-safe. */
void xca_strlist_free(struct xca_strlist *l);

#endif
