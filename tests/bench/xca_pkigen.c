/* xca_pkigen.c - fast bulk PKI for the benchmarks.
 *
 * Running the openssl CLI twice per certificate costs about 25 ms, so 1,000
 * devices take half a minute and 10,000 CAs several minutes. This helper makes
 * them in-process with tests/lib/certgen (the profiles of scripts/x509ca-pki,
 * EC P-256; about 0.1 ms a certificate) and can emit the
 * Redis registry entries of CAs as RESP for `redis-cli --pipe`, using the
 * same subject / thumbprint / notAfter formatting as the plugin (certinfo.h).
 *
 *   xca_pkigen ca       --out DIR --name NAME [--ca ISSUER] [--days D]
 *   xca_pkigen server   --out DIR --ca NAME [--days D]
 *   xca_pkigen devices  --out DIR --ca NAME --count N [--first F]
 *                       [--prefix widget-] [--digits 6] [--shared-key] [--days D]
 *   xca_pkigen ca-resp  --cert FILE --name NAME [--status S] [--key-prefix P]
 *   xca_pkigen cas-resp --count N [--first F] [--prefix bench-ca-] [--digits 5]
 *                       [--status S] [--key-prefix P]
 *   xca_pkigen revoked-resp --count N [--cert FILE] [--key-prefix P]
 *   xca_pkigen crl      --out DIR --ca NAME --count N [--cert FILE] [--days D]
 *   xca_pkigen crl-resp --cert ISSUER.crt --crl FILE [--key-prefix P]
 *
 * Files: DIR/NAME.crt, DIR/NAME.key and, for anything not self-signed,
 * DIR/NAME.chain.pem = the certificate followed by its issuer's chain minus
 * the root (what a device sends). Devices get CN=<prefix><index>.
 * --shared-key gives every device the same key (faster; fine for benchmarks,
 * never for anything else).
 * revoked-resp prints HSET <prefix>revoked:<sha256> for N random thumbprints
 * (and for FILE's certificate with --cert); crl writes DIR/NAME.crl.pem, a
 * CRL signed by NAME listing N random serials (and FILE's serial with
 * --cert); crl-resp prints the HSET <prefix>crl:<issuer sha256> record of a
 * CRL. Exit 0 on success, 1 on failure, 2 on usage.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "certgen.h"
#include "certinfo.h"

struct opts {
  const char *out, *name, *ca, *cert, *crl, *prefix, *status, *key_prefix;
  long count, first, digits, days;
  int shared_key;
};

/* ---------------------------------------------------------------------------
 * Certificate making (tests/lib/certgen.h)
 * ------------------------------------------------------------------------- */

/* A certificate of profile for CN=cn, valid from yesterday for days,
 * signed by issuer (NULL = self-signed); its key is key when given (the
 * result then holds a reference of its own), else a new EC P-256 one. */
static int cert_make(struct xca_tcert *out, enum xca_tcert_profile profile, const char *cn,
                     EVP_PKEY *key, const struct xca_tcert *issuer, long days)
{
  struct xca_tcert_spec spec = {.cn = cn, .profile = profile, .use_key = key,
                                .from_s = -86400L, .to_s = days * 86400L};
  return xca_certgen_spec(out, &spec, issuer) == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------- */

static int write_pem(const char *dir, const char *name, const char *ext, X509 *cert,
                     EVP_PKEY *key, const char *append_file)
{
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s%s", dir, name, ext);
  BIO *b = BIO_new_file(path, "w");
  if (!b) {
    fprintf(stderr, "xca_pkigen: cannot write %s\n", path);
    return -1;
  }
  int ok = cert ? PEM_write_bio_X509(b, cert)
                : PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
  if (ok && append_file) {
    BIO *in = BIO_new_file(append_file, "r");
    char buf[4096];
    int n;
    while (in && (n = BIO_read(in, buf, sizeof buf)) > 0)
      BIO_write(b, buf, n);
    BIO_free(in);
  }
  BIO_free(b);
  if (!cert)
    chmod(path, 0600);
  return ok ? 0 : -1;
}

/* Reads the certificate cert_path and, unless key_path is NULL, its key. */
static int read_tcert(struct xca_tcert *out, const char *cert_path, const char *key_path)
{
  if (xca_certgen_read(out, cert_path, key_path) == 0)
    return 0;
  fprintf(stderr, "xca_pkigen: cannot read %s%s%s\n", cert_path, key_path ? " or " : "",
          key_path ? key_path : "");
  return -1;
}

/* Loads issuer DIR/NAME.crt + .key; *chain gets DIR/NAME.chain.pem when the
 * issuer is not self-signed (its chain must then follow leaves), else "". */
static int issuer_load(const struct opts *o, struct xca_tcert *issuer, char *chain,
                       size_t chainsz)
{
  char crt[PATH_MAX], key[PATH_MAX];
  snprintf(crt, sizeof crt, "%s/%s.crt", o->out, o->ca);
  snprintf(key, sizeof key, "%s/%s.key", o->out, o->ca);
  if (read_tcert(issuer, crt, key))
    return -1;
  chain[0] = '\0';
  if (X509_NAME_cmp(X509_get_subject_name(issuer->cert), X509_get_issuer_name(issuer->cert)) != 0)
    snprintf(chain, chainsz, "%s/%s.chain.pem", o->out, o->ca);
  return 0;
}

/* ---------------------------------------------------------------------------
 * RESP for redis-cli --pipe
 * ------------------------------------------------------------------------- */

static void resp_bulk(const char *s)
{
  printf("$%zu\r\n%s\r\n", strlen(s), s);
}

/* Prints HSET <prefix>ca:<name> certificate <PEM> status <status> subject ..
 * thumbprint .. notAfter .. as one RESP command. */
static int ca_resp(const struct opts *o, const char *name, X509 *cert)
{
  char key[512], subject[1024], thumb[XCA_SHA256_HEX], not_after[64];
  char *pem = xca_cert_to_pem(cert);
  if (!pem)
    return -1;
  snprintf(key, sizeof key, "%sca:%s", o->key_prefix, name);
  xca_cert_subject(cert, subject, sizeof subject);
  xca_cert_sha256(cert, thumb);
  xca_cert_not_after(cert, not_after, sizeof not_after);
  printf("*12\r\n");
  resp_bulk("HSET");
  resp_bulk(key);
  resp_bulk("certificate");
  resp_bulk(pem);
  resp_bulk("status");
  resp_bulk(o->status);
  resp_bulk("subject");
  resp_bulk(subject);
  resp_bulk("thumbprint");
  resp_bulk(thumb);
  resp_bulk("notAfter");
  resp_bulk(not_after);
  free(pem);
  return 0;
}

/* ---------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------- */

static int cmd_ca(const struct opts *o, enum xca_tcert_profile profile)
{
  struct xca_tcert issuer = {0}, made = {0};
  char chain[PATH_MAX] = "";
  int server = profile == XCA_TCERT_SERVER;
  const char *name = server ? "server" : o->name;
  int rc = 1;
  if (o->ca && issuer_load(o, &issuer, chain, sizeof chain))
    goto cleanup;
  if (cert_make(&made, profile, server ? "localhost" : name, NULL, o->ca ? &issuer : NULL,
                o->days) ||
      write_pem(o->out, name, ".crt", made.cert, NULL, NULL) ||
      write_pem(o->out, name, ".key", NULL, made.key, NULL))
    goto cleanup;
  /* A CA signed by another writes its own chain file for its leaves. */
  if (o->ca && !server &&
      write_pem(o->out, name, ".chain.pem", made.cert, NULL, chain[0] ? chain : NULL))
    goto cleanup;
  rc = 0;
cleanup:
  xca_certgen_free(&issuer);
  xca_certgen_free(&made);
  return rc;
}

static int cmd_devices(const struct opts *o)
{
  struct xca_tcert issuer = {0};
  EVP_PKEY *shared = NULL;
  char chain[PATH_MAX];
  int rc = 1;
  if (issuer_load(o, &issuer, chain, sizeof chain))
    goto cleanup;
  if (o->shared_key && !(shared = xca_certgen_key(NULL)))
    goto cleanup;
  for (long i = o->first; i < o->first + o->count; i++) {
    struct xca_tcert dev = {0};
    char id[256];
    snprintf(id, sizeof id, "%s%0*ld", o->prefix, (int)o->digits, i);
    int bad = cert_make(&dev, XCA_TCERT_DEVICE, id, shared, &issuer, o->days) ||
              write_pem(o->out, id, ".crt", dev.cert, NULL, NULL) ||
              write_pem(o->out, id, ".key", NULL, dev.key, NULL) ||
              write_pem(o->out, id, ".chain.pem", dev.cert, NULL, chain[0] ? chain : NULL);
    xca_certgen_free(&dev);
    if (bad)
      goto cleanup;
  }
  rc = 0;
cleanup:
  xca_certgen_free(&issuer);
  EVP_PKEY_free(shared);
  return rc;
}

static int cmd_ca_resp(const struct opts *o)
{
  struct xca_tcert ca = {0};
  int rc = read_tcert(&ca, o->cert, NULL) || ca_resp(o, o->name, ca.cert);
  xca_certgen_free(&ca);
  return rc;
}

static int cmd_cas_resp(const struct opts *o)
{
  EVP_PKEY *key = xca_certgen_key(NULL);
  int rc = key ? 0 : 1;
  for (long i = o->first; !rc && i < o->first + o->count; i++) {
    struct xca_tcert ca = {0};
    char name[256];
    snprintf(name, sizeof name, "%s%0*ld", o->prefix, (int)o->digits, i);
    rc = cert_make(&ca, XCA_TCERT_CA, name, key, NULL, o->days) || ca_resp(o, name, ca.cert);
    xca_certgen_free(&ca);
  }
  EVP_PKEY_free(key);
  return rc;
}

/* HSET <prefix>revoked:<thumb> reason keyCompromise revokedAt <now> subject <s>. */
static void revoked_resp(const struct opts *o, const char *thumb, const char *subject)
{
  char key[512], now[32];
  snprintf(key, sizeof key, "%srevoked:%s", o->key_prefix, thumb);
  snprintf(now, sizeof now, "%lld", (long long)time(NULL));
  printf("*8\r\n");
  resp_bulk("HSET");
  resp_bulk(key);
  resp_bulk("reason");
  resp_bulk("keyCompromise");
  resp_bulk("revokedAt");
  resp_bulk(now);
  resp_bulk("subject");
  resp_bulk(subject);
}

static int cmd_revoked_resp(const struct opts *o)
{
  for (long i = 0; i < o->count; i++) {
    unsigned char raw[32];
    char hex[XCA_SHA256_HEX];
    if (RAND_bytes(raw, sizeof raw) != 1)
      return 1;
    for (size_t k = 0; k < sizeof raw; k++)
      snprintf(hex + 2 * k, 3, "%02x", raw[k]);
    revoked_resp(o, hex, "CN=bench-revoked");
  }
  if (o->cert) {
    struct xca_tcert c = {0};
    char thumb[XCA_SHA256_HEX], subject[1024];
    if (read_tcert(&c, o->cert, NULL))
      return 1;
    xca_cert_sha256(c.cert, thumb);
    xca_cert_subject(c.cert, subject, sizeof subject);
    revoked_resp(o, thumb, subject);
    xca_certgen_free(&c);
  }
  return 0;
}

/* Adds serial to crl as revoked now. Returns 0 or -1. */
static int crl_add(X509_CRL *crl, ASN1_INTEGER *serial, ASN1_TIME *when)
{
  X509_REVOKED *r = X509_REVOKED_new();
  if (!r || !X509_REVOKED_set_serialNumber(r, serial) ||
      !X509_REVOKED_set_revocationDate(r, when) || !X509_CRL_add0_revoked(crl, r)) {
    X509_REVOKED_free(r);
    return -1;
  }
  return 0;
}

static int cmd_crl(const struct opts *o)
{
  struct xca_tcert issuer = {0}, listed = {0};
  char chain[PATH_MAX], path[PATH_MAX];
  X509_CRL *crl = X509_CRL_new();
  ASN1_TIME *now = ASN1_TIME_set(NULL, time(NULL) - 3600);
  ASN1_TIME *next = ASN1_TIME_set(NULL, time(NULL) + o->days * 86400L);
  ASN1_INTEGER *serial = ASN1_INTEGER_new();
  BIGNUM *bn = BN_new();
  int rc = 1;
  if (!crl || !now || !next || !serial || !bn || issuer_load(o, &issuer, chain, sizeof chain) ||
      (o->cert && read_tcert(&listed, o->cert, NULL)))
    goto cleanup;
  if (!X509_CRL_set_version(crl, 1) ||
      !X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer.cert)) ||
      !X509_CRL_set1_lastUpdate(crl, now) || !X509_CRL_set1_nextUpdate(crl, next))
    goto cleanup;
  for (long i = 0; i < o->count; i++) {
    /* 64 random bits with the top bit set: never a certgen serial (127 bits). */
    if (!BN_rand(bn, 64, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) || !BN_to_ASN1_INTEGER(bn, serial) ||
        crl_add(crl, serial, now))
      goto cleanup;
  }
  if (listed.cert && crl_add(crl, X509_get_serialNumber(listed.cert), now))
    goto cleanup;
  if (!X509_CRL_sort(crl) || !X509_CRL_sign(crl, issuer.key, EVP_sha256()))
    goto cleanup;
  snprintf(path, sizeof path, "%s/%s.crl.pem", o->out, o->ca);
  BIO *b = BIO_new_file(path, "w");
  if (!b || !PEM_write_bio_X509_CRL(b, crl)) {
    fprintf(stderr, "xca_pkigen: cannot write %s\n", path);
    BIO_free(b);
    goto cleanup;
  }
  BIO_free(b);
  rc = 0;
cleanup:
  X509_CRL_free(crl);
  ASN1_TIME_free(now);
  ASN1_TIME_free(next);
  ASN1_INTEGER_free(serial);
  BN_free(bn);
  xca_certgen_free(&issuer);
  xca_certgen_free(&listed);
  return rc;
}

/* Unix seconds of an ASN1_TIME, or -1. */
static long long asn1_unix(const ASN1_TIME *t)
{
  struct tm tm;
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
    return -1;
  return (long long)timegm(&tm);
}

static int cmd_crl_resp(const struct opts *o)
{
  struct xca_tcert issuer = {0};
  X509_CRL *crl = NULL;
  char *crl_pem = NULL, *issuer_pem = NULL;
  int rc = 1;
  BIO *in = BIO_new_file(o->crl, "r");
  BIO *mem = BIO_new(BIO_s_mem());
  if (!in || !mem || !(crl = PEM_read_bio_X509_CRL(in, NULL, NULL, NULL)) ||
      read_tcert(&issuer, o->cert, NULL) || !PEM_write_bio_X509_CRL(mem, crl)) {
    fprintf(stderr, "xca_pkigen: cannot read the CRL %s or its issuer %s\n", o->crl, o->cert);
    goto cleanup;
  }
  char *data;
  long len = BIO_get_mem_data(mem, &data);
  crl_pem = strndup(data, (size_t)len);
  issuer_pem = xca_cert_to_pem(issuer.cert);
  if (!crl_pem || !issuer_pem)
    goto cleanup;
  char key[512], thumb[XCA_SHA256_HEX], subject[1024], upd[32], next[32], count[32];
  xca_cert_sha256(issuer.cert, thumb);
  xca_cert_subject(issuer.cert, subject, sizeof subject);
  snprintf(key, sizeof key, "%scrl:%s", o->key_prefix, thumb);
  snprintf(upd, sizeof upd, "%lld", asn1_unix(X509_CRL_get0_lastUpdate(crl)));
  snprintf(next, sizeof next, "%lld", asn1_unix(X509_CRL_get0_nextUpdate(crl)));
  STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
  snprintf(count, sizeof count, "%d", revoked ? sk_X509_REVOKED_num(revoked) : 0);
  printf("*14\r\n");
  resp_bulk("HSET");
  resp_bulk(key);
  resp_bulk("crl");
  resp_bulk(crl_pem);
  resp_bulk("issuer");
  resp_bulk(issuer_pem);
  resp_bulk("issuerSubject");
  resp_bulk(subject);
  resp_bulk("thisUpdate");
  resp_bulk(upd);
  resp_bulk("nextUpdate");
  resp_bulk(next);
  resp_bulk("count");
  resp_bulk(count);
  rc = 0;
cleanup:
  BIO_free(in);
  BIO_free(mem);
  X509_CRL_free(crl);
  free(crl_pem);
  free(issuer_pem);
  xca_certgen_free(&issuer);
  return rc;
}

/* ---------------------------------------------------------------------------
 * Command line
 * ------------------------------------------------------------------------- */

static void usage(FILE *f)
{
  fprintf(f,
    "usage: xca_pkigen ca       --out DIR --name NAME [--ca ISSUER] [--days D]\n"
    "       xca_pkigen server   --out DIR --ca NAME [--days D]\n"
    "       xca_pkigen devices  --out DIR --ca NAME --count N [--first F]\n"
    "                           [--prefix widget-] [--digits 6] [--shared-key] [--days D]\n"
    "       xca_pkigen ca-resp  --cert FILE --name NAME [--status verified] [--key-prefix x509ca:]\n"
    "       xca_pkigen cas-resp --count N [--first F] [--prefix bench-ca-] [--digits 5]\n"
    "                           [--status verified] [--key-prefix x509ca:]\n"
    "       xca_pkigen revoked-resp --count N [--cert FILE] [--key-prefix x509ca:]\n"
    "       xca_pkigen crl      --out DIR --ca NAME --count N [--cert FILE] [--days D]\n"
    "       xca_pkigen crl-resp --cert ISSUER.crt --crl FILE [--key-prefix x509ca:]\n"
    "EC P-256 keys, SHA-256 signatures, validity from yesterday for D days [3650].\n"
    "Writes DIR/NAME.crt, DIR/NAME.key and (if not self-signed) DIR/NAME.chain.pem;\n"
    "the *-resp commands print Redis HSET commands (x509ca:ca:NAME, x509ca:revoked:SHA256,\n"
    "x509ca:crl:ISSUER-SHA256) as RESP on stdout; crl writes DIR/NAME.crl.pem listing N\n"
    "random serials (and --cert's).\n");
}

static int parse_num(const char *s, long min, long max, long *out)
{
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

int main(int argc, char **argv)
{
  static const struct option lo[] = {
    {"out", required_argument, NULL, 'o'},      {"name", required_argument, NULL, 'n'},
    {"ca", required_argument, NULL, 'c'},       {"cert", required_argument, NULL, 'C'},
    {"count", required_argument, NULL, 'N'},    {"first", required_argument, NULL, 'f'},
    {"prefix", required_argument, NULL, 'p'},   {"digits", required_argument, NULL, 'd'},
    {"days", required_argument, NULL, 'D'},     {"status", required_argument, NULL, 's'},
    {"key-prefix", required_argument, NULL, 'k'}, {"shared-key", no_argument, NULL, 'S'},
    {"crl", required_argument, NULL, 'L'},
    {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
  };
  struct opts o = {.out = ".", .status = "verified", .key_prefix = "x509ca:", .count = -1,
                   .digits = -1, .days = 3650};
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    usage(stdout);
    return 0;
  }
  optind = 2;
  int c, bad = 0;
  while (!bad && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
    switch (c) {
    case 'o': o.out = optarg; break;
    case 'n': o.name = optarg; break;
    case 'c': o.ca = optarg; break;
    case 'C': o.cert = optarg; break;
    case 'N': bad = parse_num(optarg, 0, 100000000, &o.count); break;
    case 'f': bad = parse_num(optarg, 0, 1000000000, &o.first); break;
    case 'p': o.prefix = optarg; break;
    case 'd': bad = parse_num(optarg, 0, 20, &o.digits); break;
    case 'D': bad = parse_num(optarg, 1, 36500, &o.days); break;
    case 's': o.status = optarg; break;
    case 'k': o.key_prefix = optarg; break;
    case 'S': o.shared_key = 1; break;
    case 'L': o.crl = optarg; break;
    case 'h': usage(stdout); return 0;
    default: bad = 1;
    }
  }
  int is_ca = strcmp(cmd, "ca") == 0, is_server = strcmp(cmd, "server") == 0;
  int is_dev = strcmp(cmd, "devices") == 0, is_resp = strcmp(cmd, "ca-resp") == 0;
  int is_cas = strcmp(cmd, "cas-resp") == 0, is_rev = strcmp(cmd, "revoked-resp") == 0;
  int is_crl = strcmp(cmd, "crl") == 0, is_crl_resp = strcmp(cmd, "crl-resp") == 0;
  if (bad || optind != argc || (is_ca && !o.name) || (is_server && !o.ca) ||
      (is_dev && (!o.ca || o.count < 0)) || (is_resp && (!o.cert || !o.name)) ||
      (is_cas && o.count < 0) || (is_rev && o.count < 0) || (is_crl && (!o.ca || o.count < 0)) ||
      (is_crl_resp && (!o.cert || !o.crl)) ||
      !(is_ca || is_server || is_dev || is_resp || is_cas || is_rev || is_crl || is_crl_resp)) {
    usage(stderr);
    return 2;
  }
  if (!o.prefix)
    o.prefix = is_cas ? "bench-ca-" : "widget-";
  if (o.digits < 0)
    o.digits = is_cas ? 5 : 6;
  if (is_ca || is_server || is_dev)
    mkdir(o.out, 0755);
  int rc = is_ca ? cmd_ca(&o, XCA_TCERT_CA)
           : is_server ? cmd_ca(&o, XCA_TCERT_SERVER)
           : is_dev ? cmd_devices(&o)
           : is_resp ? cmd_ca_resp(&o)
           : is_rev ? cmd_revoked_resp(&o)
           : is_crl ? cmd_crl(&o)
           : is_crl_resp ? cmd_crl_resp(&o)
           : cmd_cas_resp(&o);
  if (fflush(stdout))
    rc = 1;
  return rc;
}
