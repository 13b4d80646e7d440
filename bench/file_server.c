// Copyright 2026 the tcp authors. MIT license.
//
// A static file server for the download benchmark: HTTP/1.1 GET only, files
// under one directory, bodies sent with sendfile(2) straight from the page
// cache, a process per connection. It does the least work an HTTP server can
// do per byte, so the downloaders, not the server, set the pace; the load
// generator's `download` mode (a plain read loop that discards the body)
// shows how fast it serves.
//
//   file_server ROOT       listens on 127.0.0.1, a free port; prints the port

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
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *root;

static int send_all(int fd, const char *data, size_t len, int flags) {
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
  if (query) *query = 0;
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
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                   "Content-Length: %lld\r\nConnection: %s\r\n\r\n",
                   (long long)st.st_size, keep_alive ? "keep-alive" : "close");
  int is_head = strcmp(method, "HEAD") == 0;
  // MSG_MORE lets the header share a packet with the body's first bytes.
  if (send_all(fd, head, n, is_head ? 0 : MSG_MORE) < 0) {
    close(in);
    return -1;
  }
  off_t offset = 0;
  while (!is_head && offset < st.st_size) {
    ssize_t w = sendfile(fd, in, &offset, st.st_size - offset);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      close(in);
      return -1;
    }
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
      ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
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
  if (argc != 2) {
    fprintf(stderr, "usage: file_server ROOT\n");
    return 2;
  }
  root = argv[1];
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
      serve_connection(fd);
      _exit(0);
    }
    close(fd);
  }
}
