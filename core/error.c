/* core/error.c — names and descriptions of the TIDE_E* codes.
 *
 * One table indexed by -code keeps the name and the text of each code side by side, so adding a
 * code means adding one row here and one enumerator in tide/error.h. */
#include "tide/error.h"

#include <stddef.h>

struct error_row {
  const char *name;
  const char *text;
};

static const struct error_row rows[] = {
    {"TIDE_OK", "success"},
    {"TIDE_EINVAL", "invalid argument"},
    {"TIDE_ENOMEM", "out of memory"},
    {"TIDE_ECANCELED", "operation cancelled"},
    {"TIDE_ETIMEDOUT", "timed out"},
    {"TIDE_EALREADY", "already settled"},
    {"TIDE_EPENDING", "result not ready: the future is still pending"},
    {"TIDE_EBUSY", "resource busy"},
    {"TIDE_ECLOSED", "loop or handle is closed"},
    {"TIDE_EAGAIN", "resource temporarily unavailable"},
    {"TIDE_EIO", "input/output error"},
    {"TIDE_EBADF", "bad descriptor"},
    {"TIDE_EPIPE", "broken pipe"},
    {"TIDE_ECONNRESET", "connection reset by peer"},
    {"TIDE_ECONNREFUSED", "connection refused"},
    {"TIDE_ECONNABORTED", "connection aborted"},
    {"TIDE_ENOTCONN", "socket is not connected"},
    {"TIDE_EADDRINUSE", "address already in use"},
    {"TIDE_EADDRNOTAVAIL", "address not available"},
    {"TIDE_EAFNOSUPPORT", "address family not supported"},
    {"TIDE_ENETUNREACH", "network is unreachable"},
    {"TIDE_EHOSTUNREACH", "host is unreachable"},
    {"TIDE_EMSGSIZE", "message too long"},
    {"TIDE_EMFILE", "too many open files in the process"},
    {"TIDE_ENFILE", "too many open files in the system"},
    {"TIDE_EACCES", "permission denied"},
    {"TIDE_ENOENT", "no such file or name"},
    {"TIDE_ENOTSUP", "not supported"},
    {"TIDE_ERANGE", "value out of range"},
    {"TIDE_ENOSPC", "no space left on device"},
    {"TIDE_EUNKNOWN", "unknown error"},
};

static const struct error_row *row_for(int err) {
  if (err > 0 || -(long)err >= (long)(sizeof rows / sizeof rows[0]))
    return NULL;
  return &rows[-err];
}

const char *tide_strerror(int err) {
  const struct error_row *row = row_for(err);
  return row ? row->text : "unknown error";
}

const char *tide_err_name(int err) {
  const struct error_row *row = row_for(err);
  return row ? row->name : "TIDE_E?";
}
