/* auth.h - the connect decision for one certificate-authenticated client. */
#ifndef XCA_AUTH_H
#define XCA_AUTH_H

#include <time.h>

#include "certinfo.h"
#include "ids.h"
#include "registry.h"
#include "trust.h"

/* What the TLS handshake established about the client's certificate. */
struct xca_cert_facts {
  int chain_ok;        /* the chain led to a verified CA (chain.x509_error says why not) */
  int self_signed;     /* the leaf is its own issuer and its signature verifies */
  int leaf_key_error;  /* XCA_OK, or why the leaf's key breaks the policy (selfSigned) */
  int leaf_time_valid; /* the leaf is inside its validity period */
  int cn_ok;           /* cn holds the single subject CN */
  char cn[XCA_CN_MAX];
  char sha1[XCA_SHA1_HEX];
  char sha256[XCA_SHA256_HEX];
  struct xca_chain_result chain; /* anchors the chain passed through */
  unsigned long trust_generation; /* the CA set these facts were checked against */
  unsigned long revocation_generation; /* and the revocation set */
  time_t verified_at;             /* when (seconds) */
};

/* Look up one identity ("device" or "device/module"): XCA_OK, XCA_E_NOT_FOUND,
 * XCA_E_REGISTRY_UNAVAILABLE or XCA_E_STALE. */
typedef int (*xca_lookup_fn)(void *arg, const char *identity, struct xca_identity_rec *out);

/* Decide whether a client may connect. facts may be NULL (no certificate).
 * Checks, in order: client id syntax, username, a chain that does not lead
 * to a verified CA is refused (XCA_E_CHAIN) unless the leaf is self-signed,
 * the registry entry (and a module's device entry) exists and is enabled,
 * then by authentication type the chain and CN (certificateAuthority) or
 * the thumbprint (selfSigned). Only a certificate that can pass one of the
 * two costs a lookup: a selfSigned identity presents a self-signed leaf, so
 * a leaf issued by an unknown CA is refused without reading the registry.
 * A chain refused by the certificate policy gives the policy's error
 * (facts->chain.policy_error, e.g. XCA_E_WEAK_KEY) instead of XCA_E_CHAIN.
 * An unregistered client id presented with a CA-signed (not self-signed)
 * certificate whose CN is another id gives XCA_E_CN_MISMATCH, not
 * XCA_E_NOT_FOUND: the CN names the identity the device meant.
 * Returns XCA_OK with *ident filled, or the error code of the first failed
 * check (xca_strerror() gives the reason for the log). */
int xca_auth_decide(const struct xca_cert_facts *facts, const char *client_id,
                    const char *username, const char *hub_hostname, xca_lookup_fn lookup,
                    void *lookup_arg, struct xca_ident *ident);

/* Enroll a device that has no registry entry (README "Enrollment groups"):
 * called only for a device (never a module) whose chain verified
 * (facts->chain_ok) and whose CN equals identity. Returns XCA_OK with *out
 * the entry that now decides (created, or found created meanwhile),
 * XCA_E_NOT_FOUND when nothing enrolls it, or another error, e.g.
 * XCA_E_GROUP_DISABLED or XCA_E_REGISTRY_UNAVAILABLE. */
typedef int (*xca_enroll_fn)(void *arg, const struct xca_cert_facts *facts, const char *identity,
                             struct xca_identity_rec *out);

/* As xca_auth_decide, with enrollment: a device whose lookup says
 * XCA_E_NOT_FOUND, whose chain verified and whose CN is its client id is
 * handed to enroll (NULL: never), whose answer then decides as the entry
 * would (enabled, certificateAuthority). The device's own entry, when it
 * exists, always decides; modules are never enrolled. */
int xca_auth_decide_enroll(const struct xca_cert_facts *facts, const char *client_id,
                           const char *username, const char *hub_hostname, xca_lookup_fn lookup,
                           void *lookup_arg, xca_enroll_fn enroll, void *enroll_arg,
                           struct xca_ident *ident);

#endif
