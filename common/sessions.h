/* sessions.h - the certificate-authenticated connections of one broker.
 *
 * Open sessions are found by client id. Each remembers its identity, its
 * client certificate (a reference, so the chain can be verified again) and
 * the names of the verified CAs its chain passed through. When the registry
 * changes, the affected open sessions are marked dirty; the broker re-checks
 * dirty sessions a batch at a time and kicks those no longer allowed.
 *
 * A connection that ended becomes a closed session, found only by its token
 * (the broker's client object). The broker may still publish that exact
 * connection's will in its name, immediately or after a Will Delay Interval;
 * the closed session keeps what is needed to judge that will: the identity,
 * the facts of its handshake, its username, and (unless refused) its leaf,
 * so that its chain can be checked against the revocations of the moment.
 * It never stands for any other connection: the broker reuses the memory
 * of a freed client object, so a new connection authenticating with that
 * token first forgets it (xca_sessions_forget_token). Not thread-safe.
 */
#ifndef XCA_SESSIONS_H
#define XCA_SESSIONS_H

#include <openssl/x509.h>

#include "auth.h"
#include "ids.h"
#include "trust.h"

struct xca_session {
  struct xca_ident ident;       /* ident.full is the client id */
  const void *token;            /* the broker's client object; compared, never used */
  X509 *leaf;                   /* owned reference; closed and refused: NULL */
  char *anchors;                /* ",name1,name2," of the chain's verified CAs */
  char *chain;                  /* ",sha256,sha256," of the verified chain (leaf first) */
  int dirty;                    /* open: waiting to be re-checked */
  long long closed_ms;          /* when the connection closed; 0 while open */
  int refused;                  /* closed: the plugin refused it, so is its will */
  char *username;               /* the username it connected with (NULL: none) */
  struct xca_cert_facts facts;  /* closed: what its handshake established */
};

struct xca_sessions;

/* Create an empty table. Returns NULL on allocation failure. */
struct xca_sessions *xca_sessions_new(void);

/* Free the table and every reference it holds. NULL-safe. */
void xca_sessions_free(struct xca_sessions *s);

/* Record (or replace) the open session of ident.full, held by token, with
 * its username (copied; may be NULL), leaf certificate (a reference is
 * taken) and chain result. A session
 * of ident.full held by another token is dropped: close it first
 * (xca_sessions_close) when its will must stay confined. Returns XCA_OK or
 * XCA_E_NOMEM (nothing recorded, the old session is kept). */
int xca_sessions_add(struct xca_sessions *s, const struct xca_ident *ident, const void *token,
                     const char *username, X509 *leaf, const struct xca_chain_result *chain);

/* The connection of client_id held by token ended at now_ms: its open
 * session becomes a closed one that keeps a copy of facts and its leaf
 * (facts NULL: its will is refused, the leaf released). Nothing happens when
 * client_id is not open under token. */
void xca_sessions_close(struct xca_sessions *s, const char *client_id, const void *token,
                        const struct xca_cert_facts *facts, long long now_ms);

/* The plugin refused the open session of client_id held by token (it is
 * being kicked): it becomes a closed session whose will is refused (its
 * leaf released). */
void xca_sessions_refuse(struct xca_sessions *s, const char *client_id, const void *token,
                         long long now_ms);

/* The open session of client_id, or NULL. Borrowed. */
struct xca_session *xca_sessions_get(struct xca_sessions *s, const char *client_id);

/* The closed session of token, or NULL. Borrowed. */
struct xca_session *xca_sessions_closed(struct xca_sessions *s, const void *token);

/* Forget the closed session of token (a new connection now holds that
 * token, or it proved not to be the closed connection). NULL-safe. */
void xca_sessions_forget_token(struct xca_sessions *s, const void *token);

/* Forget closed sessions that closed before min_closed_ms. */
void xca_sessions_purge_closed(struct xca_sessions *s, long long min_closed_ms);

/* Return 1 when every CA named in sess's anchor list is still in trust and
 * there is at least one, else 0. */
int xca_sessions_anchors_trusted(const struct xca_session *sess, const struct xca_trust *trust);

/* Mark dirty the open sessions a change of identity (a device or module
 * id) affects: that identity, and for a device every module of it. */
void xca_sessions_mark_identity(struct xca_sessions *s, const char *identity);

/* Mark dirty the open sessions whose chain passed through the CA name. */
void xca_sessions_mark_anchor(struct xca_sessions *s, const char *ca_name);

/* Mark dirty the open sessions whose verified chain holds the certificate
 * whose SHA-256 is sha256 (lowercase hex): a revocation of it, or a CRL of
 * it (the issuer), affects exactly those. One hash lookup in an index of
 * the open sessions by chain member, then one step per session marked: no
 * chain is verified here. */
void xca_sessions_mark_thumbprint(struct xca_sessions *s, const char *sha256);

/* Mark dirty the open sessions whose verified chain holds, above the leaf,
 * a certificate with the public key whose tag is tag
 * (xca_revocation_key_tag): a CRL of an issuer with that key (and the
 * name its certificates are issued under) affects only those, whichever
 * copy of the issuer's certificate their chain holds. As cheap as
 * xca_sessions_mark_thumbprint. */
void xca_sessions_mark_key(struct xca_sessions *s, const char *tag);

/* Mark every open session dirty. */
void xca_sessions_mark_all(struct xca_sessions *s);

/* Pop one dirty open session's client id into buf (XCA_IDENTITY_MAX
 * bytes). Returns 1 when one was popped, 0 when none is dirty. */
int xca_sessions_pop_dirty(struct xca_sessions *s, char *buf);

/* Number of open sessions. */
unsigned xca_sessions_count(const struct xca_sessions *s);

/* Number of closed sessions held. */
unsigned xca_sessions_closed_count(const struct xca_sessions *s);

#endif
