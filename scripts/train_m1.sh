#!/usr/bin/env bash
# Start, or resume, a long M1 training run in the background, detached from this shell.
#   scripts/train_m1.sh            # start or resume runs/m1-3m (resumes from ckpt.pt if present)
#   RUN=runs/other PRESET=m1-small scripts/train_m1.sh -- --lr 2e-3   # extra args after --
#   CONFIG=m1-v2 RUN=runs/m1-v2 scripts/train_m1.sh                    # another named run
#                                                    # (scripts/train_m1_v2.sh does this one)
# CONFIG is a named run of eqinfo.m1.config.RUNS (default m1-3m, the bundled model's recipe);
# PRESET and STEPS override its preset and step budget when set.
# On a fresh machine (no $RUN/ckpt.pt) it continues from the committed weights-only snapshot
# $SNAPSHOT (default models/checkpoints/<run name>-train.pt, written by
# `python -m eqinfo.m1.snapshot`) when that exists: train.py --init-weights (same step, schedule
# and log; fresh optimizer with a 50-step lr ramp). See docs/m1_training.md.
# Stop it cleanly (it checkpoints on SIGTERM):  kill -TERM "$(cat runs/m1-3m/train.pid)"
#
# m1-3m's schedule: measured 3,855 tokens/s = 2.13 s/step (batch 32 x 256) at 1 thread on this
# 2-core machine, eval of 2 x 200k symbols = 35 s. The run was planned at 13,200 steps (8
# CPU-hours) and shortened to 7,200 (~5 CPU-hours) at step 3,599, so that the schedule anneals in
# time for the M2 experiment (issue 4) to run on the final M1 (docs/m1_training.md). The cosine
# schedule needs the total up front; keep --steps fixed across resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${CONFIG:-m1-3m}
RUN=${RUN:-runs/$CONFIG}
SNAPSHOT=${SNAPSHOT:-models/checkpoints/$(basename "$RUN")-train.pt}
[ "${1:-}" = "--" ] && shift
OVERRIDES=()
[ -n "${PRESET:-}" ] && OVERRIDES+=(--preset "$PRESET")
[ -n "${STEPS:-}" ] && OVERRIDES+=(--steps "$STEPS")
mkdir -p "$RUN"
if [ -f "$RUN/train.pid" ] && kill -0 "$(cat "$RUN/train.pid")" 2>/dev/null; then
  echo "already running: PID $(cat "$RUN/train.pid") ($RUN)"; exit 0
fi
INIT=()
if [ ! -f "$RUN/ckpt.pt" ] && [ -f "$SNAPSHOT" ]; then
  INIT=(--init-weights "$SNAPSHOT")
  echo "no $RUN/ckpt.pt: continuing from the snapshot $SNAPSHOT (--init-weights)"
fi
python3 -c 'import torch' 2>/dev/null || bash scripts/setup_python.sh
export PYTHONPATH=python OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1
echo "=== $(date -u +%FT%TZ) start/resume ===" >> "$RUN/train.out"
# --config: the run's recipe (eqinfo.m1.config.RUNS); flags after it override it.
nohup setsid python3 -m eqinfo.m1.train --config "$CONFIG" --out "$RUN" --threads 1 \
  "${OVERRIDES[@]}" "${INIT[@]}" "$@" \
  >> "$RUN/train.out" 2>&1 < /dev/null &
echo $! > "$RUN/train.pid"
echo "started PID $(cat "$RUN/train.pid") -> $RUN/{log.csv,ckpt.pt,train.out}"
echo "follow:  tail -f $RUN/train.out     (or: column -s, -t < $RUN/log.csv | tail)"
echo "stop:    kill -TERM $(cat "$RUN/train.pid")   (checkpoints first; rerun this script to resume)"
