/* examples/http_hello.c — a minimal HTTP/1.1 server answering "hello", written with tasks.
 *
 *   http_hello [--host 127.0.0.1] [--port 8080]
 *
 * Keep-alive (HTTP/1.1's default) and pipelining: each connection's task parses every complete
 * request in its buffer and answers them in order, until the client closes or sends
 * "Connection: close". Enough for `curl -v http://127.0.0.1:8080/` or `wrk`; not a web server
 * (no bodies, no chunked encoding, headers up to 8 KiB). --port 0 picks a free port and the first
 * line printed says which. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tide.h"

static const char response[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: 5\r\n"
                               "\r\n"
                               "hello";
static const char response_close[] = "HTTP/1.1 200 OK\r\n"
                                     "Content-Type: text/plain\r\n"
                                     "Content-Length: 5\r\n"
                                     "Connection: close\r\n"
                                     "\r\n"
                                     "hello";
static const char too_large[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                "Content-Length: 0\r\nConnection: close\r\n\r\n";

/* The end of the first request head ("\r\n\r\n") in p[0..n), or NULL (memmem is not in C or
 * in Windows' C library). */
static char *find_head_end(char *p, size_t n) {
  for (size_t i = 0; i + 4 <= n; i++)
    if (memcmp(p + i, "\r\n\r\n", 4) == 0)
      return p + i;
  return NULL;
}

/* Case-insensitive search for a header line "Connection: close" within the request head. */
static int wants_close(const char *head, size_t len) {
  static const char needle[] = "\r\nconnection: close";
  size_t n = sizeof needle - 1;
  for (size_t i = 0; i + n <= len; i++) {
    size_t j = 0;
    while (j < n && (head[i + j] | 0x20) == (needle[j] | 0x20))
      j++;
    if (j == n)
      return 1;
  }
  return 0;
}

static int serve_connection(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  tide_stream *s = arg;
  char buf[8192];
  size_t have = 0;
  int err = 0, closing = 0;
  while (!closing) {
    size_t n;
    if (have == sizeof buf) {
      tide_stream_write(s, too_large, sizeof too_large - 1);
      break;
    }
    err = tide_stream_read(s, buf + have, sizeof buf - have, &n);
    if (err != 0 || n == 0)
      break;
    have += n;
    /* Answer every complete request in the buffer (pipelining), in order. */
    char *start = buf;
    char *end;
    while (!closing && (end = find_head_end(start, have - (size_t)(start - buf)))) {
      size_t head = (size_t)(end - start) + 4;
      closing = wants_close(start, head);
      err = closing ? tide_stream_write(s, response_close, sizeof response_close - 1)
                    : tide_stream_write(s, response, sizeof response - 1);
      if (err != 0)
        closing = 1;
      start += head;
    }
    have -= (size_t)(start - buf);
    memmove(buf, start, have);
  }
  tide_stream_close(s);
  return err == TIDE_ECANCELED ? err : 0;
}

static int server_main(tide_loop *loop, void *arg, void **result) {
  (void)result;
  const char **cfg = arg;
  struct sockaddr_storage addr;
  int err = tide_addr_from_ip(cfg[0], (uint16_t)atoi(cfg[1]), &addr);
  tide_listener *l;
  if (err == 0)
    err = tide_tcp_listen(loop, (struct sockaddr *)&addr, NULL, &l);
  if (err != 0) {
    fprintf(stderr, "http_hello: cannot listen on %s:%s: %s\n", cfg[0], cfg[1], tide_strerror(err));
    return err;
  }
  struct sockaddr_storage bound;
  char text[64];
  tide_listener_address(l, &bound);
  tide_addr_format((struct sockaddr *)&bound, text, sizeof text);
  printf("listening on %s\n", text);
  fflush(stdout);
  for (;;) {
    tide_stream *s;
    err = tide_listener_accept(l, &s);
    if (err == TIDE_EMFILE || err == TIDE_ENFILE)
      continue;
    if (err != 0)
      break;
    if (tide_spawn(loop, serve_connection, s, NULL, NULL) != 0)
      tide_stream_close(s);
  }
  tide_listener_close(l);
  return err;
}

int main(int argc, char **argv) {
  const char *cfg[2] = {"127.0.0.1", "8080"};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
      cfg[0] = argv[++i];
    else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
      cfg[1] = argv[++i];
    else {
      fprintf(stderr, "usage: %s [--host IP] [--port N]\n", argv[0]);
      return 2;
    }
  }
  return tide_run(server_main, (void *)cfg, NULL, NULL) == 0 ? 0 : 1;
}
