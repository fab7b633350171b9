/* xca_err.h - the one error table of x509ca.
 *
 * Every function of common/ that can fail returns int: XCA_OK (0) or one of
 * the codes below. The same table yields the short, human-readable strings
 * used in broker log lines and in admin JSON replies.
 */
#ifndef XCA_ERR_H
#define XCA_ERR_H

#include <stddef.h>

#define XCA_ERRNO_MAP(X)                                                          \
  X(NOMEM, "out of memory")                                                       \
  X(INVAL, "invalid argument")                                                    \
  X(OPTION, "invalid plugin option")                                              \
  X(BAD_ID, "invalid identity id")                                                \
  X(BAD_NAME, "invalid name")                                                     \
  X(BAD_USERNAME, "username does not name this identity")                         \
  X(BAD_HOSTNAME, "username names another hub hostname")                          \
  X(BAD_PEM, "invalid PEM certificate")                                           \
  X(PRIVATE_KEY, "a private key was supplied; it was discarded")                  \
  X(MULTIPLE_CERTS, "more than one certificate supplied")                         \
  X(NOT_CA, "certificate is not a CA certificate")                                \
  X(EXPIRED, "certificate is outside its validity period")                        \
  X(NO_CERT, "no client certificate")                                             \
  X(CHAIN, "certificate chain does not lead to a verified CA")                    \
  X(CN_MISMATCH, "certificate CN does not match the client id")                   \
  X(THUMBPRINT, "certificate thumbprint does not match the registry")             \
  X(BAD_THUMBPRINT, "invalid thumbprint")                                         \
  X(NOT_FOUND, "not found")                                                       \
  X(EXISTS, "already exists")                                                     \
  X(DISABLED, "identity is disabled")                                             \
  X(DEVICE_DISABLED, "parent device is disabled or missing")                      \
  X(BAD_AUTH_TYPE, "invalid authentication type")                                 \
  X(BAD_STATUS, "invalid status")                                                 \
  X(CODE_MISMATCH, "verification certificate CN does not match the live code")    \
  X(CODE_EXPIRED, "verification code expired")                                    \
  X(NO_CODE, "no live verification code")                                         \
  X(SIGNATURE, "certificate is not signed by this CA's key")                      \
  X(ALREADY_VERIFIED, "CA is already verified")                                   \
  X(REGISTRY_UNAVAILABLE, "registry unavailable")                                 \
  X(STALE, "registry unavailable and cached entry too old")                       \
  X(JSON, "invalid JSON")                                                         \
  X(NUL_IN_STRING, "invalid argument: string contains NUL")                       \
  X(TOO_LARGE, "payload too large")                                               \
  X(UNKNOWN_COMMAND, "unknown command")                                           \
  X(MISSING_ARG, "missing or invalid argument")                                   \
  X(NO_DEVICE, "the module's device does not exist")                             \
  X(NEED_THUMBPRINT, "selfSigned authentication requires a primaryThumbprint")  \
  X(RANDOM, "random number generator failed")                                    \
  X(WEAK_KEY, "certificate key too weak")                                         \
  X(BAD_CURVE, "certificate EC curve not allowed")                                \
  X(KEY_TYPE, "certificate key type not allowed")                                 \
  X(WEAK_DIGEST, "certificate signature digest too weak")                         \
  X(LEAF_IS_CA, "client certificate is a CA certificate (CA:TRUE)")               \
  X(LEAF_USAGE, "client certificate keyUsage lacks digitalSignature")             \
  X(LEAF_EKU, "client certificate extendedKeyUsage lacks clientAuth")           \
  X(GROUP_DISABLED, "enrollment group is disabled")                               \
  X(GROUP_DUPLICATE, "another enrollment group has this certificate")            \
  X(REVOKED, "certificate is revoked")                                            \
  X(CRL_EXPIRED, "the issuer's CRL has expired")                                  \
  X(BAD_CRL, "invalid CRL")                                                       \
  X(CRL_SIGNATURE, "CRL is not signed by its issuer's key")                       \
  X(CRL_NOT_NEWER, "CRL is not newer than the one held for its issuer")           \
  X(CRL_ISSUER, "CRL issuer is neither a registered CA nor chains to a verified CA") \
  X(BUSY, "busy: too many admin requests are waiting; try again")               \
  X(WRONG_TYPE, "registry key holds another type than a hash")

enum xca_err {
  XCA_OK = 0,
#define XCA_ERR_ENUM(name, msg) XCA_E_##name,
  XCA_ERRNO_MAP(XCA_ERR_ENUM)
#undef XCA_ERR_ENUM
  XCA_E_MAX_
};

/* Return the short name of an error code ("OK", "NOT_FOUND", ...).
 * Never returns NULL; unknown codes give "UNKNOWN". The string is static. */
const char *xca_err_name(int err);

/* Return the human-readable message of an error code. Never returns NULL;
 * unknown codes give "unknown error". The string is static. */
const char *xca_strerror(int err);

/* Copy in (NULL gives "") into out for a log line: control characters,
 * DEL and non-ASCII bytes become '?', so that a client-chosen string (a
 * client id, a certificate CN) can neither forge log lines nor garble them.
 * Truncated to fit outlen (> 0). Returns out. */
char *xca_log_sanitize(const char *in, char *out, size_t outlen);

/* The same for a value that must stay one word of a key=value line (an
 * audit line's admin or command): spaces and '"' become '?' too, and NULL
 * or "" gives "-". Returns out. */
char *xca_log_sanitize_word(const char *in, char *out, size_t outlen);

#endif
