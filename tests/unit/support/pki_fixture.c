#include "pki_fixture.h"

#include <stdio.h>
#include <string.h>

#define MAX_ENTRIES 32

struct made {
  const char *name;
  struct xca_tcert tc;
  int issuer; /* index into made[], -1 = self-signed */
};

static const struct xca_fixture_entry *wanted;
static int nwanted;
static struct made made[MAX_ENTRIES];
static int nmade;

void xca_fixture_use(const struct xca_fixture_entry *entries, int count)
{
  wanted = entries;
  nwanted = count;
}

static int find(const char *name)
{
  for (int i = 0; name != NULL && i < nmade; i++) {
    if (strcmp(made[i].name, name) == 0) {
      return i;
    }
  }
  return -1;
}

static int make_entry(const struct xca_fixture_entry *e)
{
  struct xca_tcert_spec spec = e->spec;
  struct made *m = &made[nmade];
  int issuer = find(e->issuer);

  if (nmade == MAX_ENTRIES || find(e->name) >= 0 || (e->issuer != NULL && issuer < 0)) {
    return -1;
  }
  if (spec.cn == NULL) {
    spec.cn = e->name;
  }
  if (xca_certgen_spec(&m->tc, &spec, issuer >= 0 ? &made[issuer].tc : NULL) != 0) {
    return -1;
  }
  m->name = e->name;
  m->issuer = issuer;
  nmade++;
  return 0;
}

int xca_fixture_setup(void **state)
{
  (void)state;
  for (int i = 0; i < nwanted; i++) {
    if (make_entry(&wanted[i]) != 0) {
      fprintf(stderr, "pki fixture: cannot make '%s'\n", wanted[i].name);
      return -1;
    }
  }
  return 0;
}

int xca_fixture_teardown(void **state)
{
  (void)state;
  for (int i = 0; i < nmade; i++) {
    xca_certgen_free(&made[i].tc);
  }
  nmade = 0;
  return 0;
}

X509 *xca_fixture_cert(const char *name)
{
  int i = find(name);

  if (i < 0 || !X509_up_ref(made[i].tc.cert)) {
    return NULL;
  }
  return made[i].tc.cert;
}

/* Push a new reference to cert. Returns 1, or 0 (nothing pushed). */
static int push_ref(STACK_OF(X509) *chain, X509 *cert)
{
  if (!X509_up_ref(cert)) {
    return 0;
  }
  if (!sk_X509_push(chain, cert)) {
    X509_free(cert);
    return 0;
  }
  return 1;
}

STACK_OF(X509) *xca_fixture_chain(const char *name)
{
  int leaf = find(name);
  STACK_OF(X509) *chain = leaf < 0 ? NULL : sk_X509_new_null();

  for (int i = leaf; chain != NULL && i >= 0; i = made[i].issuer) {
    if (i != leaf && made[i].issuer < 0) {
      break; /* the root: a device does not send it */
    }
    if (!push_ref(chain, made[i].tc.cert)) {
      sk_X509_pop_free(chain, X509_free);
      return NULL;
    }
  }
  return chain;
}

const struct xca_tcert *xca_fixture_tcert(const char *name)
{
  int i = find(name);
  return i < 0 ? NULL : &made[i].tc;
}

char *xca_fixture_pem(const char *name)
{
  int i = find(name);
  return i < 0 ? NULL : xca_certgen_pem(&made[i].tc);
}

char *xca_fixture_key_pem(const char *name)
{
  int i = find(name);
  return i < 0 ? NULL : xca_certgen_key_pem(&made[i].tc);
}
