// Copyright 2026 the tcp authors. MIT license.
//
// Load generator for the echo benchmarks: one thread, non-blocking sockets,
// epoll. It is written in C so that it costs far less CPU per message than any
// server it measures; the C reference echo server (ref_echo_server.c) shows
// the headroom: whatever figure it reaches, the load generator can drive.
//
//   loadgen pingpong --port P [--conns 50] [--size 64] [--warmup S] [--duration S]
//   loadgen bulk     --port P [--conns 4] [--size 65536] [--warmup S] [--duration S]
//   loadgen churn    --port P [--conns 50] [--size 64] [--warmup S] [--duration S]
//   loadgen idle     --port P [--conns 10000] [--size 64] [--settle S] --server-pid PID
//   loadgen download --port P --path /file
//
// Options common to the timed modes: --server-pid PID[,PID...], whose CPU
// time (from /proc/PID/stat, summed over the processes: a server may be
// several workers) is sampled over the measured interval, so the report says
// how busy the server was, in user and in system mode. The result is one JSON
// line on stdout.
//
// --tls 1 speaks TLS (when built with -DWITH_TLS and OpenSSL): pingpong and
// bulk make one full handshake per connection before the clock starts, churn
// one per connection it opens (no session is ever resumed), download fetches
// over HTTPS. Certificates are not verified: the client's cost stays small
// and the server's is the one measured.
//
// --proxy-v2 1 (pingpong, churn, idle) sends a PROXY protocol v2 header
// (TCP4, from 203.0.113.x and a port that changes with every connection, to
// 127.0.0.1:PORT) in the same write as the connection's first message; the
// server is expected to echo the message alone.
//
// idle: opens --conns connections, makes one round trip on each (so the
// server has accepted it and its handler is waiting in a read), waits
// --settle seconds, prints a "ready" JSON line with the server's VmRSS from
// before and after, then holds them all until stdin reaches end of file.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <time.h>
#include <unistd.h>
#ifdef WITH_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

static int port;
static int conns = -1;
static long size = -1;
static double warmup = 1.0;
static double duration = 5.0;
#define MAX_PIDS 16
static int server_pids[MAX_PIDS];
static int npids;
static int use_tls;
static int proxy_v2;
static const char *path = "/";
static int rst;
static double settle = 1.0;

static void die(const char *what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static double self_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

// The server's CPU seconds, all threads, in user and in system mode; both -1
// if unknown. Every Deno server makes the same syscalls per message, so the
// split shows what a server adds on top of the kernel's work.
struct cpu {
  double user, sys;
};

static int read_cpu(int pid, struct cpu *out) {
  char file[64], buf[1024];
  snprintf(file, sizeof file, "/proc/%d/stat", pid);
  FILE *f = fopen(file, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  // The command name may contain spaces; fields start after its ')'.
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long utime, stime;
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
             &utime, &stime) != 2)
    return -1;
  double tck = sysconf(_SC_CLK_TCK);
  out->user = utime / tck;
  out->sys = stime / tck;
  return 0;
}

static struct cpu server_cpu(void) {
  struct cpu unknown = {-1, -1}, sum = {0, 0};
  if (npids == 0) return unknown;
  for (int i = 0; i < npids; i++) {
    struct cpu c;
    if (read_cpu(server_pids[i], &c) < 0) return unknown;
    sum.user += c.user;
    sum.sys += c.sys;
  }
  return sum;
}

// The server's resident memory in KiB (VmRSS, summed over its processes);
// -1 if unknown.
static long server_rss(void) {
  if (npids == 0) return -1;
  long total = 0;
  for (int i = 0; i < npids; i++) {
    char file[64], line[256];
    snprintf(file, sizeof file, "/proc/%d/status", server_pids[i]);
    FILE *f = fopen(file, "r");
    if (!f) return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f)) {
      if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    }
    fclose(f);
    if (kib < 0) return -1;
    total += kib;
  }
  return total;
}

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static struct sockaddr_in server_addr(void) {
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

// Starts a non-blocking connect; returns the socket.
static int start_connect(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in sa = server_addr();
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

static int blocking_connect(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in sa = server_addr();
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
  return fd;
}

static void set_nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// TLS, where built with it. A connection's TLS state is an opaque pointer so
// that the modes read the same with and without OpenSSL; NULL means plain.
#ifdef WITH_TLS
static SSL_CTX *tls_ctx;

static void tls_die(const char *what) {
  fprintf(stderr, "loadgen: %s failed: ", what);
  ERR_print_errors_fp(stderr);
  fputc('\n', stderr);
  exit(1);
}

static void tls_init(void) {
  tls_ctx = SSL_CTX_new(TLS_client_method());
  if (!tls_ctx) tls_die("SSL_CTX_new");
  SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
  // Never resume: every churn connection is a full handshake.
  SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // A server that closes without close_notify ends a download as EOF.
  SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Reads take whatever has arrived, not a record header and then its body:
  // half the syscalls. What OpenSSL then holds, epoll cannot see
  // (tls_pending() tells).
  SSL_CTX_set_read_ahead(tls_ctx, 1);
}

static void *tls_new(int fd) {
  SSL *ssl = SSL_new(tls_ctx);
  if (!ssl || !SSL_set_fd(ssl, fd)) tls_die("SSL_new");
  SSL_set_connect_state(ssl);
  return ssl;
}

static void tls_free(void *ssl) {
  if (ssl) SSL_free(ssl);
}

// Maps an SSL call's result to read()/write() conventions: EAGAIN when the
// record is incomplete or the socket full, 0 at the end, -1 on an error.
static ssize_t tls_result(SSL *ssl, int r) {
  if (r > 0) return r;
  int err = SSL_get_error(ssl, r);
  ERR_clear_error();
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  if (err == SSL_ERROR_ZERO_RETURN) return 0;
  if (err != SSL_ERROR_SYSCALL || errno == 0 || errno == EAGAIN) errno = EIO;
  return -1;
}

// One step of a non-blocking handshake: 0 when done, else the epoll events
// it waits for (EPOLLIN or EPOLLOUT), or -1 when it failed.
static int tls_handshake(void *ssl) {
  int r = SSL_do_handshake(ssl);
  if (r == 1) return 0;
  int err = SSL_get_error(ssl, r);
  ERR_clear_error();
  if (err == SSL_ERROR_WANT_READ) return EPOLLIN;
  if (err == SSL_ERROR_WANT_WRITE) return EPOLLOUT;
  return -1;
}

static int tls_pending(void *ssl) {
  return ssl && SSL_has_pending(ssl);
}
#else
static void tls_init(void) {
  fprintf(stderr, "loadgen: --tls needs a build with OpenSSL (libssl-dev)\n");
  exit(2);
}
static void *tls_new(int fd) { return NULL; }
static void tls_free(void *ssl) {}
static int tls_handshake(void *ssl) { return -1; }
static int tls_pending(void *ssl) { return 0; }
#endif

static ssize_t conn_read(int fd, void *ssl, char *buf, size_t len) {
#ifdef WITH_TLS
  if (ssl) return tls_result(ssl, SSL_read(ssl, buf, len));
#endif
  return read(fd, buf, len);
}

static ssize_t conn_write(int fd, void *ssl, const char *buf, size_t len) {
#ifdef WITH_TLS
  if (ssl) return tls_result(ssl, SSL_write(ssl, buf, len));
#endif
  return write(fd, buf, len);
}

// A blocking connect and, with --tls, a blocking handshake.
static int setup_connection(void **ssl) {
  int fd = blocking_connect();
  *ssl = NULL;
  if (use_tls) {
    *ssl = tls_new(fd);
    if (tls_handshake(*ssl) != 0) {
      fprintf(stderr, "loadgen: TLS handshake failed\n");
      exit(1);
    }
  }
  set_nonblocking(fd);
  return fd;
}

// PROXY protocol v2: signature, version 2 + PROXY, TCP over IPv4, 12 bytes
// of addresses. Each call gives another source address and port.
#define PROXY_V2_LENGTH 28
static unsigned proxy_seq;

static void proxy_v2_header(unsigned char *out) {
  static const unsigned char sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                        0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
  unsigned n = proxy_seq++;
  uint16_t src_port = htons(1024 + (n / 254) % 64000), dst_port = htons(port);
  memcpy(out, sig, 12);
  out[12] = 0x21;
  out[13] = 0x11;
  out[14] = 0;
  out[15] = 12;
  unsigned char addrs[8] = {203, 0, 113, 1 + n % 254, 127, 0, 0, 1};
  memcpy(out + 16, addrs, 8);
  memcpy(out + 24, &src_port, 2);
  memcpy(out + 26, &dst_port, 2);
}

// Sends a connection's first message, after a PROXY header if asked for, in
// one write; 0 if it all went, -1 if not (a small write into an empty
// socket buffer goes whole).
static int first_write(int fd, void *ssl, const char *msg, long len) {
  if (!proxy_v2) return conn_write(fd, ssl, msg, len) == len ? 0 : -1;
  unsigned char out[PROXY_V2_LENGTH + 1024];
  if (len > 1024) return -1;
  proxy_v2_header(out);
  memcpy(out + PROXY_V2_LENGTH, msg, len);
  return write(fd, out, PROXY_V2_LENGTH + len) == PROXY_V2_LENGTH + len ? 0 : -1;
}

// Latency histogram: 1 µs buckets up to 100 ms, which covers every round trip
// a healthy server makes; slower ones land in the last bucket.
#define HIST_BUCKETS 100000
static uint32_t hist[HIST_BUCKETS];

static void record_latency(uint64_t ns) {
  uint64_t us = ns / 1000;
  hist[us < HIST_BUCKETS ? us : HIST_BUCKETS - 1]++;
}

static double percentile_us(double p) {
  uint64_t total = 0, seen = 0;
  for (int i = 0; i < HIST_BUCKETS; i++) total += hist[i];
  if (total == 0) return 0;
  uint64_t want = (uint64_t)(p * total);
  for (int i = 0; i < HIST_BUCKETS; i++) {
    seen += hist[i];
    if (seen > want) return i + 0.5;
  }
  return HIST_BUCKETS;
}

// The measured interval: counters start at zero when the warm-up ends.
struct interval {
  double start, cpu;
  struct cpu server;
};

static struct interval begin_interval(void) {
  memset(hist, 0, sizeof hist);
  return (struct interval){now(), self_cpu(), server_cpu()};
}

static void report(const char *mode, struct interval iv, uint64_t ops, uint64_t bytes,
                   uint64_t errors, int latency) {
  double secs = now() - iv.start;
  double cpu = self_cpu() - iv.cpu;
  struct cpu s = server_cpu();
  double user = -1, sys = -1;
  if (iv.server.user >= 0 && s.user >= 0) {
    user = (s.user - iv.server.user) / secs;
    sys = (s.sys - iv.server.sys) / secs;
  }
  printf("{\"mode\":\"%s\",\"seconds\":%.4f,\"ops\":%llu,\"bytes\":%llu,\"errors\":%llu,"
         "\"loadgenCpu\":%.4f,\"serverCpu\":%.4f,\"serverUser\":%.4f,\"serverSys\":%.4f",
         mode, secs, (unsigned long long)ops, (unsigned long long)bytes,
         (unsigned long long)errors, cpu / secs, user < 0 ? -1 : user + sys, user, sys);
  if (latency) {
    printf(",\"p50us\":%.1f,\"p99us\":%.1f", percentile_us(0.5), percentile_us(0.99));
  }
  printf("}\n");
  fflush(stdout);
}

static char *buffer;
#define BUFFER_SIZE (256 * 1024)

// Each connection sends one message, waits for all of it to come back, then
// sends the next: request/response as a chat or RPC protocol does it.
static int run_pingpong(void) {
  if (conns < 0) conns = 50;
  if (size < 0) size = 64;
  if (size > BUFFER_SIZE) size = BUFFER_SIZE;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int *fds = calloc(conns, sizeof *fds);
  void **ssl = calloc(conns, sizeof *ssl);
  long *got = calloc(conns, sizeof *got);
  uint64_t *sent_at = calloc(conns, sizeof *sent_at);
  char *msg = malloc(size);
  memset(msg, 'x', size);
  for (int i = 0; i < conns; i++) {
    fds[i] = setup_connection(&ssl[i]);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  for (int i = 0; i < conns; i++) {
    sent_at[i] = now_ns();
    if (first_write(fds[i], ssl[i], msg, size) < 0) die("write");
  }
  struct epoll_event events[256];
  uint64_t ops = 0, errors = 0;
  double warm_end = now() + warmup, end = warm_end + duration;
  int warming = warmup > 0;
  struct interval iv = begin_interval();
  for (;;) {
    double t = now();
    if (warming && t >= warm_end) {
      warming = 0;
      ops = 0;
      iv = begin_interval();
    }
    if (t >= end) break;
    int n = epoll_wait(ep, events, 256, 100);
    for (int e = 0; e < n; e++) {
      int i = events[e].data.u32;
      ssize_t r = conn_read(fds[i], ssl[i], buffer, size - got[i]);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        errors++;
        epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
        continue;
      }
      got[i] += r;
      if (got[i] < size) {
        // Decrypted bytes that OpenSSL holds wake no epoll: take them now.
        if (tls_pending(ssl[i])) e--;
        continue;
      }
      got[i] = 0;
      uint64_t t1 = now_ns();
      record_latency(t1 - sent_at[i]);
      ops++;
      sent_at[i] = t1;
      // The socket's send buffer is empty (the reply to the last message has
      // arrived), so a small message always goes out whole.
      if (conn_write(fds[i], ssl[i], msg, size) != size) errors++;
    }
  }
  report("pingpong", iv, ops, ops * size, errors, 1);
  return errors > 0 && ops == 0;
}

// Each connection writes `size`-byte chunks as fast as the server drains them
// and reads the echo back; the figure is bytes echoed per second.
static int run_bulk(void) {
  if (conns < 0) conns = 4;
  if (size < 0) size = 64 * 1024;
  if (size > BUFFER_SIZE) size = BUFFER_SIZE;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int *fds = calloc(conns, sizeof *fds);
  void **ssl = calloc(conns, sizeof *ssl);
  long *offset = calloc(conns, sizeof *offset);
  char *chunk = malloc(size);
  for (long j = 0; j < size; j++) chunk[j] = (char)(j * 31 + 7);
  for (int i = 0; i < conns; i++) {
    fds[i] = setup_connection(&ssl[i]);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  struct epoll_event events[256];
  uint64_t bytes = 0, errors = 0;
  double warm_end = now() + warmup, end = warm_end + duration;
  int warming = warmup > 0;
  struct interval iv = begin_interval();
  for (;;) {
    double t = now();
    if (warming && t >= warm_end) {
      warming = 0;
      bytes = 0;
      iv = begin_interval();
    }
    if (t >= end) break;
    int n = epoll_wait(ep, events, 256, 100);
    for (int e = 0; e < n; e++) {
      int i = events[e].data.u32;
      if (events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        // TLS hands out one record (16 KiB at most) per read: drain what
        // has arrived rather than wait for another wake-up per record.
        ssize_t r;
        do {
          r = conn_read(fds[i], ssl[i], buffer, BUFFER_SIZE);
          if (r > 0) bytes += r;
        } while (r > 0 && ssl[i]);
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
          errors++;
          epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
          continue;
        }
      }
      if (events[e].events & EPOLLOUT) {
        // One write per wake-up keeps reads and writes interleaved.
        ssize_t w = conn_write(fds[i], ssl[i], chunk + offset[i], size - offset[i]);
        if (w > 0) offset[i] = (offset[i] + w) % size;
      }
    }
  }
  report("bulk", iv, bytes / size, bytes, errors, 0);
  return bytes == 0;
}

// Each slot connects, sends one message, reads the echo, closes, and starts
// over: the cost of accepting and tearing down a connection.
enum { CONNECTING, HANDSHAKING, WAITING };
struct slot {
  int fd;
  void *ssl;
  int state;
  long got;
  uint64_t started;
};

static int churn_begin(int ep, struct slot *s, int i) {
  s->fd = start_connect();
  s->ssl = NULL;
  if (s->fd < 0) return -1;
  s->state = CONNECTING;
  s->got = 0;
  s->started = now_ns();
  struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = i};
  epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
  return 0;
}

static int run_churn(void) {
  if (conns < 0) conns = 50;
  if (size < 0) size = 64;
  if (size > BUFFER_SIZE) size = BUFFER_SIZE;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct slot *slots = calloc(conns, sizeof *slots);
  char *msg = malloc(size);
  memset(msg, 'c', size);
  uint64_t ops = 0, errors = 0;
  for (int i = 0; i < conns; i++) {
    if (churn_begin(ep, &slots[i], i) < 0) die("connect");
  }
  struct epoll_event events[256];
  double warm_end = now() + warmup, end = warm_end + duration;
  int warming = warmup > 0;
  struct interval iv = begin_interval();
  for (;;) {
    double t = now();
    if (warming && t >= warm_end) {
      warming = 0;
      ops = 0;
      errors = 0;
      iv = begin_interval();
    }
    if (t >= end) break;
    int n = epoll_wait(ep, events, 256, 100);
    for (int e = 0; e < n; e++) {
      int i = events[e].data.u32;
      struct slot *s = &slots[i];
      int failed = 0;
      if (s->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          failed = 1;
        } else if (use_tls) {
          s->ssl = tls_new(s->fd);
          s->state = HANDSHAKING;
        } else if (first_write(s->fd, NULL, msg, size) < 0) {
          failed = 1;
        } else {
          s->state = WAITING;
          struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
          epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
          continue;
        }
      }
      if (!failed && s->state == HANDSHAKING) {
        int want = tls_handshake(s->ssl);
        if (want < 0) {
          failed = 1;
        } else if (want > 0) {
          struct epoll_event ev = {.events = want, .data.u32 = i};
          epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
          continue;
        } else if (conn_write(s->fd, s->ssl, msg, size) != size) {
          failed = 1;
        } else {
          s->state = WAITING;
          struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
          epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
          // The echo cannot have come yet.
          continue;
        }
      } else if (!failed && s->state == WAITING) {
        ssize_t r = conn_read(s->fd, s->ssl, buffer, size - s->got);
        if (r < 0 && errno == EAGAIN) continue;
        if (r <= 0) {
          failed = 1;
        } else if ((s->got += r) < size) {
          if (tls_pending(s->ssl)) e--;
        } else {
          record_latency(now_ns() - s->started);
          ops++;
          if (rst) {
            struct linger lg = {1, 0};
            setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
          }
          // No close_notify: the connection ends as a plain one does.
          tls_free(s->ssl);
          close(s->fd);
          if (churn_begin(ep, s, i) < 0) failed = 2;
        }
      }
      if (failed) {
        errors++;
        if (failed == 1) {
          tls_free(s->ssl);
          close(s->fd);
        }
        // Out of ephemeral ports or the like: give the system a moment.
        while (churn_begin(ep, s, i) < 0) {
          errors++;
          usleep(1000);
          if (now() >= end) break;
        }
      }
    }
  }
  report("churn", iv, ops, ops * size, errors, 1);
  return ops == 0;
}

// Opens many connections and holds them. At most `window` are being set up at
// a time, so the server's accept backlog never overflows (an overflow costs a
// one-second SYN retransmission and says nothing about the server).
static int run_idle(void) {
  if (conns < 0) conns = 10000;
  if (size < 0) size = 64;
  if (size > BUFFER_SIZE) size = BUFFER_SIZE;
  const int window = 128;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct slot *slots = calloc(conns, sizeof *slots);
  char *msg = malloc(size);
  memset(msg, 'i', size);
  int started = 0, done = 0;
  uint64_t errors = 0;
  long rss_before = server_rss();
  double t0 = now();
  struct epoll_event events[256];
  while (done < conns) {
    while (started < conns && started - done < window) {
      if (churn_begin(ep, &slots[started], started) < 0) die("connect");
      started++;
    }
    int n = epoll_wait(ep, events, 256, 1000);
    if (n == 0 && now() - t0 > 60) {
      fprintf(stderr, "loadgen: idle: stuck at %d of %d connections\n", done, conns);
      return 1;
    }
    for (int e = 0; e < n; e++) {
      int i = events[e].data.u32;
      struct slot *s = &slots[i];
      if (s->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          errno = err;
          die("idle connect");
        }
        if (first_write(s->fd, NULL, msg, size) < 0) die("idle write");
        s->state = WAITING;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
      } else {
        ssize_t r = read(s->fd, buffer, size - s->got);
        if (r < 0 && errno == EAGAIN) continue;
        if (r <= 0) die("idle read");
        if ((s->got += r) == size) {
          // Held from now on; no more events wanted from it.
          epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
          done++;
        }
      }
    }
  }
  double setup = now() - t0;
  // Let the server finish whatever the last connections started.
  usleep((useconds_t)(settle * 1e6));
  long rss_after = server_rss();
  printf("{\"mode\":\"idle\",\"ready\":true,\"conns\":%d,\"seconds\":%.3f,\"errors\":%llu,"
         "\"rssBeforeKiB\":%ld,\"rssAfterKiB\":%ld}\n",
         conns, setup, (unsigned long long)errors, rss_before, rss_after);
  fflush(stdout);
  // Hold until told to let go.
  while (read(0, buffer, BUFFER_SIZE) > 0) {
  }
  for (int i = 0; i < conns; i++) close(slots[i].fd);
  return 0;
}

// Downloads one file with a plain blocking read loop into a 1 MiB buffer and
// throws it away: how fast the file server can serve, with no client cost to
// speak of.
static int run_download(void) {
  double t0 = now();
  int fd = blocking_connect();
  void *ssl = NULL;
  if (use_tls) {
    ssl = tls_new(fd);
    if (tls_handshake(ssl) != 0) {
      fprintf(stderr, "loadgen: TLS handshake failed\n");
      return 1;
    }
  }
  char request[1024];
  int len = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
                     path, port);
  if (conn_write(fd, ssl, request, len) != len) die("write");
  const size_t cap = 1 << 20;
  char *buf = malloc(cap);
  uint64_t total = 0, body = 0;
  long header = -1;
  for (;;) {
    ssize_t r = conn_read(fd, ssl, buf, cap);
    if (r < 0) die("read");
    if (r == 0) break;
    if (header < 0) {
      // The header arrives in the first read on loopback; find its end.
      char *end = memmem(buf, r, "\r\n\r\n", 4);
      if (!end) die("no response header in the first read");
      header = end + 4 - buf;
      body += r - header;
    } else {
      body += r;
    }
    total += r;
  }
  double secs = now() - t0;
  printf("{\"mode\":\"download\",\"seconds\":%.4f,\"bytes\":%llu,\"loadgenCpu\":%.4f}\n", secs,
         (unsigned long long)body, self_cpu() / secs);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: loadgen pingpong|bulk|churn|idle|download --port P [options]\n");
    return 2;
  }
  const char *mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--port")) port = atoi(v);
    else if (!strcmp(k, "--conns")) conns = atoi(v);
    else if (!strcmp(k, "--size")) size = atol(v);
    else if (!strcmp(k, "--warmup")) warmup = atof(v);
    else if (!strcmp(k, "--duration")) duration = atof(v);
    else if (!strcmp(k, "--server-pid")) {
      for (const char *p = v; *p && npids < MAX_PIDS; p = strchr(p, ',') ? strchr(p, ',') + 1 : "") {
        server_pids[npids++] = atoi(p);
      }
    }
    else if (!strcmp(k, "--tls")) use_tls = atoi(v);
    else if (!strcmp(k, "--proxy-v2")) proxy_v2 = atoi(v);
    else if (!strcmp(k, "--path")) path = v;
    else if (!strcmp(k, "--rst")) rst = atoi(v);
    else if (!strcmp(k, "--settle")) settle = atof(v);
    else {
      fprintf(stderr, "loadgen: unknown option %s\n", k);
      return 2;
    }
  }
  if (port <= 0) {
    fprintf(stderr, "loadgen: --port is required\n");
    return 2;
  }
  if (use_tls && proxy_v2) {
    fprintf(stderr, "loadgen: --proxy-v2 with --tls is not supported\n");
    return 2;
  }
  if (use_tls) tls_init();
  raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  buffer = malloc(BUFFER_SIZE);
  if (!strcmp(mode, "pingpong")) return run_pingpong();
  if (!strcmp(mode, "bulk")) return run_bulk();
  if (!strcmp(mode, "churn")) return run_churn();
  if (!strcmp(mode, "idle")) return run_idle();
  if (!strcmp(mode, "download")) return run_download();
  fprintf(stderr, "loadgen: unknown mode %s\n", mode);
  return 2;
}
