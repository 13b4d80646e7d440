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
// Options common to the timed modes: --server-pid PID, whose CPU time (from
// /proc/PID/stat) is sampled over the measured interval, so the report says
// how busy the server was, in user and in system mode. The result is one JSON
// line on stdout.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static int conns = -1;
static long size = -1;
static double warmup = 1.0;
static double duration = 5.0;
static int server_pid;
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

static struct cpu server_cpu(void) {
  struct cpu unknown = {-1, -1};
  if (server_pid <= 0) return unknown;
  char file[64], buf[1024];
  snprintf(file, sizeof file, "/proc/%d/stat", server_pid);
  FILE *f = fopen(file, "r");
  if (!f) return unknown;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  // The command name may contain spaces; fields start after its ')'.
  char *p = strrchr(buf, ')');
  if (!p) return unknown;
  unsigned long utime, stime;
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
             &utime, &stime) != 2)
    return unknown;
  double tck = sysconf(_SC_CLK_TCK);
  return (struct cpu){utime / tck, stime / tck};
}

// The server's resident memory in KiB (VmRSS); -1 if unknown.
static long server_rss(void) {
  if (server_pid <= 0) return -1;
  char file[64], line[256];
  snprintf(file, sizeof file, "/proc/%d/status", server_pid);
  FILE *f = fopen(file, "r");
  if (!f) return -1;
  long kib = -1;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  }
  fclose(f);
  return kib;
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
  long *got = calloc(conns, sizeof *got);
  uint64_t *sent_at = calloc(conns, sizeof *sent_at);
  char *msg = malloc(size);
  memset(msg, 'x', size);
  for (int i = 0; i < conns; i++) {
    fds[i] = blocking_connect();
    set_nonblocking(fds[i]);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  for (int i = 0; i < conns; i++) {
    sent_at[i] = now_ns();
    if (write(fds[i], msg, size) != size) die("write");
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
      ssize_t r = read(fds[i], buffer, size - got[i]);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        errors++;
        epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
        continue;
      }
      got[i] += r;
      if (got[i] < size) continue;
      got[i] = 0;
      uint64_t t1 = now_ns();
      record_latency(t1 - sent_at[i]);
      ops++;
      sent_at[i] = t1;
      // The socket's send buffer is empty (the reply to the last message has
      // arrived), so a small message always goes out whole.
      if (write(fds[i], msg, size) != size) errors++;
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
  long *offset = calloc(conns, sizeof *offset);
  char *chunk = malloc(size);
  for (long j = 0; j < size; j++) chunk[j] = (char)(j * 31 + 7);
  for (int i = 0; i < conns; i++) {
    fds[i] = blocking_connect();
    set_nonblocking(fds[i]);
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
        ssize_t r = read(fds[i], buffer, BUFFER_SIZE);
        if (r > 0) {
          bytes += r;
        } else if (r == 0 || errno != EAGAIN) {
          errors++;
          epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
          continue;
        }
      }
      if (events[e].events & EPOLLOUT) {
        // One write per wake-up keeps reads and writes interleaved.
        ssize_t w = write(fds[i], chunk + offset[i], size - offset[i]);
        if (w > 0) offset[i] = (offset[i] + w) % size;
      }
    }
  }
  report("bulk", iv, bytes / size, bytes, errors, 0);
  return bytes == 0;
}

// Each slot connects, sends one message, reads the echo, closes, and starts
// over: the cost of accepting and tearing down a connection.
enum { CONNECTING, WAITING };
struct slot {
  int fd;
  int state;
  long got;
  uint64_t started;
};

static int churn_begin(int ep, struct slot *s, int i) {
  s->fd = start_connect();
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
        if (err != 0 || write(s->fd, msg, size) != size) {
          failed = 1;
        } else {
          s->state = WAITING;
          struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
          epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
        }
      } else {
        ssize_t r = read(s->fd, buffer, size - s->got);
        if (r < 0 && errno == EAGAIN) continue;
        if (r <= 0) {
          failed = 1;
        } else if ((s->got += r) == size) {
          record_latency(now_ns() - s->started);
          ops++;
          if (rst) {
            struct linger lg = {1, 0};
            setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
          }
          close(s->fd);
          if (churn_begin(ep, s, i) < 0) failed = 2;
        }
      }
      if (failed) {
        errors++;
        if (failed == 1) close(s->fd);
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
        if (write(s->fd, msg, size) != size) die("idle write");
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
  int fd = blocking_connect();
  char request[1024];
  int len = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
                     path, port);
  double t0 = now();
  if (write(fd, request, len) != len) die("write");
  const size_t cap = 1 << 20;
  char *buf = malloc(cap);
  uint64_t total = 0, body = 0;
  long header = -1;
  for (;;) {
    ssize_t r = read(fd, buf, cap);
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
    else if (!strcmp(k, "--server-pid")) server_pid = atoi(v);
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
  raise_nofile();
  buffer = malloc(BUFFER_SIZE);
  if (!strcmp(mode, "pingpong")) return run_pingpong();
  if (!strcmp(mode, "bulk")) return run_bulk();
  if (!strcmp(mode, "churn")) return run_churn();
  if (!strcmp(mode, "idle")) return run_idle();
  if (!strcmp(mode, "download")) return run_download();
  fprintf(stderr, "loadgen: unknown mode %s\n", mode);
  return 2;
}
