"""One command for the whole matrix at a named scale: compress, train M2 per method, evaluate,
report.

    eqinfo-experiment --scale small --jobs 2                 # everything (resumable)
    eqinfo-experiment --scale tiny --methods bytes,equalinfo-b16-v256
    eqinfo-experiment --scale small --shards DIR             # use existing <DIR>/{train,val}/*.shard
    eqinfo-experiment --scale small --report-only            # re-collect results, re-render docs

Layout under --out (default runs/experiment/<scale>/): shards/{train,val}/<method>.shard (unless
--shards), runs/<method>/ (eqinfo.m2.train's run directory, train.out = its stdout),
results.json (machine-readable: everything docs/results.md is rendered from).

Resumable: compression reuses shards whose sidecar records the same settings; a run with a
result.json is finished and skipped; an interrupted run resumes from its ckpt.pt. SIGTERM/SIGINT
are forwarded to the training processes, which checkpoint and exit.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..m1 import get_preset as m1_preset
from ..m2 import get_preset, non_embedding_params
from ..shards import read_shard
from .baselines import shard_baselines
from .flops import inference_flops_per_byte
from .methods import METHODS, PAPER_M1_BPB, parse_method
from .report import write_report
from .scales import SCALES, Scale, get_scale

REPO_ROOT = Path(__file__).resolve().parents[3]


def compress_all(scale: Scale, methods: list[str], shards: Path, threads: int, data=None) -> None:
    """<shards>/{train,val}/<method>.shard for every method (eqinfo.compress; reused if current)."""
    from .. import compress  # needs the C++ extension: imported only when compressing
    compress.compress_methods(methods, "val", shards, max_bytes=scale.val_bytes, threads=threads,
                              data_path=data)
    by_bytes: dict = {}
    for m in methods:  # methods with the same train prefix share one call (and M1 passes)
        by_bytes.setdefault(scale.train_bytes_for(m), []).append(m)
    for max_bytes, ms in by_bytes.items():
        compress.compress_methods(ms, "train", shards, max_bytes=max_bytes, threads=threads,
                                  data_path=data)


def train_command(scale: Scale, method: str, shards: Path, run_dir: Path, threads: int) -> list[str]:
    tr = read_shard(shards / "train" / f"{method}.shard", check_tokens=False)
    tokens = scale.run_tokens(tr.n_tokens)
    steps = max(1, math.ceil(tokens / (scale.batch * scale.seq_len)))
    return [sys.executable, "-m", "eqinfo.m2.train",
            "--train", str(shards / "train" / f"{method}.shard"),
            "--val", str(shards / "val" / f"{method}.shard"), "--out", str(run_dir),
            "--preset", scale.preset, "--steps", str(steps), "--seq-len", str(scale.seq_len),
            "--batch", str(scale.batch), "--micro-batch", str(scale.micro_batch),
            "--lr", str(scale.lr), "--warmup", str(max(1, int(scale.warmup_frac * steps))),
            "--eval-every", str(max(1, steps // scale.n_evals)),
            "--eval-batch", str(scale.eval_batch), "--ckpt-every", str(max(1, steps // 20)),
            "--log-every", str(max(1, steps // 100)), "--threads", str(threads),
            "--device", scale.device, "--quiet"]


def run_all(scale: Scale, methods: list[str], shards: Path, runs: Path, jobs: int,
            threads: int) -> list[str]:
    """Train every unfinished method, `jobs` processes at a time (0: one by one in this process,
    for tests). -> methods that failed."""
    from tqdm import tqdm
    todo = [m for m in methods if not (runs / m / "result.json").exists()]
    if jobs == 0:
        from ..m2 import train as m2_train
        for m in todo:
            argv = train_command(scale, m, shards, runs / m, threads)[3:]
            m2_train.train(m2_train.build_parser().parse_args(argv))
        return [m for m in todo if not (runs / m / "result.json").exists()]
    # Longest first (v65k softmax, then SentencePiece) so the last job is a short one.
    todo.sort(key=lambda m: -read_shard(shards / "val" / f"{m}.shard", check_tokens=False).vocab_size)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO_ROOT / "python")] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    running: dict[str, subprocess.Popen] = {}
    failed: list[str] = []
    stop = {"flag": False}

    def on_signal(signum, _frame):
        stop["flag"] = True
        for p in running.values():
            p.send_signal(signal.SIGTERM)   # each run checkpoints and exits
    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    bar = tqdm(total=len(methods), initial=len(methods) - len(todo), desc=f"M2 runs ({scale.name})",
               unit="run", disable=not sys.stderr.isatty())
    try:
        while (todo and not stop["flag"]) or running:
            while todo and len(running) < jobs and not stop["flag"]:
                m = todo.pop(0)
                (runs / m).mkdir(parents=True, exist_ok=True)
                log = open(runs / m / "train.out", "a")
                running[m] = subprocess.Popen(train_command(scale, m, shards, runs / m, threads),
                                              stdout=log, stderr=subprocess.STDOUT, env=env)
                log.close()
                bar.write(f"[experiment] started {m} (pid {running[m].pid})")
            time.sleep(0.2)
            for m, p in list(running.items()):
                if p.poll() is not None:
                    del running[m]
                    ok = p.returncode == 0 and (runs / m / "result.json").exists()
                    if not ok and not stop["flag"]:
                        failed.append(m)
                    bar.write(f"[experiment] {m}: {'done' if ok else f'exit {p.returncode}'}")
                    bar.update(1 if ok else 0)
    finally:
        bar.close()
        for s, h in old.items():
            signal.signal(s, h)
    return failed


def _positions_curve(run_dir: Path) -> list[dict]:
    f = run_dir / "positions.csv"
    if not f.exists():
        return []
    with open(f, newline="") as fh:
        return [{"step": int(r["step"]), "tokens_seen": int(r["tokens_seen"]),
                 "position": int(r["position"]), "n_tokens": int(r["n_tokens"]),
                 "loss_nats": float(r["loss_nats"]), "accuracy": float(r["accuracy"])}
                for r in csv.DictReader(fh)]


def collect(scale: Scale, methods: list[str], shards: Path, runs: Path) -> dict:
    """The machine-readable results of every method with shards (M2 fields None if not run)."""
    m2_cfg = get_preset(scale.preset)
    n_ne = non_embedding_params(m2_cfg)
    m1_cfg = m1_preset("m1-3m")
    out = {"scale": dataclasses.asdict(scale), "m2_non_embedding_params": n_ne,
           "m1_config": m1_cfg.to_dict(), "runs_dir": str(runs), "shards_dir": str(shards),
           "methods": {}}
    val_bytes = set()
    for m in methods:
        tr_p, va_p = shards / "train" / f"{m}.shard", shards / "val" / f"{m}.shard"
        if not (tr_p.exists() and va_p.exists()):
            continue
        info = parse_method(m)
        tr, va = read_shard(tr_p), read_shard(va_p)
        base = shard_baselines(tr, va)
        val_bytes.add(base["val_text_bytes"])
        fl = inference_flops_per_byte(m, n_ne, va.bytes_per_token, m1_cfg)
        row = {"label": info.label, "family": info.family, "b": info.b,
               "token_bits": info.token_bits, "window_tokens": info.window_tokens,
               "bytes_per_token": va.bytes_per_token, **base, **fl, "m2_bpb": None}
        res = runs / m / "result.json"
        if res.exists():
            r = json.loads(res.read_text())
            row.update(m2_bpb=r["val_bpb"], m2_loss_nats=r["val_loss_nats"], m2_acc=r["val_acc"],
                       tokens_seen=r["tokens_seen"], steps=r["steps"], epochs=r["epochs"],
                       elapsed_s=r["elapsed_s"], train_flops=r["train_flops"],
                       positions_curve=_positions_curve(runs / m))
            if r["val_text_bytes"] != base["val_text_bytes"]:
                raise ValueError(f"{m}: run evaluated {r['val_text_bytes']} text bytes, the "
                                 f"shard has {base['val_text_bytes']}: stale run directory?")
        out["methods"][m] = row
    if len(val_bytes) > 1:
        raise ValueError(f"validation shards cover different text ({sorted(val_bytes)} bytes): "
                         "bits/byte would not be comparable")
    out["val_text_bytes"] = val_bytes.pop() if val_bytes else None
    # M1 alone: what AC with M1 (no windows) codes the validation text at, on this very text.
    ac = out["methods"].get("ac-v256") or out["methods"].get("ac-v65k")
    out["m1"] = ({"bpb": ac["uniform_bpb"], "source": "AC with our M1 on this validation text"}
                 if ac else {"bpb": PAPER_M1_BPB, "source": "the paper's M1 (no AC shard here)"})
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--scale", required=True, choices=sorted(SCALES))
    p.add_argument("--methods", default="all", help="comma-separated, or 'all'")
    p.add_argument("--jobs", type=int, default=1, help="training runs in parallel (0: in this process, one by one)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per training run")
    p.add_argument("--compress-threads", type=int, default=None, help="default: --jobs")
    p.add_argument("--out", default=None, help="default: runs/experiment/<scale>")
    p.add_argument("--shards", default=None, help="existing shard directory (skips compression)")
    p.add_argument("--data", default=None, help="corpus .jsonl.gz (default: shared data)")
    p.add_argument("--docs", default=str(REPO_ROOT / "docs"), help="where results.md goes")
    p.add_argument("--results-name", default="results.md")
    p.add_argument("--device", default=None, help="override the scale's device (auto/cpu/cuda)")
    p.add_argument("--report-only", action="store_true", help="collect and render, train nothing")
    return p


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    scale = get_scale(a.scale, **({"device": a.device} if a.device else {}))
    methods = list(scale.methods) if a.methods == "all" else [m.strip() for m in a.methods.split(",") if m.strip()]
    for m in methods:
        parse_method(m)  # clear error on a bad name before any work
    out = Path(a.out) if a.out else REPO_ROOT / "runs" / "experiment" / scale.name
    shards = Path(a.shards) if a.shards else out / "shards"
    runs = out / "runs"
    failed = []
    if not a.report_only:
        if not a.shards:
            compress_all(scale, methods, shards, a.compress_threads or a.jobs, a.data)
        missing = [m for m in methods for s in ("train", "val")
                   if not (shards / s / f"{m}.shard").exists()]
        if missing:
            raise SystemExit(f"missing shards in {shards}: {sorted(set(missing))}")
        failed = run_all(scale, methods, shards, runs, a.jobs, a.threads)
    results = collect(scale, methods, shards, runs)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(out / "results.json")
    md = write_report(results, Path(a.docs), a.results_name)
    print(f"[experiment] {out / 'results.json'} -> {md}")
    if failed:
        print(f"[experiment] FAILED runs (see runs/<method>/train.out): {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
