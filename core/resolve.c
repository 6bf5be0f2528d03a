/* core/resolve.c — tide_resolve_future: getaddrinfo on the loop's default executor.
 *
 * Numeric hosts and services (AI_NUMERICHOST | AI_NUMERICSERV) do no I/O and resolve on the
 * loop thread: the future is settled before tide_resolve_future returns. Other names are looked
 * up by getaddrinfo on the blocking lane of the loop's default executor (tide_run_blocking), so
 * a lookup neither blocks the loop nor takes a CPU worker, and the number of resolver threads is
 * the lane's bound rather than one thread per lookup.
 *
 * Two futures per lookup. The caller's future is settled by this file; the job's future
 * (tide_run_blocking's) settles when the job has ended, and its done-callback is the one place
 * the lookup record is freed. They are separate because a running getaddrinfo cannot be stopped
 * and the bridge, rightly for jobs whose argument may live on a task's stack, settles a running
 * job's future only when the job ends: a resolve awaited under a deadline would then wait out a
 * resolver timeout. Here the argument is this file's own heap record, so the caller's future can
 * be cancelled at once (the canceller fails it and asks the job to cancel), and whatever the job
 * finds later is freed by the done-callback. tide_loop_close cancels the job like every bridge
 * job: it waits for a getaddrinfo already running to return (the executor's threads are joined),
 * then the callback frees the record; a lookup never outlives its loop.
 *
 * The job writes its results into the record; the bridge's completion (a release push by the
 * worker, an acquire take by the loop) orders those writes before the done-callback reads them.
 *
 * getaddrinfo's errors are EAI_* codes (on Windows, WSA* codes under EAI_* names); EAI_SYSTEM,
 * which POSIX has and Windows does not, defers to errno. tide__err_from_gai (core/sys/) maps them,
 * so this file needs no platform test: errno is captured after every call and used only where
 * the platform's mapping says so. */
#define _POSIX_C_SOURCE 200809L /* getaddrinfo under -std=c11 (POSIX); Windows ignores it */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop_internal.h"
#include "core/sys/errno_map.h"
#include "tide/error.h"
#include "tide/executor.h"
#include "tide/net.h"

typedef struct lookup {
  tide_future *future; /* the caller's; one reference held until the job's callback */
  tide_future *job;    /* tide_run_blocking's; one reference held until its callback */
  struct addrinfo hints;
  struct addrinfo *result; /* written by the job; handed to `future` or freed */
  int gai_err;             /* written by the job */
  int sys_errno;           /* written by the job: errno after getaddrinfo */
  const char *host;        /* NULL or a copy in `names` */
  const char *service;     /* NULL or a copy in `names` */
  char names[];            /* the copies, so the caller's strings need not outlive the call */
} lookup;

static void *lookup_run(void *arg) {
  lookup *l = arg;
  errno = 0;
  l->gai_err = getaddrinfo(l->host, l->service, &l->hints, &l->result);
  l->sys_errno = errno;
  return NULL;
}

/* The job's future settled (loop thread): it ran, or it was cancelled before it started (by the
 * canceller below, or by tide_loop_close). A job cancelled while running still ran, and may have
 * left a result that nobody wants any more. So may a job that ended while its loop closes: its
 * future is then settled as cancelled, as an I/O op's is, because the list would otherwise be
 * handed to a future that nobody can await any more and leak with it. */
static void lookup_done(tide_future *job, void *arg) {
  lookup *l = arg;
  int err = tide_future_result(job, NULL);
  if (err == 0 && tide_future_loop(job)->closing)
    err = TIDE_ECANCELED;
  if (err == 0 && l->gai_err == 0) {
    if (tide_future_resolve(l->future, l->result) == 0)
      l->result = NULL; /* now the caller's */
  } else {
    /* TIDE_EALREADY when the caller's future was cancelled first: that outcome stands. */
    (void)tide_future_fail(l->future,
                           err != 0 ? err : tide__err_from_gai(l->gai_err, l->sys_errno));
  }
  if (l->result != NULL)
    freeaddrinfo(l->result);
  tide_future_release(l->future);
  tide_future_release(l->job);
  free(l);
}

/* The caller cancelled (loop thread): settle at once and stop the job if it has not started. */
static void lookup_cancel(tide_future *f, void *arg) {
  lookup *l = arg;
  (void)tide_future_fail(f, TIDE_ECANCELED);
  (void)tide_future_cancel(l->job);
}

/* Numeric hosts (and numeric or absent services) resolve without I/O: a settled future. Returns
 * TIDE_EAGAIN when the name is not numeric. */
static int resolve_numeric(tide_loop *loop, const char *host, const char *service,
                           const struct addrinfo *hints, tide_future **out) {
  struct addrinfo h = *hints;
  h.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
  struct addrinfo *list = NULL;
  if (getaddrinfo(host, service, &h, &list) != 0)
    return TIDE_EAGAIN;
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

static lookup *lookup_new(const char *host, const char *service, const struct addrinfo *hints) {
  size_t host_len = host != NULL ? strlen(host) + 1 : 0;
  size_t service_len = service != NULL ? strlen(service) + 1 : 0;
  if (host_len > SIZE_MAX / 2 || service_len > SIZE_MAX / 2 - sizeof(lookup) - host_len)
    return NULL;
  lookup *l = calloc(1, sizeof *l + host_len + service_len);
  if (l == NULL)
    return NULL;
  /* Only the four fields getaddrinfo reads from hints; the rest must be zero. */
  l->hints.ai_family = hints->ai_family;
  l->hints.ai_socktype = hints->ai_socktype;
  l->hints.ai_protocol = hints->ai_protocol;
  l->hints.ai_flags = hints->ai_flags;
  if (host != NULL) {
    memcpy(l->names, host, host_len);
    l->host = l->names;
  }
  if (service != NULL) {
    memcpy(l->names + host_len, service, service_len);
    l->service = l->names + host_len;
  }
  return l;
}

int tide_resolve_future(tide_loop *loop, const char *host, const char *service,
                        const struct addrinfo *hints, tide_future **out) {
  if (loop == NULL || out == NULL || (host == NULL && service == NULL))
    return TIDE_EINVAL;
  if (loop->closing)
    return TIDE_ECLOSED;
  struct addrinfo defaults = {0};
  defaults.ai_family = AF_UNSPEC;
  defaults.ai_socktype = SOCK_STREAM;
  defaults.ai_flags = AI_ADDRCONFIG;
  if (hints == NULL)
    hints = &defaults;
  int err = resolve_numeric(loop, host, service, hints, out);
  if (err != TIDE_EAGAIN)
    return err;

  lookup *l = lookup_new(host, service, hints);
  if (l == NULL)
    return TIDE_ENOMEM;
  err = tide_future_new(loop, &l->future);
  if (err != 0)
    goto fail;
  err = tide_run_blocking(loop, NULL, lookup_run, l, &l->job);
  if (err != 0)
    goto fail_future;
  /* From here on the job's callback owns the record. Neither call can fail on a fresh pending
   * future: the first done-callback is stored inline, and nothing else holds the futures yet. */
  err = tide_future_on_done(l->job, lookup_done, l);
  assert(err == 0);
  err = tide_future_set_canceller(l->future, lookup_cancel, l);
  assert(err == 0);
  (void)err;
  tide_future_retain(l->future); /* the caller's reference; the record keeps its own */
  *out = l->future;
  return 0;

fail_future:
  tide_future_release(l->future);
fail:
  free(l);
  return err;
}

void tide_addrinfo_free(struct addrinfo *list) {
  if (list != NULL)
    freeaddrinfo(list);
}
