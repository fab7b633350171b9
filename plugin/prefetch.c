/* prefetch.c - a device's registry entry read from its TLS handshake on,
 * so that its CONNECT finds it in the cache (common/prefetch.h, README
 * "Registry prefetch"). Every function runs on the broker's thread; the
 * worker has its own Redis connection and never calls Mosquitto.
 */
#include "xca_err.h"
#include "xca_plugin.h"

/* An answer applied and never claimed (no CONNECT came) is forgotten after
 * this long; its cache entry lives on as any other. */
#define MARK_KEEP_MS 10000

static void release_redis(void *arg)
{
  xca_redis_free(arg);
}

int xca_prefetch_begin(void)
{
  struct xca_redis *redis;
  struct xca_registry reg;

  /* Without a cache, an answer would have nowhere to go. */
  if (xca_g.cfg.prefetch_queue_max == 0 || xca_g.cfg.cache_capacity == 0) {
    return XCA_OK;
  }
  redis = xca_redis_new(&xca_g.cfg, NULL, NULL);
  if (redis == NULL) {
    return XCA_E_NOMEM;
  }
  reg.kv = xca_redis_kv(redis);
  reg.prefix = xca_g.cfg.key_prefix;
  xca_g.prefetch = xca_prefetch_new(xca_g.cfg.prefetch_queue_max, reg, release_redis, redis);
  if (xca_g.prefetch == NULL || xca_prefetch_start(xca_g.prefetch) != XCA_OK) {
    xca_prefetch_free(xca_g.prefetch);
    xca_g.prefetch = NULL;
    return XCA_E_NOMEM;
  }
  return XCA_OK;
}

void xca_prefetch_end(void)
{
  xca_prefetch_free(xca_g.prefetch);
  xca_g.prefetch = NULL;
}

void xca_prefetch_invalidate_all(void)
{
  xca_g.prefetch_gen++;
}

void xca_prefetch_invalidate_identity(const char *identity)
{
  if (xca_g.prefetch != NULL) {
    xca_prefetch_invalidate(xca_g.prefetch, identity);
  }
}

static int following(void)
{
  return xca_g.lookup.following != NULL && xca_g.lookup.following(xca_g.lookup.following_arg);
}

static void ask(const char *identity)
{
  int rc;

  if (xca_cache_has(xca_g.cache, identity)) {
    return; /* the CONNECT will find it anyway */
  }
  rc = xca_prefetch_request(xca_g.prefetch, identity, xca_g.prefetch_gen);
  if (rc == XCA_OK) {
    xca_g.stats.prefetch_requests++;
  } else if (rc == XCA_E_TOO_LARGE) {
    xca_g.stats.prefetch_dropped++;
  }
}

void xca_prefetch_handshake(const struct xca_cert_facts *facts)
{
  struct xca_ident id;

  /* Only a certificate that can pass an identity costs a lookup at CONNECT
   * (auth.h): no other is read ahead either. Without the change feed the
   * lookup does not cache, so there is nothing to prefetch into. */
  if (xca_g.prefetch == NULL || !facts->cn_ok || (!facts->chain_ok && !facts->self_signed) ||
      xca_ident_parse(facts->cn, &id) != XCA_OK || !following()) {
    return;
  }
  ask(id.full);
  if (xca_ident_is_module(&id)) {
    ask(id.device); /* a module's device entry is read too */
  }
}

void xca_prefetch_drain(void)
{
  struct xca_prefetch_applied out;
  long long now = xca_now_ms();

  if (xca_g.prefetch == NULL) {
    return;
  }
  xca_prefetch_apply(xca_g.prefetch, xca_g.cache, xca_g.prefetch_gen, following(), now, &out);
  xca_g.stats.prefetch_applied += out.applied;
  xca_g.stats.prefetch_discarded += out.discarded;
  xca_prefetch_expire(xca_g.prefetch, now - MARK_KEEP_MS);
}

void xca_prefetch_connect(const struct xca_cert_facts *facts)
{
  struct xca_ident id;

  if (xca_g.prefetch == NULL || facts == NULL) {
    return;
  }
  xca_prefetch_drain();
  if (!facts->cn_ok || xca_ident_parse(facts->cn, &id) != XCA_OK) {
    return;
  }
  switch (xca_prefetch_claim(xca_g.prefetch, xca_g.cache, id.full)) {
  case XCA_PREFETCH_HIT:
    xca_g.stats.prefetch_hits++;
    break;
  case XCA_PREFETCH_LATE:
    xca_g.stats.prefetch_late++;
    break;
  default:
    break;
  }
  if (xca_ident_is_module(&id)) {
    xca_prefetch_claim(xca_g.prefetch, xca_g.cache, id.device);
  }
}
