#!/usr/bin/env bash
# The installed package, used as a downstream project would, away from the source tree:
#  1. `cmake --install` of this build into a scratch prefix: headers, the CMake package, the tools
#     and the bundled models under share/eqinfo/models (exactly the files models/bundled.json names);
#  2. tests/consumer built against that prefix with find_package(eqinfo CONFIG REQUIRED), run from
#     an unrelated directory: it finds the bundled M1 through the package (EQINFO_MODELS_DIR) and
#     round-trips text through Equal-Info with it;
#  3. the installed tools, from a copy of the prefix moved elsewhere and run from an unrelated
#     directory: they find the models installed beside them (<prefix>/share/eqinfo/models), with no
#     source tree or environment variable pointing anywhere.
# Usage: install_consumer_test.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
src=$1
build=$2
work=$3
rm -rf "$work"
mkdir -p "$work/elsewhere"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/eqinfo/tokenizer.hpp"
models="$work/prefix/share/eqinfo/models"
for f in $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join([d["m1"], d["static"], d["sentencepiece"], *d["files"]]))' "$src/models/bundled.json") bundled.json; do
  cmp "$src/models/$f" "$models/$f"
done
unset EQINFO_MODELS_DIR
cmake -S "$src/tests/consumer" -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
(cd "$work/elsewhere" && "$work/consumer/consumer")

if [ -x "$work/prefix/bin/eqinfo-encode" ]; then
  mv "$work/prefix" "$work/moved"
  cd "$work/elsewhere"
  printf 'Installed tools find their models.' >text.txt
  "$work/moved/bin/eqinfo-encode" --stats-json stats.json text.txt text.tok
  grep -q '"model": "m1:'"$work/moved/share/eqinfo/models/" stats.json
  "$work/moved/bin/eqinfo-decode" text.tok text.out
  cmp text.txt text.out
  echo "installed tools: Equal-Info with the bundled M1 from $work/moved, round trip exact"
fi
