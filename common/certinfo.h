/* certinfo.h - facts about one certificate: PEM checks, CN, thumbprints,
 * CA flag, validity. Built on OpenSSL; no state. */
#ifndef XCA_CERTINFO_H
#define XCA_CERTINFO_H

#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#define XCA_SHA1_HEX 41   /* 40 hex digits + NUL */
#define XCA_SHA256_HEX 65 /* 64 hex digits + NUL */
#define XCA_CN_MAX 260 /* holds a "deviceId/moduleId" of 257 characters */

/* Parse text (len bytes, need not be NUL-terminated) that must hold exactly
 * one PEM CERTIFICATE block and nothing else PEM-shaped. On success *out is
 * an owned X509 (X509_free it). Returns XCA_OK, XCA_E_PRIVATE_KEY if any
 * block is a private key (the key material is cleansed from our buffers and
 * never copied), XCA_E_MULTIPLE_CERTS, or XCA_E_BAD_PEM. */
int xca_cert_from_pem(const char *text, size_t len, X509 **out);

/* The number of lines of text (len bytes) that begin with "-----BEGIN":
 * how many PEM blocks it claims to hold, parsed or not. */
int xca_pem_begin_lines(const char *text, size_t len);

/* Return a malloc'ed NUL-terminated PEM encoding of cert, or NULL. */
char *xca_cert_to_pem(X509 *cert);

/* Write the subject's single commonName into buf. Returns XCA_OK, or
 * XCA_E_CN_MISMATCH when there is no CN, more than one, an embedded NUL, or
 * it does not fit (buf is then ""). */
int xca_cert_cn(X509 *cert, char *buf, size_t buflen);

/* Write the subject in RFC 2253 form into buf (truncated to fit). */
void xca_cert_subject(X509 *cert, char *buf, size_t buflen);

/* Write notAfter as ISO 8601 UTC ("2027-01-31T12:00:00Z") into buf. */
void xca_cert_not_after(X509 *cert, char *buf, size_t buflen);

/* Write the lowercase hex SHA-1 / SHA-256 of the DER certificate. */
void xca_cert_sha1(X509 *cert, char hex[XCA_SHA1_HEX]);
void xca_cert_sha256(X509 *cert, char hex[XCA_SHA256_HEX]);

/* Normalise a thumbprint: drop ':' separators, lowercase. Returns XCA_OK when
 * the result is 40 (SHA-1) or 64 (SHA-256) hex digits (written to out), else
 * XCA_E_BAD_THUMBPRINT (out is ""). */
int xca_thumbprint_normalize(const char *in, char out[XCA_SHA256_HEX]);

/* Return 1 if cert has basicConstraints CA:TRUE, else 0. */
int xca_cert_is_ca(X509 *cert);

/* Return 1 if now lies within cert's validity period, else 0. */
int xca_cert_time_valid(X509 *cert, time_t now);

/* The validity period of cert in unix seconds: *not_before and *not_after
 * (fractions of a second dropped). Returns 1, or 0 when a time cannot be
 * read (outputs untouched). */
int xca_cert_validity(X509 *cert, time_t *not_before, time_t *not_after);

/* Return 1 if cert's signature verifies with issuer's public key, else 0. */
int xca_cert_signed_by(X509 *cert, X509 *issuer);

/* Return 1 if cert is self-signed: its issuer name is its own subject, an
 * authority key identifier (if present) names its own key, and its
 * signature verifies with its own public key; else 0. Key usage is not
 * considered (a device's self-signed certificate need not allow certificate
 * signing). The OpenSSL error queue is left as it was. */
int xca_cert_self_signed(X509 *cert);

#endif
