#!/usr/bin/env bash
# test.sh: builds pcom with warnings as errors and runs the whole test suite.
#   tools/test.sh             build in build/ and run ctest
#   tools/test.sh --sanitize  the same with AddressSanitizer + UndefinedBehaviorSanitizer, in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build
opts=(-DPCOM_WERROR=ON)
if [ "${1:-}" = --sanitize ]; then
  dir=build-asan
  opts+=(-DPCOM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S . -B "$dir" "${gen[@]}" "${opts[@]}"
else
  cmake -S . -B "$dir" "${opts[@]}" >/dev/null
fi
cmake --build "$dir" -j2
ctest --test-dir "$dir" --output-on-failure -j2
