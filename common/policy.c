#include "policy.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509v3.h>

#include "xca_err.h"

/* Digests of SHA-256 strength or more (128-bit collision resistance). */
static const int strong_digests[] = {
  NID_sha256, NID_sha384, NID_sha512, NID_sha3_256, NID_sha3_384, NID_sha3_512,
};

/* EC curves accepted, by their OpenSSL names. */
static const int allowed_curves[] = {NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1};

static int in_list(int nid, const int *list, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (list[i] == nid) {
      return 1;
    }
  }
  return 0;
}

/* Write the printf-style detail (when there is room) and return err. */
__attribute__((format(printf, 4, 5))) static int refuse(int err, char *detail, size_t len,
                                                        const char *fmt, ...)
{
  va_list ap;

  if (len > 0) {
    va_start(ap, fmt);
    vsnprintf(detail, len, fmt, ap);
    va_end(ap);
  }
  return err;
}

static void clear(char *detail, size_t len)
{
  if (len > 0) {
    detail[0] = '\0';
  }
}

void xca_policy_init(struct xca_policy *p)
{
  p->min_rsa_bits = XCA_POLICY_MIN_RSA_BITS;
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */
/* ------------------------------------------------------------------------ */

/* A named curve among allowed_curves; explicit parameters are refused even
 * when they describe one of them (RFC 5480 requires namedCurve, and
 * explicit parameters are how forged curves get in). */
static int check_ec(EVP_PKEY *key, char *detail, size_t len)
{
  char group[64] = "";
  char encoding[32] = "";

  if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_EC_ENCODING, encoding,
                                      sizeof(encoding), NULL) ||
      strcmp(encoding, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
    return refuse(XCA_E_BAD_CURVE, detail, len,
                  "explicit curve parameters; a named curve required");
  }
  if (!EVP_PKEY_get_group_name(key, group, sizeof(group), NULL)) {
    return refuse(XCA_E_BAD_CURVE, detail, len, "no curve name; P-256, P-384 or P-521 required");
  }
  if (!in_list(OBJ_txt2nid(group), allowed_curves, sizeof(allowed_curves) / sizeof(int))) {
    return refuse(XCA_E_BAD_CURVE, detail, len, "%s; P-256, P-384 or P-521 required", group);
  }
  return XCA_OK;
}

int xca_policy_check_key(const struct xca_policy *p, X509 *cert, char *detail, size_t detail_len)
{
  EVP_PKEY *key = X509_get0_pubkey(cert);
  int type = key ? EVP_PKEY_get_base_id(key) : NID_undef;

  clear(detail, detail_len);
  switch (type) {
  case EVP_PKEY_RSA:
  case EVP_PKEY_RSA_PSS:
    if (EVP_PKEY_get_bits(key) < p->min_rsa_bits) {
      return refuse(XCA_E_WEAK_KEY, detail, detail_len, "RSA %d bits < %d",
                    EVP_PKEY_get_bits(key), p->min_rsa_bits);
    }
    return XCA_OK;
  case EVP_PKEY_EC:
    return check_ec(key, detail, detail_len);
  case EVP_PKEY_ED25519:
  case EVP_PKEY_ED448:
    return XCA_OK;
  case NID_undef:
    return refuse(XCA_E_KEY_TYPE, detail, detail_len, "unreadable public key");
  default:
    return refuse(XCA_E_KEY_TYPE, detail, detail_len, "%s; RSA, EC, Ed25519 or Ed448 required",
                  OBJ_nid2sn(type));
  }
}

/* ------------------------------------------------------------------------ */
/* Signatures                                                                */
/* ------------------------------------------------------------------------ */

int xca_policy_check_signature(X509 *cert, char *detail, size_t detail_len)
{
  int md = NID_undef;
  int pk = NID_undef;
  const char *alg = OBJ_nid2ln(X509_get_signature_nid(cert));

  clear(detail, detail_len);
  /* X509_get_signature_info also reads the digest out of RSA-PSS parameters. */
  if (X509_get_signature_info(cert, &md, &pk, NULL, NULL) != 1) {
    return refuse(XCA_E_WEAK_DIGEST, detail, detail_len, "unknown algorithm %s",
                  alg ? alg : "?");
  }
  if (in_list(md, strong_digests, sizeof(strong_digests) / sizeof(int))) {
    return XCA_OK;
  }
  if (md == NID_undef && (pk == NID_ED25519 || pk == NID_ED448)) {
    return XCA_OK; /* EdDSA hashes internally (SHA-512 / SHAKE256) */
  }
  return refuse(XCA_E_WEAK_DIGEST, detail, detail_len, "%s < SHA-256", alg ? alg : OBJ_nid2sn(md));
}

int xca_policy_check_crl_signature(X509_CRL *crl, char *detail, size_t detail_len)
{
  int nid = X509_CRL_get_signature_nid(crl);
  int md = NID_undef;
  int pk = NID_undef;
  const char *alg = OBJ_nid2ln(nid);

  clear(detail, detail_len);
  if (OBJ_find_sigid_algs(nid, &md, &pk) != 1) {
    return refuse(XCA_E_WEAK_DIGEST, detail, detail_len, "unknown algorithm %s",
                  alg ? alg : "?");
  }
  if (in_list(md, strong_digests, sizeof(strong_digests) / sizeof(int)) ||
      (md == NID_undef && (pk == NID_ED25519 || pk == NID_ED448))) {
    return XCA_OK;
  }
  return refuse(XCA_E_WEAK_DIGEST, detail, detail_len, "%s < SHA-256", alg ? alg : "?");
}

int xca_policy_check_cert(const struct xca_policy *p, X509 *cert, char *detail, size_t detail_len)
{
  int rc = xca_policy_check_key(p, cert, detail, detail_len);

  if (rc != XCA_OK) {
    return rc;
  }
  rc = xca_policy_check_signature(cert, detail, detail_len);
  /* Only a digest the rule refuses needs the exemption checked: that costs
   * a signature verification (verify_signature 1: only a certificate its
   * own key signed is exempt, not one that merely names itself as issuer),
   * which every chain's self-signed root would otherwise pay per connect. */
  if (rc == XCA_E_WEAK_DIGEST && X509_self_signed(cert, 1) == 1) {
    clear(detail, detail_len);
    rc = XCA_OK;
  }
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Leaf and chain                                                            */
/* ------------------------------------------------------------------------ */

int xca_policy_check_leaf(X509 *leaf, char *detail, size_t detail_len)
{
  uint32_t flags = X509_get_extension_flags(leaf);

  clear(detail, detail_len);
  if (flags & EXFLAG_CA) {
    return XCA_E_LEAF_IS_CA;
  }
  if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE)) {
    return XCA_E_LEAF_USAGE;
  }
  if ((flags & EXFLAG_XKUSAGE) && !(X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT)) {
    return XCA_E_LEAF_EKU;
  }
  return XCA_OK;
}

int xca_policy_check_chain(const struct xca_policy *p, STACK_OF(X509) *chain, int *depth,
                           char *detail, size_t detail_len)
{
  *depth = -1;
  for (int i = 0; i < sk_X509_num(chain); i++) {
    int rc = xca_policy_check_cert(p, sk_X509_value(chain, i), detail, detail_len);
    if (rc != XCA_OK) {
      *depth = i;
      return rc;
    }
  }
  clear(detail, detail_len);
  return XCA_OK;
}
