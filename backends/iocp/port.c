/* backends/iocp/port.c — the IOCP backend (backends/backend.h): the completion port, the table of
 * attached handles, the per-direction queues, poll, wake and cancellation. The calls that start
 * each op kind are in ops.c and accept_connect.c; the queue model is described in iocp.h.
 *
 * Windows pitfalls handled here:
 *  - FILE_SKIP_COMPLETION_PORT_ON_SUCCESS. With it, an overlapped call that succeeds at once
 *    queues no packet, so the op must be completed inline (ops.c, tide__iocp_after_call) — wait
 *    for its packet and it hangs forever. Without it, the same success does queue a packet, and
 *    completing inline as well would complete twice. The mode is only safe when every layer of
 *    the socket's provider completes through the I/O manager: a layered (non-IFS) service
 *    provider may complete through its own path, report success at once and still queue a
 *    packet (or none). So it is enabled for pipes and for sockets whose protocol info carries
 *    XP1_IFS_HANDLES, and the handle state records which, because the two cases need opposite
 *    handling.
 *  - The OVERLAPPED belongs to the kernel until its packet is dequeued, even after CancelIoEx
 *    and even after the handle is closed: the op (which holds it, backend_op.h) is completed
 *    only then, and holds a reference on its handle state so that a detached handle's state
 *    lives until its last packet. core/net.c frees a handle only once its last op completed.
 *  - CancelIoEx on an op that finished but whose packet is still queued fails with
 *    ERROR_NOT_FOUND: that is fine, the packet is coming, and its real result wins.
 *  - Handles cannot be disassociated from a port. Detach only cancels; the caller closes.
 *  - Timeouts are whole milliseconds: rounded up, so that timers never fire early.
 *  - Socket handles report FILE_TYPE_PIPE from GetFileType; getsockopt(SO_PROTOCOL_INFOW) tells
 *    them apart (and gives the family and protocol AcceptEx needs, and the IFS flag).
 *  - A pipe handle opened without FILE_FLAG_OVERLAPPED accepts an OVERLAPPED but completes the
 *    call synchronously, blocking the loop: attach refuses it (TIDE_ENOTSUP), seen through
 *    NtQueryInformationFile's FileModeInformation. */
#include "backends/iocp/iocp.h"

#include <stdlib.h>
#include <string.h>
#include <winternl.h>

#include "core/sys/errno_map.h"
#include "tide/error.h"

enum { KEY_IO = 0, KEY_WAKE = 1, DEFAULT_EVENTS = 128 };

/* FILE_INFORMATION_CLASS's FileModeInformation. mingw-w64's <winternl.h> names it, but the
 * Windows SDK's declares only FileDirectoryInformation (the rest are in the DDK's wdm.h), so an
 * MSVC build spells the value out. */
#define FILE_MODE_INFORMATION_CLASS ((FILE_INFORMATION_CLASS)16)
#if defined(__MINGW32__)
_Static_assert(FileModeInformation == 16, "FileModeInformation");
#endif

/* ---- the handle table ------------------------------------------------------------------------ */

static size_t hash_fd(tide__fd fd) {
  uint64_t x = (uint64_t)fd;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return (size_t)x;
}

tide__iocp_handle *tide__iocp_find(tide__backend *b, tide__fd fd) {
  if (b->slot_count == 0)
    return NULL;
  size_t mask = b->slot_count - 1;
  for (size_t i = hash_fd(fd) & mask; b->slots[i].state != NULL; i = (i + 1) & mask)
    if (b->slots[i].fd == fd)
      return b->slots[i].state;
  return NULL;
}

static void put_slot(tide__iocp_slot *slots, size_t count, tide__fd fd, tide__iocp_handle *h) {
  size_t mask = count - 1;
  size_t i = hash_fd(fd) & mask;
  while (slots[i].state != NULL)
    i = (i + 1) & mask;
  slots[i].fd = fd;
  slots[i].state = h;
}

/* Makes room for one more handle (load factor at most 1/2). */
static int reserve_slot(tide__backend *b) {
  if ((b->handle_count + 1) * 2 <= b->slot_count)
    return 0;
  size_t count = b->slot_count ? b->slot_count * 2 : 64;
  tide__iocp_slot *slots = calloc(count, sizeof *slots);
  if (slots == NULL)
    return TIDE_ENOMEM;
  for (size_t i = 0; i < b->slot_count; i++)
    if (b->slots[i].state != NULL)
      put_slot(slots, count, b->slots[i].fd, b->slots[i].state);
  free(b->slots);
  b->slots = slots;
  b->slot_count = count;
  return 0;
}

/* Removes fd, shifting the entries after it back so that probes never meet a hole. */
static void remove_slot(tide__backend *b, tide__fd fd) {
  size_t mask = b->slot_count - 1;
  size_t i = hash_fd(fd) & mask;
  while (b->slots[i].fd != fd || b->slots[i].state == NULL)
    i = (i + 1) & mask;
  for (size_t j = (i + 1) & mask; b->slots[j].state != NULL; j = (j + 1) & mask) {
    size_t home = hash_fd(b->slots[j].fd) & mask;
    /* Entry j may fill the hole at i only if its home is not in the cyclic range (i, j]. */
    int home_between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!home_between) {
      b->slots[i] = b->slots[j];
      i = j;
    }
  }
  b->slots[i].state = NULL;
  b->handle_count--;
}

/* ---- handle states --------------------------------------------------------------------------- */

static void release(tide__iocp_handle *h) {
  if (--h->refs > 0)
    return;
  tide__iocp_accept_cleanup(h);
  free(h);
}

static tide__op_queue *queue_of(tide__iocp_handle *h, const tide__op *op) {
  return tide__op_is_read_side(op->kind) ? &h->reads : &h->writes;
}

/* Unlinks the first op of q that the kernel does not hold (never issued), or returns NULL. */
static tide__op *take_unissued(tide__op_queue *q) {
  tide__op *prev = NULL;
  for (tide__op *op = q->head; op != NULL; prev = op, op = op->next) {
    if (op->flags & TIDE__IOCP_ISSUED)
      continue;
    tide__op_queue_unlink_after(q, prev, op);
    return op;
  }
  return NULL;
}

/* Issues the head of one queue, completes what finishes at once, and carries on with the next op
 * until one is in flight or the queue is empty. A completion's finish hook may detach h (and
 * drop its attached reference), so the walk holds a reference of its own. */
static void run_queue(tide__backend *b, tide__iocp_handle *h, int read_side) {
  h->refs++;
  for (;;) {
    tide__op_queue *q = read_side ? &h->reads : &h->writes;
    tide__op *op = q->head;
    if (op == NULL || !h->attached || (op->flags & TIDE__IOCP_ISSUED))
      break;
    intptr_t result = 0;
    tide__iocp_step step;
    do
      step = tide__iocp_start(b, h, op, &result);
    while (step == TIDE__IOCP_AGAIN);
    if (step == TIDE__IOCP_PENDING)
      break;
    (void)tide__op_queue_pop(q);
    tide__op_complete(op, result);
  }
  release(h);
}

/* ---- open, close, attach, detach ------------------------------------------------------------- */

int tide__backend_open(tide_loop *loop, unsigned max_events, tide__backend **out) {
  WSADATA wsa;
  /* Winsock counts its users: each backend takes and gives back one reference. */
  int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
  if (rc != 0)
    return tide__err_from_win32((unsigned long)rc);
  tide__backend *b = calloc(1, sizeof *b);
  if (max_events == 0)
    max_events = DEFAULT_EVENTS;
  if (b != NULL)
    b->entries = calloc(max_events, sizeof *b->entries);
  if (b == NULL || b->entries == NULL) {
    free(b);
    WSACleanup();
    return TIDE_ENOMEM;
  }
  b->loop = loop;
  b->max_events = max_events;
  /* One thread (the loop's) dequeues from this port. */
  b->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
  if (b->port == NULL) {
    int err = tide__err_from_win32(GetLastError());
    free(b->entries);
    free(b);
    WSACleanup();
    return err;
  }
  *out = b;
  return 0;
}

void tide__backend_close(tide__backend *b) {
  /* Every op has completed, so the states left are the handles still attached, each holding
   * only its attached reference. Their handles stay open: the backend never owned them. */
  for (size_t i = 0; i < b->slot_count; i++)
    if (b->slots[i].state != NULL)
      release(b->slots[i].state);
  CloseHandle(b->port);
  free(b->slots);
  free(b->entries);
  free(b);
  WSACleanup();
}

/* Fills in what kind of handle fd is. Returns 0 or a TIDE_E* code. */
static int classify(tide__iocp_handle *h, tide__fd fd) {
  WSAPROTOCOL_INFOW info;
  int len = (int)sizeof info;
  if (getsockopt((SOCKET)fd, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) == 0) {
    h->is_socket = 1;
    h->is_stream = info.iSocketType == SOCK_STREAM;
    h->family = info.iAddressFamily;
    h->protocol = info.iProtocol;
    /* Only base (IFS) providers complete entirely through the I/O manager (see the top). */
    h->skip_on_success = (info.dwServiceFlags1 & XP1_IFS_HANDLES) != 0;
    return 0;
  }
  SetLastError(NO_ERROR);
  DWORD type = GetFileType((HANDLE)fd);
  if (type == FILE_TYPE_UNKNOWN && GetLastError() != NO_ERROR)
    return TIDE_EBADF;
  /* Disk files would need explicit offsets, character devices (consoles) have no overlapped
   * I/O: both are for the executor, as regular files are on POSIX. */
  if (type != FILE_TYPE_PIPE)
    return TIDE_ENOTSUP;
  /* A handle opened without FILE_FLAG_OVERLAPPED performs every "overlapped" call
   * synchronously: a read would block the loop thread until data came. Refuse it. */
  IO_STATUS_BLOCK io;
  ULONG mode = 0;
  NTSTATUS st =
      NtQueryInformationFile((HANDLE)fd, &io, &mode, sizeof mode, FILE_MODE_INFORMATION_CLASS);
  if (st == 0 && (mode & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT)) != 0)
    return TIDE_ENOTSUP;
  h->is_socket = 0;
  h->is_stream = 1;
  h->skip_on_success = 1;
  return 0;
}

int tide__backend_attach(tide__backend *b, tide__fd fd) {
  if (fd < 0)
    return TIDE_EINVAL;
  if (tide__iocp_find(b, fd) != NULL)
    return TIDE_EALREADY;
  tide__iocp_handle *h = calloc(1, sizeof *h);
  if (h == NULL)
    return TIDE_ENOMEM;
  h->fd = fd;
  h->accept_socket = INVALID_SOCKET;
  int err = classify(h, fd);
  if (err == 0)
    err = reserve_slot(b); /* before associating, which cannot be undone */
  if (err == 0 && CreateIoCompletionPort((HANDLE)fd, b->port, KEY_IO, 0) == NULL)
    err = tide__err_from_win32(GetLastError());
  if (err != 0) {
    free(h);
    return err;
  }
  /* Skip the set-event step too: nobody waits on the handle itself. */
  if (h->skip_on_success &&
      !SetFileCompletionNotificationModes((HANDLE)fd, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS |
                                                          FILE_SKIP_SET_EVENT_ON_HANDLE))
    h->skip_on_success = 0;
  h->refs = 1;
  h->attached = 1;
  put_slot(b->slots, b->slot_count, fd, h);
  b->handle_count++;
  return 0;
}

int tide__backend_detach(tide__backend *b, tide__fd fd) {
  tide__iocp_handle *h = tide__iocp_find(b, fd);
  if (h == NULL)
    return TIDE_EBADF;
  remove_slot(b, fd);
  h->attached = 0; /* a finish hook run below sees the handle gone */
  int in_flight = 0;
  tide__op *heads[2] = {h->reads.head, h->writes.head};
  for (int i = 0; i < 2; i++) {
    if (heads[i] != NULL && (heads[i]->flags & TIDE__IOCP_ISSUED)) {
      heads[i]->flags |= TIDE__IOCP_CANCELLED;
      in_flight = 1;
    }
  }
  /* One call cancels every overlapped op on the handle; their packets arrive in later polls
   * (or are already queued: either way each op completes from its packet). */
  if (in_flight)
    (void)CancelIoEx((HANDLE)fd, NULL);
  /* The ops queued behind never reached the kernel: they complete now. Unlinked first, since
   * the finish hooks may run anything. */
  tide__op *waiting = NULL;
  tide__op **tail = &waiting;
  tide__op *op;
  while ((op = take_unissued(&h->reads)) != NULL || (op = take_unissued(&h->writes)) != NULL) {
    *tail = op;
    tail = &op->next;
  }
  while (waiting != NULL) {
    op = waiting;
    waiting = op->next;
    op->next = NULL;
    tide__op_complete(op, TIDE_ECANCELED);
  }
  release(h); /* the attached reference; issued ops keep theirs */
  return 0;
}

/* ---- submit and cancel ----------------------------------------------------------------------- */

int tide__backend_submit(tide__backend *b, tide__op *op) {
  tide__iocp_handle *h = tide__iocp_find(b, op->fd);
  if (h == NULL)
    return TIDE_EBADF;
  op->backend.handle = h;
  op->flags = 0;
  tide__op_queue *q = queue_of(h, op);
  tide__op_queue_push(q, op);
  if (q->head == op)
    run_queue(b, h, tide__op_is_read_side(op->kind));
  return 0;
}

/* Overlapped I/O completes through the port, never in the caller's hands: no synchronous path
 * (backend.h). */
int tide__backend_try_now(tide__backend *b, tide__op *op, intptr_t *result) {
  (void)b;
  (void)op;
  (void)result;
  return 0;
}

void tide__backend_cancel(tide__backend *b, tide__op *op) {
  (void)b;
  tide__iocp_handle *h = op->backend.handle;
  if (op->flags & TIDE__IOCP_ISSUED) {
    /* A detached handle's ops were cancelled with it, and its number may belong to a new
     * handle by now: never pass it to the kernel again. */
    if (!(op->flags & TIDE__IOCP_CANCELLED) && h->attached)
      (void)CancelIoEx((HANDLE)h->fd, tide__iocp_overlapped(op));
    op->flags |= TIDE__IOCP_CANCELLED;
    return;
  }
  /* Not issued: it waits behind the head of its queue and has moved nothing. */
  if (tide__op_queue_unlink(queue_of(h, op), op))
    tide__op_complete(op, TIDE_ECANCELED);
}

void tide__backend_cancel_all(tide__backend *b) {
  /* First ask the kernel to stop what it holds; nothing completes during this pass. */
  for (size_t i = 0; i < b->slot_count; i++) {
    tide__iocp_handle *h = b->slots[i].state;
    if (h == NULL)
      continue;
    tide__op *heads[2] = {h->reads.head, h->writes.head};
    for (int k = 0; k < 2; k++) {
      if (heads[k] != NULL && (heads[k]->flags & TIDE__IOCP_ISSUED) &&
          !(heads[k]->flags & TIDE__IOCP_CANCELLED)) {
        heads[k]->flags |= TIDE__IOCP_CANCELLED;
        (void)CancelIoEx((HANDLE)h->fd, tide__iocp_overlapped(heads[k]));
      }
    }
  }
  /* Then complete the waiting ops one at a time, rescanning after each: a finish hook may
   * detach handles and reshuffle the table. Runs once, at loop close. */
  for (int found = 1; found;) {
    found = 0;
    for (size_t i = 0; i < b->slot_count && !found; i++) {
      tide__iocp_handle *h = b->slots[i].state;
      if (h == NULL)
        continue;
      tide__op *op = take_unissued(&h->reads);
      if (op == NULL)
        op = take_unissued(&h->writes);
      if (op != NULL) {
        found = 1;
        tide__op_complete(op, TIDE_ECANCELED);
      }
    }
  }
}

/* ---- poll and wake --------------------------------------------------------------------------- */

/* Handles one dequeued packet: the op's step finished. */
static void on_packet(tide__backend *b, OVERLAPPED *ov) {
  tide__op *op = tide__iocp_op_of(ov);
  tide__iocp_handle *h = op->backend.handle; /* its reference is ours until the end */
  int read_side = tide__op_is_read_side(op->kind);
  op->flags &= ~(uint32_t)TIDE__IOCP_ISSUED;
  DWORD bytes = 0;
  DWORD error = tide__iocp_status(op, &bytes);
  intptr_t result = 0;
  tide__iocp_step step = tide__iocp_finish(b, h, op, error, bytes, &result);
  if (step == TIDE__IOCP_AGAIN) {
    if (h->attached && !(op->flags & TIDE__IOCP_CANCELLED)) {
      run_queue(b, h, read_side); /* the op is still the head: this continues it */
      release(h);
      return;
    }
    result = tide__iocp_cancelled_result(op);
  }
  (void)tide__op_queue_pop(read_side ? &h->reads : &h->writes);
  tide__op_complete(op, result);
  run_queue(b, h, read_side);
  release(h);
}

int tide__backend_poll(tide__backend *b, int64_t timeout_ns) {
  DWORD ms = INFINITE;
  if (timeout_ns >= 0) {
    uint64_t rounded = ((uint64_t)timeout_ns + 999999u) / 1000000u;
    ms = rounded >= INFINITE ? INFINITE - 1 : (DWORD)rounded;
  }
  ULONG n = 0;
  if (!GetQueuedCompletionStatusEx(b->port, b->entries, b->max_events, &n, ms, FALSE)) {
    DWORD err = GetLastError();
    if (err == WAIT_TIMEOUT || err == WAIT_IO_COMPLETION)
      return 0;
    return tide__err_from_win32(err);
  }
  for (ULONG i = 0; i < n; i++) {
    if (b->entries[i].lpCompletionKey == KEY_WAKE || b->entries[i].lpOverlapped == NULL)
      continue;
    on_packet(b, b->entries[i].lpOverlapped);
  }
  return (int)n;
}

int tide__backend_wake(tide__backend *b) {
  if (!PostQueuedCompletionStatus(b->port, 0, KEY_WAKE, NULL))
    return tide__err_from_win32(GetLastError());
  return 0;
}
