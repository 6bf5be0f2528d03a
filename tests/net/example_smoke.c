/* tests/net/example_smoke.c — starts an example server on an ephemeral port and talks to it.
 *
 *   tide_example_smoke echo|echo-threads|http PATH_TO_SERVER
 *
 * Runs the server with --port 0, reads the "listening on 127.0.0.1:PORT" line it prints, talks
 * to it over plain blocking sockets (so a bug in tide cannot hide on both sides), then stops it
 * with SIGTERM. Every step is bounded: receive timeouts on the sockets and an alarm on the lot.
 *
 * Plain POSIX, for Linux and macOS alike: no pipe2, SOCK_CLOEXEC or MSG_NOSIGNAL (macOS has none
 * of them), so close-on-exec is set with fcntl and SIGPIPE is ignored in this process instead. */
#define _POSIX_C_SOURCE 200809L
#define _DARWIN_C_SOURCE /* macOS hides BSD socket options under a bare _POSIX_C_SOURCE */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "smoke: %s\n", what);
  exit(1);
}

/* Marks fd close-on-exec, so that a server started later does not inherit it. */
static void set_cloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0)
    die("fcntl(FD_CLOEXEC)");
}

static int connect_to(unsigned port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    die("socket");
  set_cloexec(fd);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
    die("cannot connect to the server");
  return fd;
}

static void send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, p, n, 0); /* SIGPIPE is ignored: a dead server gives EPIPE */
    if (k <= 0)
      die("send failed");
    p += k;
    n -= (size_t)k;
  }
}

static void recv_exactly(int fd, char *p, size_t n) {
  while (n > 0) {
    ssize_t k = recv(fd, p, n, 0);
    if (k <= 0)
      die("the server's reply ended early or timed out");
    p += k;
    n -= (size_t)k;
  }
}

static void smoke_echo(unsigned port, int connections) {
  int fds[16];
  for (int i = 0; i < connections; i++)
    fds[i] = connect_to(port);
  for (int round = 0; round < 50; round++) {
    for (int i = 0; i < connections; i++) {
      char msg[64], back[64];
      int n = snprintf(msg, sizeof msg, "connection %d round %d\n", i, round);
      send_all(fds[i], msg, (size_t)n);
      recv_exactly(fds[i], back, (size_t)n);
      if (memcmp(msg, back, (size_t)n) != 0)
        die("echo mismatch");
    }
  }
  for (int i = 0; i < connections; i++)
    close(fds[i]);
  printf("echo: %d connections x 50 round trips OK\n", connections);
}

static void smoke_http(unsigned port) {
  int fd = connect_to(port);
  static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  static const char want[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 5\r\n\r\nhello";
  char got[sizeof want];
  /* Two requests one after the other on one keep-alive connection, then two pipelined. */
  for (int i = 0; i < 2; i++) {
    send_all(fd, req, sizeof req - 1);
    recv_exactly(fd, got, sizeof want - 1);
    if (memcmp(got, want, sizeof want - 1) != 0)
      die("unexpected HTTP response");
  }
  char two[2 * sizeof req];
  memcpy(two, req, sizeof req - 1);
  memcpy(two + sizeof req - 1, req, sizeof req - 1);
  send_all(fd, two, 2 * (sizeof req - 1));
  for (int i = 0; i < 2; i++) {
    recv_exactly(fd, got, sizeof want - 1);
    if (memcmp(got, want, sizeof want - 1) != 0)
      die("unexpected pipelined HTTP response");
  }
  close(fd);
  printf("http: keep-alive and pipelined requests OK\n");
}

int main(int argc, char **argv) {
  if (argc != 3)
    die("usage: tide_example_smoke echo|echo-threads|http SERVER");
  alarm(30);
  int out[2];
  if (pipe(out) != 0)
    die("pipe");
  set_cloexec(out[0]);
  set_cloexec(out[1]); /* the child's dup2 onto stdout makes a copy without the flag */
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    if (strcmp(argv[1], "echo-threads") == 0)
      execl(argv[2], argv[2], "--port", "0", "--threads", "3", (char *)NULL);
    else
      execl(argv[2], argv[2], "--port", "0", (char *)NULL);
    _exit(127);
  }
  if (pid < 0)
    die("fork");
  /* Ignored here only, after the fork: an ignored signal would stay ignored across the exec. */
  signal(SIGPIPE, SIG_IGN);
  close(out[1]);
  FILE *from = fdopen(out[0], "r");
  char line[256];
  unsigned port = 0;
  if (from == NULL || fgets(line, sizeof line, from) == NULL ||
      sscanf(line, "listening on 127.0.0.1:%u", &port) != 1 || port == 0)
    die("the server did not say where it listens");
  if (strcmp(argv[1], "http") == 0)
    smoke_http(port);
  else
    smoke_echo(port, strcmp(argv[1], "echo") == 0 ? 4 : 12);
  kill(pid, SIGTERM);
  int status;
  waitpid(pid, &status, 0);
  fclose(from);
  return 0;
}
