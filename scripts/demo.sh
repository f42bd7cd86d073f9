#!/usr/bin/env bash
# The main job: install dependencies, build the tools, then tokenize a text
# with every method, decode it back, check the round trip byte for byte and
# print a table.  Usage: scripts/demo.sh [TEXT_FILE]   (default: LICENSE)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DEQINFO_BUILD_TESTS=OFF -DEQINFO_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build -j"$(nproc)"

input=${1:-LICENSE}
model=models/static_en_train.json   # order-0 byte counts of the training split (docs/data.md)
# the bundled transformer M1: models/bundled.json names it (its card: the same name, .md)
m1=models/$(python3 -c 'import json; print(json.load(open("models/bundled.json"))["m1"])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '\nTokenizing %s (%s bytes) and decoding it back:\n\n' "$input" "$(wc -c <"$input")"
printf '%-34s %8s %12s %10s %10s  %s\n' method tokens bytes/token bits/byte windows "round trip"
run() {
  local name=$1; shift
  build/bin/eqinfo-encode -f "$@" --stats-json "$work/stats.json" "$input" "$work/t.tok"
  local extra=()
  for a in "$@"; do case $a in --model=*) extra+=("$a");; esac; done
  build/bin/eqinfo-decode -f "${extra[@]}" "$work/t.tok" "$work/t.out"
  local ok=FAILED
  cmp -s "$input" "$work/t.out" && ok=exact
  python3 - "$name" "$ok" "$work/stats.json" <<'PY'
import json, sys
name, ok, path = sys.argv[1:]
s = json.load(open(path))
print(f"{name:<34} {s['tokens']:>8} {s['bytes_per_token']:>12.4f} {s['bits_per_byte']:>10.4f} {s['windows'] or '-':>10}  {ok}")
PY
  [ "$ok" = exact ]
}
run "Bytes (v=257)"                 --method=bytes
run "GZip (v=65536)"                --method=gzip --token-bits=16
run "StaticAC (v=65536)"            --method=staticac --token-bits=16 --model=static:$model
run "AC with M1 (v=65536)"          --method=ac --token-bits=16 --model=m1:$m1
run "EqualInfoAC[b=16, v=65536]"    --method=equalinfo --window-bits=16 --token-bits=16 --model=m1:$m1
run "EqualInfoAC[b=16, v=256]"      --method=equalinfo --window-bits=16 --token-bits=8 --model=m1:$m1
run "EqualInfoAC[b=32, v=65536]"    --method=equalinfo --window-bits=32 --token-bits=16 --model=m1:$m1
run "EqualInfoAC[b=128, v=65536]"   --method=equalinfo --window-bits=128 --token-bits=16 --model=m1:$m1
run "EqualInfo, order-0 model, b=16" --method=equalinfo --window-bits=16 --token-bits=16 --model=static:$model
printf '\nEqualInfoAC and AC use the bundled M1 (%s); its card is %s.\n' "$m1" "${m1%.safetensors}.md"
