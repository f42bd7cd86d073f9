#!/usr/bin/env bash
# Fuzz the library's input boundaries with libFuzzer, one target after another.
#
# Usage: scripts/fuzz.sh [seconds [target...]]   (default 60 s each, every
#        target; works from any directory)
#
# Targets (tests/fuzz/<target>.cpp; the list is `targets` below):
#   decode_fuzzer        every tokenizer's decode, and encode -> decode round trips
#   model_loader_fuzzer  a safetensors file -> SafetensorsFile -> TransformerModel<16>
#                        (metadata, tensor bounds, self-test; kSimd == kScalar)
#   static_model_fuzzer  a static model file's text -> counts -> saved again
#   token_file_fuzzer    a token file -> header + tokens -> the same bytes
#
# Each target is built with Debian's clang (libFuzzer + ASan + UBSan, every
# sanitizer report fatal) into build-fuzz/<target> when it or a header is
# newer than the binary, gets its seeds on the first run (build-fuzz/corpus
# for decode_fuzzer, build-fuzz/corpus-<target> for the others), replays its
# known crashers in tests/fuzz/crashes/<target>/ (each must pass), and is
# fuzzed for the given time with inputs up to its max_len (4096 bytes; 16 KB
# for the model loader, which does not bound its self-test's input: the cap
# keeps every run short).  A final table gives each target's result and run
# count.  Exits non-zero if any target finds a crash, a sanitizer report, a
# broken property, a leak or a timeout; the input that did it is written to
# build-fuzz/artifacts/<target>/.  Reproduce one with
#   build-fuzz/<target> build-fuzz/artifacts/<target>/crash-...
# Crashes worth keeping go to tests/fuzz/crashes/<target>/ (README.md there).
#
# Environment: CXX_FUZZ (default clang++), FUZZ_ARGS (extra libFuzzer flags,
# e.g. "-jobs=2 -workers=2").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The targets, in run order, and what differs between them.
targets=(decode_fuzzer model_loader_fuzzer static_model_fuzzer token_file_fuzzer)
declare -A max_len=([decode_fuzzer]=4096 [model_loader_fuzzer]=16384 [static_model_fuzzer]=4096 [token_file_fuzzer]=4096)
declare -A cxx_extra=([model_loader_fuzzer]="-march=native")  # the SIMD kernels this machine runs
declare -A ld_extra=([decode_fuzzer]="-lz" [token_file_fuzzer]="-lz")

usage() {
  echo "usage: $0 [seconds [target...]]   (seconds: a positive whole number, default 60; targets: ${targets[*]})" >&2
  exit 2
}
seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] && (( seconds > 0 )) || usage
shift $(( $# > 0 ? 1 : 0 ))
selected=("${targets[@]}")
if (( $# )); then
  selected=("$@")
  for t in "${selected[@]}"; do [[ -v "max_len[$t]" ]] || usage; done
fi

cxx=${CXX_FUZZ:-clang++}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
shopt -s nullglob

corpus_of() { [[ $1 == decode_fuzzer ]] && echo build-fuzz/corpus || echo "build-fuzz/corpus-$1"; }

build() {  # target: rebuild when the fuzzer or any header is newer than the binary
  local t=$1 bin=build-fuzz/$1
  if [[ ! -x $bin ]] || [[ -n $(find include "tests/fuzz/$t.cpp" tests/fuzz/*.hpp -newer "$bin" -print -quit) ]]; then
    echo "building $bin with $cxx"
    # shellcheck disable=SC2086  # the extra flags are lists
    "$cxx" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
      -fno-omit-frame-pointer ${cxx_extra[$t]:-} -Iinclude "tests/fuzz/$t.cpp" -o "$bin.tmp" ${ld_extra[$t]:-} || return 1
    mv "$bin.tmp" "$bin" || return 1
  fi
}

seed() {  # target: write the seeds that are missing
  local t=$1 corpus
  corpus=$(corpus_of "$t")
  mkdir -p "$corpus"
  case $t in
    decode_fuzzer)
      # Every selector byte (tokenizer x options) with a short English
      # payload, and every tokenizer with a 700-byte one (> 64 windows for
      # every b and N, so several decode batches), so the fuzzer starts from
      # multi-window inputs instead of growing them slowly.
      local text=$'The quick brown fox jumps over the lazy dog.\nIt was the best of times, it was the worst of times.\n'
      local long=$text sel
      while (( ${#long} < 700 )); do long+="$long"; done
      for sel in $(seq 0 255); do
        [[ -e $corpus/seed-$sel ]] || { printf "\\x$(printf %02x "$sel")"; printf '%s' "$text"; } > "$corpus/seed-$sel"
      done
      for sel in $(seq 0 31) $(seq 64 95); do
        [[ -e $corpus/seed-long-$sel ]] || { printf "\\x$(printf %02x "$sel")"; printf '%s' "${long:0:700}"; } > "$corpus/seed-long-$sel"
      done
      ;;
    *)
      # The target writes its own seeds (LLVMFuzzerInitialize, see its file).
      if [[ ! -e $corpus/.seeded ]]; then
        EQINFO_FUZZ_WRITE_SEEDS=$corpus "build-fuzz/$t" || return 1
        if [[ $t == static_model_fuzzer ]]; then cp models/static_en_train.json "$corpus/" || return 1; fi
        touch "$corpus/.seeded" || return 1
      fi
      ;;
  esac
}

replay() {  # target: its known crashers must pass
  local t=$1 f regressions=()
  for f in "tests/fuzz/crashes/$t"/*; do [[ $f == *.md ]] || regressions+=("$f"); done
  (( ${#regressions[@]} )) || return 0
  echo "replaying ${#regressions[@]} input(s) from tests/fuzz/crashes/$t/"
  "build-fuzz/$t" "${regressions[@]}" >"build-fuzz/regressions-$t.log" 2>&1 || {
    cat "build-fuzz/regressions-$t.log" >&2
    echo "fuzz.sh: a known crasher in tests/fuzz/crashes/$t/ crashes $t again" >&2
    return 1
  }
}

declare -A result runs
failed=0
for t in "${selected[@]}"; do
  echo "=== $t: ${seconds}s, inputs up to ${max_len[$t]} bytes"
  mkdir -p "build-fuzz/artifacts/$t"
  log=build-fuzz/fuzz-$t.log
  if ! build "$t" || ! seed "$t" || ! replay "$t"; then
    result[$t]="FAILED (build, seeds or a known crasher)"
    runs[$t]=-
    failed=1
    continue
  fi
  set +e
  # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
  "build-fuzz/$t" "$(corpus_of "$t")" -max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=30 -rss_limit_mb=2048 \
    -artifact_prefix="build-fuzz/artifacts/$t/" -print_final_stats=1 ${FUZZ_ARGS:-} 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  # libFuzzer's last words: "Done N runs in S second(s)"; a crash ends the
  # run before them, and the stats still count its runs.
  runs[$t]=$(sed -n 's/^Done \([0-9]*\) runs in.*/\1/p' "$log" | tail -n 1)
  [[ -n ${runs[$t]} ]] || runs[$t]=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  [[ -n ${runs[$t]} ]] || runs[$t]=?
  if (( rc != 0 )); then
    result[$t]="FAILED (exit $rc; inputs in build-fuzz/artifacts/$t/)"
    failed=1
  else
    result[$t]="clean"
  fi
done

echo
echo "fuzz.sh: ${seconds}s per target"
printf '%-22s %12s  %s\n' target runs result
for t in "${selected[@]}"; do printf '%-22s %12s  %s\n' "$t" "${runs[$t]}" "${result[$t]}"; done
if (( failed )); then
  echo "fuzz.sh: a target failed (logs: build-fuzz/fuzz-<target>.log)" >&2
  exit 1
fi
echo "fuzz.sh: no crash (logs: build-fuzz/fuzz-<target>.log, corpora: build-fuzz/corpus*)"
