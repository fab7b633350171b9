/* pki_fixture.h - certificates for unit tests, made by scripts/x509ca-pki.
 *
 * Runs the PKI script (found through $XCA_SOURCE_DIR) into a fresh temp dir
 * so the tests check our code against the same certificates users make.
 */
#ifndef XCA_PKI_FIXTURE_H
#define XCA_PKI_FIXTURE_H

#include <openssl/x509.h>

/* Create a temp dir and run each "ARGS" line of script through
 * x509ca-pki --dir <tmp> ARGS. Returns the dir (static storage) or NULL. */
const char *xca_fixture_pki(const char *const *commands, int count);

/* Load DIR/name (PEM) as one X509, or NULL. */
X509 *xca_fixture_cert(const char *name);

/* Load every certificate of DIR/name into a new stack, or NULL. */
STACK_OF(X509) *xca_fixture_chain(const char *name);

/* Read DIR/name into a malloc'ed NUL-terminated buffer, or NULL. */
char *xca_fixture_read(const char *name);

/* Remove the temp dir. */
void xca_fixture_cleanup(void);

#endif
