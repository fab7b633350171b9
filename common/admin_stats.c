/* admin_stats.c - getStats: the counters each broker also publishes under
 * $SYS/broker/x509ca/ (README "Audit stream and stats"). */
#include "admin_internal.h"
#include "xca_err.h"

static int add_counter(void *arg, const char *name, unsigned long long value)
{
  return xca_admin__add_num(arg, name, (double)value);
}

int xca_admin__get_stats(struct xca_admin_cmd *c)
{
  if (c->ctx->stats == NULL) {
    return XCA_E_INVAL;
  }
  return xca_stats_each(c->ctx->stats, add_counter, c->data);
}
