#!/usr/bin/env bash
# Issue 3's question: does training M1 with short, window-start contexts mixed in (train.py
# --reset-frac) improve Equal-Info compression? Trains the cheaper m1-small preset from scratch
# once per reset fraction (same seed, data order and steps), exports each to integer
# safetensors, and measures Equal-Info b16 bytes/token on held-out text with the C++ encoder.
#   scripts/reset_ablation.sh [STEPS] [FRACS...]     e.g. scripts/reset_ablation.sh 1200 0 0.5 1
# Results: runs/reset-ablation/<frac>/{log.csv,encode_stats.txt}; summary printed at the end.
# The final checkpoint is exported (not the best-window one) so every fraction gets the same
# number of steps. Resumable: a finished run is not retrained, a finished export not redone.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-1200}
shift || true
FRACS=(0 0.5 1)
[ $# -gt 0 ] && FRACS=("$@")
OUT=runs/reset-ablation
BIN=${EQINFO_BIN_DIR:-build/bin}
export PYTHONPATH=python OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
mkdir -p "$OUT"
# Held-out text for the encoder: the first 60 kB of the validation split (docs/data.md).
if [ ! -f "$OUT/val_sample.txt" ]; then
  python3 - "$OUT/val_sample.txt" <<'PY'
import sys
from eqinfo.data import iter_documents
buf = bytearray()
for text in iter_documents(split="val"):
    buf += text.encode("utf-8") + b"\n"
    if len(buf) >= 60_000:
        break
open(sys.argv[1], "wb").write(bytes(buf[:60_000]))
PY
fi
for f in "${FRACS[@]}"; do
  run="$OUT/rf$f"
  if ! grep -q "^$STEPS," "$run/log.csv" 2>/dev/null; then
    python3 -m eqinfo.m1.train --config reset-ablation --out "$run" --steps "$STEPS" \
      --reset-frac "$f"     # m1-small, warmup 100, window eval at 5: eqinfo.m1.config.RUNS
  fi
  if [ ! -f "$run/m1.safetensors" ]; then
    python3 -m eqinfo.m1.export --ckpt "$run/ckpt.pt" --out "$run/m1.safetensors"
  fi
  "$BIN/eqinfo-encode" -f --method equalinfo --window-bits 16 --token-bits 16 \
    --model "m1:$run/m1.safetensors" --stats-json "$run/encode_stats.json" "$OUT/val_sample.txt" "$run/sample.tok"
done
echo "reset_frac  val_bpb_full  val_bpb_window5  equalinfo_b16_stats"
for f in "${FRACS[@]}"; do
  run="$OUT/rf$f"
  last=$(grep -E '^[0-9]+,[0-9]+,[^,]*,[^,]*,[^,]*,[0-9.]+,' "$run/log.csv" | tail -1)
  stats=$(python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(f"bytes/token {s[\"bytes_per_token\"]:.4f} bits/byte {s[\"bits_per_byte\"]:.4f}")' "$run/encode_stats.json")
  echo "$f  $(echo "$last" | cut -d, -f6)  $(echo "$last" | cut -d, -f7)  $stats"
done
