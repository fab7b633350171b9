#include "ids.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "xca_err.h"

static int id_char_ok(unsigned char c)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return 1;
  }
  return c != '\0' && strchr("-.%_*?!(),:=@$'", c) != NULL;
}

int xca_id_valid_n(const char *id, size_t len)
{
  if (id == NULL || len == 0 || len > XCA_ID_MAX) {
    return 0;
  }
  for (size_t i = 0; i < len; i++) {
    if (!id_char_ok((unsigned char)id[i])) {
      return 0;
    }
  }
  return 1;
}

int xca_id_valid(const char *id)
{
  return id != NULL && xca_id_valid_n(id, strnlen(id, XCA_ID_MAX + 1));
}

int xca_ident_make(const char *device, const char *module, struct xca_ident *out)
{
  int has_module = module != NULL && *module != '\0';

  if (!xca_id_valid(device) || (has_module && !xca_id_valid(module))) {
    return XCA_E_BAD_ID;
  }
  memset(out, 0, sizeof(*out));
  strcpy(out->device, device);
  if (has_module) {
    strcpy(out->module, module);
    snprintf(out->full, sizeof(out->full), "%s/%s", device, module);
  } else {
    strcpy(out->full, device);
  }
  return XCA_OK;
}

int xca_ident_parse(const char *text, struct xca_ident *out)
{
  char device[XCA_ID_MAX + 1];
  const char *slash;
  size_t dlen;

  if (text == NULL) {
    return XCA_E_BAD_ID;
  }
  slash = strchr(text, '/');
  if (slash == NULL) {
    return xca_ident_make(text, NULL, out);
  }
  dlen = (size_t)(slash - text);
  if (!xca_id_valid_n(text, dlen) || strchr(slash + 1, '/') != NULL || slash[1] == '\0') {
    return XCA_E_BAD_ID;
  }
  memcpy(device, text, dlen);
  device[dlen] = '\0';
  return xca_ident_make(device, slash + 1, out);
}

int xca_ident_is_module(const struct xca_ident *id)
{
  return id->module[0] != '\0';
}

int xca_username_check(const char *username, const struct xca_ident *id, const char *hub_hostname)
{
  const char *slash;
  size_t idlen = strlen(id->full);

  if (username == NULL || *username == '\0' || strcmp(username, id->full) == 0) {
    return XCA_OK;
  }
  /* IoT Hub style: {hostname}/{identity}/?{anything} */
  slash = strchr(username, '/');
  if (slash == NULL || slash == username) {
    return XCA_E_BAD_USERNAME;
  }
  if (strncmp(slash + 1, id->full, idlen) != 0 || slash[1 + idlen] != '/' ||
      slash[2 + idlen] != '?') {
    return XCA_E_BAD_USERNAME;
  }
  if (hub_hostname != NULL && (strlen(hub_hostname) != (size_t)(slash - username) ||
                               strncasecmp(username, hub_hostname, strlen(hub_hostname)) != 0)) {
    return XCA_E_BAD_HOSTNAME;
  }
  return XCA_OK;
}
