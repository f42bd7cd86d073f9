"""Weights-only training snapshot of a run, small enough to commit, to continue it on another machine.

    PYTHONPATH=python python -m eqinfo.m1.snapshot --run runs/m1-3m \
        --out models/checkpoints/m1-3m-train.pt

runs/ is not in git, so a fresh machine has no ckpt.pt. This writes, from RUN/ckpt.pt (read only),
    {"format": "eqinfo-m1-train-snapshot", "version": 1,
     "model": state_dict in bfloat16 (half of fp32; train.py casts back to fp32),
     "step", "tokens_seen", "config", "args", "best_val", "elapsed_s",
     "log_csv": RUN/log.csv's text, rows up to "step" (the learning curve survives),
     "created", "source", "hardware"}
and train.py --init-weights PATH continues from it (only when RUN/ckpt.pt is absent): same step,
same data order (the sampler is a pure function of (seed, step)), same lr schedule, but a FRESH
optimizer (the Adam moments are not kept: they would triple the size), so the lr is ramped up
linearly over --init-ramp steps. scripts/train_m1.sh does this automatically. Not bit-exact: the
weights are rounded to bf16 and the optimizer state restarts.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import os
from pathlib import Path

import torch

from ..atomic_files import replacing

from ..sysinfo import cpu_model

FORMAT, VERSION = "eqinfo-m1-train-snapshot", 1


def trim_log(text: str, step: int) -> str:
    """log.csv text -> the same text (byte for byte) without the rows of steps > step (the run may
    be ahead of its checkpoint)."""
    lines = text.splitlines(keepends=True)
    if not lines:
        return ""
    si = next(csv.reader([lines[0]])).index("step")
    keep = [ln for ln in lines[1:] if ln.strip() and int(next(csv.reader([ln]))[si]) <= step]
    return "".join([lines[0], *keep])


def make_snapshot(ckpt: dict, log_text: str | None, source: str = "") -> dict:
    step = int(ckpt["step"])
    a = ckpt["args"]
    return {
        "format": FORMAT, "version": VERSION,
        "model": {k: (v.to(torch.bfloat16) if v.is_floating_point() else v).contiguous().clone()
                  for k, v in ckpt["model"].items()},
        "dtype": "bfloat16",
        "step": step,
        "tokens_seen": step * int(a["batch"]) * int(a["seq_len"]),
        "config": ckpt["config"],
        "args": a,
        "best_val": float(ckpt.get("best_val", float("inf"))),
        "elapsed_s": float(ckpt.get("elapsed_s", 0.0)),
        "log_csv": trim_log(log_text, step) if log_text else "",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source": source,
        "hardware": {"cpu": cpu_model(), "cores": os.cpu_count(), "threads": a.get("threads")},
    }


def write_snapshot(run: Path, out: Path, ckpt_path: Path | None = None) -> dict:
    ckpt_path = ckpt_path or run / "ckpt.pt"
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    log = run / "log.csv"
    log_text = None
    if log.exists():
        with open(log, newline="") as f:      # keep the \r\n of csv.writer
            log_text = f.read()
    snap = make_snapshot(ckpt, log_text, str(ckpt_path))
    with replacing(out) as tmp:   # atomic: never a truncated snapshot
        torch.save(snap, tmp)
    return snap


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, default=Path("runs/m1-3m"), help="run directory (read only)")
    p.add_argument("--ckpt", type=Path, default=None, help="default: RUN/ckpt.pt")
    p.add_argument("--out", type=Path, default=Path("models/checkpoints/m1-3m-train.pt"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    snap = write_snapshot(args.run, args.out, args.ckpt)
    n_rows = max(0, len(snap["log_csv"].splitlines()) - 1)
    print(f"[snapshot] {args.out}: step {snap['step']:,} ({snap['tokens_seen']:,} tokens), "
          f"{sum(v.numel() for v in snap['model'].values()):,} parameters in bf16, "
          f"{n_rows} log rows, {args.out.stat().st_size:,} bytes", flush=True)
    print(f"[snapshot] continue elsewhere (when {args.run}/ckpt.pt is absent): "
          f"scripts/train_m1.sh, or train.py --init-weights {args.out}", flush=True)


if __name__ == "__main__":
    main()
