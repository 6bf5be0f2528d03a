#!/usr/bin/env bash
# tests/uring_available.sh — says whether this machine lets a process use io_uring, so that CI can
# skip the io_uring backend's steps (rather than fail them) where the kernel is too old or a
# sandbox forbids it (seccomp profiles of container runtimes, kernel.io_uring_disabled).
#
# Exit 0: available (prints nothing). Exit 1: unavailable, with one line on stdout:
#   io_uring unavailable here: <reason>
# The answer comes from the same call tide makes (io_uring_setup, then the features tide needs:
# IORING_FEAT_EXT_ARG and IORING_FEAT_NODROP, Linux 5.11), built with the C compiler in $CC or cc.
set -euo pipefail

unavailable() {
  echo "io_uring unavailable here: $*"
  exit 1
}

[ "$(uname -s)" = Linux ] || unavailable "not Linux ($(uname -s))"
disabled=/proc/sys/kernel/io_uring_disabled
if [ -r "$disabled" ] && [ "$(cat "$disabled")" = 2 ]; then
  unavailable "kernel.io_uring_disabled = 2"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/probe.c" <<'EOF'
#include <errno.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = (int)syscall(__NR_io_uring_setup, 4, &p);
  if (fd < 0) {
    printf("io_uring_setup failed: %s%s\n", strerror(errno),
           errno == EPERM ? " (seccomp or kernel.io_uring_disabled)" : "");
    return 1;
  }
  close(fd);
  if (!(p.features & IORING_FEAT_EXT_ARG) || !(p.features & IORING_FEAT_NODROP)) {
    printf("the kernel lacks IORING_FEAT_EXT_ARG or IORING_FEAT_NODROP (tide needs Linux 5.11)\n");
    return 1;
  }
  return 0;
}
EOF
if ! "${CC:-cc}" -o "$work/probe" "$work/probe.c" 2>"$work/cc.log"; then
  unavailable "cannot build the probe (no <linux/io_uring.h>? $(head -n 1 "$work/cc.log"))"
fi
if ! reason=$("$work/probe"); then
  unavailable "$reason"
fi
exit 0
