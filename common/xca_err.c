#include "xca_err.h"

const char *xca_err_name(int err)
{
  switch (err) {
  case XCA_OK:
    return "OK";
#define XCA_ERR_NAME(name, msg) \
  case XCA_E_##name:            \
    return #name;
    XCA_ERRNO_MAP(XCA_ERR_NAME)
#undef XCA_ERR_NAME
  default:
    return "UNKNOWN";
  }
}

const char *xca_strerror(int err)
{
  switch (err) {
  case XCA_OK:
    return "success";
#define XCA_ERR_MSG(name, msg) \
  case XCA_E_##name:           \
    return msg;
    XCA_ERRNO_MAP(XCA_ERR_MSG)
#undef XCA_ERR_MSG
  default:
    return "unknown error";
  }
}

char *xca_log_sanitize(const char *in, char *out, size_t outlen)
{
  size_t n = 0;

  for (; in != NULL && *in != '\0' && n + 1 < outlen; in++) {
    unsigned char c = (unsigned char)*in;
    out[n++] = (c >= ' ' && c < 0x7f) ? (char)c : '?';
  }
  out[n] = '\0';
  return out;
}
