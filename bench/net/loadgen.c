/* bench/net/loadgen.c — the one load generator every echo server of the comparison is driven by:
 * a separate process with its own edge-triggered epoll loop, talking to 127.0.0.1 only.
 *
 *   loadgen --port P --workload pingpong|pump|idle [--conns N] [--size BYTES]
 *           [--warmup S] [--seconds S] [--max-ops N] [--server-pid PID] [--label NAME]
 *
 * Workloads:
 *   pingpong  each of N connections has one message of --size bytes in flight: send it, wait for
 *             all of it to come back (checked byte for byte), send the next. One op = one round
 *             trip. N=1 measures latency, N=1000 a server's per-message cost under load.
 *   pump      libuv's "pump": every connection always has one --size (8 KiB) write outstanding:
 *             the next write starts as soon as the kernel took the last, while the echoed bytes
 *             are read and counted. One op = --size bytes echoed. At the end the generator stops
 *             writing and waits until every byte sent has come back (the run fails otherwise).
 *   idle      opens N connections, sends one message on each in turn and waits for its echo
 *             (so the server has accepted and served every one), then lets them sit idle and
 *             reads the server's resident memory: (after - before) / N is the memory the server
 *             holds per idle connection. Needs --server-pid.
 *
 * Every run is bounded in time: a warm-up (not counted), then a measurement window of --seconds
 * (cut short at --max-ops ops), then the end. The result is one line of key=value pairs on
 * stdout. With --server-pid the line also has the server's CPU time per op, read from
 * /proc/PID/schedstat over the window: the throughput figure is a property of the pair (whichever
 * process saturates first sets it), the server's CPU per op is a property of the server alone.
 * gen_util says how busy the generator itself was; near 1.0 the generator, not the server, may
 * be the limit, and the CPU-per-op column is the one to read. foreign is the CPU time the rest
 * of the machine used during the window (from /proc/stat, in CPUs): on a shared machine, a run
 * with much of it measured the neighbours as well.
 *
 * Pitfalls handled:
 *  - 1000 connections need more descriptors than the default soft limit: it is raised to the
 *    hard limit.
 *  - Ephemeral ports: every run opens up to 1000 connections, and a normal close leaves each in
 *    TIME_WAIT on the side that closed first. The generator closes with SO_LINGER {1, 0} (a reset)
 *    so no run leaves thousands of TIME_WAIT sockets behind for the next one.
 *  - Edge-triggered epoll: a read loop stops at a short read (the socket is empty and new bytes
 *    raise a new edge) and writes stop at EAGAIN (EPOLLOUT raises the edge to resume).
 *  - Blocking connect() has no timeout of its own; SO_SNDTIMEO bounds it, so a server that never
 *    accepts fails the run instead of hanging it.
 *  - SIGPIPE: every send uses MSG_NOSIGNAL. */
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

enum { MAX_EVENTS = 1024, PUMP_READ_BUF = 64 * 1024, MAX_MSG = 1 << 20 };

typedef enum workload { PINGPONG, PUMP, IDLE } workload;

typedef struct options {
  workload kind;
  const char *name;
  const char *label;
  unsigned port;
  size_t conns;
  size_t size;
  double warmup_s;
  double seconds;
  uint64_t max_ops;
  long server_pid;
} options;

typedef struct gconn {
  int fd;
  int failed;
  size_t got;  /* pingpong: bytes of the current echo received */
  size_t sent; /* pingpong: bytes of the current message sent; pump: of the current chunk */
  uint64_t tx; /* pump: bytes sent in total */
  uint64_t rx; /* pump: bytes received in total */
  char *echo;  /* pingpong: the echo being assembled (size bytes) */
} gconn;

typedef struct gen {
  options opt;
  int epfd;
  gconn *conns;
  char *msg;    /* the message (pingpong) or chunk (pump) sent; a fixed byte pattern */
  char *rbuf;   /* pump's read buffer */
  int sending;  /* 0 once the window has ended: no new message or chunk starts */
  uint64_t ops; /* completed ops since the start (round trips, or pump bytes / size) */
  uint64_t rx_total;
  int errors;
} gen;

/* ---- clocks and /proc ------------------------------------------------------------------- */

static int64_t now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The server's CPU time so far (on-CPU ns, the first field of schedstat), or -1. */
static int64_t server_cpu_ns(long pid) {
  if (pid <= 0)
    return -1;
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/schedstat", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -1;
  long long ns = -1;
  if (fscanf(f, "%lld", &ns) != 1)
    ns = -1;
  fclose(f);
  return ns;
}

/* Busy time of all CPUs so far (user, nice, system, irq, softirq) and the time the hypervisor
 * gave to someone else (steal), in ns, from /proc/stat. Returns -1 if unreadable. */
static int machine_cpu_ns(int64_t *busy, int64_t *steal) {
  FILE *f = fopen("/proc/stat", "r");
  if (f == NULL)
    return -1;
  unsigned long long v[8] = {0};
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                 &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (n < 8)
    return -1;
  long tick = sysconf(_SC_CLK_TCK);
  int64_t ns_per_tick = 1000000000 / (tick > 0 ? tick : 100);
  *busy = (int64_t)(v[0] + v[1] + v[2] + v[5] + v[6]) * ns_per_tick;
  *steal = (int64_t)v[7] * ns_per_tick;
  return 0;
}

/* A "Name:   N kB" line of /proc/PID/status, in kB, or -1. */
static long status_kb(long pid, const char *name) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%ld/status", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -1;
  long kb = -1;
  size_t len = strlen(name);
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, name, len) == 0 && line[len] == ':') {
      kb = strtol(line + len + 1, NULL, 10);
      break;
    }
  }
  fclose(f);
  return kb;
}

/* ---- connections ------------------------------------------------------------------------- */

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* A blocking, connected socket with TCP_NODELAY, or -1. */
static int connect_one(unsigned port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct timeval limit = {.tv_sec = 5};
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  int one = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Closes with a reset: no TIME_WAIT left behind (see the file comment). */
static void close_reset(int fd) {
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
}

static int connect_all(gen *g) {
  g->conns = calloc(g->opt.conns, sizeof *g->conns);
  if (g->conns == NULL)
    return -1;
  for (size_t i = 0; i < g->opt.conns; i++)
    g->conns[i].fd = -1;
  for (size_t i = 0; i < g->opt.conns; i++) {
    g->conns[i].fd = connect_one(g->opt.port);
    if (g->conns[i].fd < 0) {
      fprintf(stderr, "loadgen: connection %zu of %zu failed: %s\n", i + 1, g->opt.conns,
              strerror(errno));
      return -1;
    }
  }
  return 0;
}

static void close_all(gen *g) {
  for (size_t i = 0; i < g->opt.conns; i++) {
    if (g->conns[i].fd >= 0)
      close_reset(g->conns[i].fd);
    free(g->conns[i].echo);
  }
  free(g->conns);
}

static int watch_all(gen *g) {
  g->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (g->epfd < 0)
    return -1;
  for (size_t i = 0; i < g->opt.conns; i++) {
    gconn *c = &g->conns[i];
    int flags = fcntl(c->fd, F_GETFL);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (flags < 0 || fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
        epoll_ctl(g->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
      return -1;
  }
  return 0;
}

static void fail_conn(gen *g, gconn *c, const char *what) {
  if (!c->failed)
    fprintf(stderr, "loadgen: connection %zu: %s\n", (size_t)(c - g->conns), what);
  c->failed = 1;
  g->errors++;
}

/* ---- sending ----------------------------------------------------------------------------- */

/* Sends the rest of the current message (pingpong). Returns 0, or -1 on a failed connection. */
static int send_message(gen *g, gconn *c) {
  while (c->sent < g->opt.size) {
    ssize_t n = send(c->fd, g->msg + c->sent, g->opt.size - c->sent, MSG_NOSIGNAL);
    if (n > 0)
      c->sent += (size_t)n;
    else if (n < 0 && errno == EINTR)
      continue;
    else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return 0; /* EPOLLOUT resumes it */
    else
      return -1;
  }
  return 0;
}

/* On EPOLLOUT (pingpong): finishes a message that stalled, if one did. */
static int resume_message(gen *g, gconn *c) {
  int stalled = c->sent < g->opt.size && (c->sent > 0 || g->sending);
  return stalled ? send_message(g, c) : 0;
}

/* Keeps one chunk outstanding (pump): starts the next as soon as the kernel took the last. */
static int pump_writes(gen *g, gconn *c) {
  while (g->sending) {
    ssize_t n = send(c->fd, g->msg + c->sent, g->opt.size - c->sent, MSG_NOSIGNAL);
    if (n > 0) {
      c->sent += (size_t)n;
      c->tx += (uint64_t)n;
      if (c->sent == g->opt.size)
        c->sent = 0;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return 0;
    } else {
      return -1;
    }
  }
  /* Stopped mid-chunk: finish it so the bytes in flight are whole chunks. */
  while (c->sent != 0) {
    ssize_t n = send(c->fd, g->msg + c->sent, g->opt.size - c->sent, MSG_NOSIGNAL);
    if (n > 0) {
      c->sent = (c->sent + (size_t)n) % g->opt.size;
      c->tx += (uint64_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    }
  }
  return 0;
}

/* ---- receiving --------------------------------------------------------------------------- */

static int pingpong_readable(gen *g, gconn *c) {
  for (;;) {
    size_t want = g->opt.size - c->got;
    ssize_t n = read(c->fd, c->echo + c->got, want);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return 0;
    if (n <= 0)
      return -1; /* the server closed or reset the connection */
    c->got += (size_t)n;
    if (c->got < g->opt.size) {
      if ((size_t)n < want)
        return 0; /* short read: empty for now, the rest raises a new edge */
      continue;
    }
    if (memcmp(c->echo, g->msg, g->opt.size) != 0) {
      fprintf(stderr, "loadgen: the echo differs from the message sent\n");
      return -1;
    }
    g->ops++;
    c->got = 0;
    c->sent = 0;
    /* One message in flight: nothing more can be waiting, so the next one goes out now. */
    return g->sending ? send_message(g, c) : 0;
  }
}

static int pump_readable(gen *g, gconn *c) {
  for (;;) {
    ssize_t n = read(c->fd, g->rbuf, PUMP_READ_BUF);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return 0;
    if (n <= 0)
      return -1;
    c->rx += (uint64_t)n;
    g->rx_total += (uint64_t)n;
    if (c->rx > c->tx) {
      fprintf(stderr, "loadgen: received more bytes than were sent\n");
      return -1;
    }
    if ((size_t)n < PUMP_READ_BUF)
      return 0;
  }
}

static void on_event(gen *g, gconn *c, uint32_t events) {
  if (c->failed)
    return;
  int rc = 0;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
    rc = g->opt.kind == PINGPONG ? pingpong_readable(g, c) : pump_readable(g, c);
  if (rc == 0 && (events & EPOLLOUT))
    rc = g->opt.kind == PUMP ? pump_writes(g, c) : resume_message(g, c);
  if (rc != 0)
    fail_conn(g, c, "closed, reset or corrupted by the server");
}

/* ---- the timed run ----------------------------------------------------------------------- */

/* Waits for events and handles them until `deadline` (CLOCK_MONOTONIC ns) or until `stop`
 * says so. */
static void run_until(gen *g, int64_t deadline, int (*stop)(const gen *g, uint64_t limit),
                      uint64_t limit) {
  struct epoll_event events[MAX_EVENTS];
  while (g->errors == 0 && !(stop && stop(g, limit))) {
    int64_t left = deadline - now_ns(CLOCK_MONOTONIC);
    if (left <= 0)
      return;
    int timeout_ms = left > 100000000 ? 100 : (int)(left / 1000000) + 1;
    int n = epoll_wait(g->epfd, events, MAX_EVENTS, timeout_ms);
    if (n < 0 && errno != EINTR) {
      perror("epoll_wait");
      g->errors++;
      return;
    }
    for (int i = 0; i < n; i++)
      on_event(g, events[i].data.ptr, events[i].events);
  }
}

static int reached_ops(const gen *g, uint64_t limit) {
  return limit > 0 && g->ops >= limit;
}

static int all_echoed(const gen *g, uint64_t unused) {
  (void)unused;
  for (size_t i = 0; i < g->opt.conns; i++) {
    if (g->conns[i].rx != g->conns[i].tx)
      return 0;
  }
  return 1;
}

static void start_traffic(gen *g) {
  g->sending = 1;
  for (size_t i = 0; i < g->opt.conns && g->errors == 0; i++) {
    gconn *c = &g->conns[i];
    int rc = g->opt.kind == PINGPONG ? send_message(g, c) : pump_writes(g, c);
    if (rc != 0)
      fail_conn(g, c, "send failed");
  }
}

static int run_traffic(gen *g) {
  g->msg = malloc(g->opt.size);
  g->rbuf = malloc(PUMP_READ_BUF);
  if (g->msg == NULL || g->rbuf == NULL)
    return 1;
  for (size_t i = 0; i < g->opt.size; i++)
    g->msg[i] = (char)('a' + i % 26);
  for (size_t i = 0; i < g->opt.conns && g->opt.kind == PINGPONG; i++) {
    g->conns[i].echo = malloc(g->opt.size);
    if (g->conns[i].echo == NULL)
      return 1;
  }
  if (watch_all(g) != 0) {
    perror("loadgen: epoll");
    return 1;
  }
  start_traffic(g);
  int64_t t0 = now_ns(CLOCK_MONOTONIC);
  run_until(g, t0 + (int64_t)(g->opt.warmup_s * 1e9), NULL, 0);

  /* The window. */
  uint64_t ops0 = g->ops, rx0 = g->rx_total;
  int64_t busy0 = 0, steal0 = 0, busy1 = 0, steal1 = 0;
  int have_stat = machine_cpu_ns(&busy0, &steal0) == 0;
  int64_t srv0 = server_cpu_ns(g->opt.server_pid);
  int64_t gen0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  int64_t w0 = now_ns(CLOCK_MONOTONIC);
  uint64_t limit = g->opt.max_ops > 0 ? ops0 + g->opt.max_ops : 0;
  run_until(g, w0 + (int64_t)(g->opt.seconds * 1e9), reached_ops, limit);
  int64_t w1 = now_ns(CLOCK_MONOTONIC);
  int64_t gen1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  int64_t srv1 = server_cpu_ns(g->opt.server_pid);
  have_stat = have_stat && machine_cpu_ns(&busy1, &steal1) == 0;
  uint64_t ops = g->opt.kind == PINGPONG ? g->ops - ops0 : (g->rx_total - rx0) / g->opt.size;
  uint64_t bytes = g->opt.kind == PINGPONG ? ops * g->opt.size : g->rx_total - rx0;

  /* The end: no new traffic; the pump waits for every byte in flight to come back. */
  g->sending = 0;
  int complete = 1;
  if (g->opt.kind == PUMP) {
    for (size_t i = 0; i < g->opt.conns && g->errors == 0; i++) {
      if (pump_writes(g, &g->conns[i]) != 0)
        fail_conn(g, &g->conns[i], "send failed");
    }
    run_until(g, now_ns(CLOCK_MONOTONIC) + 10 * (int64_t)1000000000, all_echoed, 0);
    complete = all_echoed(g, 0);
  }

  double secs = (double)(w1 - w0) / 1e9;
  int ok = g->errors == 0 && complete && ops > 0;
  printf("workload=%s lib=%s conns=%zu size=%zu ops=%llu seconds=%.3f rate=%.1f mib_s=%.2f",
         g->opt.name, g->opt.label, g->opt.conns, g->opt.size, (unsigned long long)ops, secs,
         (double)ops / secs, (double)bytes / secs / (1024.0 * 1024.0));
  if (srv0 >= 0 && srv1 >= 0 && ops > 0)
    printf(" srv_ns_per_op=%.1f srv_util=%.3f", (double)(srv1 - srv0) / (double)ops,
           (double)(srv1 - srv0) / (double)(w1 - w0));
  printf(" gen_util=%.3f", (double)(gen1 - gen0) / (double)(w1 - w0));
  /* What the rest of the machine used meanwhile, in CPUs: other tenants' work competes with the
   * pair for the CPUs and caches, and run_echo.sh reruns a run that had too much of it. */
  if (have_stat && srv0 >= 0 && srv1 >= 0)
    printf(" foreign=%.2f steal=%.2f",
           (double)((busy1 - busy0) - (srv1 - srv0) - (gen1 - gen0)) / (double)(w1 - w0),
           (double)(steal1 - steal0) / (double)(w1 - w0));
  printf(" ok=%d\n", ok);
  return ok ? 0 : 1;
}

/* ---- idle connections -------------------------------------------------------------------- */

static int run_idle(gen *g) {
  if (g->opt.server_pid <= 0) {
    fprintf(stderr, "loadgen: --workload idle needs --server-pid\n");
    return 2;
  }
  char msg[64], echo[64];
  memset(msg, 'i', sizeof msg);
  long rss0 = status_kb(g->opt.server_pid, "VmRSS");
  long anon0 = status_kb(g->opt.server_pid, "RssAnon");
  if (connect_all(g) != 0)
    return 1;
  /* One round trip per connection, one connection at a time: every connection has been
   * accepted and served once, and no server holds more than one message's buffers at a time
   * (what is measured is what an idle connection keeps, not a burst's peak). */
  for (size_t i = 0; i < g->opt.conns; i++) {
    int fd = g->conns[i].fd;
    if (send(fd, msg, sizeof msg, MSG_NOSIGNAL) != (ssize_t)sizeof msg ||
        recv(fd, echo, sizeof echo, MSG_WAITALL) != (ssize_t)sizeof echo ||
        memcmp(msg, echo, sizeof msg) != 0) {
      fprintf(stderr, "loadgen: idle connection %zu got no echo\n", i);
      return 1;
    }
  }
  struct timespec settle = {.tv_nsec = 200000000}; /* let deferred frees (libuv's) happen */
  nanosleep(&settle, NULL);
  long rss1 = status_kb(g->opt.server_pid, "VmRSS");
  long anon1 = status_kb(g->opt.server_pid, "RssAnon");
  printf("workload=%s lib=%s conns=%zu rss_before_kb=%ld rss_after_kb=%ld anon_before_kb=%ld "
         "anon_after_kb=%ld bytes_per_conn=%.0f ok=1\n",
         g->opt.name, g->opt.label, g->opt.conns, rss0, rss1, anon0, anon1,
         (double)(rss1 - rss0) * 1024.0 / (double)g->opt.conns);
  return 0;
}

/* ---- main -------------------------------------------------------------------------------- */

static void usage(void) {
  fprintf(stderr, "usage: loadgen --port P --workload pingpong|pump|idle [--conns N] "
                  "[--size BYTES] [--warmup S] [--seconds S] [--max-ops N] [--server-pid PID] "
                  "[--label NAME]\n");
  exit(2);
}

static options parse(int argc, char **argv) {
  options o = {.kind = PINGPONG,
               .name = NULL,
               .label = "?",
               .conns = 1,
               .size = 0,
               .warmup_s = 0.5,
               .seconds = 2.0};
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (strcmp(k, "--port") == 0)
      o.port = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(k, "--workload") == 0)
      o.name = v;
    else if (strcmp(k, "--conns") == 0)
      o.conns = (size_t)strtoul(v, NULL, 10);
    else if (strcmp(k, "--size") == 0)
      o.size = (size_t)strtoul(v, NULL, 10);
    else if (strcmp(k, "--warmup") == 0)
      o.warmup_s = strtod(v, NULL);
    else if (strcmp(k, "--seconds") == 0)
      o.seconds = strtod(v, NULL);
    else if (strcmp(k, "--max-ops") == 0)
      o.max_ops = strtoull(v, NULL, 10);
    else if (strcmp(k, "--server-pid") == 0)
      o.server_pid = strtol(v, NULL, 10);
    else if (strcmp(k, "--label") == 0)
      o.label = v;
    else
      usage();
  }
  if (argc % 2 == 0 || o.name == NULL || o.port == 0 || o.port > 65535 || o.conns == 0 ||
      o.conns > 100000 || o.warmup_s < 0 || o.seconds <= 0 || o.seconds > 600)
    usage();
  if (strcmp(o.name, "pingpong") == 0)
    o.kind = PINGPONG;
  else if (strcmp(o.name, "pump") == 0)
    o.kind = PUMP;
  else if (strcmp(o.name, "idle") == 0)
    o.kind = IDLE;
  else
    usage();
  if (o.size == 0)
    o.size = o.kind == PUMP ? 8192 : 64;
  if (o.size > MAX_MSG)
    usage();
  return o;
}

int main(int argc, char **argv) {
  gen g = {.opt = parse(argc, argv), .epfd = -1};
  raise_nofile();
  int rc;
  if (g.opt.kind == IDLE) {
    rc = run_idle(&g);
  } else if (connect_all(&g) != 0) {
    rc = 1;
  } else {
    rc = run_traffic(&g);
  }
  if (g.conns != NULL)
    close_all(&g);
  if (g.epfd >= 0)
    close(g.epfd);
  free(g.msg);
  free(g.rbuf);
  return rc;
}
