# bench/script_common.sh — what the benchmark scripts (compare/run_timers.sh, net/run_echo.sh,
# net/callgrind_echo.sh) share. Sourced, not run: it defines functions only.

# Prints the calling script's header comment (its usage) and exits 2: the answer to a bad flag.
bench_usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 2
}

# bench_require_rounds SCRIPT ROUNDS: exits 2 unless ROUNDS is a positive integer.
bench_require_rounds() {
  if ! [[ $2 =~ ^[1-9][0-9]*$ ]]; then
    echo "$1: ROUNDS must be a positive integer, got '$2'" >&2
    exit 2
  fi
}

# bench_build REPO BUILD_DIR TARGET [CMAKE_ARG...]: configures BUILD_DIR as RelWithDebInfo (-O2,
# the peers' distribution flags) with the benchmarks on and the tests and examples off, plus any
# further cache arguments (-DTIDE_BACKEND=io_uring), then builds TARGET. Ninja is used for a new
# build directory when it is installed.
bench_build() {
  local generator=()
  if [[ ! -f $2/CMakeCache.txt ]] && command -v ninja >/dev/null; then
    generator=(-G Ninja)
  fi
  echo "== building $3 in $2 (RelWithDebInfo)" >&2
  cmake -S "$1" -B "$2" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTIDE_BUILD_BENCHMARKS=ON -DTIDE_BUILD_TESTS=OFF -DTIDE_BUILD_EXAMPLES=OFF "${@:4}" >/dev/null
  cmake --build "$2" --target "$3" >/dev/null
}

# compare_setup SCRIPT ARGS...: the options the bench/compare scripts share (-r ROUNDS, -B DIR,
# -c CPU, -o RAW, -q, -n; see their usage), then the build of the comparison programs unless -n.
# Sets rounds, build_dir, cpu, raw_out, quick and build; expects repo to be set.
compare_setup() {
  local script=$1
  shift
  rounds=${ROUNDS:-5}
  build_dir="$repo/build-bench"
  cpu=""
  raw_out=""
  quick=0
  build=1
  local opt OPTIND=1
  while getopts "r:B:c:o:qnh" opt; do
    case $opt in
      r) rounds=$OPTARG ;;
      B) build_dir=$OPTARG ;;
      c) cpu=$OPTARG ;;
      o) raw_out=$OPTARG ;;
      q) quick=1 ;;
      n) build=0 ;;
      *) bench_usage ;;
    esac
  done
  bench_require_rounds "$script" "$rounds"
  if ((build)); then
    bench_build "$repo" "$build_dir" tide_compare
  fi
}
