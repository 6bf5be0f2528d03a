/* bench/net/echo_tide.c — the tide echo server of the comparison, written with tasks the way
 * examples/echo_server.c is: one task per connection, reading some bytes into a buffer on its
 * own stack and writing them back, until the client leaves. This is the headline tide figure.
 *
 *   echo_tide [--port 0] [--buf 16384]
 *
 * Single-threaded: one loop, one listener, the accept loop in the main task. --buf above the
 * default grows each task's stack by the same amount (the buffer lives on it); the default keeps
 * tide's pooled 64 KiB stacks. */
#include <stdio.h>
#include <stdlib.h>

#include "echo_common.h"
#include "tide.h"

typedef struct server {
  echo_args args;
  tide_task_options conn_opts;
} server;

/* Echoes until the client leaves, then closes the stream. */
static int echo_until_closed(tide_stream *s, char *buf, size_t size) {
  size_t n;
  int err;
  while ((err = tide_stream_read(s, buf, size, &n)) == 0 && n > 0) {
    if ((err = tide_stream_write(s, buf, n)) != 0)
      break;
  }
  tide_stream_close(s);
  /* A client resetting, or the loop cancelling us at exit, is a normal end of a connection. */
  return err == TIDE_ECANCELED ? err : 0;
}

static int serve_connection(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  char buf[ECHO_DEFAULT_BUF];
  return echo_until_closed(arg, buf, sizeof buf);
}

/* The same with a buffer of --buf bytes, for runs that ask for a non-default size. */
typedef struct sized_conn {
  tide_stream *s;
  size_t buf;
} sized_conn;

static int serve_connection_sized(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  sized_conn *sc = arg;
  tide_stream *s = sc->s;
  size_t size = sc->buf;
  free(sc);
  char buf[size]; /* a VLA on purpose: the task's stack was sized for it at spawn */
  return echo_until_closed(s, buf, size);
}

static int spawn_connection(tide_loop *loop, server *srv, tide_stream *s) {
  if (srv->args.buf == ECHO_DEFAULT_BUF)
    return tide_spawn(loop, serve_connection, s, &srv->conn_opts, NULL);
  sized_conn *sc = malloc(sizeof *sc);
  if (sc == NULL)
    return TIDE_ENOMEM;
  *sc = (sized_conn){.s = s, .buf = srv->args.buf};
  int err = tide_spawn(loop, serve_connection_sized, sc, &srv->conn_opts, NULL);
  if (err != 0)
    free(sc);
  return err;
}

static int server_main(tide_loop *loop, void *arg, void **result) {
  (void)result;
  server *srv = arg;
  struct sockaddr_storage addr;
  int err = tide_addr_from_ip("127.0.0.1", (uint16_t)srv->args.port, &addr);
  tide_listen_options opts;
  tide_listen_options_init(&opts);
  opts.backlog = ECHO_BACKLOG;
  tide_listener *l = NULL;
  if (err == 0)
    err = tide_tcp_listen(loop, (struct sockaddr *)&addr, &opts, &l);
  struct sockaddr_storage bound;
  if (err == 0)
    err = tide_listener_address(l, &bound);
  if (err != 0) {
    fprintf(stderr, "echo_tide: cannot listen: %s\n", tide_strerror(err));
    if (l != NULL)
      tide_listener_close(l);
    return err;
  }
  echo_announce("tide", tide_addr_port((struct sockaddr *)&bound));
  for (;;) {
    tide_stream *s;
    err = tide_listener_accept(l, &s);
    if (err == TIDE_EMFILE || err == TIDE_ENFILE)
      continue;
    if (err != 0)
      break;
    tide_stream_set_nodelay(s, 1);
    if (spawn_connection(loop, srv, s) != 0)
      tide_stream_close(s);
  }
  tide_listener_close(l);
  return err;
}

int main(int argc, char **argv) {
  server srv = {.args = echo_parse_args(argc, argv)};
  echo_raise_nofile();
  tide_task_options_init(&srv.conn_opts);
  srv.conn_opts.name = "connection";
  if (srv.args.buf != ECHO_DEFAULT_BUF)
    srv.conn_opts.stack_size = 64 * 1024 + srv.args.buf;
  return tide_run(server_main, &srv, NULL, NULL) == 0 ? 0 : 1;
}
