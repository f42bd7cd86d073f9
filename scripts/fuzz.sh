#!/usr/bin/env bash
# Fuzz every tokenizer's decode (and encode -> decode round trips) with libFuzzer.
#
# Usage: scripts/fuzz.sh [seconds]        (default 60; works from any directory)
#
# Builds tests/fuzz/decode_fuzzer.cpp with Debian's clang (libFuzzer + ASan +
# UBSan, every sanitizer report fatal) into build-fuzz/decode_fuzzer, seeds
# build-fuzz/corpus on the first run, and fuzzes for the given time with
# inputs up to 4096 bytes.  Exits non-zero if the fuzzer finds a crash, a
# sanitizer report, a failed round trip, a leak or a timeout; the input that
# did it is written to build-fuzz/artifacts/.  Reproduce one with
#   build-fuzz/decode_fuzzer build-fuzz/artifacts/crash-...
# Crashes worth keeping go to tests/fuzz/crashes/ (replayed first, every run).
#
# Environment: CXX_FUZZ (default clang++), FUZZ_ARGS (extra libFuzzer flags,
# e.g. "-jobs=2 -workers=2").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-60}
if ! [[ $seconds =~ ^[0-9]+$ ]] || (( seconds == 0 )); then
  echo "usage: $0 [seconds]   (a positive whole number; default 60)" >&2
  exit 2
fi

cxx=${CXX_FUZZ:-clang++}
bin=build-fuzz/decode_fuzzer
mkdir -p build-fuzz/corpus build-fuzz/artifacts

# Rebuild when the fuzzer or any header is newer than the binary.
if [[ ! -x $bin ]] || [[ -n $(find include tests/fuzz/decode_fuzzer.cpp -newer "$bin" -print -quit) ]]; then
  echo "building $bin with $cxx"
  "$cxx" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -fno-omit-frame-pointer -Iinclude tests/fuzz/decode_fuzzer.cpp -o "$bin.tmp" -lz
  mv "$bin.tmp" "$bin"
fi

# Seeds (written when missing): every selector byte (tokenizer x options)
# with a short English payload, and every tokenizer with a 700-byte one
# (> 64 windows for every b and N, so several decode batches), so the fuzzer
# starts from multi-window inputs instead of growing them slowly.
text=$'The quick brown fox jumps over the lazy dog.\nIt was the best of times, it was the worst of times.\n'
long=$text
while (( ${#long} < 700 )); do long+="$long"; done
for sel in $(seq 0 255); do
  [[ -e build-fuzz/corpus/seed-$sel ]] || { printf "\\x$(printf %02x "$sel")"; printf '%s' "$text"; } > "build-fuzz/corpus/seed-$sel"
done
for sel in $(seq 0 31) $(seq 64 95); do
  [[ -e build-fuzz/corpus/seed-long-$sel ]] || { printf "\\x$(printf %02x "$sel")"; printf '%s' "${long:0:700}"; } > "build-fuzz/corpus/seed-long-$sel"
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Known crashers first: each must now pass.
shopt -s nullglob
regressions=()
for f in tests/fuzz/crashes/*; do [[ $f == *.md ]] || regressions+=("$f"); done
if (( ${#regressions[@]} )); then
  echo "replaying ${#regressions[@]} input(s) from tests/fuzz/crashes/"
  "$bin" "${regressions[@]}" >build-fuzz/regressions.log 2>&1 || {
    cat build-fuzz/regressions.log >&2
    echo "fuzz.sh: a known crasher in tests/fuzz/crashes/ crashes again" >&2
    exit 1
  }
fi

set +e
# shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
"$bin" build-fuzz/corpus -max_total_time="$seconds" -max_len=4096 -timeout=30 -rss_limit_mb=2048 \
  -artifact_prefix=build-fuzz/artifacts/ -print_final_stats=1 ${FUZZ_ARGS:-} 2>&1 | tee build-fuzz/fuzz.log
rc=${PIPESTATUS[0]}
set -e

if (( rc != 0 )); then
  echo "fuzz.sh: the fuzzer failed (exit $rc); inputs in build-fuzz/artifacts/:" >&2
  ls -l build-fuzz/artifacts/ >&2
  exit "$rc"
fi
echo "fuzz.sh: no crash in ${seconds}s (log: build-fuzz/fuzz.log, corpus: build-fuzz/corpus)"
