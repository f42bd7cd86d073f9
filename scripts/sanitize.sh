#!/usr/bin/env bash
# Build the tests and tools with AddressSanitizer + UBSan and run ctest.
#
# Usage: scripts/sanitize.sh            (works from any directory)
#        JOBS=1 scripts/sanitize.sh     (parallel build/test jobs; default 2)
#        CXX=clang++ scripts/sanitize.sh  (compiler; default: CMake's choice, g++ on Debian;
#                                          takes effect on a fresh build-asan/)
#
# Configures build-asan/ as a Debug build with
#   -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# (tests and examples ON, benchmarks OFF), builds it, and runs ctest
# --output-on-failure.  Debug builds also check the coder invariants after
# every step (include/eqinfo/invariants.hpp).  Exits non-zero if the build,
# any sanitizer report, or any test fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs=${JOBS:-2}
generator=()
if [[ ! -f build-asan/CMakeCache.txt ]] && command -v ninja >/dev/null; then generator=(-G Ninja); fi

cmake -S . -B build-asan "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
  -DEQINFO_BUILD_TESTS=ON -DEQINFO_BUILD_EXAMPLES=ON -DEQINFO_BUILD_BENCHMARKS=OFF
cmake --build build-asan -j "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The M1 command-line matrix is covered by the regular suite; under the
# sanitizers it would take most of CI's time for no new coverage.
ctest --test-dir build-asan --output-on-failure --no-tests=error -j "$jobs" -E cli_m1_roundtrip_test
echo "sanitize.sh: all tests passed under ASan + UBSan"
