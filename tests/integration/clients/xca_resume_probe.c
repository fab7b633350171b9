/* xca_resume_probe - connect twice with the same client certificate, the
 * second time offering the first TLS session for resumption, and report
 * whether the server resumed it and what each CONNACK said.
 *
 *   xca_resume_probe HOST PORT CAFILE CERTCHAIN KEY CLIENTID [--tls12] [--between CMD]
 *                    [--before-connect CMD]
 *
 * --between CMD runs (via system()) between the two connects;
 * --before-connect CMD runs in the first attempt after the TLS handshake and
 * before the MQTT CONNECT. Prints one line:
 *   first_connack=N first_reused=0|1 second_connack=N second_reused=0|1
 * where connack is the MQTT 3.1.1 CONNACK return code, or -1 when the
 * connection failed before a CONNACK. Exit 0 when both attempts ran. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

struct attempt {
  int connack;
  int reused;
};

static int tcp_connect(const char *host, int port)
{
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  struct timeval tv = {5, 0};
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  if (fd < 0 || inet_pton(AF_INET, host, &addr.sin_addr) != 1 ||
      connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
    if (fd >= 0) {
      close(fd);
    }
    return -1;
  }
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

static int mqtt_connect(SSL *ssl, const char *client_id)
{
  unsigned char pkt[512];
  size_t idlen = strlen(client_id);
  size_t n = 0;
  unsigned char ack[4];
  int got = 0;

  if (idlen > 300) {
    return -1;
  }
  pkt[n++] = 0x10;
  pkt[n++] = (unsigned char)(10 + 2 + idlen);
  memcpy(pkt + n, "\x00\x04MQTT\x04\x02\x00\x3c", 10);
  n += 10;
  pkt[n++] = (unsigned char)(idlen >> 8);
  pkt[n++] = (unsigned char)(idlen & 0xff);
  memcpy(pkt + n, client_id, idlen);
  n += idlen;
  if (SSL_write(ssl, pkt, (int)n) != (int)n) {
    return -1;
  }
  while (got < 4) {
    int r = SSL_read(ssl, ack + got, 4 - got);
    if (r <= 0) {
      return -1;
    }
    got += r;
  }
  return (ack[0] == 0x20 && ack[1] == 0x02) ? ack[3] : -1;
}

static struct attempt run_attempt(SSL_CTX *ctx, const char *host, int port, const char *client_id,
                                  SSL_SESSION **session, const char *before_connect)
{
  struct attempt a = {-1, 0};
  int fd = tcp_connect(host, port);
  SSL *ssl;

  if (fd < 0) {
    return a;
  }
  ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (*session != NULL) {
    SSL_set_session(ssl, *session);
  }
  if (SSL_connect(ssl) == 1) {
    a.reused = SSL_session_reused(ssl);
    if (before_connect != NULL && system(before_connect) != 0) {
      fprintf(stderr, "--before-connect command failed\n");
    }
    a.connack = mqtt_connect(ssl, client_id);
    /* TLS 1.3 tickets arrive after the handshake; a read made them land. */
    if (*session == NULL) {
      *session = SSL_get1_session(ssl);
    }
    SSL_shutdown(ssl);
  }
  SSL_free(ssl);
  close(fd);
  return a;
}

int main(int argc, char **argv)
{
  const char *between = NULL;
  const char *before_connect = NULL;
  int tls12 = 0;
  SSL_CTX *ctx;
  SSL_SESSION *session = NULL;
  struct attempt first;
  struct attempt second;

  if (argc < 7) {
    fprintf(stderr, "usage: %s HOST PORT CAFILE CERTCHAIN KEY CLIENTID [--tls12] [--between CMD]\n",
            argv[0]);
    return 2;
  }
  for (int i = 7; i < argc; i++) {
    if (strcmp(argv[i], "--tls12") == 0) {
      tls12 = 1;
    } else if (strcmp(argv[i], "--between") == 0 && i + 1 < argc) {
      between = argv[++i];
    } else if (strcmp(argv[i], "--before-connect") == 0 && i + 1 < argc) {
      before_connect = argv[++i];
    } else {
      fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, argv[3], NULL) != 1 ||
      SSL_CTX_use_certificate_chain_file(ctx, argv[4]) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, argv[5], SSL_FILETYPE_PEM) != 1) {
    ERR_print_errors_fp(stderr);
    return 2;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
  if (tls12) {
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
  }
  first = run_attempt(ctx, argv[1], atoi(argv[2]), argv[6], &session, before_connect);
  if (between != NULL && system(between) != 0) {
    fprintf(stderr, "--between command failed\n");
  }
  second = run_attempt(ctx, argv[1], atoi(argv[2]), argv[6], &session, NULL);
  printf("first_connack=%d first_reused=%d second_connack=%d second_reused=%d\n", first.connack,
         first.reused, second.connack, second.reused);
  SSL_SESSION_free(session);
  SSL_CTX_free(ctx);
  return 0;
}
