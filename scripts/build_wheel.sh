#!/usr/bin/env bash
# Builds the eqinfo wheel from a copy of this checkout, then deletes the copy, so that nothing in
# the wheel can lean on the source tree (issue 13: the installed package must work with no
# checkout anywhere). The copy holds the files git tracks or would track (not build folders,
# runs/ or .venv/).
# Usage: scripts/build_wheel.sh OUT_DIR      -> OUT_DIR/eqinfo-VERSION-*.whl (printed)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "$1" && cd "$1" && pwd)
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"   # a tracked file deleted in the work tree is not copied
done | tar --null -T - -cf - | tar -xf - -C "$copy"
rm -f "$out"/eqinfo-*.whl
CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" python3 -m pip wheel -q --no-deps -w "$out" "$copy" >&2
ls "$out"/eqinfo-*.whl
