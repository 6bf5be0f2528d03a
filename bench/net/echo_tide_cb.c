/* bench/net/echo_tide_cb.c — the same echo server on tide without tasks: the future forms and
 * done-callbacks, the way code that cannot afford a stack per connection (or lives in a
 * callback-style program) uses tide. A secondary figure; echo_tide.c is the headline.
 *
 *   echo_tide_cb [--port 0] [--buf 16384]
 *
 * Per connection: start a read into the connection's buffer; when it settles, write the bytes
 * back; when that settles, read again. Done-callbacks run in a later tick than the one that
 * settled the future (tide/future.h), so a write that completes inside tide_stream_write_future
 * still reaches on_written one tick later. The buffer is per connection, on the heap: with no
 * task there is no stack to put it on. */
#include <stdio.h>
#include <stdlib.h>

#include "echo_common.h"
#include "tide.h"

typedef struct conn {
  tide_stream *s;
  size_t buf_size;
  char buf[]; /* buf_size bytes */
} conn;

typedef struct server {
  tide_listener *l;
  size_t buf_size;
} server;

static void start_read(conn *c);

static void conn_close(conn *c) {
  tide_stream_close(c->s);
  free(c);
}

static void on_written(tide_future *f, void *arg) {
  conn *c = arg;
  int err = tide_future_result(f, NULL);
  tide_future_release(f);
  if (err != 0)
    conn_close(c);
  else
    start_read(c);
}

static void on_read(tide_future *f, void *arg) {
  conn *c = arg;
  void *value = NULL;
  int err = tide_future_result(f, &value);
  tide_future_release(f);
  size_t n = err == 0 ? tide_io_bytes(value) : 0;
  tide_future *w;
  if (n == 0 || tide_stream_write_future(c->s, c->buf, n, &w) != 0) {
    conn_close(c);
    return;
  }
  if (tide_future_on_done(w, on_written, c) != 0) {
    tide_future_release(w); /* cannot happen on a fresh future: its first callback is inline */
    conn_close(c);
  }
}

static void start_read(conn *c) {
  tide_future *f;
  if (tide_stream_read_future(c->s, c->buf, c->buf_size, &f) != 0) {
    conn_close(c);
    return;
  }
  if (tide_future_on_done(f, on_read, c) != 0) {
    tide_future_release(f);
    conn_close(c);
  }
}

static void start_accept(server *srv);

static void on_accepted(tide_future *f, void *arg) {
  server *srv = arg;
  void *value = NULL;
  int err = tide_future_result(f, &value);
  tide_future_release(f);
  if (err == 0) {
    tide_stream *s = tide_io_stream(value);
    conn *c = malloc(sizeof *c + srv->buf_size);
    if (c == NULL) {
      tide_stream_close(s);
    } else {
      *c = (conn){.s = s, .buf_size = srv->buf_size};
      tide_stream_set_nodelay(s, 1);
      start_read(c);
    }
  } else if (err != TIDE_EMFILE && err != TIDE_ENFILE) {
    tide_listener_close(srv->l);
    return;
  }
  start_accept(srv);
}

static void start_accept(server *srv) {
  tide_future *f;
  if (tide_listener_accept_future(srv->l, &f) != 0) {
    tide_listener_close(srv->l);
    return;
  }
  if (tide_future_on_done(f, on_accepted, srv) != 0) {
    tide_future_release(f);
    tide_listener_close(srv->l);
  }
}

int main(int argc, char **argv) {
  echo_args args = echo_parse_args(argc, argv);
  echo_raise_nofile();
  server srv = {.buf_size = args.buf};
  tide_loop *loop;
  struct sockaddr_storage addr, bound;
  tide_listen_options opts;
  tide_listen_options_init(&opts);
  opts.backlog = ECHO_BACKLOG;
  int err = tide_loop_new(&loop, NULL);
  if (err != 0) {
    fprintf(stderr, "echo_tide_cb: %s\n", tide_strerror(err));
    return 1;
  }
  err = tide_addr_from_ip("127.0.0.1", (uint16_t)args.port, &addr);
  if (err == 0)
    err = tide_tcp_listen(loop, (struct sockaddr *)&addr, &opts, &srv.l);
  if (err == 0)
    err = tide_listener_address(srv.l, &bound);
  if (err != 0) {
    fprintf(stderr, "echo_tide_cb: cannot listen: %s\n", tide_strerror(err));
    if (srv.l != NULL)
      tide_listener_close(srv.l);
    tide_loop_close(loop);
    return 1;
  }
  echo_announce("tide-cb", tide_addr_port((struct sockaddr *)&bound));
  start_accept(&srv);
  err = tide_loop_run(loop);
  tide_loop_close(loop);
  return err < 0 ? 1 : 0;
}
