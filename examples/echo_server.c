/* examples/echo_server.c — a TCP echo server written with tasks.
 *
 *   echo_server [--host 127.0.0.1] [--port 7000] [--threads N]
 *
 * Each connection is served by its own task: read some bytes, write them back, until the client
 * closes. With --threads N, N threads each run their own loop with their own listener on the
 * same port (SO_REUSEPORT), and the kernel spreads connections across them: tide's way to use
 * several cores (one loop per thread, no shared state). --port 0 picks a free port; the first
 * line printed says which ("listening on 127.0.0.1:40123"). Try it with `nc 127.0.0.1 7000`. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tide.h"

typedef struct config {
  const char *host;
  unsigned port;
  int threads;
  /* The first listener publishes its port (the actual one when 0 was asked) for the others. */
  pthread_mutex_t lock;
  pthread_cond_t bound;
  int port_known;
  int failed;
} config;

static int serve_connection(tide_loop *loop, void *arg, void **result) {
  (void)loop;
  (void)result;
  tide_stream *s = arg;
  char buf[16384];
  size_t n;
  int err;
  while ((err = tide_stream_read(s, buf, sizeof buf, &n)) == 0 && n > 0) {
    if ((err = tide_stream_write(s, buf, n)) != 0)
      break;
  }
  tide_stream_close(s);
  /* A client resetting or a cancellation at shutdown is a normal end for one connection. */
  return err == TIDE_ECANCELED ? err : 0;
}

static int listen_on(tide_loop *loop, config *cfg, tide_listener **out) {
  struct sockaddr_storage addr;
  int err = tide_addr_from_ip(cfg->host, (uint16_t)cfg->port, &addr);
  if (err != 0) {
    fprintf(stderr, "echo_server: --host must be a numeric address (got %s)\n", cfg->host);
    return err;
  }
  tide_listen_options opts;
  tide_listen_options_init(&opts);
  opts.reuse_port = cfg->threads > 1;
  opts.backlog = 1024;
  err = tide_tcp_listen(loop, (struct sockaddr *)&addr, &opts, out);
  if (err != 0)
    fprintf(stderr, "echo_server: cannot listen on %s:%u: %s\n", cfg->host, cfg->port,
            tide_strerror(err));
  return err;
}

static int server_main(tide_loop *loop, void *arg, void **result) {
  (void)result;
  config *cfg = arg;
  tide_listener *l;
  int err = listen_on(loop, cfg, &l);
  pthread_mutex_lock(&cfg->lock);
  if (!cfg->port_known) {
    struct sockaddr_storage bound;
    if (err == 0 && tide_listener_address(l, &bound) == 0) {
      char text[64];
      tide_addr_format((struct sockaddr *)&bound, text, sizeof text);
      cfg->port = tide_addr_port((struct sockaddr *)&bound);
      printf("listening on %s (%d thread%s)\n", text, cfg->threads, cfg->threads > 1 ? "s" : "");
      fflush(stdout);
    }
    cfg->failed = err != 0;
    cfg->port_known = 1;
    pthread_cond_broadcast(&cfg->bound);
  }
  pthread_mutex_unlock(&cfg->lock);
  if (err != 0)
    return err;
  for (;;) {
    tide_stream *s;
    err = tide_listener_accept(l, &s);
    if (err == TIDE_EMFILE || err == TIDE_ENFILE) {
      fprintf(stderr, "echo_server: out of descriptors; waiting connections were dropped\n");
      continue; /* the listener waits for the next client, it does not spin */
    }
    if (err != 0)
      break;
    tide_stream_set_nodelay(s, 1);
    tide_task_options opts;
    tide_task_options_init(&opts);
    opts.name = "connection";
    if (tide_spawn(loop, serve_connection, s, &opts, NULL) != 0)
      tide_stream_close(s);
  }
  tide_listener_close(l);
  return err;
}

static void *thread_main(void *arg) {
  config *cfg = arg;
  pthread_mutex_lock(&cfg->lock);
  while (!cfg->port_known)
    pthread_cond_wait(&cfg->bound, &cfg->lock);
  int failed = cfg->failed;
  pthread_mutex_unlock(&cfg->lock);
  if (!failed)
    tide_run(server_main, cfg, NULL, NULL);
  return NULL;
}

int main(int argc, char **argv) {
  config cfg = {.host = "127.0.0.1", .port = 7000, .threads = 1};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
      cfg.host = argv[++i];
    else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
      cfg.port = (unsigned)atoi(argv[++i]);
    else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      cfg.threads = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: %s [--host IP] [--port N] [--threads N]\n", argv[0]);
      return 2;
    }
  }
  if (cfg.threads < 1 || cfg.threads > 1024 || cfg.port > 65535) {
    fprintf(stderr, "echo_server: bad --threads or --port\n");
    return 2;
  }
  pthread_mutex_init(&cfg.lock, NULL);
  pthread_cond_init(&cfg.bound, NULL);
  pthread_t *threads = calloc((size_t)cfg.threads, sizeof *threads);
  if (threads == NULL)
    return 1;
  for (int i = 1; i < cfg.threads; i++)
    pthread_create(&threads[i], NULL, thread_main, &cfg);
  int rc = tide_run(server_main, &cfg, NULL, NULL); /* the first loop runs on the main thread */
  for (int i = 1; i < cfg.threads; i++)
    pthread_join(threads[i], NULL);
  free(threads);
  return rc == 0 ? 0 : 1;
}
