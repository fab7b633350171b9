#include "auth.h"

#include <string.h>

#include "xca_err.h"

/* The hooks one decision reads the registry through. */
struct hooks {
  xca_lookup_fn lookup;
  void *lookup_arg;
  xca_enroll_fn enroll; /* NULL: no enrollment */
  void *enroll_arg;
};

/* Whether a device without an entry may be handed to enrollment: never a
 * module, and only a chain that verified with the client id as its CN (an
 * identity is never created for a name its certificate does not carry). */
static int may_enroll(const struct hooks *h, const struct xca_cert_facts *facts,
                      const struct xca_ident *id)
{
  return h->enroll != NULL && !xca_ident_is_module(id) && facts->chain_ok && facts->cn_ok &&
         strcmp(facts->cn, id->full) == 0;
}

static int check_entry(const struct hooks *h, const struct xca_cert_facts *facts,
                       const struct xca_ident *id, struct xca_identity_rec *rec)
{
  int rc;

  if (xca_ident_is_module(id)) {
    struct xca_identity_rec device;
    rc = h->lookup(h->lookup_arg, id->device, &device);
    if (rc == XCA_E_NOT_FOUND || (rc == XCA_OK && !device.enabled)) {
      return XCA_E_DEVICE_DISABLED;
    }
    if (rc != XCA_OK) {
      return rc;
    }
  }
  rc = h->lookup(h->lookup_arg, id->full, rec);
  /* Only after the device's own entry proved absent (most specific first). */
  if (rc == XCA_E_NOT_FOUND && may_enroll(h, facts, id)) {
    rc = h->enroll(h->enroll_arg, facts, id->full, rec);
  }
  if (rc != XCA_OK) {
    return rc;
  }
  return rec->enabled ? XCA_OK : XCA_E_DISABLED;
}

/* Why the chain was refused: a chain that breaks the certificate policy is
 * refused for that rule. */
static int chain_error(const struct xca_cert_facts *facts)
{
  return facts->chain.policy_error != XCA_OK ? facts->chain.policy_error : XCA_E_CHAIN;
}

static int check_credentials(const struct xca_cert_facts *facts, const struct xca_ident *id,
                             const struct xca_identity_rec *rec)
{
  switch (rec->auth) {
  case XCA_AUTH_CA:
    if (!facts->chain_ok) {
      return chain_error(facts);
    }
    if (!facts->cn_ok || strcmp(facts->cn, id->full) != 0) {
      return XCA_E_CN_MISMATCH;
    }
    return XCA_OK;
  case XCA_AUTH_SELF_SIGNED:
    if (!facts->leaf_time_valid) {
      return XCA_E_EXPIRED;
    }
    /* No chain to check, but the key proving possession must be strong. */
    if (facts->leaf_key_error != XCA_OK) {
      return facts->leaf_key_error;
    }
    return xca_identity_thumbprint_matches(rec, facts->sha1, facts->sha256) ? XCA_OK
                                                                             : XCA_E_THUMBPRINT;
  default:
    return XCA_E_BAD_AUTH_TYPE;
  }
}

/* Whether any identity could accept this certificate: a certificateAuthority
 * one needs the chain, a selfSigned one a self-signed leaf. Decided before
 * the registry so that clients of unknown CAs cost no lookup and leave no
 * cache entry. */
static int check_acceptable(const struct xca_cert_facts *facts)
{
  return (facts->chain_ok || facts->self_signed) ? XCA_OK : chain_error(facts);
}

/* A missing entry, said better: a certificate whose chain passed and whose
 * leaf is not self-signed names its identity by its CN. When the client id
 * is another one and is not registered, the refusal says that the CN does
 * not match, which is what the device got wrong, instead of "not found". */
static int explain_not_found(const struct xca_cert_facts *facts, const struct xca_ident *id, int rc)
{
  if (rc == XCA_E_NOT_FOUND && facts->chain_ok && !facts->self_signed &&
      (!facts->cn_ok || strcmp(facts->cn, id->full) != 0)) {
    return XCA_E_CN_MISMATCH;
  }
  return rc;
}

static int decide(const struct xca_cert_facts *facts, const char *client_id, const char *username,
                  const char *hub_hostname, const struct hooks *h, struct xca_ident *ident)
{
  struct xca_ident id;
  struct xca_identity_rec rec;
  int rc;

  if (facts == NULL) {
    return XCA_E_NO_CERT;
  }
  rc = xca_ident_parse(client_id, &id);
  if (rc == XCA_OK) {
    rc = xca_username_check(username, &id, hub_hostname);
  }
  if (rc == XCA_OK) {
    rc = check_acceptable(facts);
  }
  if (rc == XCA_OK) {
    rc = explain_not_found(facts, &id, check_entry(h, facts, &id, &rec));
  }
  if (rc == XCA_OK) {
    rc = check_credentials(facts, &id, &rec);
  }
  if (rc == XCA_OK) {
    *ident = id;
  }
  return rc;
}

int xca_auth_decide(const struct xca_cert_facts *facts, const char *client_id,
                    const char *username, const char *hub_hostname, xca_lookup_fn lookup,
                    void *lookup_arg, struct xca_ident *ident)
{
  const struct hooks h = {lookup, lookup_arg, NULL, NULL};
  return decide(facts, client_id, username, hub_hostname, &h, ident);
}

int xca_auth_decide_enroll(const struct xca_cert_facts *facts, const char *client_id,
                           const char *username, const char *hub_hostname, xca_lookup_fn lookup,
                           void *lookup_arg, xca_enroll_fn enroll, void *enroll_arg,
                           struct xca_ident *ident)
{
  const struct hooks h = {lookup, lookup_arg, enroll, enroll_arg};
  return decide(facts, client_id, username, hub_hostname, &h, ident);
}
