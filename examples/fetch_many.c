/* examples/fetch_many.c — a TCP client fetching from several servers at once, each request with
 * its own timeout: asyncio's gather + wait_for, in C.
 *
 *   fetch_many [--timeout-ms 500] [HOST:PORT ...]
 *
 * Every target gets its own task: connect (by name: "localhost:8080" works), send an HTTP/1.1
 * GET, read the reply until the server closes, all inside a deadline scope. The tasks run
 * concurrently, so the whole run takes about as long as the slowest request or the timeout,
 * whichever is shorter — not the sum. Without targets it starts three local demo servers on
 * ephemeral ports (a fast one, a slow one that answers after 2 s, and a port nobody listens on)
 * and fetches from those, so it runs anywhere with no network:
 *
 *   127.0.0.1:41234  200 OK, 5 body bytes in 1 ms
 *   127.0.0.1:41235  timed out after 500 ms
 *   127.0.0.1:41236  failed: connection refused
 *   3 fetches in 501 ms */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tide.h"

#define MS INT64_C(1000000)

typedef struct fetch {
  char host[256];
  char port[16];
  int64_t timeout_ns;
  /* results */
  int err;
  int timed_out;
  int status;
  size_t body_bytes;
  int64_t took_ns;
} fetch;

/* Connects, sends the request and reads the whole reply (the request asks the server to close). */
static int do_fetch(tide_loop *loop, fetch *f, char *reply, size_t cap, size_t *len) {
  tide_stream *s;
  int err = tide_tcp_connect_name(loop, f->host, f->port, &s);
  if (err != 0)
    return err;
  char request[512];
  int n = snprintf(request, sizeof request,
                   "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", f->host);
  err = tide_stream_write(s, request, (size_t)n);
  *len = 0;
  while (err == 0 && *len < cap) {
    size_t got;
    err = tide_stream_read(s, reply + *len, cap - *len, &got);
    if (err == 0 && got == 0)
      break;
    *len += got;
  }
  tide_stream_close(s);
  return err;
}

static int fetch_task(tide_loop *loop, void *arg, void **result) {
  (void)result;
  fetch *f = arg;
  int64_t start = tide_loop_update_time(loop);
  char reply[4096];
  size_t len = 0;
  tide_scope deadline;
  int err = tide_scope_enter(loop, &deadline, f->timeout_ns);
  if (err != 0)
    return err;
  err = do_fetch(loop, f, reply, sizeof reply - 1, &len);
  f->timed_out = tide_scope_exit(&deadline) == TIDE_ETIMEDOUT;
  f->took_ns = tide_loop_update_time(loop) - start;
  f->err = err;
  if (err == 0) {
    reply[len] = '\0';
    sscanf(reply, "HTTP/1.%*d %d", &f->status);
    char *body = strstr(reply, "\r\n\r\n");
    f->body_bytes = body ? len - (size_t)(body + 4 - reply) : 0;
  }
  return 0; /* the outcome is in *f: one failed fetch does not fail the others */
}

/* ---- the demo servers ------------------------------------------------------------------------ */

typedef struct demo_server {
  tide_listener *listener;
  int64_t delay_ns;
} demo_server;

static int demo_connection(tide_loop *loop, void *arg, void **result) {
  (void)result;
  demo_server *d = ((void **)arg)[0];
  tide_stream *s = ((void **)arg)[1];
  free(arg);
  char buf[1024];
  size_t n;
  int err = tide_stream_read(s, buf, sizeof buf, &n);
  if (err == 0 && d->delay_ns > 0)
    err = tide_sleep(loop, d->delay_ns);
  static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
                              "hello";
  if (err == 0)
    err = tide_stream_write(s, reply, sizeof reply - 1);
  tide_stream_close(s);
  return err == TIDE_ECANCELED ? err : 0;
}

/* Serves connections until cancelled; the connection tasks live in a group, so none of them
 * outlives the server (the slow one may still be sleeping when the client gave up). */
static int demo_accept(tide_loop *loop, void *arg, void **result) {
  (void)result;
  demo_server *d = arg;
  tide_group connections;
  tide_group_init(&connections, loop);
  int err;
  for (;;) {
    tide_stream *s;
    err = tide_listener_accept(d->listener, &s);
    if (err != 0)
      break;
    void **pair = malloc(2 * sizeof *pair);
    if (pair != NULL) {
      pair[0] = d;
      pair[1] = s;
    }
    if (pair == NULL || tide_group_spawn(&connections, demo_connection, pair, NULL, NULL) != 0) {
      free(pair);
      tide_stream_close(s);
    }
  }
  tide_group_cancel(&connections);
  tide_group_wait(&connections);
  tide_listener_close(d->listener);
  return err;
}

static int start_demo(tide_loop *loop, demo_server *d, int64_t delay_ns, fetch *target,
                      tide_future **task) {
  struct sockaddr_storage addr;
  tide_addr_from_ip("127.0.0.1", 0, &addr);
  int err = tide_tcp_listen(loop, (struct sockaddr *)&addr, NULL, &d->listener);
  if (err != 0)
    return err;
  tide_listener_address(d->listener, &addr);
  d->delay_ns = delay_ns;
  snprintf(target->host, sizeof target->host, "127.0.0.1");
  snprintf(target->port, sizeof target->port, "%u", tide_addr_port((struct sockaddr *)&addr));
  if (task == NULL) /* a port nobody will listen on: bound only to learn a free number */
    return tide_listener_close(d->listener);
  return tide_spawn(loop, demo_accept, d, NULL, task);
}

/* ---- main ------------------------------------------------------------------------------------ */

typedef struct run {
  fetch *targets;
  int count;
  int demo;
} run;

static int main_task(tide_loop *loop, void *arg, void **result) {
  (void)result;
  run *r = arg;
  demo_server demos[2];
  tide_future *demo_tasks[2] = {NULL, NULL};
  if (r->demo) {
    int err = start_demo(loop, &demos[0], 0, &r->targets[0], &demo_tasks[0]);
    if (err == 0)
      err = start_demo(loop, &demos[1], 2000 * MS, &r->targets[1], &demo_tasks[1]);
    demo_server gone;
    if (err == 0)
      err = start_demo(loop, &gone, 0, &r->targets[2], NULL);
    if (err != 0)
      return err;
  }
  int64_t start = tide_loop_update_time(loop);
  tide_future **tasks = calloc((size_t)r->count, sizeof *tasks);
  if (tasks == NULL)
    return TIDE_ENOMEM;
  for (int i = 0; i < r->count; i++)
    tide_spawn(loop, fetch_task, &r->targets[i], NULL, &tasks[i]);
  tide_future *all;
  int err = tide_gather(loop, tasks, (size_t)r->count, 0, &all);
  if (err == 0) {
    err = tide_await(all, NULL);
    tide_future_release(all);
  }
  for (int i = 0; i < r->count; i++) {
    fetch *f = &r->targets[i];
    printf("%s:%s  ", f->host, f->port);
    if (f->timed_out)
      printf("timed out after %lld ms\n", (long long)(f->timeout_ns / MS));
    else if (f->err != 0)
      printf("failed: %s\n", tide_strerror(f->err));
    else
      printf("%d OK, %zu body bytes in %lld ms\n", f->status, f->body_bytes,
             (long long)(f->took_ns / MS));
    tide_future_result(tasks[i], NULL);
    tide_future_release(tasks[i]);
  }
  printf("%d fetches in %lld ms\n", r->count,
         (long long)((tide_loop_update_time(loop) - start) / MS));
  free(tasks);
  for (int i = 0; i < 2; i++) {
    if (demo_tasks[i] == NULL)
      continue;
    tide_future_cancel(demo_tasks[i]); /* stops the accept loop; it closes its listener */
    tide_await(demo_tasks[i], NULL);
    tide_future_release(demo_tasks[i]);
  }
  return err;
}

int main(int argc, char **argv) {
  int64_t timeout_ns = 500 * MS;
  run r = {.count = 0};
  r.targets = calloc((size_t)argc + 3, sizeof *r.targets);
  if (r.targets == NULL)
    return 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc) {
      timeout_ns = atoll(argv[++i]) * MS;
      continue;
    }
    fetch *f = &r.targets[r.count++];
    const char *colon = strrchr(argv[i], ':');
    if (colon == NULL || colon == argv[i] || (size_t)(colon - argv[i]) >= sizeof f->host) {
      fprintf(stderr, "usage: %s [--timeout-ms N] [HOST:PORT ...]\n", argv[0]);
      return 2;
    }
    memcpy(f->host, argv[i], (size_t)(colon - argv[i]));
    snprintf(f->port, sizeof f->port, "%s", colon + 1);
  }
  if (r.count == 0) {
    r.demo = 1;
    r.count = 3;
  }
  for (int i = 0; i < r.count; i++)
    r.targets[i].timeout_ns = timeout_ns;
  int rc = tide_run(main_task, &r, NULL, NULL);
  free(r.targets);
  return rc == 0 ? 0 : 1;
}
