/* backends/posix/accept_reserve.c — the EMFILE answer on accept (see accept_reserve.h). */
#define _GNU_SOURCE
#include "backends/posix/accept_reserve.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "backends/posix/descriptor.h"

void tide__accept_reserve_open(int *reserve_fd) {
  if (*reserve_fd < 0)
    *reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int tide__accept_reserve_shed(int *reserve_fd, int listener, int *drained) {
  if (drained != NULL)
    *drained = 0;
  if (*reserve_fd < 0)
    return -1;
  close(*reserve_fd);
  *reserve_fd = -1;
  int shed = 0;
  for (;;) {
    int c = tide__socket_accept(listener, NULL, NULL, 0);
    if (c >= 0) {
      close(c);
      shed++;
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED)
      continue;
    if (drained != NULL)
      *drained = errno == EAGAIN || errno == EWOULDBLOCK;
    break; /* anything but EAGAIN: the next accept reports it */
  }
  tide__accept_reserve_open(reserve_fd);
  return shed;
}
