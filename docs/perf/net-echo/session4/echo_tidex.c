/* docs/perf/net-echo/session4/echo_tidex.c — an experiment of NOTES.md's fourth session:
 * echo_tide with a chosen stack size and buffer (XBUF bytes on the stack), or one
 * shared static buffer (XSHARED; safe here only because a ping-pong write never waits). */
#include <stdio.h>
#include <stdlib.h>
#include "echo_common.h"
#include "tide.h"
#ifndef XSHARED
#define XSHARED 0
#endif
static tide_task_options conn_opts;
#if XSHARED
static char shared[XBUF];
#endif
static int serve(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  tide_stream *s = arg;
#if XSHARED
  char *buf = shared;
#else
  char buf[XBUF];
#endif
  size_t n;
  int err;
  while ((err = tide_stream_read(s, buf, XBUF, &n)) == 0 && n > 0)
    if ((err = tide_stream_write(s, buf, n)) != 0)
      break;
  tide_stream_close(s);
  return err == TIDE_ECANCELED ? err : 0;
}
static int server_main(tide_loop *loop, void *arg, void **result) {
  (void)result;
  echo_args *a = arg;
  struct sockaddr_storage addr;
  int err = tide_addr_from_ip("127.0.0.1", (uint16_t)a->port, &addr);
  tide_listen_options opts;
  tide_listen_options_init(&opts);
  opts.backlog = ECHO_BACKLOG;
  tide_listener *l = NULL;
  if (err == 0)
    err = tide_tcp_listen(loop, (struct sockaddr *)&addr, &opts, &l);
  struct sockaddr_storage bound;
  if (err == 0)
    err = tide_listener_address(l, &bound);
  if (err != 0)
    return err;
  echo_announce("tidex", tide_addr_port((struct sockaddr *)&bound));
  for (;;) {
    tide_stream *s;
    err = tide_listener_accept(l, &s);
    if (err == TIDE_EMFILE || err == TIDE_ENFILE)
      continue;
    if (err != 0)
      break;
    tide_stream_set_nodelay(s, 1);
    if (tide_spawn(loop, serve, s, &conn_opts, NULL) != 0)
      tide_stream_close(s);
  }
  tide_listener_close(l);
  return err;
}
int main(int argc, char **argv) {
  echo_args a = echo_parse_args(argc, argv);
  echo_raise_nofile();
  tide_task_options_init(&conn_opts);
  conn_opts.stack_size = XSTACK;
  return tide_run(server_main, &a, NULL, NULL) == 0 ? 0 : 1;
}
