#!/usr/bin/env bash
# tests/wine/run.sh — runs one Windows test program under wine, as the test wrapper of a Windows
# cross build (tests/CMakeLists.txt makes it the default TIDE_TEST_WRAPPER there):
#
#   tests/wine/run.sh STATE_DIR PROGRAM.exe [ARGS...]
#
# STATE_DIR (the build's "wine" directory) holds the wine prefix, so a build never touches
# ~/.wine and two builds never share one. The first test to run creates the prefix (wineboot -i,
# a few seconds), under a lock so that tests started in parallel wait for it instead of racing.
#
# Every test then finds a wine server already running: the wrapper starts one with -p (persistent,
# lingering TIDE_WINESERVER_LINGER seconds, default 30, after its last client exits) unless one is
# up. Without it each test's wine would start a server and the server would leave with the test,
# so the next test would pay for a fresh server and a cold prefix again. `wineserver -k` (with
# WINEPREFIX set) stops it at once; .ci/run does so after the suite.
#
# WINEDEBUG defaults to -all (wine's fixme chatter would bury the tests' own output) and
# WINEPATH lets programs find the mingw-w64 runtime DLLs should a program link one dynamically.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 STATE_DIR PROGRAM [ARGS...]" >&2
  exit 2
fi
state="$1"
shift
mkdir -p "$state"
state="$(cd "$state" && pwd)" # wine rejects a relative WINEPREFIX

export WINEPREFIX="$state/prefix"
export WINEDEBUG="${WINEDEBUG:--all}"
# No Mono or Gecko installer dialogs when the prefix is created: the tests need neither.
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
export WINEPATH="${WINEPATH:-Z:\\usr\\x86_64-w64-mingw32\\lib}"

{
  flock 9
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    wineboot -i >"$state/wineboot.log" 2>&1 || {
      echo "wineboot -i failed; see $state/wineboot.log" >&2
      exit 1
    }
  fi
  # Exit status 2: a server is already running for this prefix, which is what we want. A fresh
  # server gets the prefix's background processes (services, device drivers) started here, by
  # wineboot: whoever starts them passes them its stdout and stderr, and CTest waits for every
  # holder of a test's output pipe to let go, so started by a test they would hold up its end
  # until the server left. The lock's descriptor is not passed on either.
  if wineserver -p"${TIDE_WINESERVER_LINGER:-30}" </dev/null >/dev/null 2>&1 9>&-; then
    wineboot </dev/null >>"$state/wineboot.log" 2>&1 9>&- || true
  fi
} 9>"$state/lock"

exec wine "$@"
