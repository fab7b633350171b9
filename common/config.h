/* config.h - the plugin's options (plugin_opt_* lines of mosquitto.conf).
 *
 * Every option is validated when it is set; an invalid value or an unknown
 * option name is an error, so a typo stops the broker instead of silently
 * falling back to a default.
 */
#ifndef XCA_CONFIG_H
#define XCA_CONFIG_H

#include <stddef.h>

#define XCA_MAX_ADMIN_USERS 32
/* Longest redis_host, hub_hostname and key_prefix (a DNS name's maximum). */
#define XCA_CONFIG_TOKEN_MAX 253
/* Longest key_prefix: what every Redis key is built on (registry.h). */
#define XCA_KEY_PREFIX_MAX XCA_CONFIG_TOKEN_MAX
#define XCA_MAX_SENTINELS 16 /* entries of plugin_opt_redis_sentinels */
#define XCA_HOST_MAX 253     /* longest host name of an option (DNS's limit) */

/* A host and port, e.g. one Redis Sentinel. */
struct xca_hostport {
  char host[XCA_HOST_MAX + 1];
  int port;
};

struct xca_config {
  char *redis_host;           /* registry host [127.0.0.1] */
  int redis_port;             /* [6379] */
  int redis_db;               /* [0] */
  char *redis_password;       /* NULL = no AUTH */
  int redis_timeout_ms;       /* upper bound of one Redis call on the main thread [100] */
  int redis_retry_ms;         /* breaker: minimum gap between reconnect attempts [1000] */
  char *key_prefix;           /* prefix of every key [x509ca:] */
  char *admin_users[XCA_MAX_ADMIN_USERS]; /* usernames allowed on $CONTROL/x509ca/v1 */
  int admin_user_count;
  int verification_code_ttl;  /* seconds [3600] */
  char *hub_hostname;         /* NULL = any hostname in IoT-Hub usernames */
  int cache_capacity;         /* max cached registry entries [100000] */
  int chain_cache_capacity;   /* verified chains (and paths) remembered; 0 = off [10000] */
  int prefetch_queue_max;     /* registry reads waiting for the prefetch worker; 0 = off [1000] */
  int stale_max_s;            /* during an outage, trust cached entries this old at most [300] */
  int max_chain_depth;        /* max certificates between leaf and anchor [5] */
  int max_admin_payload;      /* bytes [65536] */
  int min_rsa_bits;           /* certificate policy: smallest RSA key accepted [2048] */
  int crl_expired_refuse;     /* crl_expired: 0 accept, 1 refuse [accept] */
  char *broker_id;            /* this broker's name in the audit stream [hostname-pid] */
  int audit_stream_max;       /* approximate length of the audit stream; 0 = off [100000] */
  int audit_queue_max;        /* audit entries waiting for Redis at most [10000] */
  int admin_queue_max;        /* admin requests waiting for the admin worker at most [64] */
  int stats_interval;         /* seconds between $SYS stats updates; 0 = off [10] */
  struct xca_hostport sentinels[XCA_MAX_SENTINELS]; /* Redis Sentinels, asked in this order */
  int sentinel_count;         /* 0 = no Sentinel: redis_host:redis_port is the primary */
  char *sentinel_master;      /* the master name the Sentinels monitor [mymaster] */
};

/* Fill cfg with the defaults (broker_id is "<hostname>-<pid>", characters a
 * broker_id may not hold replaced by '_'). Returns XCA_OK or XCA_E_NOMEM
 * (cfg is then released and zeroed). */
int xca_config_init(struct xca_config *cfg);

/* Set one option by its name without the "plugin_opt_" prefix
 * (e.g. "redis_port"). Returns XCA_OK, or XCA_E_OPTION with a one-line
 * reason in errbuf (which never echoes a password); cfg is then unchanged. */
int xca_config_set(struct xca_config *cfg, const char *name, const char *value,
                   char *errbuf, size_t errlen);

/* Return 1 if username is one of the configured admin users, else 0.
 * A NULL username is never an admin. */
int xca_config_is_admin(const struct xca_config *cfg, const char *username);

/* Release everything cfg owns and zero it. NULL-safe. */
void xca_config_free(struct xca_config *cfg);

#endif
