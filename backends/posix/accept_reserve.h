/* backends/posix/accept_reserve.h — the reserved descriptor that answers EMFILE/ENFILE on accept,
 * for the backends that accept with accept(2) semantics (the readiness reactor, io_uring).
 *
 * Out of descriptors, a connection stays in the kernel's backlog and the listener stays
 * readable: a loop that retries spins, one that waits leaves the client hanging. The answer (as
 * libev's and libuv's): keep one descriptor open on /dev/null; on EMFILE close it, accept and
 * close every waiting connection (their clients see the connection closed), then take the
 * reserve back. The backend reports the error once and waits for the next client. */
#ifndef TIDE_POSIX_ACCEPT_RESERVE_H
#define TIDE_POSIX_ACCEPT_RESERVE_H

/* Opens the reserve into *reserve_fd if it is not open (< 0). Failing is not an error here: the
 * shed below then reports that it had nothing to free. */
void tide__accept_reserve_open(int *reserve_fd);

/* Frees the reserve, accepts and closes every connection waiting on `listener`, and reopens the
 * reserve. Returns how many connections it shed, or -1 if there was no reserve to free (it could
 * not be opened, or another thread took its slot since: nothing can be shed). *drained (unless
 * NULL) is set to 1 if the shed ended because no connection was left waiting, 0 if it stopped
 * short (no reserve, or accept failed otherwise). */
int tide__accept_reserve_shed(int *reserve_fd, int listener, int *drained);

#endif
