// Copyright 2026 the tcp authors. MIT license.
//
// Runs a command and reports its wall time and peak resident memory (the
// kernel's ru_maxrss from wait4, the same figure as VmHWM in
// /proc/PID/status, read after exit so no sample can miss the peak). It is
// used instead of /usr/bin/time, which a fresh machine may lack.
//
//   measure OUT.json COMMAND [ARGS...]
//
// The command inherits stdin, stdout and stderr; the report goes to OUT.json.

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: measure OUT.json COMMAND [ARGS...]\n");
    return 2;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) {
    perror("measure: fork");
    return 1;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    perror("measure: exec");
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) {
    perror("measure: wait4");
    return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  FILE *out = fopen(argv[1], "w");
  if (!out) {
    perror("measure: report");
    return 1;
  }
  fprintf(out,
          "{\"seconds\":%.4f,\"maxRssKiB\":%ld,\"userSeconds\":%.4f,\"systemSeconds\":%.4f,"
          "\"exitCode\":%d}\n",
          (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, ru.ru_maxrss,
          ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
          ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  fclose(out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
