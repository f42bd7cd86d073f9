#!/usr/bin/env bash
# Installs the system packages eqinfo builds against, all from Debian
# (bookworm): Eigen 3.4, xsimd 8.1 (+ xtl, which its CMake config links),
# Catch2 2.13, Google Benchmark 1.7, zlib, nlohmann-json, CMake, Ninja, and
# clang for the fuzzer.  Idempotent: does nothing when all are present.
# Usage: scripts/install_deps.sh      (as root, or with sudo available)
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config libeigen3-dev libxsimd-dev xtl-dev catch2 libbenchmark-dev
          zlib1g-dev nlohmann-json3-dev clang libclang-rt-14-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all system packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
echo "install_deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
