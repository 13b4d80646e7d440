// Copyright 2026 the tcp authors. MIT license.
//
// Reference echo server: one thread, epoll, non-blocking sockets, one shared
// 256 KiB read buffer. It is about as fast as an echo server gets on one core,
// so its figure in each table is the ceiling the load generator can drive:
// when the servers we measure fall short of it, they, not the load
// generator, are the limit.
//
//   ref_echo_server [CERT KEY]   listens on 127.0.0.1, a free port; prints
//                                the port
//
// With a PEM certificate and key (and a build with -DWITH_TLS and OpenSSL)
// it echoes over TLS, with OpenSSL's defaults (TLS 1.3, two session tickets
// per handshake): the TLS tables' ceiling.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef WITH_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#define BUFFER_SIZE (256 * 1024)

// A connection owns memory only while the peer is not taking its echo fast
// enough: the bytes the socket did not accept wait here.
struct conn {
  int fd;
  char *pending;
  size_t off, len;
#ifdef WITH_TLS
  SSL *ssl;
  int handshaking;
#endif
};

static char buffer[BUFFER_SIZE];

static void close_conn(struct conn *c) {
#ifdef WITH_TLS
  if (c->ssl) SSL_free(c->ssl);
#endif
  close(c->fd);
  free(c->pending);
  free(c);
}

static void watch(int ep, struct conn *c, uint32_t events) {
  struct epoll_event cev = {.events = events, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
}

#ifdef WITH_TLS
static SSL_CTX *tls_ctx;

// An SSL call's result as read()/write() would give it: EAGAIN when it
// waits for the socket, -1 with another errno when the connection failed.
static ssize_t tls_result(SSL *ssl, int r) {
  if (r > 0) return r;
  int err = SSL_get_error(ssl, r);
  ERR_clear_error();
  errno = err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE ? EAGAIN : EIO;
  return err == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

// Handles one event on a TLS connection: finishes the handshake, writes
// what waits, then echoes every record that has arrived (OpenSSL may hold
// decrypted bytes that epoll cannot see, so it reads until EAGAIN).
static void serve_tls(int ep, struct conn *c) {
  if (c->handshaking) {
    int r = SSL_do_handshake(c->ssl);
    if (r != 1) {
      int err = SSL_get_error(c->ssl, r);
      ERR_clear_error();
      if (err == SSL_ERROR_WANT_READ) watch(ep, c, EPOLLIN);
      else if (err == SSL_ERROR_WANT_WRITE) watch(ep, c, EPOLLOUT);
      else close_conn(c);
      return;
    }
    c->handshaking = 0;
    watch(ep, c, EPOLLIN);
  }
  if (c->pending) {
    ssize_t w = tls_result(c->ssl, SSL_write(c->ssl, c->pending + c->off, c->len - c->off));
    if (w < 0 && errno != EAGAIN) {
      close_conn(c);
      return;
    }
    if (w > 0) c->off += w;
    if (c->off < c->len) return;
    free(c->pending);
    c->pending = NULL;
    watch(ep, c, EPOLLIN);
  }
  for (;;) {
    ssize_t r = tls_result(c->ssl, SSL_read(c->ssl, buffer, BUFFER_SIZE));
    if (r < 0 && errno == EAGAIN) return;
    if (r <= 0) {
      close_conn(c);
      return;
    }
    ssize_t w = tls_result(c->ssl, SSL_write(c->ssl, buffer, r));
    if (w < 0) {
      if (errno != EAGAIN) {
        close_conn(c);
        return;
      }
      w = 0;
    }
    if (w < r) {
      // OpenSSL wants the same bytes again: they wait here, and reading
      // resumes once they are written.
      c->len = r - w;
      c->off = 0;
      c->pending = malloc(c->len);
      memcpy(c->pending, buffer + w, c->len);
      watch(ep, c, EPOLLOUT);
      return;
    }
  }
}
#endif

int main(int argc, char **argv) {
  if (argc != 1 && argc != 3) {
    fprintf(stderr, "usage: ref_echo_server [CERT KEY]\n");
    return 2;
  }
  if (argc == 3) {
#ifdef WITH_TLS
    tls_ctx = SSL_CTX_new(TLS_server_method());
    if (!tls_ctx || SSL_CTX_use_certificate_chain_file(tls_ctx, argv[1]) != 1 ||
        SSL_CTX_use_PrivateKey_file(tls_ctx, argv[2], SSL_FILETYPE_PEM) != 1) {
      fprintf(stderr, "ref_echo_server: cannot load the certificate: ");
      ERR_print_errors_fp(stderr);
      return 1;
    }
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#else
    fprintf(stderr, "ref_echo_server: TLS needs a build with OpenSSL (libssl-dev)\n");
    return 2;
#endif
  }
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4096) < 0) {
    perror("ref_echo_server: listen");
    return 1;
  }
  socklen_t len = sizeof sa;
  getsockname(lfd, (struct sockaddr *)&sa, &len);
  printf("%d\n", ntohs(sa.sin_port));
  fflush(stdout);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event events[512];
  for (;;) {
    int n = epoll_wait(ep, events, 512, -1);
    for (int e = 0; e < n; e++) {
      struct conn *c = events[e].data.ptr;
      if (c == NULL) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          c = calloc(1, sizeof *c);
          c->fd = fd;
#ifdef WITH_TLS
          if (tls_ctx) {
            c->ssl = SSL_new(tls_ctx);
            SSL_set_fd(c->ssl, fd);
            SSL_set_accept_state(c->ssl);
            c->handshaking = 1;
          }
#endif
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
#ifdef WITH_TLS
      if (c->ssl) {
        serve_tls(ep, c);
        continue;
      }
#endif
      if (c->pending) {
        // Waiting for room to write what is left; reading resumes after.
        ssize_t w = write(c->fd, c->pending + c->off, c->len - c->off);
        if (w < 0 && errno != EAGAIN) {
          close_conn(c);
          continue;
        }
        if (w > 0) c->off += w;
        if (c->off == c->len) {
          free(c->pending);
          c->pending = NULL;
          watch(ep, c, EPOLLIN);
        }
        continue;
      }
      ssize_t r = read(c->fd, buffer, BUFFER_SIZE);
      if (r < 0 && errno == EAGAIN) continue;
      if (r <= 0) {
        close_conn(c);
        continue;
      }
      ssize_t w = write(c->fd, buffer, r);
      if (w < 0) {
        if (errno != EAGAIN) {
          close_conn(c);
          continue;
        }
        w = 0;
      }
      if (w < r) {
        c->len = r - w;
        c->off = 0;
        c->pending = malloc(c->len);
        memcpy(c->pending, buffer + w, c->len);
        watch(ep, c, EPOLLOUT);
      }
    }
  }
}
