/* sessions.h - the live certificate-authenticated sessions of one broker.
 *
 * Each session remembers its identity, its client certificate (a reference,
 * so the chain can be verified again) and the names of the verified CAs its
 * chain passed through. When the registry changes, the affected sessions are
 * marked dirty; the broker re-checks dirty sessions a batch at a time and
 * kicks those no longer allowed. Not thread-safe.
 */
#ifndef XCA_SESSIONS_H
#define XCA_SESSIONS_H

#include <openssl/x509.h>

#include "ids.h"
#include "trust.h"

struct xca_session {
  struct xca_ident ident;    /* ident.full is the client id */
  const void *token;         /* the broker's client object; compared, never used */
  X509 *leaf;                /* owned reference; NULL once closed */
  char *anchors;             /* ",name1,name2," of the chain's verified CAs */
  struct xca_session *next_dirty;
  int dirty;
  long long closed_ms;       /* when the connection closed; 0 while open */
  struct xca_session *next_closed;
};

struct xca_sessions;

/* Create an empty table. Returns NULL on allocation failure. */
struct xca_sessions *xca_sessions_new(void);

/* Free the table and every reference it holds. NULL-safe. */
void xca_sessions_free(struct xca_sessions *s);

/* Record (or replace) the session of ident.full, held by token, with its
 * leaf certificate (a reference is taken) and chain result. Returns XCA_OK
 * or XCA_E_NOMEM (nothing recorded). */
int xca_sessions_add(struct xca_sessions *s, const struct xca_ident *ident, const void *token,
                     X509 *leaf, const struct xca_chain_result *chain);

/* Forget client_id's session if token still holds it (a newer session that
 * took the client id over is kept). */
void xca_sessions_remove(struct xca_sessions *s, const char *client_id, const void *token);

/* The connection of client_id (held by token) closed at now_ms: release its
 * certificate but keep its identity, so that what the broker still does in
 * its name - publishing its will, possibly delayed - stays confined to its
 * topics. A newer session that took the client id over is left alone. */
void xca_sessions_close(struct xca_sessions *s, const char *client_id, const void *token,
                        long long now_ms);

/* Forget closed sessions that closed before min_closed_ms. */
void xca_sessions_purge_closed(struct xca_sessions *s, long long min_closed_ms);

/* The session of client_id, or NULL. Borrowed. */
struct xca_session *xca_sessions_get(struct xca_sessions *s, const char *client_id);

/* Mark dirty the sessions a change of identity (a device or module id)
 * affects: that identity, and for a device every module of it. */
void xca_sessions_mark_identity(struct xca_sessions *s, const char *identity);

/* Mark dirty the sessions whose chain passed through the CA name. */
void xca_sessions_mark_anchor(struct xca_sessions *s, const char *ca_name);

/* Mark every session dirty. */
void xca_sessions_mark_all(struct xca_sessions *s);

/* Pop one dirty open session's client id into buf (XCA_IDENTITY_MAX
 * bytes). Returns 1 when one was popped, 0 when none is dirty. */
int xca_sessions_pop_dirty(struct xca_sessions *s, char *buf);

/* Number of sessions held. */
unsigned xca_sessions_count(const struct xca_sessions *s);

#endif
