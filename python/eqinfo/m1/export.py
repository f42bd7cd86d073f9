"""Export a trained float M1 as the integer M1 of docs/integer_m1.md (safetensors + JSON metadata).

    PYTHONPATH=python python -m eqinfo.m1.export --weights runs/m1-3m/weights_best.pt \
        --config runs/m1-3m/config.json --out models/m1-3m.safetensors --frequency-bits 16

(--ckpt runs/m1-3m/ckpt.pt instead of --weights/--config takes both from a training checkpoint.)

    PYTHONPATH=python python -m eqinfo.m1.export --reseal models/m1-3m.safetensors

(--reseal: rewrite an older export's self-test and eqinfo_sha256 in place, tensors unchanged.)

The file holds the integer tensors and two metadata keys: "eqinfo", a JSON string with format,
version, architecture, frequency_bits, vocab, quantization (grids, clamps, conventions),
training provenance, content_hash, self_test and eval; and "eqinfo_sha256", the SHA-256 of that
string. See docs/integer_m1.md, "File". `load()` reads a file back, checks both digests and the
self-test, and refuses a mismatch.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from ..atomic_files import replacing

FORMAT = "eqinfo-m1"
# Version 1: every query attends to all positions 0..t. Version 2: a bounded span of
# architecture.attention_window positions (docs/integer_m1.md, "Attention span").
VERSIONS = (1, 2)


def format_version(cfg) -> int:
    return 2 if cfg.attention_window else 1


def architecture(cfg) -> dict:
    """The "architecture" metadata: the M1Config fields; attention_window only in version 2."""
    arch = cfg.to_dict()
    if not cfg.attention_window:
        del arch["attention_window"]
    return arch
KOREAN_40 = "안녕하세요, 반갑습니다! 세계"          # 40 bytes of UTF-8
LONG_TEXT = ("The quick brown fox jumps over the lazy dog. " * 5)[:200]  # > max_distance positions


def self_test_inputs() -> list[bytes]:
    """Fixed self-test inputs (each is evaluated as the context [EOS] + input).

    The last one holds every byte value, so that every embedding row takes part: the C++ loader
    refuses a self-test that leaves one out (a damaged row it skips would go unseen)."""
    ko = KOREAN_40.encode("utf-8")
    assert len(ko) == 40
    rnd = hashlib.sha256(b"eqinfo-m1 self-test").digest()      # 32 pseudo-random bytes
    return [b"", b"The ", b"Hello, world!", ko, rnd, LONG_TEXT.encode("ascii"), bytes(range(256))]


def self_test_inputs_for(cfg) -> list[bytes]:
    """The inputs of a file of `cfg`: version 2 adds one longer than its span, so that the
    eviction of old positions is tested (2 W + 100 bytes of English: the span slides far)."""
    inputs = self_test_inputs()
    if cfg.attention_window:
        n = 2 * cfg.attention_window + 100
        inputs.append((LONG_TEXT * (n // len(LONG_TEXT) + 1))[:n].encode("ascii"))
    return inputs


def metadata_sha256(raw: str) -> str:
    """The "eqinfo_sha256" key: SHA-256 of the "eqinfo" metadata string's UTF-8 bytes."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def content_hash(tensors: dict[str, np.ndarray]) -> str:
    """sha256 (hex) of every tensor's raw little-endian C-order bytes, in sorted-name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = np.ascontiguousarray(tensors[name])
        h.update(t.astype(t.dtype.newbyteorder("<")).tobytes())
    return h.hexdigest()


def self_test(im, P: int) -> dict:
    from .integer_model import self_test_hash
    inputs = self_test_inputs_for(im.config)
    return {"frequency_bits": P,
            "inputs": [x.hex() for x in inputs],
            "table_hashes": [self_test_hash(im, x, P) for x in inputs]}


def training_info(weights: Path | None, ckpt: dict | None, data_path: Path) -> dict:
    from ..data import VAL_EVERY, file_sha256
    info = {"data_file": data_path.name, "data_sha256": file_sha256(data_path),
            "split": f"document on 0-based line i is validation iff i % {VAL_EVERY} == 0, else train"}
    if ckpt is not None:
        info.update(step=int(ckpt["step"]),
                    tokens_seen=int(ckpt["step"]) * ckpt["args"]["batch"] * ckpt["args"]["seq_len"],
                    best_val_bpb_window=float(ckpt["best_val"]), source="checkpoint")
        return info
    log = weights.parent / "log.csv" if weights is not None else None
    if log is not None and log.exists():
        # weights_best.pt is saved at the evaluation that set a new minimum of val_bpb_window
        with open(log, newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get("val_bpb_window")]
        if rows:
            best = min(rows, key=lambda r: float(r["val_bpb_window"]))
            info.update(step=int(best["step"]), tokens_seen=int(best["tokens_seen"]),
                        logged_val_bpb_full=float(best["val_bpb_full"]),
                        logged_val_bpb_window=float(best["val_bpb_window"]),
                        source=f"{log.name} (row of the best val_bpb_window)")
    return info


def make_metadata(im, P: int, quantization: dict | None = None, training: dict | None = None,
                  evaluation: dict | None = None) -> dict:
    """The "eqinfo" metadata of a file holding `im` (content hash and self-test computed here)."""
    meta = {
        "format": FORMAT, "version": format_version(im.config),
        "architecture": architecture(im.config),
        "frequency_bits": P,
        "vocab": {"bytes": 256, "eos": 256},
        "quantization": quantization or {},
        "training": training or {},
        "content_hash": content_hash(im.tensors),
        "self_test": self_test(im, P),
    }
    if evaluation is not None:
        meta["eval"] = evaluation
    return meta


def save(path: Path, im, meta: dict):
    from safetensors.numpy import save_file
    raw = json.dumps(meta, sort_keys=True)
    with replacing(path) as tmp:
        save_file(dict(im.tensors), str(tmp), metadata={"eqinfo": raw, "eqinfo_sha256": metadata_sha256(raw)})
        os.chmod(tmp, 0o644)


def load(path: str | Path, verify: bool = True):
    """-> (IntegerM1, metadata dict). verify: recompute content_hash and the self-test."""
    from safetensors import safe_open
    from safetensors.numpy import load_file
    from .config import M1Config
    from .integer_model import IntegerM1
    with safe_open(str(path), framework="numpy") as f:
        file_meta = f.metadata() or {}
    raw = file_meta.get("eqinfo")
    if raw is None:
        raise ValueError(f"{path}: no 'eqinfo' metadata")
    if verify and file_meta.get("eqinfo_sha256") != metadata_sha256(raw):
        raise ValueError(f"{path}: 'eqinfo' metadata does not match its eqinfo_sha256 (absent in "
                         f"files exported before it was checked: python -m eqinfo.m1.export --reseal)")
    meta = json.loads(raw)
    if meta.get("format") != FORMAT or meta.get("version") not in VERSIONS:
        raise ValueError(f"{path}: format {meta.get('format')} v{meta.get('version')}, "
                         f"expected {FORMAT} v1 or v2")
    # Never reinterpreted: a span in a v1 file, or a v2 file without one, is refused.
    if ("attention_window" in meta["architecture"]) != (meta["version"] == 2):
        raise ValueError(f"{path}: version {meta['version']} with"
                         f"{'' if 'attention_window' in meta['architecture'] else 'out'} an attention_window")
    tensors = load_file(str(path))
    im = IntegerM1(M1Config.from_dict(meta["architecture"]), tensors)
    if verify:
        actual = content_hash(im.tensors)
        if actual != meta["content_hash"]:
            raise ValueError(f"{path}: content hash {actual} != stored {meta['content_hash']}")
        st = meta["self_test"]
        got = self_test(im, int(st["frequency_bits"]))
        if got["inputs"] != st["inputs"] or got["table_hashes"] != st["table_hashes"]:
            raise ValueError(f"{path}: self-test failed: {got['table_hashes']} != {st['table_hashes']}")
    return im, meta


def reseal(path: Path) -> dict:
    """Rewrites an older export's self-test (the current inputs) and its eqinfo_sha256, in place
    and atomically; the tensors and every other field stay as they are. The content hash is
    checked first, so damaged tensors are never sealed as good."""
    im, meta = load(path, verify=False)
    if content_hash(im.tensors) != meta["content_hash"]:
        raise ValueError(f"{path}: content hash mismatch: the tensors are damaged, not resealing")
    meta["self_test"] = self_test(im, int(meta["self_test"]["frequency_bits"]))
    save(path, im, meta)
    load(path)
    return meta


def quantization_info(im, cal) -> dict:
    from .integer_model import A, EXP2_BITS, NORM_BITS, Q10, R
    return {
        "activation_clamp_A": A, "residual_clamp_R": R,
        "residual": f"Q.{Q10}: real = int * 2^-{Q10}",
        "logits_and_scores": f"Q.{Q10} log2 units: real (bits) = int * 2^-{Q10}",
        "norm_output": f"unit-RMS activations on a 2^-{NORM_BITS} grid",
        "exp2_lut": f"Q.{EXP2_BITS}: round(2^{EXP2_BITS} * 2^(-f/1024))",
        "weights": f"int8 per output row, symmetric, in [-127, 127], clip={cal.weight_clip}",
        "activation_grids": {k: cal.grids[k] for k in sorted(cal.grids)},
        "activation_grid_rule": "grid = stat(|x|) / A over the calibration contexts",
        "activation_stat": cal.stat,
        "calibration": cal.meta,
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", type=Path, help="state_dict .pt (e.g. runs/m1-3m/weights_best.pt)")
    p.add_argument("--config", type=Path, help="config.json of the run")
    p.add_argument("--ckpt", type=Path, help="training checkpoint (instead of --weights/--config)")
    p.add_argument("--reseal", type=Path, metavar="FILE",
                   help="rewrite FILE's self-test and eqinfo_sha256 in place (tensors unchanged)")
    p.add_argument("--out", type=Path, default=Path("models/m1-3m.safetensors"))
    p.add_argument("--frequency-bits", type=int, default=16)
    p.add_argument("--attention-window", type=int, default=None, metavar="W",
                   help="export as format v2 with a span of W positions (default: the config's; "
                        "0: v1, unbounded)")
    p.add_argument("--calib-windows", type=int, default=512)
    p.add_argument("--select-symbols", type=int, default=8192,
                   help="train symbols (window contexts) on which calibration choices are scored")
    p.add_argument("--eval-symbols", type=int, default=65536, help="validation symbols; 0: skip eval")
    p.add_argument("--data", type=Path, default=None, help="corpus .jsonl.gz (default: shared data)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.reseal is not None:
        meta = reseal(args.reseal)
        print(f"[export] resealed {args.reseal}: self-test {len(meta['self_test']['inputs'])} inputs, "
              f"content_hash {meta['content_hash'][:16]}...", flush=True)
        return meta
    import torch

    from ..data import default_data_path, load_split
    from .config import M1Config
    from .integer_model import A, R, check_bounds
    from .model import M1
    from .quantize import calibrate, float_bpb, integer_bpb

    torch.set_num_threads(args.threads)
    P = args.frequency_bits
    t0 = time.time()
    ckpt = None
    if args.ckpt is not None:
        ckpt = torch.load(args.ckpt, map_location="cpu", weights_only=False)
        cfg, state = M1Config.from_dict(ckpt["config"]), ckpt["model"]
    else:
        if args.weights is None:
            sys.exit("give --weights (and --config) or --ckpt")
        cfg_path = args.config or args.weights.parent / "config.json"
        cfg = M1Config.from_dict(json.loads(cfg_path.read_text()))
        state = torch.load(args.weights, map_location="cpu")
    # provenance now, next to loading the weights (a running training may replace them later)
    training = training_info(args.weights, ckpt, Path(args.data) if args.data else default_data_path())
    if args.attention_window is not None:
        import dataclasses
        cfg = dataclasses.replace(cfg, attention_window=args.attention_window)
    model = M1(cfg)
    model.load_state_dict(state)
    model.eval()
    data_path = Path(args.data) if args.data else default_data_path()
    train_sym, _ = load_split(data_path, "train")
    val_sym, _ = load_split(data_path, "val")

    im, cal = calibrate(model, train_sym, P, n_windows=args.calib_windows,
                        select_symbols=args.select_symbols, seed=args.seed)
    check_bounds(im.config, im)
    meta = make_metadata(im, P, quantization_info(im, cal), training)
    if args.eval_symbols > 0:
        n = args.eval_symbols
        ev = {"split": "val", "symbols": n, "frequency_bits": P,
              "definition": "bits/byte = -sum log2 p(target) over all predicted symbols (EOS "
                            "included) / text bytes (EOS excluded); integer: p = f/2^P",
              "window": {"reset_every": 16}, "full": {"reset_every": None, "chunk": 256}}
        for mode, w in (("window", 16), ("full", None)):
            fb = float_bpb(model, val_sym, n, w)
            ib = integer_bpb(im, val_sym, n, P, w, diagnostics=True)
            ev[mode].update(float_bpb=fb, integer_bpb=ib["table"],
                            integer_softmax_bpb=ib["softmax"],
                            relative_gap=ib["table"] / fb - 1)
            print(f"[export] val {mode:6s} ({n} symbols): float {fb:.5f} bits/byte, integer "
                  f"{ib['table']:.5f} (P={P} tables; {ib['softmax']:.5f} as exact softmax of the "
                  f"integer logits), gap {100 * (ib['table'] / fb - 1):+.3f}%", flush=True)
        meta["eval"] = ev
    save(args.out, im, meta)
    im2, meta2 = load(args.out)            # round trip: content hash + self-test recomputed
    assert meta2 == json.loads(json.dumps(meta, sort_keys=True))
    size = args.out.stat().st_size
    print(f"[export] wrote {args.out} ({size:,} bytes, {len(im.tensors)} tensors), content_hash "
          f"{meta['content_hash'][:16]}..., self-test {len(meta['self_test']['inputs'])} inputs OK; "
          f"A={A} R={R}; {time.time() - t0:.0f} s", flush=True)
    return meta


def _limit_blas_threads(n: int):
    """NumPy's OpenBLAS reads its thread count at import: re-exec once with it set."""
    want = str(n)
    if os.environ.get("OPENBLAS_NUM_THREADS") != want:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=want, OMP_NUM_THREADS=want, MKL_NUM_THREADS=want)
        os.execve(sys.executable, [sys.executable, "-m", "eqinfo.m1.export", *sys.argv[1:]], env)


if __name__ == "__main__":
    _limit_blas_threads(build_parser().parse_args().threads)
    main()
