#!/usr/bin/env bash
# The wheel on its own (issue 13): a fresh virtual environment (no system packages, so nothing of
# this machine's Python leaks in) with only the wheel and its dependencies installed, used from an
# unrelated directory with no checkout in reach:
#   - the Python API encodes and decodes every registered method with the bundled models;
#   - the console scripts eqinfo-encode / eqinfo-decode round-trip every C++ method, and their
#     token files equal the CMake-built tool's (when BIN_DIR is given);
#   - every console script answers --help (usage, or one line naming the missing extra).
# Usage: tests/wheel_install_test.sh WHEEL WORK_DIR [BIN_DIR]
set -euo pipefail
wheel=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
mkdir -p "$2"
work=$(cd "$2" && pwd)
bin=${3:-}
[ -z "$bin" ] || bin=$(cd "$bin" && pwd)
rm -rf "${work:?}"/*
mkdir -p "$work/elsewhere"
python3 -m venv "$work/venv"
# [sentencepiece]: the registry's SentencePiece method needs it; nothing here pulls torch.
"$work/venv/bin/pip" install -q "$wheel[sentencepiece]"
cd "$work/elsewhere"
unset EQINFO_REPO EQINFO_MODELS_DIR PYTHONPATH
export PATH="$work/venv/bin:$PATH"
"$work/venv/bin/python" - <<'PY'
import sys, eqinfo, eqinfo.resources as r
assert sys.prefix != sys.base_prefix, "not the fresh venv's python"
from eqinfo.tokenizers import METHODS, get_tokenizer
assert "site-packages" in str(r.models_dir()), r.models_dir()   # the wheel's own models
text = "Out of the checkout: every method, with the models inside the wheel. \u00e9\u4e2d"
for name in METHODS:
    tok = get_tokenizer(name)
    ids = tok.encode(text)
    back = tok.decode(ids)
    assert back.ok and back.documents == [text.encode()], (name, back.describe())
    print(f"{name:24s} {len(ids):3d} tokens  round trip exact")
PY
printf 'The console scripts of the wheel: the same tools as CMake builds.' >text.txt
for method in equalinfo ac staticac gzip gzip-raw bytes; do
  eqinfo-encode --method "$method" text.txt -o "$method.tok"
  eqinfo-decode "$method.tok" -o "$method.out"
  cmp text.txt "$method.out"
  if [ -n "$bin" ]; then
    "$bin/eqinfo-encode" --method "$method" text.txt -o "$method.cmake.tok"
    cmp "$method.tok" "$method.cmake.tok"
  fi
  echo "eqinfo-encode/decode --method $method: round trip exact${bin:+, token file equal to that of the CMake tool}"
done
for script in "$work"/venv/bin/eqinfo-*; do
  name=$(basename "$script")
  hint="^$name: [a-z_]+ is not installed: pip install 'eqinfo\\[[a-z,]+\\]'\$"
  # (here-strings rather than `echo | grep -q`, which pipefail fails when
  # grep exits at its match before echo has written everything.)
  out=$("$script" --help 2>&1) && grep -q "usage" <<<"$out" || grep -Eq "$hint" <<<"$out" ||
    { echo "FAIL: $name --help: $out" >&2; exit 1; }
done
echo "wheel: all checks passed"
