/* backends/iocp/pipe_win32.c — the pipes of tide_pipe_open on Windows: a pair of overlapped
 * named-pipe ends (tide__net_pipe; net_sockets.c wraps them as streams).
 *
 * Windows pitfalls handled here:
 *  - CreatePipe makes anonymous pipes that cannot do overlapped I/O, so a completion port would
 *    never hear of them. A named pipe is used instead: the read end is the server
 *    (CreateNamedPipeW, inbound, FILE_FLAG_OVERLAPPED), the write end the client (CreateFileW,
 *    overlapped), which is connected as soon as CreateFileW returns, so no ConnectNamedPipe.
 *  - The name must be unique and must not be squatted: it carries the process id, the loop's
 *    address and a per-loop counter, and FILE_FLAG_FIRST_PIPE_INSTANCE makes the creation fail
 *    if anyone already created that name (instead of joining their pipe). One instance only,
 *    and PIPE_REJECT_REMOTE_CLIENTS keeps it local.
 *  - Both handles are created non-inheritable.
 *  - End of stream and broken pipe arrive as ERROR_BROKEN_PIPE / ERROR_NO_DATA, mapped in ops.c:
 *    the reader sees end of file once the writer closed; a writer whose reader closed gets
 *    TIDE_EPIPE. */
#include "backends/iocp/iocp.h"
#include "backends/sockets/sockets.h"

#include <stdio.h>

#include "core/loop_internal.h"
#include "core/net_internal.h"
#include "core/sys/errno_map.h"
#include "tide/error.h"

enum { PIPE_BUFFER = 64 * 1024 };

int tide__net_pipe(tide_loop *loop, tide__fd fds[2]) {
  wchar_t name[96];
  unsigned serial = loop->backend->pipe_serial++;
  _snwprintf(name, sizeof name / sizeof name[0], L"\\\\.\\pipe\\tide-%lu-%p-%u",
             (unsigned long)GetCurrentProcessId(), (void *)loop, serial);
  name[sizeof name / sizeof name[0] - 1] = L'\0';
  SECURITY_ATTRIBUTES sa = {.nLength = sizeof sa, .bInheritHandle = FALSE};
  HANDLE server = CreateNamedPipeW(
      name, PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
      PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, PIPE_BUFFER,
      PIPE_BUFFER, 0, &sa);
  if (server == INVALID_HANDLE_VALUE)
    return tide__err_from_win32(GetLastError());
  /* FILE_READ_ATTRIBUTES lets the write end be queried (GetFileType, ...) like any handle. */
  HANDLE client = CreateFileW(name, GENERIC_WRITE | FILE_READ_ATTRIBUTES, 0, &sa, OPEN_EXISTING,
                              FILE_FLAG_OVERLAPPED, NULL);
  if (client == INVALID_HANDLE_VALUE) {
    int err = tide__err_from_win32(GetLastError());
    CloseHandle(server);
    return err;
  }
  fds[0] = (tide__fd)server;
  fds[1] = (tide__fd)client;
  return 0;
}
