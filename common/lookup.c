#include "lookup.h"

#include "clock.h"
#include "xca_err.h"

static long long now_of(const struct xca_lookup *lk)
{
  return lk->now_ms != NULL ? lk->now_ms() : xca_now_ms();
}

static int following(const struct xca_lookup *lk)
{
  return lk->following != NULL && lk->following(lk->following_arg);
}

/* The oldest fetch time an entry may have to be used while changes are not
 * followed: an entry is known current up to when following stopped (or to
 * its fetch, if later), and may be used for stale_max_s after that. */
static long long min_fresh_fetch_ms(const struct xca_lookup *lk, long long now)
{
  long long horizon = now - (long long)lk->stale_max_s * 1000;
  return lk->lost_ms >= horizon ? 0 : horizon;
}

static int from_cache(const struct xca_lookup *lk, const char *identity, long long min_fetched,
                      struct xca_identity_rec *out, int *rc)
{
  int found = 0;

  if (!xca_cache_get(lk->cache, identity, min_fetched, &found, out)) {
    return 0;
  }
  *rc = found ? XCA_OK : XCA_E_NOT_FOUND;
  return 1;
}

int xca_lookup_identity(void *arg, const char *identity, struct xca_identity_rec *out)
{
  struct xca_lookup *lk = arg;
  long long now = now_of(lk);
  int live = following(lk);
  int rc;
  int cached_rc;

  if (live && from_cache(lk, identity, 0, out, &cached_rc)) {
    xca_stats_cache(lk->stats, 1);
    return cached_rc;
  }
  xca_stats_cache(lk->stats, 0);
  rc = xca_registry_get_identity(lk->registry, identity, out);
  if (rc == XCA_OK || rc == XCA_E_NOT_FOUND) {
    /* Cache only what a change notification can evict; otherwise drop
     * what is cached, which this answer has just proven out of date. */
    if (live) {
      xca_cache_put(lk->cache, identity, rc == XCA_OK, out, now);
    } else {
      xca_cache_remove(lk->cache, identity);
    }
    return rc;
  }
  if (from_cache(lk, identity, live ? 0 : min_fresh_fetch_ms(lk, now), out, &cached_rc)) {
    return cached_rc;
  }
  return from_cache(lk, identity, 0, out, &cached_rc) ? XCA_E_STALE : rc;
}
