#define _GNU_SOURCE /* memmem(), timegm() */

#include "revocation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <uthash.h>

#include "policy.h"
#include "xca_err.h"

/* One revoked serial: its DER content bytes, a sign byte first. */
struct serial_entry {
  UT_hash_handle hh;
  size_t len;
  unsigned char key[];
};

struct xca_crl {
  struct xca_crl_info info;
  struct serial_entry *serials;
  X509 *issuer; /* its issuer's certificate (a reference): which anchors it issued */
};

struct thumb_entry {
  char sha256[XCA_SHA256_HEX];
  char *reason;     /* NULL: not known yet */
  int reason_asked; /* the reason function answered once */
  UT_hash_handle hh;
};

struct key_group;

struct crl_entry {
  char issuer_sha256[XCA_SHA256_HEX];
  struct xca_crl *crl;
  int expired; /* found expired by xca_revocation_expire (reported once) */
  UT_hash_handle hh;
  struct key_group *group; /* the CRLs whose issuer has its issuer's key */
  struct crl_entry *next_in_group;
};

/* The CRLs whose issuers share one public key (its subjectPublicKey bits,
 * the lookup key): a CRL's scope is its issuer's name and key (RFC 5280),
 * not one certificate of it, so a re-issued copy of the issuer (a renewal:
 * same name and key, another certificate) finds it here. */
struct key_group {
  UT_hash_handle hh;
  struct crl_entry *first;
  size_t len;
  unsigned char key[];
};

struct xca_revocation {
  unsigned long generation;
  struct thumb_entry *thumbs;
  unsigned thumb_count;
  struct crl_entry *crls;     /* by the SHA-256 of the issuer's certificate (its key name) */
  struct key_group *by_key;   /* the same CRLs by their issuer's public key */
  unsigned crl_count;
  unsigned expired_count;
  enum xca_crl_expired_policy policy;
  xca_revocation_reason_fn reason_fn;
  void *reason_arg;
};

/* ------------------------------------------------------------------------ */
/* Serials                                                                   */
/* ------------------------------------------------------------------------ */

/* The lookup key of serial into buf (buflen bytes): a sign byte and the
 * integer's content bytes. Returns its length, or 0 when it does not fit. */
static size_t serial_key(const ASN1_INTEGER *serial, unsigned char *buf, size_t buflen)
{
  const unsigned char *data = ASN1_STRING_get0_data(serial);
  size_t n = (size_t)ASN1_STRING_length(serial);

  if (data == NULL || n + 1 > buflen) {
    return 0;
  }
  buf[0] = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER ? 1 : 0;
  memcpy(buf + 1, data, n);
  return n + 1;
}

#define SERIAL_KEY_MAX 128 /* serials longer than 127 octets are not held (RFC 5280: 20) */

static struct serial_entry *find_serial(const struct xca_crl *crl, const ASN1_INTEGER *serial)
{
  unsigned char key[SERIAL_KEY_MAX];
  size_t len = serial_key(serial, key, sizeof(key));
  struct serial_entry *e = NULL;

  if (len > 0) {
    HASH_FIND(hh, crl->serials, key, len, e);
  }
  return e;
}

static int add_serial(struct xca_crl *crl, const ASN1_INTEGER *serial)
{
  unsigned char key[SERIAL_KEY_MAX];
  size_t len = serial_key(serial, key, sizeof(key));
  struct serial_entry *e;

  if (len == 0 || find_serial(crl, serial) != NULL) {
    return XCA_OK; /* unusable (no certificate carries it) or listed twice */
  }
  e = malloc(sizeof(*e) + len);
  if (e == NULL) {
    return XCA_E_NOMEM;
  }
  e->len = len;
  memcpy(e->key, key, len);
  HASH_ADD_KEYPTR(hh, crl->serials, e->key, e->len, e);
  crl->info.count++;
  return XCA_OK;
}

/* ------------------------------------------------------------------------ */
/* CRL intake                                                                */
/* ------------------------------------------------------------------------ */

/* The one PEM block of bio as an X509_CRL, or NULL. */
static X509_CRL *read_block(BIO *bio)
{
  char *name = NULL;
  char *header = NULL;
  unsigned char *data = NULL;
  long dlen = 0;
  X509_CRL *crl = NULL;

  if (PEM_read_bio(bio, &name, &header, &data, &dlen) == 1 && strcmp(name, "X509 CRL") == 0) {
    const unsigned char *p = data;
    crl = d2i_X509_CRL(NULL, &p, dlen);
    if (crl != NULL && p != data + dlen) {
      X509_CRL_free(crl); /* trailing bytes inside the block */
      crl = NULL;
    }
  }
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  return crl;
}

static int parse_pem(const char *text, size_t len, X509_CRL **out)
{
  BIO *bio;
  X509_CRL *crl;

  if (text == NULL || len == 0 || len > XCA_CRL_TEXT_MAX) {
    return XCA_E_BAD_CRL;
  }
  if (memmem(text, len, "PRIVATE KEY", 11) != NULL) {
    return XCA_E_PRIVATE_KEY;
  }
  /* Exactly one block: PEM_read_bio skips what it does not understand. */
  if (xca_pem_begin_lines(text, len) != 1) {
    return XCA_E_BAD_CRL;
  }
  bio = BIO_new_mem_buf(text, (int)len);
  if (bio == NULL) {
    return XCA_E_NOMEM;
  }
  crl = read_block(bio);
  BIO_free(bio);
  if (crl == NULL) {
    return XCA_E_BAD_CRL;
  }
  *out = crl;
  return XCA_OK;
}

int xca_crl_parse_pem(const char *text, size_t len, X509_CRL **out)
{
  int rc;

  ERR_set_mark();
  rc = parse_pem(text, len, out);
  ERR_pop_to_mark();
  return rc;
}

/* An ASN1_TIME as unix seconds; 0 when unreadable. */
static int asn1_to_time(const ASN1_TIME *t, time_t *out)
{
  struct tm tm;

  if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
    return 0;
  }
  *out = timegm(&tm);
  return 1;
}

static int check_dates(X509_CRL *crl, struct xca_crl_info *info)
{
  const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);

  if (!asn1_to_time(X509_CRL_get0_lastUpdate(crl), &info->this_update)) {
    return XCA_E_BAD_CRL;
  }
  info->next_update = 0;
  if (next != NULL &&
      (!asn1_to_time(next, &info->next_update) || info->next_update < info->this_update)) {
    return XCA_E_BAD_CRL;
  }
  return XCA_OK;
}

static int check_crl(X509_CRL *crl, X509 *issuer, struct xca_crl_info *info)
{
  EVP_PKEY *key = X509_get0_pubkey(issuer);
  int rc;

  memset(info, 0, sizeof(*info));
  /* A delta CRL lists only changes: held as a full list it would re-admit
   * everything revoked before it. */
  if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
    return XCA_E_BAD_CRL;
  }
  if (key == NULL || X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0 ||
      X509_CRL_verify(crl, key) != 1) {
    return XCA_E_CRL_SIGNATURE;
  }
  rc = xca_policy_check_crl_signature(crl, NULL, 0);
  if (rc != XCA_OK) {
    return rc;
  }
  rc = check_dates(crl, info);
  if (rc != XCA_OK) {
    return rc;
  }
  xca_cert_sha256(issuer, info->issuer_sha256);
  xca_cert_subject(issuer, info->issuer_subject, sizeof(info->issuer_subject));
  return XCA_OK;
}

int xca_crl_check(X509_CRL *crl, X509 *issuer, struct xca_crl_info *info)
{
  int rc;

  ERR_set_mark();
  rc = check_crl(crl, issuer, info);
  ERR_pop_to_mark();
  return rc;
}

static int gather_serials(struct xca_crl *out, X509_CRL *crl)
{
  STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
  int rc = XCA_OK;

  for (int i = 0; rc == XCA_OK && i < sk_X509_REVOKED_num(revoked); i++) {
    rc = add_serial(out, X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i)));
  }
  return rc;
}

int xca_crl_new(const char *text, size_t len, X509 *issuer, struct xca_crl **out,
                X509_CRL **crl_out)
{
  X509_CRL *crl = NULL;
  struct xca_crl *c = NULL;
  int rc = xca_crl_parse_pem(text, len, &crl);

  if (rc == XCA_OK) {
    c = calloc(1, sizeof(*c));
    rc = c != NULL ? xca_crl_check(crl, issuer, &c->info) : XCA_E_NOMEM;
  }
  if (rc == XCA_OK) {
    rc = gather_serials(c, crl);
  }
  if (rc == XCA_OK) {
    rc = X509_up_ref(issuer) ? XCA_OK : XCA_E_NOMEM;
    c->issuer = rc == XCA_OK ? issuer : NULL;
  }
  if (rc != XCA_OK) {
    xca_crl_free(c);
    X509_CRL_free(crl);
    return rc;
  }
  *out = c;
  if (crl_out != NULL) {
    *crl_out = crl;
  } else {
    X509_CRL_free(crl);
  }
  return XCA_OK;
}

void xca_crl_free(struct xca_crl *crl)
{
  struct serial_entry *e;
  struct serial_entry *tmp;

  if (crl == NULL) {
    return;
  }
  HASH_ITER(hh, crl->serials, e, tmp) {
    HASH_DEL(crl->serials, e);
    free(e);
  }
  X509_free(crl->issuer);
  free(crl);
}

const struct xca_crl_info *xca_crl_info(const struct xca_crl *crl)
{
  return &crl->info;
}

X509 *xca_crl_issuer(const struct xca_crl *crl)
{
  return crl->issuer;
}

int xca_crl_issued(const struct xca_crl *crl, X509 *cert)
{
  /* Name and key identifiers (X509_check_issued): the anchor's signature
   * was verified when it was registered, by whoever issued it. A
   * self-issued certificate has no issuer above it. */
  return crl->issuer != NULL && X509_check_issued(cert, cert) != X509_V_OK &&
         X509_check_issued(crl->issuer, cert) == X509_V_OK;
}

int xca_crl_lists(const struct xca_crl *crl, const ASN1_INTEGER *serial)
{
  return serial != NULL && find_serial(crl, serial) != NULL;
}

int xca_crl_is_newer(const struct xca_crl_info *held, const struct xca_crl_info *incoming)
{
  return incoming->this_update > held->this_update;
}

int xca_crl_expired(const struct xca_crl_info *info, time_t now)
{
  return info->next_update != 0 && now > info->next_update;
}

void xca_revocation_key_tag(X509 *cert, char out[XCA_KEY_TAG_HEX])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  int ok;

  out[0] = '\0';
  ERR_set_mark();
  ok = cert != NULL && X509_pubkey_digest(cert, EVP_sha256(), md, &len) == 1 && len >= 8;
  ERR_pop_to_mark();
  for (int i = 0; ok && i < 8; i++) {
    snprintf(out + 2 * i, 3, "%02x", md[i]);
  }
}

/* ------------------------------------------------------------------------ */
/* The set                                                                   */
/* ------------------------------------------------------------------------ */

struct xca_revocation *xca_revocation_new(void)
{
  return calloc(1, sizeof(struct xca_revocation));
}

void xca_revocation_free(struct xca_revocation *rev)
{
  if (rev == NULL) {
    return;
  }
  xca_revocation_clear(rev);
  xca_revocation_clear_crls(rev);
  free(rev);
}

unsigned long xca_revocation_generation(const struct xca_revocation *rev)
{
  return rev != NULL ? rev->generation : 0;
}

void xca_revocation_set_expired_policy(struct xca_revocation *rev,
                                       enum xca_crl_expired_policy policy)
{
  rev->policy = policy;
  rev->generation++;
}

void xca_revocation_set_reason_fn(struct xca_revocation *rev, xca_revocation_reason_fn fn,
                                  void *arg)
{
  rev->reason_fn = fn;
  rev->reason_arg = arg;
}

static int valid_sha256(const char *sha256)
{
  return sha256 != NULL && strlen(sha256) == 64 && strspn(sha256, "0123456789abcdef") == 64;
}

static struct thumb_entry *find_thumb(const struct xca_revocation *rev, const char *sha256)
{
  struct thumb_entry *e = NULL;

  if (sha256 != NULL && strlen(sha256) < XCA_SHA256_HEX) {
    HASH_FIND_STR(rev->thumbs, sha256, e);
  }
  return e;
}

/* A copy of reason cut to XCA_REVOKE_REASON_MAX - 1 characters, or NULL. */
static char *reason_dup(const char *reason)
{
  return reason != NULL ? strndup(reason, XCA_REVOKE_REASON_MAX - 1) : NULL;
}

int xca_revocation_add(struct xca_revocation *rev, const char *sha256, const char *reason)
{
  struct thumb_entry *e;
  char *copy = reason_dup(reason);

  if (!valid_sha256(sha256)) {
    free(copy);
    return XCA_E_BAD_THUMBPRINT;
  }
  if (reason != NULL && copy == NULL) {
    return XCA_E_NOMEM;
  }
  e = find_thumb(rev, sha256);
  if (e == NULL) {
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
      free(copy);
      return XCA_E_NOMEM;
    }
    memcpy(e->sha256, sha256, XCA_SHA256_HEX);
    HASH_ADD_STR(rev->thumbs, sha256, e);
    rev->thumb_count++;
  }
  free(e->reason);
  e->reason = copy;
  e->reason_asked = 0;
  rev->generation++;
  return XCA_OK;
}

static void thumb_free(struct xca_revocation *rev, struct thumb_entry *e)
{
  HASH_DEL(rev->thumbs, e);
  free(e->reason);
  free(e);
  rev->thumb_count--;
  rev->generation++;
}

int xca_revocation_remove(struct xca_revocation *rev, const char *sha256)
{
  struct thumb_entry *e = find_thumb(rev, sha256);

  if (e == NULL) {
    return XCA_E_NOT_FOUND;
  }
  thumb_free(rev, e);
  return XCA_OK;
}

int xca_revocation_has(const struct xca_revocation *rev, const char *sha256)
{
  return find_thumb(rev, sha256) != NULL;
}

const char *xca_revocation_reason(const struct xca_revocation *rev, const char *sha256)
{
  const struct thumb_entry *e = find_thumb(rev, sha256);
  return e != NULL ? e->reason : NULL;
}

unsigned xca_revocation_count(const struct xca_revocation *rev)
{
  return rev->thumb_count;
}

void xca_revocation_clear(struct xca_revocation *rev)
{
  struct thumb_entry *e;
  struct thumb_entry *tmp;

  HASH_ITER(hh, rev->thumbs, e, tmp) {
    thumb_free(rev, e);
  }
  rev->generation++;
}

/* ------------------------------------------------------------------------ */
/* CRLs by issuer                                                            */
/* ------------------------------------------------------------------------ */

static struct crl_entry *find_crl(const struct xca_revocation *rev, const char *issuer_sha256)
{
  struct crl_entry *e = NULL;

  if (issuer_sha256 != NULL && strlen(issuer_sha256) < XCA_SHA256_HEX) {
    HASH_FIND_STR(rev->crls, issuer_sha256, e);
  }
  return e;
}

/* The public key bits of cert (borrowed) and their length, or NULL. */
static const unsigned char *key_bits(X509 *cert, size_t *len)
{
  const ASN1_BIT_STRING *bits = cert != NULL ? X509_get0_pubkey_bitstr(cert) : NULL;

  if (bits == NULL || ASN1_STRING_length(bits) <= 0) {
    return NULL;
  }
  *len = (size_t)ASN1_STRING_length(bits);
  return ASN1_STRING_get0_data(bits);
}

static struct key_group *find_group(const struct xca_revocation *rev, X509 *issuer)
{
  size_t len = 0;
  const unsigned char *bits = rev->by_key != NULL ? key_bits(issuer, &len) : NULL;
  struct key_group *g = NULL;

  if (bits != NULL) {
    HASH_FIND(hh, rev->by_key, bits, len, g);
  }
  return g;
}

/* Put e in the group of its issuer's key. */
static int group_add(struct xca_revocation *rev, struct crl_entry *e)
{
  size_t len = 0;
  const unsigned char *bits = key_bits(e->crl->issuer, &len);
  struct key_group *g;

  if (bits == NULL) {
    return XCA_E_BAD_CRL; /* not reached: its key verified the CRL */
  }
  HASH_FIND(hh, rev->by_key, bits, len, g);
  if (g == NULL) {
    g = calloc(1, sizeof(*g) + len);
    if (g == NULL) {
      return XCA_E_NOMEM;
    }
    g->len = len;
    memcpy(g->key, bits, len);
    HASH_ADD_KEYPTR(hh, rev->by_key, g->key, g->len, g);
  }
  e->group = g;
  e->next_in_group = g->first;
  g->first = e;
  return XCA_OK;
}

static void group_remove(struct xca_revocation *rev, struct crl_entry *e)
{
  struct key_group *g = e->group;

  if (g == NULL) {
    return;
  }
  for (struct crl_entry **p = &g->first; *p != NULL; p = &(*p)->next_in_group) {
    if (*p == e) {
      *p = e->next_in_group;
      break;
    }
  }
  if (g->first == NULL) {
    HASH_DEL(rev->by_key, g);
    free(g);
  }
  e->group = NULL;
}

static void crl_entry_free(struct xca_revocation *rev, struct crl_entry *e)
{
  HASH_DEL(rev->crls, e);
  group_remove(rev, e);
  xca_crl_free(e->crl);
  free(e);
  rev->crl_count--;
  rev->generation++;
}

int xca_revocation_put_crl(struct xca_revocation *rev, struct xca_crl *crl)
{
  struct crl_entry *e;

  xca_revocation_remove_crl(rev, crl->info.issuer_sha256);
  e = calloc(1, sizeof(*e));
  if (e == NULL) {
    xca_crl_free(crl);
    return XCA_E_NOMEM;
  }
  memcpy(e->issuer_sha256, crl->info.issuer_sha256, XCA_SHA256_HEX);
  e->crl = crl;
  if (group_add(rev, e) != XCA_OK) {
    xca_crl_free(crl);
    free(e);
    return XCA_E_NOMEM;
  }
  HASH_ADD_STR(rev->crls, issuer_sha256, e);
  rev->crl_count++;
  rev->generation++;
  return XCA_OK;
}

int xca_revocation_remove_crl(struct xca_revocation *rev, const char *issuer_sha256)
{
  struct crl_entry *e = find_crl(rev, issuer_sha256);

  if (e == NULL) {
    return XCA_E_NOT_FOUND;
  }
  crl_entry_free(rev, e);
  return XCA_OK;
}

const struct xca_crl *xca_revocation_crl(const struct xca_revocation *rev,
                                         const char *issuer_sha256)
{
  const struct crl_entry *e = find_crl(rev, issuer_sha256);
  return e != NULL ? e->crl : NULL;
}

unsigned xca_revocation_crl_count(const struct xca_revocation *rev)
{
  return rev->crl_count;
}

void xca_revocation_clear_crls(struct xca_revocation *rev)
{
  struct crl_entry *e;
  struct crl_entry *tmp;

  HASH_ITER(hh, rev->crls, e, tmp) {
    crl_entry_free(rev, e);
  }
  rev->expired_count = 0;
  rev->generation++;
}

unsigned xca_revocation_expire(struct xca_revocation *rev, time_t now,
                               void (*fn)(void *arg, const struct xca_crl_info *info),
                               void *arg)
{
  struct crl_entry *e;
  struct crl_entry *tmp;
  unsigned count = 0;

  HASH_ITER(hh, rev->crls, e, tmp) {
    if (!xca_crl_expired(&e->crl->info, now)) {
      continue;
    }
    count++;
    if (!e->expired) {
      e->expired = 1;
      if (fn != NULL) {
        fn(arg, &e->crl->info);
      }
      if (rev->policy == XCA_CRL_EXPIRED_REFUSE) {
        rev->generation++; /* chains through its issuer are refused from now */
      }
    }
  }
  rev->expired_count = count;
  return count;
}

unsigned xca_revocation_expired_count(const struct xca_revocation *rev)
{
  return rev->expired_count;
}

/* ------------------------------------------------------------------------ */
/* The chain check                                                           */
/* ------------------------------------------------------------------------ */

/* Why the listed thumbprint e revokes: its reason, asked for once when it
 * was loaded without one. */
static void listed_why(struct xca_revocation *rev, struct thumb_entry *e, char *why, size_t len)
{
  char reason[XCA_REVOKE_REASON_MAX];
  char shown[XCA_REVOKE_REASON_MAX];

  /* Asked again after a failed read (Redis down a moment): a refusal
   * then costs one call, which the registry's breaker keeps cheap. */
  if (e->reason == NULL && !e->reason_asked && rev->reason_fn != NULL &&
      rev->reason_fn(rev->reason_arg, e->sha256, reason, sizeof(reason))) {
    e->reason_asked = 1;
    e->reason = reason_dup(reason);
  }
  if (e->reason != NULL && e->reason[0] != '\0') {
    snprintf(why, len, "revoked (%s)", xca_log_sanitize(e->reason, shown, sizeof(shown)));
  } else {
    snprintf(why, len, "revoked");
  }
}

/* The verdict of the CRL held in e on cert: XCA_OK, XCA_E_CRL_EXPIRED or
 * XCA_E_REVOKED (why says). */
static int entry_verdict(const struct xca_revocation *rev, const struct crl_entry *e, X509 *cert,
                         time_t now, char *why, size_t len)
{
  char subject[XCA_CRL_SUBJECT_MAX];

  xca_log_sanitize(e->crl->info.issuer_subject, subject, sizeof(subject));
  if (rev->policy == XCA_CRL_EXPIRED_REFUSE && xca_crl_expired(&e->crl->info, now)) {
    snprintf(why, len, "the CRL of %s is past its nextUpdate", subject);
    return XCA_E_CRL_EXPIRED;
  }
  if (xca_crl_lists(e->crl, X509_get0_serialNumber(cert))) {
    snprintf(why, len, "listed in the CRL of %s", subject);
    return XCA_E_REVOKED;
  }
  return XCA_OK;
}

/* Return 1 if the CRL held in e is the CRL of cert's issuer, issuer (the
 * next certificate of a verified chain): e's issuer has the subject cert
 * names as its issuer, and issuer's public key. */
static int entry_covers(const struct crl_entry *e, X509 *cert, X509 *issuer)
{
  X509 *held = e->crl->issuer;
  int eq;

  if (X509_NAME_cmp(X509_get_subject_name(held), X509_get_issuer_name(cert)) != 0) {
    return 0;
  }
  ERR_set_mark();
  eq = EVP_PKEY_eq(X509_get0_pubkey(held), X509_get0_pubkey(issuer));
  ERR_pop_to_mark();
  return eq == 1;
}

/* The CRL verdict on cert, issued by issuer (the next certificate of the
 * chain): every CRL held whose issuer has issuer's name and key applies,
 * whichever certificate of that issuer it was uploaded with. XCA_OK,
 * XCA_E_CRL_EXPIRED or XCA_E_REVOKED (why says). */
static int crl_verdict(const struct xca_revocation *rev, X509 *cert, X509 *issuer, time_t now,
                       char *why, size_t len)
{
  const struct key_group *g = rev->crl_count > 0 ? find_group(rev, issuer) : NULL;

  for (const struct crl_entry *e = g != NULL ? g->first : NULL; e != NULL; e = e->next_in_group) {
    if (entry_covers(e, cert, issuer)) {
      int rc = entry_verdict(rev, e, cert, now, why, len);
      if (rc != XCA_OK) {
        return rc;
      }
    }
  }
  return XCA_OK;
}

/* The verdict on the chain's last certificate (its anchor), whose issuer
 * is not in the chain: an intermediate registered as the anchor, under a
 * root that is not. Every CRL held whose issuer issued it (xca_crl_issued)
 * applies. The CRLs are few: all are looked at. */
static int anchor_verdict(const struct xca_revocation *rev, X509 *cert, time_t now, char *why,
                          size_t len)
{
  const struct crl_entry *e;
  const struct crl_entry *tmp;

  if (X509_check_issued(cert, cert) == X509_V_OK) {
    return XCA_OK; /* a root: nothing above it */
  }
  HASH_ITER(hh, rev->crls, e, tmp) {
    if (xca_crl_issued(e->crl, cert)) {
      int rc = entry_verdict(rev, e, cert, now, why, len);
      if (rc != XCA_OK) {
        return rc;
      }
    }
  }
  return XCA_OK;
}

/* The earlier of t (0: none) and e's nextUpdate (0: none). */
static time_t earlier_next(time_t t, const struct crl_entry *e)
{
  time_t next = e != NULL ? e->crl->info.next_update : 0;

  return next != 0 && (t == 0 || next < t) ? next : t;
}

time_t xca_revocation_chain_next_update(const struct xca_revocation *rev, STACK_OF(X509) *chain,
                                        const char (*sha256)[XCA_SHA256_HEX])
{
  int n = sk_X509_num(chain);
  time_t t = 0;
  const struct crl_entry *e;
  const struct crl_entry *tmp;

  if (rev == NULL || rev->policy != XCA_CRL_EXPIRED_REFUSE || rev->crl_count == 0 || n <= 0) {
    return 0;
  }
  (void)sha256;
  for (int i = 0; i + 1 < n; i++) {
    X509 *cert = sk_X509_value(chain, i);
    X509 *issuer = sk_X509_value(chain, i + 1);
    const struct key_group *g = find_group(rev, issuer);
    for (e = g != NULL ? g->first : NULL; e != NULL; e = e->next_in_group) {
      if (entry_covers(e, cert, issuer)) {
        t = earlier_next(t, e);
      }
    }
  }
  if (X509_check_issued(sk_X509_value(chain, n - 1), sk_X509_value(chain, n - 1)) == X509_V_OK) {
    return t;
  }
  HASH_ITER(hh, rev->crls, e, tmp) {
    if (xca_crl_issued(e->crl, sk_X509_value(chain, n - 1))) {
      t = earlier_next(t, e);
    }
  }
  return t;
}

int xca_revocation_check_chain(struct xca_revocation *rev, STACK_OF(X509) *chain,
                               const char (*sha256)[XCA_SHA256_HEX], time_t now, int *depth,
                               char *why, size_t buflen)
{
  int n = sk_X509_num(chain);

  if (rev == NULL || (rev->thumb_count == 0 && rev->crl_count == 0)) {
    return XCA_OK;
  }
  now = now != 0 ? now : time(NULL);
  for (int i = n - 1; i >= 0; i--) {
    struct thumb_entry *e = rev->thumb_count > 0 ? find_thumb(rev, sha256[i]) : NULL;
    int rc = XCA_OK;

    if (e != NULL) {
      listed_why(rev, e, why, buflen);
      rc = XCA_E_REVOKED;
    } else if (i + 1 < n) {
      rc = crl_verdict(rev, sk_X509_value(chain, i), sk_X509_value(chain, i + 1), now, why,
                       buflen);
    } else if (rev->crl_count > 0) {
      rc = anchor_verdict(rev, sk_X509_value(chain, i), now, why, buflen);
    }
    if (rc != XCA_OK) {
      *depth = i;
      return rc;
    }
  }
  return XCA_OK;
}
