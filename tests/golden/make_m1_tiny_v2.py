"""Writes tests/golden/m1_tiny_v2.safetensors: a tiny M1 in format version 2 (attention span
W = 16), for the C++ tests of the bounded span (tests/transformer_model_test.cpp, "[v2]").

    PYTHONPATH=python python3 tests/golden/make_m1_tiny_v2.py

The model is the Python tests' fixture (eqinfo.m1.fixtures: the "tiny" preset after 80 Adam
steps on a small structured byte stream, seed 0), quantized, with W = 16 so that the
span slides after 16 positions. The file is committed: the C++ tests read it and check its
self-test, whose tables this script's NumPy reference computed (so a C++ kernel that loads it
agrees with the reference on 8 contexts, one of 2 W + 100 = 132 bytes). Rerunning it with
another torch may give other weights; the committed file is the one the tests pin.
"""
import dataclasses
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

from eqinfo.m1 import export as ex  # noqa: E402
from eqinfo.m1.fixtures import structured_corpus, tiny_trained_model  # noqa: E402
from eqinfo.m1.integer_model import IntegerM1  # noqa: E402
from eqinfo.m1.quantize import calibration_windows, choose_grids, collect_activation_stats, quantize_model  # noqa: E402

WINDOW = 16


def main():
    data = structured_corpus()
    m = tiny_trained_model(data)
    im = quantize_model(m, choose_grids(collect_activation_stats(m, calibration_windows(data, 64, seed=0)), "max"))
    im = IntegerM1(dataclasses.replace(im.config, attention_window=WINDOW), im.tensors)
    meta = ex.make_metadata(im, 16, training={"source": "tests/golden/make_m1_tiny_v2.py"})
    out = ROOT / "tests" / "golden" / "m1_tiny_v2.safetensors"
    ex.save(out, im, meta)
    ex.load(out)
    print(f"wrote {out} ({out.stat().st_size:,} bytes), format v{meta['version']}, W = {WINDOW}")


if __name__ == "__main__":
    main()
