/* bench/net/echo_common.h — the little every echo server of the comparison shares: its command
 * line, the descriptor limit, and how it tells run_echo.sh which port it got.
 *
 * Only the plumbing around the servers is shared. Each server's I/O — how it listens, accepts,
 * reads, writes and buffers — is written in its own file the way that library's users write it,
 * because that is what the comparison measures.
 *
 * Pitfalls handled here:
 *  - 1000 connections need more than the usual soft limit of 1024 descriptors (plus the
 *    listener, the poller and stdio), so the soft RLIMIT_NOFILE is raised to the hard limit. The
 *    hard limit itself can only be raised by root, and is left alone.
 *  - The servers listen on port 0 (a free port the kernel picks) so that two runs, or another
 *    engineer's run, never collide, and print "port=N" once listening. stdout is a file when
 *    run_echo.sh starts them, hence the explicit flush. */
#ifndef BENCH_NET_ECHO_COMMON_H
#define BENCH_NET_ECHO_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Read buffer of the servers that choose their own (the floor, libev, tide): 16 KiB, the size
 * tide's examples/echo_server.c reads with. libuv (64 KiB, its suggested_size) and libevent
 * (bufferevent's own reads) decide for themselves, as their users let them. */
enum { ECHO_DEFAULT_BUF = 16 * 1024, ECHO_BACKLOG = 1024 };

typedef struct echo_args {
  unsigned port; /* 0: any free port */
  size_t buf;    /* read buffer size, for the servers that take one */
} echo_args;

static inline void echo_usage(const char *prog) {
  fprintf(stderr, "usage: %s [--port N] [--buf BYTES]\n", prog);
  exit(2);
}

static inline echo_args echo_parse_args(int argc, char **argv) {
  echo_args a = {.port = 0, .buf = ECHO_DEFAULT_BUF};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
      a.port = (unsigned)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--buf") == 0 && i + 1 < argc)
      a.buf = (size_t)strtoul(argv[++i], NULL, 10);
    else
      echo_usage(argv[0]);
  }
  if (a.port > 65535 || a.buf < 64 || a.buf > (64u << 20))
    echo_usage(argv[0]);
  return a;
}

static inline void echo_raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      perror("setrlimit(RLIMIT_NOFILE)");
  }
}

static inline void echo_announce(const char *lib, unsigned port) {
  printf("port=%u lib=%s\n", port, lib);
  fflush(stdout);
}

#endif
