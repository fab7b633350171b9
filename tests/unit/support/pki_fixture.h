/* pki_fixture.h - a named PKI for unit tests, made in-process (certgen.h).
 *
 * A test lists its certificates once, each naming its issuer, and asks for
 * them by name: a certificate, its PEM, its key's PEM, or its chain as a
 * device sends it. The entries take scripts/x509ca-pki's certificate
 * profiles (XCA_TCERT_CA, XCA_TCERT_DEVICE), so the tests judge the kind of
 * certificates users make; the script itself is run against the plugin by
 * the integration tests. One fixture PKI per test program; not thread-safe.
 */
#ifndef XCA_PKI_FIXTURE_H
#define XCA_PKI_FIXTURE_H

#include <openssl/x509.h>

#include "certgen.h"

/* Validity of an expired certificate: from two years ago to one year ago. */
#define XCA_FIXTURE_EXPIRED .from_s = -2 * 365 * 86400L, .to_s = -365 * 86400L

struct xca_fixture_entry {
  const char *name;           /* how tests ask for it (static storage) */
  const char *issuer;         /* an earlier entry's name; NULL = self-signed */
  struct xca_tcert_spec spec; /* spec.cn NULL = name */
};

/* Name the entries the group setup below makes (entries must outlive the
 * group). */
void xca_fixture_use(const struct xca_fixture_entry *entries, int count);

/* cmocka group setup: make the entries given to xca_fixture_use, in order.
 * Returns 0, or -1 with the failing entry on stderr. */
int xca_fixture_setup(void **state);

/* cmocka group teardown: free every certificate. Returns 0. */
int xca_fixture_teardown(void **state);

/* A new reference to entry name's certificate (X509_free it), or NULL. */
X509 *xca_fixture_cert(const char *name);

/* Entry name's certificate followed by its issuers up to, not including,
 * the self-signed root: the chain a device sends. A new stack (free with
 * sk_X509_pop_free(chain, X509_free)), or NULL. */
STACK_OF(X509) *xca_fixture_chain(const char *name);

/* Entry name's certificate and key (borrowed, valid until teardown), or
 * NULL. */
const struct xca_tcert *xca_fixture_tcert(const char *name);

/* PEM of entry name's certificate / private key, malloc'ed, or NULL. */
char *xca_fixture_pem(const char *name);
char *xca_fixture_key_pem(const char *name);

#endif
