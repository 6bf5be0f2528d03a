/* backends/iocp/backend_op.h — the IOCP backend's private part of every op (core/op.h embeds it
 * as op->backend, found through the include path CMake sets for the chosen backend).
 *
 * An overlapped call needs an OVERLAPPED that lives until its completion packet is dequeued, and
 * WSARecv/WSARecvFrom need their flags and address length to live as long. Keeping them inside
 * the op (which already lives exactly that long, see core/op.h) costs no allocation per call.
 * <windows.h> is not included here, so the core's sources never see its macros: the OVERLAPPED
 * is spelled out with the same layout, and backends/iocp/iocp.h checks that layout at compile
 * time before casting. */
#ifndef TIDE_IOCP_BACKEND_OP_H
#define TIDE_IOCP_BACKEND_OP_H

#include <stdint.h>

struct tide__iocp_handle;

struct tide__backend_op {
  struct {
    uintptr_t internal;      /* Internal: the NT status once complete */
    uintptr_t internal_high; /* InternalHigh: the byte count once complete */
    uint32_t offset;         /* Offset / OffsetHigh (files only; always 0 here) */
    uint32_t offset_high;
    void *event; /* hEvent: unused (NULL) */
  } overlapped;
  struct tide__iocp_handle *handle; /* the attached handle it runs on (holds a reference) */
  unsigned long recv_flags;         /* WSARecv/WSARecvFrom's in/out flags */
  int from_len;                     /* WSARecvFrom's address length, written on completion */
};

#endif
