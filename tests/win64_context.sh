#!/usr/bin/env bash
# tests/win64_context.sh — builds tests/context_test.c for Win64 with mingw-w64, once per Windows
# stack switch, and runs every context test under wine:
#   asm    the hand-written switch (core/context/switch_x86_64_win64.S, context_asm.c)
#   fiber  Win32 fibers (core/context/context_fiber.c, TIDE_CONTEXT=fiber)
# both over the Win32 task stacks. Until the IOCP backend lets the whole library build for Windows,
# this is how the Windows switches are tested: the same tests as on Linux, with the same harness.
#
#   tests/win64_context.sh [BUILD_DIR]           (default build/win64-context)
#   TIDE_WIN64_CONTEXT=asm|fiber|both (default both) selects the switches to build and run
#   TIDE_WIN64_RUN=0 tests/win64_context.sh      compile and link only (no wine needed)
#
# Needs x86_64-w64-mingw32-gcc (Debian: gcc-mingw-w64-x86-64) and, to run, wine (wine, wine64).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$src/build/win64-context}"
cc="${TIDE_MINGW_CC:-x86_64-w64-mingw32-gcc}"
mkdir -p "$out"
out="$(cd "$out" && pwd)" # absolute: wine rejects a relative WINEPREFIX

case "${TIDE_WIN64_CONTEXT:-both}" in
  asm) contexts=(asm) ;;
  fiber) contexts=(fiber) ;;
  both) contexts=(asm fiber) ;;
  *) echo "TIDE_WIN64_CONTEXT='$TIDE_WIN64_CONTEXT': choose asm, fiber or both" >&2; exit 2 ;;
esac

flags=(-std=c11 -O2 -g -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
       -Wmissing-prototypes -Werror -I"$src" -I"$src/include" -I"$src/tests")

# The runner's main, generated from the TIDE_TEST lines as tests/CMakeLists.txt does.
tests=$(sed -nE 's/^TIDE_TEST\(([A-Za-z0-9_]+), *([A-Za-z0-9_]+)\).*/\1 \2/p' \
        "$src/tests/context_test.c")
decls="" rows=""
while read -r area name; do
  decls+="void tide_test__${area}__${name}(void);\\n"
  rows+="    {\"${area}.${name}\", tide_test__${area}__${name}},\\n"
done <<<"$tests"
sed -e "s|@TIDE_TEST_DECLS@|${decls}|" -e "s|@TIDE_TEST_ROWS@|${rows}|" \
    "$src/tests/runner_main.c.in" >"$out/context_main.c"

for context in "${contexts[@]}"; do
  case "$context" in
    asm) switch=(-DTIDE_CONTEXT_ASM=1 "$src/core/context/switch_x86_64_win64.S"
                 "$src/core/context/context_asm.c") ;;
    fiber) switch=(-DTIDE_CONTEXT_FIBER=1 "$src/core/context/context_fiber.c") ;;
  esac
  "$cc" "${flags[@]}" -o "$out/tide_tests_context_$context.exe" "${switch[@]}" \
    "$src/core/sys/stack_win32.c" "$src/core/error.c" \
    "$src/tests/context_test.c" "$out/context_main.c"
  echo "built $out/tide_tests_context_$context.exe"
done

if [ "${TIDE_WIN64_RUN:-1}" = 0 ]; then
  exit 0
fi
export WINEDEBUG="${WINEDEBUG:--all}" WINEPREFIX="${WINEPREFIX:-$out/wineprefix}"
failed=0
for context in "${contexts[@]}"; do
  while read -r area name; do
    if wine "$out/tide_tests_context_$context.exe" "$area.$name"; then
      echo "passed ($context): $area.$name"
    else
      echo "FAILED ($context): $area.$name"
      failed=1
    fi
  done <<<"$tests"
done
exit $failed
