#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each briefly: a smoke run
# that catches crashes on the parsers' most reachable paths. Longer runs: FUZZ_SECONDS=600.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-10}
BUILD=${FUZZ_BUILD:-build-fuzz}
if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCITADEL_FUZZ=ON -DCITADEL_TESTS=OFF -DCITADEL_BENCH=OFF >/dev/null
fi
targets=$(ls fuzz/*_fuzz.cc 2>/dev/null | xargs -n1 basename | sed 's/\.cc$//')
[ -n "$targets" ] || { echo "fuzz: no targets"; exit 0; }
cmake --build "$BUILD" -j "$(nproc)" --target $targets
mkdir -p "$BUILD/corpus"
for t in $targets; do
  mkdir -p "$BUILD/corpus/$t"
  seeds=()
  [ -d "fuzz/corpus/$t" ] && seeds=("fuzz/corpus/$t")
  echo "fuzz: $t for ${SECONDS_EACH}s"
  "$BUILD/$t" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 \
    -print_final_stats=0 "$BUILD/corpus/$t" "${seeds[@]}" 2>"$BUILD/$t.log" \
    || { tail -40 "$BUILD/$t.log"; echo "fuzz: $t FAILED"; exit 1; }
done
echo "fuzz: all targets ran clean"
