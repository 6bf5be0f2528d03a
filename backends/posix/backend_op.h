/* backends/posix/backend_op.h — the readiness reactor's private part of every op (core/op.h
 * embeds it as op->backend; the IOCP backend keeps its OVERLAPPED there).
 *
 * The reactor needs nothing beyond op->next and op->flags, but C has no empty structs: one byte
 * it never touches. */
#ifndef TIDE_POSIX_BACKEND_OP_H
#define TIDE_POSIX_BACKEND_OP_H

struct tide__backend_op {
  unsigned char unused;
};

#endif
