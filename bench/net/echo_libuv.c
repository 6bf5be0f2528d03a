/* bench/net/echo_libuv.c — the libuv echo server of the comparison, written the way libuv's own
 * echo server (test/echo-server.c) and its users write one:
 *   - a uv_tcp_t malloc'd per connection, freed in the close callback;
 *   - uv_read_start with an alloc callback that mallocs the suggested size (64 KiB) per read;
 *   - each read handed to uv_write with a malloc'd {uv_write_t, uv_buf_t} request; the write
 *     callback frees the request and the read buffer.
 * So an idle connection holds its uv_tcp_t only; a busy one allocates and frees two blocks per
 * message.
 *
 *   echo_libuv [--port 0]      (--buf is accepted and ignored: libuv picks the read size)
 *
 * SIGPIPE is ignored, as libuv's documentation tells its users to: libuv writes with write(). */
#define _POSIX_C_SOURCE 200809L /* uv.h uses POSIX types (pthread_rwlock_t) that -std=c11 hides */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "echo_common.h"

typedef struct write_req {
  uv_write_t req;
  uv_buf_t buf;
} write_req;

static void on_close(uv_handle_t *handle) {
  free(handle);
}

static void alloc_cb(uv_handle_t *handle, size_t suggested_size, uv_buf_t *buf) {
  (void)handle;
  buf->base = malloc(suggested_size);
  buf->len = buf->base != NULL ? suggested_size : 0;
}

static void after_write(uv_write_t *req, int status) {
  write_req *wr = (write_req *)req;
  uv_handle_t *stream = (uv_handle_t *)req->handle;
  free(wr->buf.base);
  free(wr);
  if (status != 0 && !uv_is_closing(stream))
    uv_close(stream, on_close);
}

static void after_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  if (nread <= 0) {
    free(buf->base);
    if (nread < 0 && !uv_is_closing((uv_handle_t *)stream)) /* UV_EOF or an error */
      uv_close((uv_handle_t *)stream, on_close);
    return;
  }
  write_req *wr = malloc(sizeof *wr);
  if (wr == NULL) {
    free(buf->base);
    uv_close((uv_handle_t *)stream, on_close);
    return;
  }
  wr->buf = uv_buf_init(buf->base, (unsigned)nread);
  if (uv_write(&wr->req, stream, &wr->buf, 1, after_write) != 0) {
    free(wr->buf.base);
    free(wr);
    uv_close((uv_handle_t *)stream, on_close);
  }
}

static void on_connection(uv_stream_t *server, int status) {
  if (status != 0)
    return;
  uv_tcp_t *client = malloc(sizeof *client);
  if (client == NULL)
    return;
  uv_tcp_init(server->loop, client);
  if (uv_accept(server, (uv_stream_t *)client) != 0) {
    uv_close((uv_handle_t *)client, on_close);
    return;
  }
  uv_tcp_nodelay(client, 1);
  uv_read_start((uv_stream_t *)client, alloc_cb, after_read);
}

int main(int argc, char **argv) {
  echo_args args = echo_parse_args(argc, argv);
  echo_raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  uv_tcp_t server;
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = sizeof bound;
  uv_tcp_init(loop, &server);
  int err = uv_ip4_addr("127.0.0.1", (int)args.port, &addr);
  if (err == 0)
    err = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
  if (err == 0)
    err = uv_listen((uv_stream_t *)&server, ECHO_BACKLOG, on_connection);
  if (err == 0)
    err = uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len);
  if (err != 0) {
    fprintf(stderr, "echo_libuv: cannot listen: %s\n", uv_strerror(err));
    return 1;
  }
  echo_announce("libuv", ntohs(((struct sockaddr_in *)&bound)->sin_port));
  return uv_run(loop, UV_RUN_DEFAULT) == 0 ? 0 : 1;
}
