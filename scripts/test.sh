#!/usr/bin/env bash
# The full test suite: C++ (Catch2 via ctest, with the coder's invariant
# checks compiled in) and Python (pytest).  Installs what it needs first.
# Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=Release -DEQINFO_CHECK_INVARIANTS=ON >/dev/null
cmake --build build-test -j"$(nproc)"
(cd build-test && ctest --output-on-failure -j"$(nproc)")

scripts/setup_python.sh
EQINFO_BIN_DIR=build-test/bin PYTHONPATH=python python3 -m pytest python/tests -q
