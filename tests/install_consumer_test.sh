#!/usr/bin/env bash
# Installs eqinfo into a scratch prefix and builds tests/consumer against it
# with find_package(eqinfo CONFIG REQUIRED), as a downstream project would.
# Usage: install_consumer_test.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1
work=$2
rm -rf "$work"
cmake -S "$src" -B "$work/build" -G Ninja -DEQINFO_BUILD_TESTS=OFF -DEQINFO_BUILD_EXAMPLES=OFF -DEQINFO_BUILD_BENCHMARKS=OFF >/dev/null
cmake --install "$work/build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/eqinfo/tokenizer.hpp"
cmake -S "$src/tests/consumer" -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"
