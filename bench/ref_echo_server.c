// Copyright 2026 the tcp authors. MIT license.
//
// Reference echo server: one thread, epoll, non-blocking sockets, one shared
// 256 KiB read buffer. It is about as fast as an echo server gets on one core,
// so its figure in each table is the ceiling the load generator can drive:
// when the servers we measure fall short of it, they, not the load
// generator, are the limit.
//
//   ref_echo_server        listens on 127.0.0.1, a free port; prints the port

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER_SIZE (256 * 1024)

// A connection owns memory only while the peer is not taking its echo fast
// enough: the bytes the socket did not accept wait here.
struct conn {
  int fd;
  char *pending;
  size_t off, len;
};

static char buffer[BUFFER_SIZE];

static void close_conn(struct conn *c) {
  close(c->fd);
  free(c->pending);
  free(c);
}

int main(void) {
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
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
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
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
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
        struct epoll_event cev = {.events = EPOLLOUT, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &cev);
      }
    }
  }
}
