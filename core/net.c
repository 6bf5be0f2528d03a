/* core/net.c — the portable half of tide/net.h: every operation as an op on a handle, the
 * task forms, the write queue's backpressure, and closing with ops in flight.
 *
 * Two rules keep this file memory-safe with tasks:
 *  - A handle is freed only when it is closing and its last op has completed (ops are counted in
 *    the handle and uncounted in the ops' finish hook). Readiness backends complete a detached
 *    descriptor's ops synchronously, so there that is at once; IOCP will complete them later.
 *  - After an await, a task form touches nothing but its own stack: the stream may have been
 *    closed by someone else while the task slept. The one wait that needs the stream afterwards
 *    (backpressure) uses a waiter on the task's stack that close marks. */
#define _POSIX_C_SOURCE 200809L /* struct addrinfo's members */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop_internal.h"
#include "core/net_internal.h"
#include "core/task_internal.h"
#include "tide/error.h"
#include "tide/task.h"

enum { DEFAULT_HIGH_WATER = 64 * 1024 };

/* ---- handles ------------------------------------------------------------------------------- */

size_t tide__handle_size(void) {
  _Static_assert(sizeof(tide_listener) <= sizeof(tide_stream), "the stream is the largest handle");
  _Static_assert(sizeof(tide_udp) <= sizeof(tide_stream), "the stream is the largest handle");
  return sizeof(tide_stream);
}

static void link_open(tide__handle *h) {
  tide_loop *loop = h->loop;
  h->open_prev = NULL;
  h->open_next = loop->open_handles;
  if (loop->open_handles != NULL)
    loop->open_handles->open_prev = h;
  loop->open_handles = h;
}

static void unlink_open(tide__handle *h) {
  if (h->open_prev != NULL)
    h->open_prev->open_next = h->open_next;
  else
    h->loop->open_handles = h->open_next;
  if (h->open_next != NULL)
    h->open_next->open_prev = h->open_prev;
  h->open_prev = h->open_next = NULL;
}

/* Initialises a fresh slot as a handle around fd (already attached) and lists it as open. */
static void init_handle(tide__handle *h, tide_loop *loop, tide__fd fd, tide__handle_kind kind) {
  memset(h, 0, sizeof(tide_stream));
  *h = (tide__handle){.loop = loop, .fd = fd, .kind = (uint8_t)kind};
  link_open(h);
}

int tide__handle_open(tide_loop *loop, tide__fd fd, tide__handle_kind kind, tide__handle **out) {
  if (loop->closing)
    return TIDE_ECLOSED;
  tide__handle *h = tide__pool_get(&loop->handle_pool);
  if (h == NULL)
    return TIDE_ENOMEM;
  int err = tide__backend_attach(loop->backend, fd);
  if (err != 0) {
    tide__pool_put(&loop->handle_pool, h);
    return err;
  }
  init_handle(h, loop, fd, kind);
  *out = h;
  return 0;
}

static void release_if_done(tide__handle *h) {
  if (h->closing && h->ops == 0)
    tide__pool_put(&h->loop->handle_pool, h);
}

static void wake_drain_waiters(tide_stream *s, int closed);

int tide__handle_close(tide__handle *h) {
  if (h->closing)
    return TIDE_EINVAL;
  h->closing = 1;
  unlink_open(h);
  h->ops++; /* held across the detach, whose cancellations uncount the others */
  if (h->kind <= TIDE__HANDLE_PIPE)
    wake_drain_waiters((tide_stream *)h, 1);
  (void)tide__backend_detach(h->loop->backend, h->fd);
  tide__fd_close(h->fd);
  h->ops--;
  release_if_done(h);
  return 0;
}

/* The finish hook of every op that needs no more than the count. */
static intptr_t op_finished(tide__op *op, intptr_t result) {
  tide__handle *h = op->owner;
  h->ops--;
  release_if_done(h);
  return result;
}

static int submit_with(tide__handle *h, tide__op_kind kind, void *buf, size_t len, void *addr,
                       uint32_t addrlen, tide__op_finish_fn finish, tide_future **out) {
  tide__op *op;
  int err = tide__op_new(h->loop, kind, h->fd, buf, len, &op, out);
  if (err != 0)
    return err;
  op->addr = addr;
  op->addrlen = addrlen;
  op->finish = finish;
  op->owner = h;
  h->ops++;
  tide__op_submit(op);
  return 0;
}

int tide__handle_submit(tide__handle *h, tide__op_kind kind, void *buf, size_t len, void *addr,
                        uint32_t addrlen, tide_future **out) {
  return submit_with(h, kind, buf, len, addr, addrlen, op_finished, out);
}

/* Arguments every operation checks: a live handle of the right family, a buffer unless empty. */
static int check_args(const tide__handle *h, const void *buf, size_t len) {
  if (h == NULL || (buf == NULL && len > 0))
    return TIDE_EINVAL;
  if (h->closing || h->loop->closing)
    return TIDE_ECLOSED;
  return 0;
}

/* The same for the future forms, which also need somewhere to put the future. */
static int check_io(const tide__handle *h, const void *buf, size_t len, tide_future **out) {
  return out == NULL ? TIDE_EINVAL : check_args(h, buf, len);
}

int tide__await_value(tide_future *f, void **value) {
  int err = tide_await(f, value);
  tide_future_release(f);
  return err;
}

int tide__await_bytes(tide_future *f, size_t *bytes) {
  void *value = NULL;
  int err = tide__await_value(f, &value);
  if (bytes != NULL)
    *bytes = err == 0 ? tide_io_bytes(value) : 0;
  return err;
}

/* The task forms refuse to run outside a task before starting anything, so that an operation is
 * never started and then abandoned. */
static int in_task(const tide__handle *h) {
  return h != NULL && h->loop->current_task != NULL; /* tide_in_task, without the call */
}

/* The task forms of the stream operations run a task op on the task's own stack: no pooled op,
 * no future, and no switch when the data is already there (core/task_internal.h). A write
 * (`queued` > 0, its byte count) is first offered to the backend to finish at once
 * (tide__task_try_op): the usual write has nothing ahead of it and fits the socket buffer, and
 * when it finishes so, nothing was submitted, so nothing is counted or finished. Reads skip the
 * offer: a read task usually arrives after the last read drained the descriptor, where the offer
 * would always fail and cost a second look-up (submit performs a read at once by itself when
 * the descriptor may be readable). Otherwise the op is submitted and awaited; it
 * counts in h->ops like any other, so a close while it is pending frees h only after it, and a
 * write's bytes (`queued`) count in the stream's write queue until it completes. */
static int await_task_op(tide__handle *h, tide__op_kind kind, void *buf, size_t len, size_t queued,
                         tide__op_finish_fn finish, size_t *bytes) {
  /* Field by field rather than an initializer, which compilers turn into a block clear of the
   * whole op (a `rep stos` on x86-64, slow to start) before the stores. The backend's own part
   * (op.backend) is the backend's to set up at submit. */
  tide__op op;
  op.next = NULL;
  op.loop = h->loop;
  op.future = NULL;
  op.fd = h->fd;
  op.kind = kind;
  op.flags = 0;
  op.buf = buf;
  op.len = len;
  op.done = 0;
  op.addr = NULL;
  op.addrlen = 0;
  op.finish = finish;
  op.owner = h;
  op.task = NULL;
  op.result = 0;
  intptr_t result;
  if (queued == 0 || !tide__task_try_op(&op, &result)) {
    if (queued > 0)
      ((tide_stream *)h)->write_queued += queued;
    h->ops++;
    result = tide__task_await_op(&op);
  }
  if (bytes != NULL)
    *bytes = result >= 0 ? (size_t)result : 0;
  return result >= 0 ? 0 : (int)result;
}

/* ---- streams ------------------------------------------------------------------------------- */

int tide__stream_new(tide_loop *loop, tide__fd fd, tide__handle_kind kind, tide_stream **out) {
  tide__handle *h;
  int err = tide__handle_open(loop, fd, kind, &h);
  if (err != 0)
    return err;
  tide_stream *s = (tide_stream *)h;
  s->high_water = DEFAULT_HIGH_WATER;
  *out = s;
  return 0;
}

static int stream_ok(const tide_stream *s) {
  return s != NULL && s->h.kind <= TIDE__HANDLE_PIPE;
}

int tide_stream_read_future(tide_stream *s, void *buf, size_t len, tide_future **out) {
  int err = stream_ok(s) ? check_io(&s->h, buf, len, out) : TIDE_EINVAL;
  return err != 0 ? err : tide__handle_submit(&s->h, TIDE__OP_READ, buf, len, NULL, 0, out);
}

int tide_stream_read(tide_stream *s, void *buf, size_t len, size_t *nread) {
  if (nread != NULL)
    *nread = 0;
  if (!stream_ok(s) || !in_task(&s->h))
    return TIDE_EINVAL;
  int err = check_args(&s->h, buf, len);
  return err != 0 ? err : await_task_op(&s->h, TIDE__OP_READ, buf, len, 0, op_finished, nread);
}

int tide_stream_read_exactly_future(tide_stream *s, void *buf, size_t len, tide_future **out) {
  int err = stream_ok(s) ? check_io(&s->h, buf, len, out) : TIDE_EINVAL;
  return err != 0 ? err : tide__handle_submit(&s->h, TIDE__OP_READ_EXACT, buf, len, NULL, 0, out);
}

int tide_stream_read_exactly(tide_stream *s, void *buf, size_t len, size_t *nread) {
  if (nread != NULL)
    *nread = 0;
  if (!stream_ok(s) || !in_task(&s->h))
    return TIDE_EINVAL;
  int err = check_args(&s->h, buf, len);
  return err != 0 ? err
                  : await_task_op(&s->h, TIDE__OP_READ_EXACT, buf, len, 0, op_finished, nread);
}

/* -- the write queue and its high-water mark -- */

static int above_high_water(const tide_stream *s) {
  return s->write_queued > 0 && s->write_queued >= s->high_water;
}

/* Settles the waiters' futures. On close they are also unlinked and marked, since the stream's
 * memory goes away; otherwise each waiter unlinks itself when its task resumes. */
static void wake_drain_waiters(tide_stream *s, int closed) {
  for (tide__drain_waiter *w = s->waiters; w != NULL; w = w->next) {
    if (closed) {
      w->stream_closed = 1;
      (void)tide_future_fail(w->future, TIDE_ECLOSED);
    } else {
      (void)tide_future_resolve(w->future, NULL);
    }
  }
  if (closed)
    s->waiters = NULL;
}

static intptr_t write_finished(tide__op *op, intptr_t result) {
  tide_stream *s = op->owner;
  s->write_queued -= tide__op_write_total(op);
  if (s->waiters != NULL && !above_high_water(s) && !s->h.closing)
    wake_drain_waiters(s, 0);
  return op_finished(op, result);
}

static int submit_write(tide_stream *s, tide__op_kind kind, void *buf, size_t len, size_t bytes,
                        tide_future **out) {
  s->write_queued += bytes;
  int err = submit_with(&s->h, kind, buf, len, NULL, 0, write_finished, out);
  if (err != 0)
    s->write_queued -= bytes;
  return err;
}

int tide_stream_write_future(tide_stream *s, const void *buf, size_t len, tide_future **out) {
  int err = stream_ok(s) ? check_io(&s->h, buf, len, out) : TIDE_EINVAL;
  return err != 0 ? err : submit_write(s, TIDE__OP_WRITE, (void *)(uintptr_t)buf, len, len, out);
}

/* Checks a vectored write's buffers and sums their lengths. */
static int check_writev(tide_stream *s, const tide_iobuf *bufs, size_t count, size_t *total) {
  int err = check_args(&s->h, bufs, count);
  if (err != 0)
    return err;
  *total = 0;
  for (size_t i = 0; i < count; i++) {
    if (bufs[i].base == NULL && bufs[i].len > 0)
      return TIDE_EINVAL;
    *total += bufs[i].len;
  }
  /* tide_iobuf and tide__iov have the same members; the public one is const-correct. */
  _Static_assert(sizeof(tide_iobuf) == sizeof(tide__iov), "tide_iobuf layout");
  return 0;
}

int tide_stream_writev_future(tide_stream *s, const tide_iobuf *bufs, size_t count,
                              tide_future **out) {
  size_t total = 0;
  int err = !stream_ok(s) || out == NULL ? TIDE_EINVAL : check_writev(s, bufs, count, &total);
  return err != 0 ? err
                  : submit_write(s, TIDE__OP_WRITEV, (void *)(uintptr_t)bufs, count, total, out);
}

/* The task form of a write: counted in the write queue like a future-form one. */
static int await_task_write(tide_stream *s, tide__op_kind kind, void *buf, size_t len,
                            size_t bytes) {
  return await_task_op(&s->h, kind, buf, len, bytes, write_finished, NULL);
}

size_t tide_stream_write_queue_size(const tide_stream *s) {
  return s ? s->write_queued : 0;
}

int tide_stream_set_write_high_water(tide_stream *s, size_t bytes) {
  if (!stream_ok(s))
    return TIDE_EINVAL;
  s->high_water = bytes;
  if (s->waiters != NULL && !above_high_water(s))
    wake_drain_waiters(s, 0);
  return 0;
}

static int wait_below_high_water_slow(tide_stream *s) {
  while (above_high_water(s)) {
    tide__drain_waiter w = {.next = s->waiters};
    int err = tide_future_new(s->h.loop, &w.future);
    if (err != 0)
      return err;
    if (s->waiters != NULL)
      s->waiters->prev = &w;
    s->waiters = &w;
    err = tide_await(w.future, NULL);
    tide_future_release(w.future);
    if (w.stream_closed)
      return TIDE_ECLOSED;
    if (w.prev != NULL)
      w.prev->next = w.next;
    else
      s->waiters = w.next;
    if (w.next != NULL)
      w.next->prev = w.prev;
    if (err != 0)
      return err;
  }
  return 0;
}

/* Waits (inside a task) until the write queue is below the high-water mark; the usual case,
 * nothing queued, costs no call. */
static inline int wait_below_high_water(tide_stream *s) {
  return above_high_water(s) ? wait_below_high_water_slow(s) : 0;
}

int tide_stream_drain(tide_stream *s) {
  if (!stream_ok(s) || !in_task(&s->h))
    return TIDE_EINVAL;
  if (s->h.closing)
    return TIDE_ECLOSED;
  return wait_below_high_water(s);
}

int tide_stream_write(tide_stream *s, const void *buf, size_t len) {
  if (!stream_ok(s) || !in_task(&s->h))
    return TIDE_EINVAL;
  int err = s->h.closing ? TIDE_ECLOSED : wait_below_high_water(s);
  if (err == 0)
    err = check_args(&s->h, buf, len);
  return err != 0 ? err : await_task_write(s, TIDE__OP_WRITE, (void *)(uintptr_t)buf, len, len);
}

int tide_stream_writev(tide_stream *s, const tide_iobuf *bufs, size_t count) {
  if (!stream_ok(s) || !in_task(&s->h))
    return TIDE_EINVAL;
  int err = s->h.closing ? TIDE_ECLOSED : wait_below_high_water(s);
  size_t total = 0;
  if (err == 0)
    err = check_writev(s, bufs, count, &total);
  return err != 0 ? err
                  : await_task_write(s, TIDE__OP_WRITEV, (void *)(uintptr_t)bufs, count, total);
}

int tide_stream_shutdown_future(tide_stream *s, tide_future **out) {
  int err = stream_ok(s) ? check_io(&s->h, NULL, 0, out) : TIDE_EINVAL;
  if (err != 0)
    return err;
  if (s->h.kind == TIDE__HANDLE_PIPE)
    return TIDE_ENOTSUP;
  return tide__handle_submit(&s->h, TIDE__OP_SHUTDOWN, NULL, 0, NULL, 0, out);
}

int tide_stream_shutdown(tide_stream *s) {
  if (!stream_ok(s) || !in_task(&s->h))
    return TIDE_EINVAL;
  tide_future *f;
  int err = tide_stream_shutdown_future(s, &f);
  return err != 0 ? err : tide__await_value(f, NULL);
}

intptr_t tide_stream_fd(const tide_stream *s) {
  return s ? s->h.fd : -1;
}

int tide_stream_close(tide_stream *s) {
  return stream_ok(s) ? tide__handle_close(&s->h) : TIDE_EINVAL;
}

/* ---- connecting ---------------------------------------------------------------------------- */

/* A connect resolves with its stream, or closes it on failure so that nothing leaks. */
static intptr_t connect_finished(tide__op *op, intptr_t result) {
  tide_stream *s = op->owner;
  s->h.ops--;
  if (result >= 0)
    return (intptr_t)s;
  (void)tide__handle_close(&s->h);
  return result;
}

int tide__stream_connect(tide_stream *s, const struct sockaddr *addr, uint32_t addrlen,
                         tide_future **out) {
  return submit_with(&s->h, TIDE__OP_CONNECT, NULL, 0, (void *)(uintptr_t)addr, addrlen,
                     connect_finished, out);
}

int tide_tcp_connect(tide_loop *loop, const struct sockaddr *addr, tide_stream **out) {
  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL || !tide_in_task(loop))
    return TIDE_EINVAL;
  tide_future *f;
  int err = tide_tcp_connect_future(loop, addr, &f);
  return err != 0 ? err : tide__await_value(f, (void **)out);
}

int tide_unix_connect(tide_loop *loop, const char *path, tide_stream **out) {
  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL || !tide_in_task(loop))
    return TIDE_EINVAL;
  tide_future *f;
  int err = tide_unix_connect_future(loop, path, &f);
  return err != 0 ? err : tide__await_value(f, (void **)out);
}

/* Connect-by-name runs as a task: resolve, then try each address in turn. */
typedef struct connect_name_args {
  char *host;
  char *service;
} connect_name_args;

static int connect_name_task(tide_loop *loop, void *arg, void **result) {
  connect_name_args *a = arg;
  struct addrinfo *list = NULL;
  int err = tide_resolve(loop, a->host, a->service, NULL, &list);
  if (err != 0)
    return err;
  err = TIDE_ENOENT;
  for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
    tide_stream *s;
    err = tide_tcp_connect(loop, ai->ai_addr, &s);
    if (err == 0) {
      *result = s;
      break;
    }
    if (err == TIDE_ECANCELED || err == TIDE_ETIMEDOUT)
      break; /* stopped from outside: do not try the next address */
  }
  tide_addrinfo_free(list);
  return err;
}

static void free_connect_name_args(tide_future *f, void *arg) {
  (void)f;
  connect_name_args *a = arg;
  free(a->host);
  free(a->service);
  free(a);
}

static char *copy_string(const char *s) {
  if (s == NULL)
    return NULL;
  size_t n = strlen(s) + 1;
  char *c = malloc(n);
  if (c != NULL)
    memcpy(c, s, n);
  return c;
}

int tide_tcp_connect_name_future(tide_loop *loop, const char *host, const char *service,
                                 tide_future **out) {
  if (loop == NULL || out == NULL || (host == NULL && service == NULL))
    return TIDE_EINVAL;
  connect_name_args *a = calloc(1, sizeof *a);
  if (a == NULL)
    return TIDE_ENOMEM;
  a->host = copy_string(host);
  a->service = copy_string(service);
  tide_task_options opts;
  tide_task_options_init(&opts);
  opts.name = "tide_tcp_connect_name";
  tide_future *f = NULL;
  int err = (host && !a->host) || (service && !a->service) ? TIDE_ENOMEM : 0;
  if (err == 0)
    err = tide_spawn(loop, connect_name_task, a, &opts, &f);
  if (err != 0) {
    free_connect_name_args(NULL, a);
    return err;
  }
  /* The arguments go when the task's future settles, whether or not its body ever ran. A fresh
   * future's first done-callback is stored inline, so this cannot fail. */
  err = tide_future_on_done(f, free_connect_name_args, a);
  assert(err == 0);
  (void)err;
  *out = f;
  return 0;
}

int tide_tcp_connect_name(tide_loop *loop, const char *host, const char *service,
                          tide_stream **out) {
  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL || !tide_in_task(loop))
    return TIDE_EINVAL;
  tide_future *f;
  int err = tide_tcp_connect_name_future(loop, host, service, &f);
  return err != 0 ? err : tide__await_value(f, (void **)out);
}

/* ---- listeners ----------------------------------------------------------------------------- */

/* An accept resolves with a stream wrapped around the new descriptor, which the backend has
 * already attached. */
static intptr_t accept_finished(tide__op *op, intptr_t result) {
  tide__handle *l = op->owner;
  tide__handle_kind kind = (tide__handle_kind)l->child_kind;
  tide_loop *loop = l->loop;
  (void)op_finished(op, 0);
  if (result < 0)
    return result;
  tide_stream *s = tide__pool_get(&loop->handle_pool);
  if (s == NULL) {
    (void)tide__backend_detach(loop->backend, (tide__fd)result);
    tide__fd_close((tide__fd)result);
    return TIDE_ENOMEM;
  }
  init_handle(&s->h, loop, (tide__fd)result, kind);
  s->high_water = DEFAULT_HIGH_WATER;
  return (intptr_t)s;
}

int tide_listener_accept_future(tide_listener *l, tide_future **out) {
  int err = l ? check_io(&l->h, NULL, 0, out) : TIDE_EINVAL;
  return err != 0 ? err
                  : submit_with(&l->h, TIDE__OP_ACCEPT, NULL, 0, NULL, 0, accept_finished, out);
}

int tide_listener_accept(tide_listener *l, tide_stream **out) {
  if (out != NULL)
    *out = NULL;
  if (l == NULL || out == NULL || !in_task(&l->h))
    return TIDE_EINVAL;
  tide_future *f;
  int err = tide_listener_accept_future(l, &f);
  return err != 0 ? err : tide__await_value(f, (void **)out);
}

int tide_listener_close(tide_listener *l) {
  return l ? tide__handle_close(&l->h) : TIDE_EINVAL;
}

/* ---- closing what the user left open ------------------------------------------------------ */

size_t tide__handles_close_all(tide_loop *loop) {
  static const char *const kind_names[] = {"TCP stream", "Unix stream", "pipe stream", "listener",
                                           "UDP socket"};
  size_t counts[5] = {0};
  size_t total = 0;
  while (loop->open_handles != NULL) {
    tide__handle *h = loop->open_handles;
    counts[h->kind]++;
    total++;
    (void)tide__handle_close(h); /* unlinks it */
  }
  for (size_t k = 0; k < 5; k++) {
    if (counts[k] > 0)
      tide__loop_log(loop, TIDE_LOG_WARN, "loop closed with %zu %s(s) never closed; closed now",
                     counts[k], kind_names[k]);
  }
  return total;
}

/* ---- UDP ----------------------------------------------------------------------------------- */

int tide_udp_send_to_future(tide_udp *u, const void *buf, size_t len, const struct sockaddr *dest,
                            tide_future **out) {
  int err = u ? check_io(&u->h, buf, len, out) : TIDE_EINVAL;
  if (err != 0)
    return err;
  uint32_t dest_len = 0;
  if (dest != NULL) {
    if (dest->sa_family == AF_INET)
      dest_len = sizeof(struct sockaddr_in);
    else if (dest->sa_family == AF_INET6)
      dest_len = sizeof(struct sockaddr_in6);
    else
      return TIDE_EAFNOSUPPORT;
  }
  return tide__handle_submit(&u->h, TIDE__OP_SENDTO, (void *)(uintptr_t)buf, len,
                             (void *)(uintptr_t)dest, dest_len, out);
}

int tide_udp_send_to(tide_udp *u, const void *buf, size_t len, const struct sockaddr *dest) {
  if (u == NULL || !in_task(&u->h))
    return TIDE_EINVAL;
  tide_future *f;
  int err = tide_udp_send_to_future(u, buf, len, dest, &f);
  return err != 0 ? err : tide__await_bytes(f, NULL);
}

int tide_udp_recv_from_future(tide_udp *u, void *buf, size_t len, struct sockaddr_storage *from,
                              tide_future **out) {
  int err = u ? check_io(&u->h, buf, len, out) : TIDE_EINVAL;
  return err != 0 ? err
                  : tide__handle_submit(&u->h, TIDE__OP_RECVFROM, buf, len, from,
                                        from ? (uint32_t)sizeof *from : 0, out);
}

int tide_udp_recv_from(tide_udp *u, void *buf, size_t len, struct sockaddr_storage *from,
                       size_t *nread) {
  if (nread != NULL)
    *nread = 0;
  if (u == NULL || !in_task(&u->h))
    return TIDE_EINVAL;
  tide_future *f;
  int err = tide_udp_recv_from_future(u, buf, len, from, &f);
  return err != 0 ? err : tide__await_bytes(f, nread);
}

int tide_udp_close(tide_udp *u) {
  return u ? tide__handle_close(&u->h) : TIDE_EINVAL;
}

/* ---- name resolution ----------------------------------------------------------------------- */

int tide_resolve(tide_loop *loop, const char *host, const char *service,
                 const struct addrinfo *hints, struct addrinfo **out) {
  if (out != NULL)
    *out = NULL;
  if (loop == NULL || out == NULL || !tide_in_task(loop))
    return TIDE_EINVAL;
  tide_future *f;
  int err = tide_resolve_future(loop, host, service, hints, &f);
  return err != 0 ? err : tide__await_value(f, (void **)out);
}
