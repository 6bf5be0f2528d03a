/* backends/uring/ring.c — io_uring_setup, the three mappings, SQE and CQE bookkeeping and
 * io_uring_enter (see ring.h).
 *
 * io_uring's pitfalls at this level:
 *  - Availability is a run-time question: ENOSYS (old kernel, or a seccomp filter that fakes
 *    it), EPERM (kernel.io_uring_disabled = 2, or = 1 for a process outside the allowed group,
 *    or a container's seccomp profile). Both mean "not here": TIDE_ENOTSUP, so that a program
 *    built for io_uring can report it and a test can skip.
 *  - Setup flags appear kernel by kernel (SUBMIT_ALL 5.18, COOP_TASKRUN 5.19, SINGLE_ISSUER 6.0,
 *    DEFER_TASKRUN 6.1) and an unknown one fails the whole setup with EINVAL, so the call is
 *    retried dropping the newest flag each time. DEFER_TASKRUN requires SINGLE_ISSUER.
 *  - SINGLE_ISSUER: an io_uring_enter from a thread other than the creator fails with EEXIST
 *    (tide's contract violated: the loop's thread only); reported as TIDE_EINVAL.
 *  - io_uring_enter may fail with EAGAIN (no memory for new requests) without waiting: the wait
 *    is repeated without submitting, so a poll's timeout holds instead of the loop spinning.
 *  - The SQ tail is only published in io_uring_enter, never while SQEs are being filled: the
 *    kernel (without SQPOLL) reads SQEs only inside io_uring_enter, so until then an SQE is still
 *    ours to rewrite (tide__ring_neutralise relies on that when a descriptor is detached before
 *    its SQEs were submitted and is then closed — the kernel would resolve the number at
 *    submission and could find a different file).
 *  - The ring indices are free-running 32-bit counters: compare with unsigned subtraction.
 *  - The head/tail words are shared with the kernel: acquire on what the kernel writes, release
 *    on what we write, as the io_uring man pages require (the kernel pairs with both).
 *  - Older kernels (before 5.4) map the SQ and CQ rings separately; IORING_FEAT_SINGLE_MMAP says
 *    one mapping covers both. Both layouts are handled.
 *  - A CQ that fills up overflows into a kernel list (IORING_FEAT_NODROP, 5.5); submission may
 *    then be refused with EBUSY until CQEs are reaped. The CQ is sized at four times the SQ so
 *    that this stays rare, and a refused submission just leaves the SQEs queued.
 *  - IORING_ENTER_EXT_ARG (5.11) carries the wait's timeout as a timespec in the same call as
 *    the submission, so a tick is one system call; a timeout returns -ETIME, which is not an
 *    error. The timeout is relative and in nanoseconds: no rounding is needed for timers. */
#define _GNU_SOURCE
#include "backends/uring/ring.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/sys/errno_map.h"
#include "tide/error.h"

/* The longest wait after a submission the kernel refused (EAGAIN): the refused SQEs are retried
 * by the next call. */
enum { RETRY_WAIT_NS = 1000 * 1000 };

enum { MAX_ENTRIES = 32768, CQ_FACTOR = 4 };

static int sys_setup(unsigned entries, struct io_uring_params *p) {
  return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int sys_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                     const void *arg, size_t argsz) {
  return (int)syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, arg, argsz);
}

/* Creates the ring with the best flags this kernel accepts. Returns the fd or -1 (errno). */
static int setup_best(unsigned entries, struct io_uring_params *p) {
  /* Newest first, one kernel release's flag dropped per step, so that each kernel keeps every
   * flag it has: 6.1, 6.0, 5.19, 5.18, then none. */
  static const unsigned tries[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN |
          IORING_SETUP_SUBMIT_ALL,
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
      IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
      IORING_SETUP_SUBMIT_ALL,
      0,
  };
  for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
    memset(p, 0, sizeof *p);
    /* CLAMP: a large poll_events asks for more than the kernel's maximum; take the maximum. */
    p->flags = tries[i] | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    p->cq_entries = entries * CQ_FACTOR;
    int fd = sys_setup(entries, p);
    if (fd >= 0) {
      p->flags = tries[i];
      return fd;
    }
    if (errno != EINVAL)
      return -1;
  }
  errno = EINVAL;
  return -1;
}

static int map_rings(tide__ring *r, const struct io_uring_params *p) {
  r->sq_map_len = p->sq_off.array + p->sq_entries * sizeof(unsigned);
  r->cq_map_len = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
  int single = (p->features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single && r->cq_map_len > r->sq_map_len)
    r->sq_map_len = r->cq_map_len;
  r->sq_map = mmap(NULL, r->sq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                   IORING_OFF_SQ_RING);
  if (r->sq_map == MAP_FAILED) {
    r->sq_map = NULL;
    return -1;
  }
  if (single) {
    r->cq_map = r->sq_map;
  } else {
    r->cq_map = mmap(NULL, r->cq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                     IORING_OFF_CQ_RING);
    if (r->cq_map == MAP_FAILED) {
      r->cq_map = NULL;
      return -1;
    }
  }
  r->sqes_len = p->sq_entries * sizeof(struct io_uring_sqe);
  r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                 IORING_OFF_SQES);
  if (r->sqes == MAP_FAILED) {
    r->sqes = NULL;
    return -1;
  }
  char *sq = r->sq_map;
  char *cq = r->cq_map;
  r->sq_head = (unsigned *)(sq + p->sq_off.head);
  r->sq_tail = (unsigned *)(sq + p->sq_off.tail);
  r->sq_mask = *(unsigned *)(sq + p->sq_off.ring_mask);
  r->sq_entries = p->sq_entries;
  r->cq_head = (unsigned *)(cq + p->cq_off.head);
  r->cq_tail = (unsigned *)(cq + p->cq_off.tail);
  r->cq_mask = *(unsigned *)(cq + p->cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(cq + p->cq_off.cqes);
  /* The SQ array maps ring slots to SQE indices; tide keeps them equal, set once. */
  unsigned *array = (unsigned *)(sq + p->sq_off.array);
  for (unsigned i = 0; i < p->sq_entries; i++)
    array[i] = i;
  r->sq_local_tail = *r->sq_tail;
  return 0;
}

static int open_error(int err) {
  switch (err) {
    case ENOSYS:
    case EPERM:
    case EACCES:
      return TIDE_ENOTSUP;
    default:
      return tide__err_from_errno(err);
  }
}

int tide__ring_open(tide__ring *r, unsigned entries) {
  memset(r, 0, sizeof *r);
  unsigned n = 1;
  while (n < entries && n < MAX_ENTRIES)
    n <<= 1;
  struct io_uring_params p;
  r->fd = setup_best(n, &p);
  if (r->fd < 0)
    return open_error(errno);
  r->setup_flags = p.flags;
  r->features = p.features;
  int err = 0;
  /* EXT_ARG (5.11) is what lets one io_uring_enter both submit and wait with a timeout; NODROP
   * that a full CQ never loses a completion. IORING_OP_SHUTDOWN arrived with EXT_ARG (5.11). */
  if (!(p.features & IORING_FEAT_EXT_ARG) || !(p.features & IORING_FEAT_NODROP))
    err = TIDE_ENOTSUP;
  else if (map_rings(r, &p) != 0)
    err = tide__err_from_errno(errno);
  if (err != 0)
    tide__ring_close(r);
  return err;
}

void tide__ring_close(tide__ring *r) {
  if (r->sqes != NULL)
    munmap(r->sqes, r->sqes_len);
  if (r->cq_map != NULL && r->cq_map != r->sq_map)
    munmap(r->cq_map, r->cq_map_len);
  if (r->sq_map != NULL)
    munmap(r->sq_map, r->sq_map_len);
  if (r->fd >= 0)
    close(r->fd);
  memset(r, 0, sizeof *r);
  r->fd = -1;
}

/* Publishes the queued SQEs: the kernel reads them in the next io_uring_enter. Release: the
 * SQEs' contents must be visible before the tail that exposes them. */
static unsigned publish(tide__ring *r) {
  __atomic_store_n(r->sq_tail, r->sq_local_tail, __ATOMIC_RELEASE);
  return tide__ring_unsubmitted(r);
}

void tide__ring_flush(tide__ring *r) {
  unsigned n = publish(r);
  if (n == 0)
    return;
  int rc;
  do
    rc = sys_enter(r->fd, n, 0, 0, NULL, 0);
  while (rc < 0 && errno == EINTR);
}

struct io_uring_sqe *tide__ring_get_sqe(tide__ring *r, uint64_t user_data) {
  if (tide__ring_unsubmitted(r) >= r->sq_entries) {
    tide__ring_flush(r);
    if (tide__ring_unsubmitted(r) >= r->sq_entries)
      return NULL;
  }
  struct io_uring_sqe *sqe = &r->sqes[r->sq_local_tail & r->sq_mask];
  r->sq_local_tail++;
  memset(sqe, 0, sizeof *sqe);
  sqe->user_data = user_data;
  return sqe;
}

unsigned tide__ring_neutralise(tide__ring *r, uint64_t user_data) {
  unsigned turned = 0;
  /* Acquire pairs with the kernel's release store of sq_head after it has read the SQEs before
   * it: the slots from the head on are not being read, and are ours to rewrite. */
  for (unsigned i = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE); i != r->sq_local_tail; i++) {
    struct io_uring_sqe *sqe = &r->sqes[i & r->sq_mask];
    if (sqe->user_data != user_data)
      continue;
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = IORING_OP_NOP;
    sqe->user_data = user_data;
    turned++;
  }
  return turned;
}

int tide__ring_submit_and_wait(tide__ring *r, int64_t timeout_ns) {
  unsigned n = publish(r);
  struct __kernel_timespec ts = {0, 0};
  struct io_uring_getevents_arg arg = {.sigmask = 0, .sigmask_sz = _NSIG / 8, .ts = 0};
  unsigned wait_nr = 0;
  if (timeout_ns != 0) {
    wait_nr = 1;
    if (timeout_ns > 0) {
      ts.tv_sec = timeout_ns / 1000000000;
      ts.tv_nsec = timeout_ns % 1000000000;
      arg.ts = (uint64_t)(uintptr_t)&ts;
    }
  }
  /* GETEVENTS even when not waiting: with DEFER_TASKRUN the kernel completes ready requests
   * only inside an io_uring_enter that asks for events. */
  unsigned flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
  int rc = sys_enter(r->fd, n, wait_nr, flags, &arg, sizeof arg);
  /* EAGAIN: no memory for new requests, and the kernel returned without waiting. With nothing to
   * reap the caller would come straight back (a busy loop that ignores the timeout): wait again
   * without submitting, but at most RETRY_WAIT_NS, since what was not submitted may be what
   * would end the wait (the wake-up's eventfd read, backend.c), and is submitted next time. */
  if (rc < 0 && errno == EAGAIN && n > 0 && wait_nr > 0 && tide__ring_peek(r) == NULL) {
    if (timeout_ns < 0 || timeout_ns > RETRY_WAIT_NS) {
      ts.tv_sec = 0;
      ts.tv_nsec = RETRY_WAIT_NS;
      arg.ts = (uint64_t)(uintptr_t)&ts;
    }
    rc = sys_enter(r->fd, 0, wait_nr, flags, &arg, sizeof arg);
  }
  if (rc >= 0)
    return 0;
  switch (errno) {
    case ETIME:
    case EINTR:
    case EBUSY: /* CQ overflow: the SQEs stay queued until the caller reaps */
    case EAGAIN:
      return 0;
    case EEXIST:
      /* IORING_SETUP_SINGLE_ISSUER: a thread other than the loop's creator entered the ring. A
       * contract broken by the caller (include/tide/loop.h: a loop is driven by its own thread). */
      return TIDE_EINVAL;
    default:
      return tide__err_from_errno(errno);
  }
}
