// Copyright 2026 the tcp authors. MIT license.
//
// A static file server for the download benchmark: HTTP/1.1 GET only, files
// under one directory, bodies sent with sendfile(2) straight from the page
// cache, a process per connection. It does the least work an HTTP server can
// do per byte, so the downloaders, not the server, set the pace; the load
// generator's `download` mode (a plain read loop that discards the body)
// shows how fast it serves.
//
//   file_server ROOT [CERT KEY]   listens on 127.0.0.1, a free port; prints
//                                 the port
//
// With a PEM certificate and key (and a build with -DWITH_TLS and OpenSSL)
// it serves HTTPS instead. Without kernel TLS there is no sendfile: the body
// is mapped into memory and encrypted 1 MiB at a time into a memory buffer
// that goes out in one send(), so the server makes one syscall per MiB, not
// one per 16 KiB record as an SSL_write() to the socket would.
//
// GET /FILE?chunked=N sends the body with chunked transfer coding instead, in
// chunks of N bytes (as servers that stream generated content do): the
// chunks are framed 1 MiB at a time into a memory buffer sent in one go.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef WITH_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

static const char *root;

#ifdef WITH_TLS
static SSL_CTX *tls_ctx;
// The connection's TLS state (a process serves one connection), or NULL.
static SSL *ssl;
// Where SSL_write() puts the records until they are sent.
static BIO *records;
#endif

static int raw_send_all(int fd, const char *data, size_t len, int flags) {
  while (len > 0) {
    ssize_t w = send(fd, data, len, flags | MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += w;
    len -= w;
  }
  return 0;
}

#ifdef WITH_TLS
// Encrypts data into records and sends them all.
static int tls_send_all(int fd, const char *data, size_t len, int flags) {
  while (len > 0) {
    int n = SSL_write(ssl, data, len > (1 << 30) ? (1 << 30) : (int)len);
    if (n <= 0) return -1;
    data += n;
    len -= n;
  }
  char *out;
  long have = BIO_get_mem_data(records, &out);
  int r = raw_send_all(fd, out, have, flags);
  (void)BIO_reset(records);
  return r;
}
#endif

static int send_all(int fd, const char *data, size_t len, int flags) {
#ifdef WITH_TLS
  if (ssl) return tls_send_all(fd, data, len, flags);
#endif
  return raw_send_all(fd, data, len, flags);
}

static ssize_t receive(int fd, char *buf, size_t len) {
#ifdef WITH_TLS
  if (ssl) {
    int r = SSL_read(ssl, buf, len);
    return r > 0 ? r : (SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN ? 0 : -1);
  }
#endif
  return read(fd, buf, len);
}

// Sends a file's bytes from offset 0.
static int send_body(int fd, int in, off_t size) {
#ifdef WITH_TLS
  if (ssl) {
    if (size == 0) return 0;
    char *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, in, 0);
    if (map == MAP_FAILED) return -1;
    int r = 0;
    for (off_t off = 0; off < size && r == 0;) {
      size_t chunk = size - off < (1 << 20) ? size - off : (1 << 20);
      r = tls_send_all(fd, map + off, chunk, 0);
      off += chunk;
    }
    munmap(map, size);
    return r;
  }
#endif
  off_t offset = 0;
  while (offset < size) {
    ssize_t w = sendfile(fd, in, &offset, size - offset);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
  }
  return 0;
}

// Sends a file's bytes as chunks of `size` bytes, and the last chunk.
static int send_chunked(int fd, int in, off_t total, size_t size) {
  char *map = NULL;
  if (total > 0) {
    map = mmap(NULL, total, PROT_READ, MAP_PRIVATE | MAP_POPULATE, in, 0);
    if (map == MAP_FAILED) return -1;
  }
  size_t cap = (1 << 20) + size + 32;
  char *out = malloc(cap);
  if (!out) {
    if (map) munmap(map, total);
    return -1;
  }
  int r = 0;
  size_t used = 0;
  for (off_t off = 0; off < total && r == 0;) {
    size_t n = total - off < (off_t)size ? (size_t)(total - off) : size;
    used += snprintf(out + used, 32, "%zx\r\n", n);
    memcpy(out + used, map + off, n);
    used += n;
    out[used++] = '\r';
    out[used++] = '\n';
    off += n;
    if (used >= (1 << 20)) {
      r = send_all(fd, out, used, 0);
      used = 0;
    }
  }
  if (r == 0) {
    memcpy(out + used, "0\r\n\r\n", 5);
    r = send_all(fd, out, used + 5, 0);
  }
  free(out);
  if (map) munmap(map, total);
  return r;
}

static int respond_error(int fd, const char *status) {
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
  send_all(fd, head, n, 0);
  return -1;
}

// Serves one request whose header is in req; returns 0 to keep the
// connection open for another.
static int serve_request(int fd, char *req) {
  char method[16], target[4096];
  if (sscanf(req, "%15s %4095s", method, target) != 2) return respond_error(fd, "400 Bad Request");
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    return respond_error(fd, "405 Method Not Allowed");
  }
  char *query = strchr(target, '?');
  size_t chunk_size = 0;
  if (query) {
    *query = 0;
    if (sscanf(query + 1, "chunked=%zu", &chunk_size) != 1) chunk_size = 0;
  }
  if (target[0] != '/' || strstr(target, "..")) return respond_error(fd, "404 Not Found");
  char file[8192];
  snprintf(file, sizeof file, "%s%s", root, target);
  int in = open(file, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (in < 0 || fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
    if (in >= 0) close(in);
    return respond_error(fd, "404 Not Found");
  }
  int keep_alive = strcasestr(req, "\r\nconnection: close") == NULL;
  char head[512];
  char length[64];
  if (chunk_size > 0) {
    snprintf(length, sizeof length, "Transfer-Encoding: chunked");
  } else {
    snprintf(length, sizeof length, "Content-Length: %lld", (long long)st.st_size);
  }
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                   "%s\r\nConnection: %s\r\n\r\n",
                   length, keep_alive ? "keep-alive" : "close");
  int is_head = strcmp(method, "HEAD") == 0;
  // MSG_MORE lets the header share a packet with the body's first bytes.
  if (send_all(fd, head, n, is_head ? 0 : MSG_MORE) < 0) {
    close(in);
    return -1;
  }
  if (!is_head && (chunk_size > 0 ? send_chunked(fd, in, st.st_size, chunk_size)
                                   : send_body(fd, in, st.st_size)) < 0) {
    close(in);
    return -1;
  }
  close(in);
  return keep_alive ? 0 : -1;
}

static void serve_connection(int fd) {
  char buf[16384];
  size_t have = 0;
  for (;;) {
    char *end;
    while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
      if (have == sizeof buf - 1) return;
      ssize_t r = receive(fd, buf + have, sizeof buf - 1 - have);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return;
      have += r;
    }
    size_t used = end + 4 - buf;
    end[2] = 0;
    if (serve_request(fd, buf) < 0) return;
    memmove(buf, buf + used, have - used);
    have -= used;
  }
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 4) {
    fprintf(stderr, "usage: file_server ROOT [CERT KEY]\n");
    return 2;
  }
  root = argv[1];
  if (argc == 4) {
#ifdef WITH_TLS
    tls_ctx = SSL_CTX_new(TLS_server_method());
    if (!tls_ctx || SSL_CTX_use_certificate_chain_file(tls_ctx, argv[2]) != 1 ||
        SSL_CTX_use_PrivateKey_file(tls_ctx, argv[3], SSL_FILETYPE_PEM) != 1) {
      fprintf(stderr, "file_server: cannot load the certificate: ");
      ERR_print_errors_fp(stderr);
      return 1;
    }
    // A process per connection: nothing to resume a session with.
    SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(tls_ctx, 0);
#else
    fprintf(stderr, "file_server: TLS needs a build with OpenSSL (libssl-dev)\n");
    return 2;
#endif
  }
  // Children are reaped by the kernel; nobody waits for them.
  signal(SIGCHLD, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 128) < 0) {
    perror("file_server: listen");
    return 1;
  }
  socklen_t len = sizeof sa;
  getsockname(lfd, (struct sockaddr *)&sa, &len);
  printf("%d\n", ntohs(sa.sin_port));
  fflush(stdout);
  pid_t parent = getpid();
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      perror("file_server: accept");
      return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
      // A connection left open must not outlive the benchmark.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(0);
      close(lfd);
#ifdef WITH_TLS
      if (tls_ctx) {
        ssl = SSL_new(tls_ctx);
        if (!ssl || !SSL_set_fd(ssl, fd) || SSL_accept(ssl) != 1) _exit(1);
        // From here on, records collect in memory; reads stay on the socket.
        records = BIO_new(BIO_s_mem());
        SSL_set0_wbio(ssl, records);
      }
#endif
      serve_connection(fd);
#ifdef WITH_TLS
      if (ssl) {
        // close_notify, so that clients see a clean end.
        SSL_shutdown(ssl);
        char *out;
        long have = BIO_get_mem_data(records, &out);
        raw_send_all(fd, out, have, 0);
      }
#endif
      _exit(0);
    }
    close(fd);
  }
}
