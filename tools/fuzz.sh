#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer targets with clang, ASan and UBSan, and runs each for a bounded time.
#   tools/fuzz.sh [SECONDS]   (default 60 per target); fails on any finding
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
dir=build-fuzz
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S . -B "$dir" "${gen[@]}" -DCMAKE_C_COMPILER=clang -DPCOM_FUZZ=ON -DPCOM_SANITIZE=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j2 --target fuzz_idl fuzz_marshal fuzz_wire
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

corpus="$dir/fuzz-corpus/idl"
mkdir -p "$corpus"
cp tests/idl/*.idl tests/fuzz/findings/* "$corpus"/ 2>/dev/null || true
"$dir/tests/fuzz_idl" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$dir/" -print_final_stats=1 "$corpus" 2>&1 | tail -25
echo "fuzz: fuzz_idl ran ${seconds}s with no finding"

# the marshaling engine: the first byte picks a method of tests/unit/marshal_fixtures.h, the rest is a body
corpus="$dir/fuzz-corpus/marshal"
mkdir -p "$corpus"
cp tests/fuzz/findings_marshal/* "$corpus"/ 2>/dev/null || true
"$dir/tests/fuzz_marshal" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$dir/marshal-" -print_final_stats=1 "$corpus" 2>&1 | tail -25
echo "fuzz: fuzz_marshal ran ${seconds}s with no finding"

# the remoting layer's parsers: object references and greetings
corpus="$dir/fuzz-corpus/wire"
mkdir -p "$corpus"
cp tests/fuzz/findings_wire/* "$corpus"/ 2>/dev/null || true
"$dir/tests/fuzz_wire" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$dir/wire-" -print_final_stats=1 "$corpus" 2>&1 | tail -25
echo "fuzz: fuzz_wire ran ${seconds}s with no finding"
