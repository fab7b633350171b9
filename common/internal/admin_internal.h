/* admin_internal.h - shared by admin.c (parsing, dispatch, reply, audit) and
 * the command handlers in admin_ca.c, admin_device.c, admin_group.c and
 * admin_stats.c. Not a public API: names carry the xca_admin__ prefix. */
#ifndef XCA_ADMIN_INTERNAL_H
#define XCA_ADMIN_INTERNAL_H

#include <cjson/cJSON.h>

#include <openssl/x509.h>

#include "admin.h"
#include "ids.h"

/* One command being run. The dispatcher fills ctx, args, data and changed;
 * the handler validates its arguments, acts on the registry, fills data and
 * the audit facts (target, audit_extra), and returns XCA_OK or an error. */
struct xca_admin_cmd {
  const struct xca_admin_ctx *ctx;
  const cJSON *args;             /* the command object (borrowed) */
  cJSON *data;                   /* the reply's "data" object, to fill */
  struct xca_strlist *changed;   /* keys changed so far (without prefix) */
  char target[XCA_KEY_UNPREFIXED_MAX]; /* audit target: the key without prefix, once validated */
  const char *what;              /* "CA", "device", "module", "enrollment group": names
                                    NOT_FOUND/EXISTS */
  const char *bad_arg;           /* static name of the argument an error is about */
  const char *bad_value;         /* its value as given (borrowed from the request), or NULL */
  const char *rule;              /* static rule it breaks, e.g. "must be enabled or disabled" */
  const char *audit_extra;       /* static text added to the audit line */
  char detail[96];               /* what the error is about, e.g. "RSA 1024 bits < 2048", or "" */
};

typedef int (*xca_admin_handler_fn)(struct xca_admin_cmd *c);

/* ---- helpers (admin.c) ---- */

/* The current unix time from the context's clock. */
time_t xca_admin__now(const struct xca_admin_cmd *c);

/* Read string argument name into *out (borrowed from the request). Absent:
 * XCA_E_MISSING_ARG when required, else XCA_OK with *out = NULL. Present
 * but not a string: XCA_E_MISSING_ARG ("must be a string"). c->bad_arg
 * names it on error. */
int xca_admin__arg_str(struct xca_admin_cmd *c, const char *name, int required,
                       const char **out);

/* Record that argument name (static) is wrong: value (borrowed from the
 * request; NULL = not shown) breaks rule (static; NULL = none stated). The
 * error then reads "<reason>: <name> '<value>' <rule>", the reason coming
 * from the error table (xca_err.h). Returns err, for `return
 * xca_admin__bad_arg(...)`. */
int xca_admin__bad_arg(struct xca_admin_cmd *c, int err, const char *name, const char *value,
                       const char *rule);

/* Return the argument item name (borrowed) or NULL. */
const cJSON *xca_admin__arg(const struct xca_admin_cmd *c, const char *name);

/* Add name: value to obj as a string, or JSON null when value is NULL.
 * Returns XCA_OK or XCA_E_NOMEM. */
int xca_admin__add_str(cJSON *obj, const char *name, const char *value);

/* Add name: value to obj as a number. Returns XCA_OK or XCA_E_NOMEM. */
int xca_admin__add_num(cJSON *obj, const char *name, double value);

/* Append a new empty object to arr; *obj is it (owned by arr). Returns
 * XCA_OK or XCA_E_NOMEM (*obj NULL). */
int xca_admin__append_object(cJSON *arr, cJSON **obj);

/* Build the key of kind and name (xca_registry_key on the context's
 * registry). Returns XCA_OK or XCA_E_INVAL. */
int xca_admin__key(const struct xca_admin_cmd *c, enum xca_key_kind kind, const char *name,
                   char key[XCA_KEY_MAX]);

/* Record that the key of kind and name changed. Returns XCA_OK, XCA_E_NOMEM
 * or XCA_E_INVAL (no such key). */
int xca_admin__changed(struct xca_admin_cmd *c, enum xca_key_kind kind, const char *name);

/* Set the audit target to the key of kind and name without the prefix. */
void xca_admin__target(struct xca_admin_cmd *c, enum xca_key_kind kind, const char *name);

/* Collect into names, sorted, the name of every key of kind (CA or GROUP)
 * whose name is valid ([A-Za-z0-9._-]{1,64}): only names the other
 * commands can reach are listed, at most max of them. Returns XCA_OK,
 * XCA_E_REGISTRY_UNAVAILABLE or XCA_E_NOMEM. */
int xca_admin__names(struct xca_admin_cmd *c, enum xca_key_kind kind, int max,
                     struct xca_strlist *names);

/* cert (a CA certificate) must be a verified CA of the registry or chain
 * to one through untrusted (may be NULL), as the brokers would verify it
 * now: signatures, validity, the certificate policy, and no certificate of
 * that chain revoked (x509ca:revoked: keys). Returns XCA_OK, XCA_E_NOT_CA,
 * XCA_E_CHAIN, a policy error, XCA_E_REVOKED, XCA_E_REGISTRY_UNAVAILABLE
 * or XCA_E_NOMEM; on refusal c->detail says why. (admin_group.c) */
int xca_admin__check_ca_chain(struct xca_admin_cmd *c, X509 *cert, STACK_OF(X509) *untrusted);

/* ---- handlers (admin_ca.c) ---- */
int xca_admin__upload_ca(struct xca_admin_cmd *c);
int xca_admin__generate_code(struct xca_admin_cmd *c);
int xca_admin__verify_ca(struct xca_admin_cmd *c);
int xca_admin__get_ca(struct xca_admin_cmd *c);
int xca_admin__list_cas(struct xca_admin_cmd *c);
int xca_admin__delete_ca(struct xca_admin_cmd *c);

/* ---- handlers (admin_device.c) ---- */
int xca_admin__create_device(struct xca_admin_cmd *c);
int xca_admin__get_device(struct xca_admin_cmd *c);
int xca_admin__update_device(struct xca_admin_cmd *c);
int xca_admin__delete_device(struct xca_admin_cmd *c);
int xca_admin__list_devices(struct xca_admin_cmd *c);

/* ---- handlers (admin_group.c) ---- */
int xca_admin__create_group(struct xca_admin_cmd *c);
int xca_admin__get_group(struct xca_admin_cmd *c);
int xca_admin__list_groups(struct xca_admin_cmd *c);
int xca_admin__update_group(struct xca_admin_cmd *c);
int xca_admin__delete_group(struct xca_admin_cmd *c);

/* ---- handlers (admin_revoke.c) ---- */
int xca_admin__revoke_certificate(struct xca_admin_cmd *c);
int xca_admin__unrevoke_certificate(struct xca_admin_cmd *c);
int xca_admin__list_revoked(struct xca_admin_cmd *c);
int xca_admin__upload_crl(struct xca_admin_cmd *c);
int xca_admin__list_crls(struct xca_admin_cmd *c);
int xca_admin__delete_crl(struct xca_admin_cmd *c);

/* ---- handlers (admin_stats.c) ---- */
int xca_admin__get_stats(struct xca_admin_cmd *c);

#endif
