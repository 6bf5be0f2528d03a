/* backends/uring/ring.h — the io_uring instance itself, spoken to with the raw syscalls (no
 * liburing): setup and mapping, taking SQEs, submitting and waiting, reaping CQEs. Everything
 * about ops lives in the files around it (uring.h); this knows nothing of tide's ops.
 *
 * Loop thread only: the ring is created with IORING_SETUP_SINGLE_ISSUER where the kernel has it,
 * and the thread that creates it (the loop's, include/tide/loop.h) is the only one that may enter
 * it. */
#ifndef TIDE_URING_RING_H
#define TIDE_URING_RING_H

#include <linux/io_uring.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tide__ring {
  /* hot: what every tick touches */
  unsigned *sq_head; /* the kernel's: SQEs before it have been consumed */
  unsigned *sq_tail; /* ours, published to the kernel only when entering */
  unsigned sq_local_tail;
  unsigned sq_mask;
  unsigned sq_entries;
  struct io_uring_sqe *sqes;
  unsigned *cq_head; /* ours */
  unsigned *cq_tail; /* the kernel's */
  unsigned cq_mask;
  struct io_uring_cqe *cqes;
  int fd;
  unsigned setup_flags; /* the flags the kernel accepted */
  unsigned features;
  /* the mappings, for close */
  void *sq_map;
  size_t sq_map_len;
  void *cq_map; /* == sq_map with IORING_FEAT_SINGLE_MMAP */
  size_t cq_map_len;
  size_t sqes_len;
} tide__ring;

/* Creates a ring of at least `entries` SQEs (a power of two up to 32768) with room for four
 * times as many CQEs. Returns 0, TIDE_ENOTSUP (no io_uring here: ENOSYS, EPERM from seccomp or
 * kernel.io_uring_disabled, or a kernel older than 5.11, which lacks IORING_FEAT_EXT_ARG), or
 * TIDE_ENOMEM / TIDE_EMFILE / TIDE_ENFILE (TIDE_EINVAL if the kernel refuses every flag set). */
int tide__ring_open(tide__ring *ring, unsigned entries);

/* Unmaps and closes the ring; the kernel cancels what is still in it. */
void tide__ring_close(tide__ring *ring);

/* A zeroed SQE with user_data set, queued after the others, or NULL when the submission queue is
 * full even after handing the queued ones to the kernel (it refused them: EBUSY/EAGAIN under
 * CQ overflow or memory pressure). Queued SQEs reach the kernel at the next
 * tide__ring_submit_and_wait (or a flush taken here when the queue is full). */
struct io_uring_sqe *tide__ring_get_sqe(tide__ring *ring, uint64_t user_data);

/* Hands the queued SQEs to the kernel now, without waiting (one io_uring_enter). Afterwards
 * tide__ring_unsubmitted says whether it took them all. */
void tide__ring_flush(tide__ring *ring);

/* SQEs taken but not yet consumed by the kernel. */
static inline unsigned tide__ring_unsubmitted(const tide__ring *ring) {
  /* Acquire pairs with the kernel's release store of sq_head once it has consumed the SQEs
   * before it: a slot counted free here is no longer read by the kernel when we refill it. */
  return ring->sq_local_tail - __atomic_load_n(ring->sq_head, __ATOMIC_ACQUIRE);
}

/* Turns every queued, not yet consumed SQE carrying `user_data` into a NOP with the same
 * user_data: its CQE still comes (res 0), but the kernel never sees its descriptor or buffers.
 * Returns how many were turned. */
unsigned tide__ring_neutralise(tide__ring *ring, uint64_t user_data);

/* Hands the queued SQEs to the kernel and waits until at least one CQE is ready, for at most
 * timeout_ns (negative: no limit; 0: do not wait, but still run the completion work the kernel
 * deferred to this thread). One io_uring_enter (two when the kernel has no memory for new
 * requests: the wait is then repeated without them). Returns 0 (also on timeout and EINTR, and
 * when the kernel refused new SQEs for now: they stay queued), TIDE_EINVAL when called from a
 * thread other than the ring's creator under SINGLE_ISSUER, or another TIDE_E* code. */
int tide__ring_submit_and_wait(tide__ring *ring, int64_t timeout_ns);

/* The oldest unreaped CQE, or NULL. Valid until tide__ring_cqe_seen. */
static inline struct io_uring_cqe *tide__ring_peek(tide__ring *ring) {
  unsigned head = *ring->cq_head;
  /* Pairs with the kernel's release store of the tail after it wrote the CQE. */
  if (head == __atomic_load_n(ring->cq_tail, __ATOMIC_ACQUIRE))
    return NULL;
  return &ring->cqes[head & ring->cq_mask];
}

/* Gives the peeked CQE's slot back to the kernel. */
static inline void tide__ring_cqe_seen(tide__ring *ring) {
  /* Release: the kernel may overwrite the slot once it sees the head move, so our reads of it
   * must come first. */
  __atomic_store_n(ring->cq_head, *ring->cq_head + 1, __ATOMIC_RELEASE);
}

#endif
