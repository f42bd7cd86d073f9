#!/usr/bin/env bash
# Idempotent Python setup for the eqinfo training side.
# torch is installed FIRST with an exact pin: torch==2.13.0 resolves to the CPU wheel that lies on
# local disk (/opt/wheels). Installing it before the requirements means nothing later can pull a
# different (multi-GB CUDA) torch build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if "$PY" -c 'import torch,sys; sys.exit(0 if torch.__version__.startswith("2.13.0") else 1)' 2>/dev/null; then
  echo "torch $("$PY" -c 'import torch; print(torch.__version__)') already installed"
else
  "$PY" -m pip install -q torch==2.13.0
fi
"$PY" -m pip install -q -r python/requirements.txt
"$PY" -c 'import torch, numpy; print("torch", torch.__version__, "numpy", numpy.__version__)'
