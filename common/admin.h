/* admin.h - the admin commands of $CONTROL/x509ca/v1 (README "Admin topics").
 *
 * One call handles one request payload: it parses
 *   {"commands":[{"command":"<name>", ...args, "correlationData":"..."}]}
 * runs each command in order against the registry (the xca_kv seam, schema
 * of README "The registry in Redis") and produces
 *   {"responses":[{"command":"<name>", "data":{...}, "correlationData":"..."}]}
 * with "error":"<reason>" instead of "data" for a command that failed. It
 * also yields one audit line per command (who, command, target, result; no
 * certificate, key or verification code in them) and the registry keys that
 * changed, so the broker can react at once. No Mosquitto dependency.
 *
 * getStats returns ctx->stats, keyed by their $SYS suffix.
 *
 * With ctx->refuse set (XCA_E_BUSY: the broker's admin queue is full)
 * every command of a well-formed request is answered with that error and
 * audited as such, and none runs: nothing is read or written.
 *
 * Arguments beyond the contract (documented in README.md):
 *   listDevices  "cursor" (string, "0" or absent = start), "count" (1..1000,
 *                default 100: a SCAN COUNT hint, a page may hold somewhat
 *                more or fewer), "deviceId" (only this device's modules).
 *                data: "devices", "cursor" (pass it back for the next page;
 *                "0" when the iteration is complete).
 *   updateDevice "primaryThumbprint"/"secondaryThumbprint" set to "" or null
 *                remove the thumbprint.
 *   deleteDevice of a device also deletes its modules; data
 *                {"modulesDeleted": n}.
 *   generateVerificationCode on a verified CA is refused ("CA is already
 *                verified"): its code could never be used.
 *   createDevice with moduleId requires the device to exist.
 *   uploadCA and verifyCA hold the CA certificate and the verification
 *                certificate to the certificate policy (policy.h, with
 *                cfg->min_rsa_bits); the error names what broke it, e.g.
 *                "certificate key too weak (RSA 1024 bits < 2048)".
 */
#ifndef XCA_ADMIN_H
#define XCA_ADMIN_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "registry.h"
#include "stats.h"
#include "strlist.h"

/* Wall clock in unix seconds; injectable for tests. */
typedef time_t (*xca_admin_clock_fn)(void *arg);

struct xca_admin_ctx {
  const struct xca_registry *reg; /* borrowed: the kv seam and the key prefix */
  const struct xca_config *cfg;   /* borrowed: verification_code_ttl, max_admin_payload,
                                     min_rsa_bits */
  xca_admin_clock_fn now;         /* NULL = time(NULL) */
  void *now_arg;                  /* passed to now */
  const struct xca_stats *stats;  /* borrowed: what getStats returns (NULL: it fails) */
  int refuse;                     /* non-zero: an error code every command is answered
                                     with, none run (e.g. XCA_E_BUSY) */
};

/* The facts of one audit line, each as the line shows it (sanitised,
 * secrets masked). */
struct xca_admin_audit {
  char admin[65];   /* the admin user, "-" when unknown */
  char command[65]; /* the command, "unknown" for a name not in the table, "-" for none */
  char target[300]; /* "ca:<name>", "device:<id>", or "-" */
  char detail[64];  /* masked extras ("verificationCode=*****"), "" when none */
  char result[300]; /* "ok" or "error (<reason>)" */
};

/* What one request produced; release with xca_admin_result_free. */
struct xca_admin_result {
  char *response;            /* the JSON reply, NUL-terminated */
  size_t response_len;       /* strlen(response) */
  struct xca_strlist audit;  /* one line per command (or one for a bad payload) */
  struct xca_admin_audit *records; /* the same, as fields: records[i] is audit.item[i] */
  struct xca_strlist changed; /* changed keys without the prefix: "ca:n", "device:d[/m]" */
};

/* Handle one request payload (len bytes, need not be NUL-terminated) sent
 * by admin_name (used in audit lines only; NULL logs as "-"). Every command
 * runs, in order, even after another failed. A payload larger than
 * cfg->max_admin_payload, not valid JSON, without a "commands" array, or
 * with any string (value or key) that decodes to a NUL byte (\u0000 or a
 * raw 0 byte: its C string would be cut short) gets one response with an
 * "error" and runs no command.
 * Returns XCA_OK with *out filled (the reply may still carry errors), or
 * XCA_E_NOMEM / XCA_E_INVAL (ctx incomplete) with *out zeroed. */
int xca_admin_handle(const struct xca_admin_ctx *ctx, const char *payload, size_t len,
                     const char *admin_name, struct xca_admin_result *out);

/* Release everything r holds and zero it. NULL-safe. */
void xca_admin_result_free(struct xca_admin_result *r);

#endif
