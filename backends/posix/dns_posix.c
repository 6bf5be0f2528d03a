/* backends/posix/dns_posix.c — tide_resolve_future: getaddrinfo without blocking the loop.
 *
 * An interim until the executor lands (DESIGN.md roadmap step 4): each lookup of a name runs
 * getaddrinfo on its own detached thread. Numeric hosts and services never leave the loop
 * thread (AI_NUMERICHOST does no I/O).
 *
 * How the result comes back, and why not through tide_call_soon_threadsafe: a lookup cannot be
 * interrupted, so a cancelled one — or one whose loop is closed meanwhile (tide_run closes its
 * loop as soon as the main task returns) — keeps running after nobody wants it. A worker that
 * posted to the loop would then post to freed memory; holding the loop open with a ref would
 * make tide_loop_close wait on a DNS timeout. Instead the worker never touches the loop:
 *  - the lookup record is shared by the loop side and the worker, with an atomic reference
 *    count; whoever drops the last reference frees it (and closes its eventfd);
 *  - the worker stores the result, then signals an eventfd;
 *  - the loop side waits with an ordinary READ op on that eventfd, so the lookup is pending
 *    work like any other I/O (tide_loop_run waits for it), and cancellation or loop close is an
 *    ordinary op cancellation: the op completes with TIDE_ECANCELED, the loop side detaches the
 *    eventfd and drops its reference, and the worker frees the unwanted result when it is done.
 * Cost: one eventfd and one thread per name lookup, acceptable for an interim; the executor will
 * bound the threads.
 *
 * getaddrinfo's pitfalls: its errors are EAI_* codes, not errno (EAI_SYSTEM defers to errno);
 * glibc's EAI_NODATA/EAI_ADDRFAMILY are extensions; the worker blocks every signal so that a
 * process-directed signal is never delivered to a thread the program does not know about. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/loop_internal.h"
#include "core/net_internal.h"
#include "core/sys/errno_map.h"
#include "tide/error.h"

typedef struct lookup {
  atomic_int refs; /* the loop side and the worker: 2, then 1, then freed */
  atomic_int done; /* release-stored by the worker after the result, acquire-read by the
                      loop side after the eventfd fired */
  int efd;
  uint64_t counter; /* the READ op's buffer: the eventfd's value */
  tide_loop *loop;  /* read on the loop thread only */
  char *host;
  char *service;
  struct addrinfo hints;
  struct addrinfo *result; /* the worker's; handed to the future, or freed with the record */
  int gai_err;
  int sys_errno; /* errno when gai_err is EAI_SYSTEM */
} lookup;

static int err_from_gai(int gai_err, int sys_errno) {
  switch (gai_err) {
    case 0:
      return 0;
    case EAI_NONAME:
    case EAI_SERVICE:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
      return TIDE_ENOENT;
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
    case EAI_FAMILY:
      return TIDE_EAFNOSUPPORT;
    case EAI_AGAIN:
      return TIDE_EAGAIN;
    case EAI_MEMORY:
      return TIDE_ENOMEM;
    case EAI_BADFLAGS:
    case EAI_SOCKTYPE:
      return TIDE_EINVAL;
    case EAI_FAIL:
      return TIDE_EIO;
    case EAI_SYSTEM:
      return tide__err_from_errno(sys_errno);
    default:
      return TIDE_EUNKNOWN;
  }
}

static void lookup_release(lookup *l) {
  /* acq_rel: the last owner must see every write the other owner made before its decrement. */
  if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (l->efd >= 0)
    close(l->efd);
  if (l->result != NULL)
    freeaddrinfo(l->result);
  free(l->host);
  free(l->service);
  free(l);
}

static void signal_done(lookup *l) {
  atomic_store_explicit(&l->done, 1, memory_order_release);
  uint64_t one = 1;
  while (write(l->efd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

static void *lookup_worker(void *arg) {
  lookup *l = arg;
#if defined(__linux__)
  /* Named so that a debugger, top -H or a test can tell lookup threads from others. */
  (void)pthread_setname_np(pthread_self(), "tide-dns");
#endif
  l->gai_err = getaddrinfo(l->host, l->service, &l->hints, &l->result);
  l->sys_errno = l->gai_err == EAI_SYSTEM ? errno : 0;
  signal_done(l);
  lookup_release(l);
  return NULL;
}

/* The eventfd's READ op finished: take the result (or drop it, if cancelled). */
static intptr_t lookup_finished(tide__op *op, intptr_t result) {
  lookup *l = op->owner;
  intptr_t value = result;
  if (result >= 0 && atomic_load_explicit(&l->done, memory_order_acquire)) {
    value = l->gai_err == 0 ? (intptr_t)l->result : err_from_gai(l->gai_err, l->sys_errno);
    if (l->gai_err == 0)
      l->result = NULL; /* now the future's */
  } else if (result >= 0) {
    value = TIDE_EIO; /* cannot happen: the eventfd is only written after `done` */
  }
  (void)tide__backend_detach(l->loop->backend, l->efd);
  lookup_release(l);
  return value;
}

static char *copy_string(const char *s, int *failed) {
  if (s == NULL)
    return NULL;
  size_t n = strlen(s) + 1;
  char *c = malloc(n);
  if (c == NULL)
    *failed = 1;
  else
    memcpy(c, s, n);
  return c;
}

/* Numeric hosts (and numeric or absent services) resolve without I/O: a settled future. */
static int resolve_numeric(tide_loop *loop, const char *host, const char *service,
                           const struct addrinfo *hints, tide_future **out) {
  struct addrinfo h = *hints;
  h.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
  struct addrinfo *list = NULL;
  int gai_err = getaddrinfo(host, service, &h, &list);
  if (gai_err != 0)
    return TIDE_EAGAIN; /* not numeric: look it up on a thread */
  tide_future *f;
  int err = tide_future_new(loop, &f);
  if (err != 0) {
    freeaddrinfo(list);
    return err;
  }
  (void)tide_future_resolve(f, list);
  *out = f;
  return 0;
}

static int start_worker(lookup *l) {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0)
    return TIDE_ENOMEM;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); /* the worker inherits a mask blocking everything */
  pthread_t thread;
  int rc = pthread_create(&thread, &attr, lookup_worker, l);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  return rc == 0 ? 0 : tide__err_from_errno(rc);
}

int tide_resolve_future(tide_loop *loop, const char *host, const char *service,
                        const struct addrinfo *hints, tide_future **out) {
  if (loop == NULL || out == NULL || (host == NULL && service == NULL))
    return TIDE_EINVAL;
  if (loop->closing)
    return TIDE_ECLOSED;
  struct addrinfo defaults = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
  if (hints == NULL)
    hints = &defaults;
  int err = resolve_numeric(loop, host, service, hints, out);
  if (err != TIDE_EAGAIN)
    return err;

  lookup *l = calloc(1, sizeof *l);
  if (l == NULL)
    return TIDE_ENOMEM;
  atomic_init(&l->refs, 1); /* the loop side's; the worker's is added once it exists */
  atomic_init(&l->done, 0);
  l->loop = loop;
  l->hints = (struct addrinfo){.ai_family = hints->ai_family,
                               .ai_socktype = hints->ai_socktype,
                               .ai_protocol = hints->ai_protocol,
                               .ai_flags = hints->ai_flags};
  int failed = 0;
  l->host = copy_string(host, &failed);
  l->service = copy_string(service, &failed);
  l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (failed || l->efd < 0) {
    err = failed ? TIDE_ENOMEM : tide__err_from_errno(errno);
    goto fail;
  }
  err = tide__backend_attach(loop->backend, l->efd);
  if (err != 0)
    goto fail;
  tide__op *op;
  err = tide__op_new(loop, TIDE__OP_READ, l->efd, &l->counter, sizeof l->counter, &op, out);
  if (err != 0)
    goto fail_detach;
  op->finish = lookup_finished;
  op->owner = l;
  tide__op_submit(op); /* the eventfd is not signalled yet: the op waits */
  atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed); /* published by pthread_create */
  err = start_worker(l);
  if (err != 0) {
    /* No thread: report the failure through the same path a worker would have used. */
    l->gai_err = EAI_SYSTEM;
    l->sys_errno = EAGAIN;
    signal_done(l);
    lookup_release(l);
  }
  return 0;

fail_detach:
  (void)tide__backend_detach(loop->backend, l->efd);
fail:
  lookup_release(l);
  return err;
}

void tide_addrinfo_free(struct addrinfo *list) {
  if (list != NULL)
    freeaddrinfo(list);
}
