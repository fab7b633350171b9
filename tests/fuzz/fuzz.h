/* fuzz.h - shared by the fuzz targets tests/fuzz/fuzz_<name>.c.
 *
 * Each target defines LLVMFuzzerTestOneInput, the libFuzzer entry point: it
 * is linked either with tests/fuzz/driver.c (portable, any compiler, run by
 * CTest) or with libFuzzer itself (Clang, -DXCA_LIBFUZZER=ON).
 */
#ifndef XCA_FUZZ_H
#define XCA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Run one input. Must not keep pointers into data; returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Check an invariant of the code under test: on failure print where and
 * why, then abort() so that libFuzzer or the driver saves the input. */
#define FUZZ_CHECK(cond)                                                                        \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);              \
      abort();                                                                                  \
    }                                                                                           \
  } while (0)

/* Return a malloc'ed NUL-terminated copy of data[0..size), or abort: an
 * allocation failure in the harness is not a finding. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);

  if (s == NULL) {
    abort();
  }
  for (size_t i = 0; i < size; i++) {
    s[i] = (char)data[i];
  }
  s[size] = '\0';
  return s;
}

#endif
