"""C++ kernel == NumPy reference, bit for bit, on random inputs (docs/integer_m1.md).

Runs the built tool `eqinfo-m1-tables` (from build-test/bin, build/bin, or $EQINFO_BIN_DIR) on the
bundled model and compares its table hashes with the reference's. Skips when neither the tool nor
the model is there (a Python-only checkout); scripts/test.sh builds the tool first.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from eqinfo.m1 import export
from eqinfo.m1.integer_model import self_test_hash

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "m1-3m.safetensors"


def _tool() -> Path | None:
    dirs = [os.environ.get("EQINFO_BIN_DIR"), ROOT / "build-test" / "bin", ROOT / "build" / "bin"]
    for d in dirs:
        if d and (Path(d) / "eqinfo-m1-tables").exists():
            return Path(d) / "eqinfo-m1-tables"
    return None


def _inputs() -> list[bytes]:
    rng = np.random.default_rng(2024)
    out = [b"", b"a", "Ünïcødé — 한국어 — 中文".encode()]
    for n in (5, 17, 40, 150):  # 150 > max_distance: the clamped relative bucket
        out.append(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
    out.append(b"the " * 30)
    return out


@pytest.mark.skipif(_tool() is None or not MODEL.exists(), reason="eqinfo-m1-tables not built or model missing")
@pytest.mark.parametrize("kernel", ["simd", "scalar"])
def test_cpp_tables_equal_reference(kernel):
    model, _meta = export.load(str(MODEL))
    P = int(_meta["frequency_bits"])
    inputs = _inputs()
    expected = [self_test_hash(model, data, P) for data in inputs]
    run = subprocess.run([str(_tool()), "--model", str(MODEL), "--kernel", kernel, *[d.hex() or "" for d in inputs]],
                         capture_output=True, text=True, check=True)
    got = run.stdout.split()
    assert got == expected
