#!/usr/bin/env bash
# tests/skip_report.sh — runs a build's tests and then lists every skipped test with its reason.
#
#   tests/skip_report.sh BUILD_DIR [CTEST_ARGS...]     e.g. tests/skip_report.sh build/win64 -j2
#   tests/skip_report.sh --preset NAME [CTEST_ARGS...]  (BUILD_DIR read from the preset's output)
#
# A test skips by exiting with 77 after printing "SKIPPED: <reason>" (TIDE_SKIP in
# tests/harness.h; CTest knows 77 as SKIP_RETURN_CODE). CTest's own summary names skipped tests
# but not why; this reads the reasons back from the run's log (Testing/Temporary/LastTest.log)
# and prints one line per skip, plus a count, so that CI output shows what was not tested where.
# A test CTest reports as skipped without a reason in its output is listed too, as "(no reason
# given)": that is a bug in the test. Exits with CTest's status.
set -uo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR|--preset NAME [CTEST_ARGS...]" >&2
  exit 2
fi

if [ "$1" = "--preset" ]; then
  preset="$2"
  shift 2
  out="$(mktemp)"
  ctest --preset "$preset" "$@" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  # The preset's build directory, from the log CTest wrote ("Test project <dir>").
  dir="$(sed -n 's/^Test project //p' "$out" | head -n 1)"
else
  dir="$1"
  shift
  out="$(mktemp)"
  ctest --test-dir "$dir" "$@" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
fi

log="$dir/Testing/Temporary/LastTest.log"
echo
if [ ! -f "$log" ]; then
  echo "==== skip report: no test log in $dir ===="
  rm -f "$out"
  exit "$rc"
fi

# Tests CTest counted as skipped in this run (their console lines end in "***Skipped"; "Not Run"
# is a failure, such as a missing program, and CTest reports it as one), and the reasons the
# tests printed.
skipped_names="$(sed -nE 's/^.*Test +#[0-9]+: ([^ ]+) \.+.*\*\*\*Skipped.*$/\1/p' "$out" |
                 sort -u)"
reasons="$(awk '
  /^[0-9]+\/[0-9]+ Test: / { sub(/^[0-9]+\/[0-9]+ Test: /, ""); name = $0; next }
  /^SKIPPED: / { sub(/^SKIPPED: /, ""); print name "\t" $0 }
' "$log" | sort -u)"

count=0
lines=""
while IFS= read -r name; do
  [ -n "$name" ] || continue
  count=$((count + 1))
  why="$(printf '%s\n' "$reasons" | awk -F '\t' -v n="$name" '$1 == n { print $2; exit }')"
  lines+="  $name: ${why:-(no reason given)}"$'\n'
done <<<"$skipped_names"

echo "==== skip report ($dir): $count skipped ===="
printf '%s' "$lines"
rm -f "$out"
exit "$rc"
