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

/* The one sanitiser: printable ASCII is kept (in a word, not space or '"'),
 * any other byte becomes '?'. */
static char *sanitize(const char *in, char *out, size_t outlen, int word)
{
  size_t n = 0;

  for (; in != NULL && *in != '\0' && n + 1 < outlen; in++) {
    unsigned char c = (unsigned char)*in;
    int keep = c >= ' ' && c < 0x7f && !(word && (c == ' ' || c == '"'));
    out[n++] = keep ? (char)c : '?';
  }
  out[n] = '\0';
  return out;
}

char *xca_log_sanitize(const char *in, char *out, size_t outlen)
{
  return sanitize(in, out, outlen, 0);
}

char *xca_log_sanitize_word(const char *in, char *out, size_t outlen)
{
  return sanitize(in != NULL && *in != '\0' ? in : "-", out, outlen, 1);
}
