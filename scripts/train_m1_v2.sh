#!/usr/bin/env bash
# Start, or resume, the M1 v2 run (eqinfo.m1.config.RUNS["m1-v2"]; docs/m1_training.md, "M1 v2"):
#   scripts/train_m1_v2.sh                      # runs/m1-v2, one thread, in the background
#   RUN=/work/m1v2_run scripts/train_m1_v2.sh   # another run directory
# Resumes exactly from $RUN/ckpt.pt; without one, continues from the committed snapshot
# models/checkpoints/m1-v2-train.pt (--init-weights); without that either, starts the run afresh
# (warm-started from the m1-3m snapshot, as the config says).
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=m1-v2 RUN=${RUN:-runs/m1-v2} SNAPSHOT=${SNAPSHOT:-models/checkpoints/m1-v2-train.pt} \
  exec bash scripts/train_m1.sh "$@"
