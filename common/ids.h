/* ids.h - device/module identity ids, client ids and IoT-Hub-style usernames. */
#ifndef XCA_IDS_H
#define XCA_IDS_H

#include <stddef.h>

#define XCA_ID_MAX 128
/* "deviceId/moduleId" plus the terminating NUL. */
#define XCA_IDENTITY_MAX (2 * XCA_ID_MAX + 2)

struct xca_ident {
  char device[XCA_ID_MAX + 1];
  char module[XCA_ID_MAX + 1]; /* "" for a device identity */
  char full[XCA_IDENTITY_MAX]; /* "device" or "device/module" */
};

/* The rule of xca_id_valid, as error messages state it (\u2013: an en dash). */
#define XCA_ID_RULE "must be 1\u2013" "128 of A-Z a-z 0-9 - . % _ * ? ! ( ) , : = @ $ '"

/* Return 1 if id is 1-128 characters of IoT Hub's set
 * (A-Z a-z 0-9 - . % _ * ? ! ( ) , : = @ $ '), else 0. NULL gives 0. */
int xca_id_valid(const char *id);

/* Return 1 if len bytes at id form a valid id (see xca_id_valid), else 0. */
int xca_id_valid_n(const char *id, size_t len);

/* Parse "deviceId" or "deviceId/moduleId" into out. Returns XCA_OK, or
 * XCA_E_BAD_ID (out untouched) when either part is invalid or there are more
 * than two parts. */
int xca_ident_parse(const char *text, struct xca_ident *out);

/* Build an identity from separate ids (module may be NULL or ""). Returns
 * XCA_OK or XCA_E_BAD_ID (out untouched). */
int xca_ident_make(const char *device, const char *module, struct xca_ident *out);

/* Return 1 when the identity is a module, else 0. */
int xca_ident_is_module(const struct xca_ident *id);

/* Check an MQTT username against the identity taken from the client id.
 * Accepted: NULL or "", exactly the identity, or IoT Hub style
 * "{hostname}/{deviceId}/?..." ("{hostname}/{deviceId}/{moduleId}/?..." for
 * a module; anything may follow the '?'). When hub_hostname is non-NULL an
 * IoT-Hub-style username must name it (case-insensitive).
 * Returns XCA_OK, XCA_E_BAD_USERNAME or XCA_E_BAD_HOSTNAME. */
int xca_username_check(const char *username, const struct xca_ident *id, const char *hub_hostname);

#endif
