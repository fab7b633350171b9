#include "pki_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

static char fixture_dir[256];

const char *xca_fixture_pki(const char *const *commands, int count)
{
  const char *src = getenv("XCA_SOURCE_DIR");
  char cmd[1024];

  snprintf(fixture_dir, sizeof(fixture_dir), "/tmp/xca-unit-XXXXXX");
  if (src == NULL || mkdtemp(fixture_dir) == NULL) {
    fprintf(stderr, "pki fixture: XCA_SOURCE_DIR unset or mkdtemp failed\n");
    return NULL;
  }
  for (int i = 0; i < count; i++) {
    snprintf(cmd, sizeof(cmd), "'%s/scripts/x509ca-pki' --dir '%s' %s >/dev/null", src,
             fixture_dir, commands[i]);
    if (system(cmd) != 0) {
      fprintf(stderr, "pki fixture: failed: %s\n", cmd);
      return NULL;
    }
  }
  return fixture_dir;
}

static FILE *open_fixture(const char *name)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
  return fopen(path, "r");
}

X509 *xca_fixture_cert(const char *name)
{
  FILE *f = open_fixture(name);
  X509 *cert;

  if (f == NULL) {
    return NULL;
  }
  cert = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  return cert;
}

STACK_OF(X509) *xca_fixture_chain(const char *name)
{
  FILE *f = open_fixture(name);
  STACK_OF(X509) *chain;
  X509 *cert;

  if (f == NULL) {
    return NULL;
  }
  chain = sk_X509_new_null();
  while ((cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
    sk_X509_push(chain, cert);
  }
  fclose(f);
  return chain;
}

char *xca_fixture_read(const char *name)
{
  FILE *f = open_fixture(name);
  char *buf;
  long n;

  if (f == NULL) {
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  rewind(f);
  buf = malloc((size_t)n + 1);
  if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  if (buf != NULL) {
    buf[n] = '\0';
  }
  fclose(f);
  return buf;
}

void xca_fixture_cleanup(void)
{
  char cmd[300];
  if (fixture_dir[0] != '\0') {
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fixture_dir);
    if (system(cmd) != 0) {
      fprintf(stderr, "pki fixture: could not remove %s\n", fixture_dir);
    }
    fixture_dir[0] = '\0';
  }
}
