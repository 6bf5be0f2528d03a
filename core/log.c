/* core/log.c — the loop's log hook and its default (a line on stderr). */
#include <stdarg.h>
#include <stdio.h>

#include "core/loop_internal.h"

void tide__loop_log(tide_loop *loop, tide_log_level level, const char *format, ...) {
  char message[512];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  if (loop->options.log != NULL) {
    loop->options.log(loop->options.log_user, level, message);
    return;
  }
  static const char *const names[] = {"debug", "info", "warning", "error"};
  const char *name = (unsigned)level < 4 ? names[level] : "?";
  fprintf(stderr, "tide: %s: %s\n", name, message);
}
