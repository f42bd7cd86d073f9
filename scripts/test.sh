#!/usr/bin/env bash
# The full test suite: C++ (Catch2 via ctest, with the coder's invariant
# checks compiled in) and Python (pytest, after `pip install .` of the package and its
# extension).  Installs what it needs first.
# Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=Release -DEQINFO_CHECK_INVARIANTS=ON >/dev/null
cmake --build build-test -j"$(nproc)"
(cd build-test && ctest --output-on-failure -j"$(nproc)")

scripts/setup_python.sh
# The Python package and its C++ extension (scikit-build-core + nanobind; torch is already the
# pinned CPU build from setup_python.sh and is not a dependency of the package), as a wheel built
# from a copy of the checkout; the same wheel is then tested alone in a fresh virtual environment.
wheel=$(scripts/build_wheel.sh build-test/wheel)
python3 -m pip install -q --force-reinstall --no-deps "$wheel"
# EQINFO_REQUIRE_BINDING: the binding tests fail (rather than skip) if the extension is missing.
EQINFO_REQUIRE_BINDING=1 EQINFO_BIN_DIR=build-test/bin PYTHONPATH=python python3 -m pytest python/tests -q
# The wheel with no checkout: a fresh venv, every method, the console scripts (= the CMake tools).
bash tests/wheel_install_test.sh "$wheel" build-test/wheel-test build-test/bin
