"""The training stage: one M2 run per method, its typed config made from the scale.

A run's config (eqinfo.m2.config.M2TrainConfig) comes from the scale (its named preset of M2
size, sequence length, batch, lr and budget) and the run's train shard (the budget in steps).
In-process runs (--jobs 0) get the config object itself; each process of --jobs N reads the same
config from runs/<method>/train_config.json (`eqinfo.m2.train --config`).
"""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..m2.config import M2TrainConfig
from ..shards import read_shard
from ..training.cli import write_config
from ..training.signals import StopOnSignal
from .methods import parse_method
from .run_records import finished_run, persist_run, retire_stale, start_run
from .scales import Scale
from .shard_files import shard_identities, shard_path

TRAIN_CONFIG = "train_config.json"


def train_config(scale: Scale, method: str, shards: Path, run_dir: Path,
                 threads: int) -> M2TrainConfig:
    """The M2 run of `method` at `scale`: the scale's budget over the method's train shard in
    whole steps; warmup, evaluations, checkpoints and log rows as fractions of the run."""
    train = shard_path(shards, "train", method)
    n_tokens = read_shard(train, check_tokens=False).n_tokens
    steps = max(1, math.ceil(scale.run_tokens(n_tokens) / (scale.batch * scale.seq_len)))
    return M2TrainConfig(
        train=str(train), val=str(shard_path(shards, "val", method)), out=str(run_dir),
        preset=parse_method(method).preset or scale.preset, steps=steps,
        seq_len=scale.seq_len, batch=scale.batch, micro_batch=scale.micro_batch, lr=scale.lr,
        warmup=max(1, int(scale.warmup_frac * steps)),
        eval_every=max(1, steps // scale.n_evals), eval_batch=scale.eval_batch,
        ckpt_every=max(1, steps // 20), log_every=max(1, steps // 100), threads=threads,
        device=scale.device, quiet=True)


def run_all(scale: Scale, methods: list[str], shards: Path, runs: Path, jobs: int,
            threads: int, results_dir: Path | None = None) -> list[str]:
    """Train every unfinished method (run_records.finished_run), `jobs` processes at a time
    (0: one by one in this process, for tests); copy each finished run to results_dir.
    -> the methods that failed."""
    ident = {m: shard_identities(shards, m) for m in methods}
    todo = [m for m in methods if finished_run(m, ident[m], runs, results_dir) is None]
    for m in todo:
        retire_stale(m, ident[m], runs, results_dir)

    def start(m: str) -> M2TrainConfig:
        return train_config(scale, m, shards, start_run(m, ident[m], runs), threads)

    def finish(m: str) -> bool:
        ok = (runs / m / "result.json").exists()
        if ok and results_dir is not None:
            persist_run(m, shards, runs, results_dir)
        return ok

    if jobs == 0:
        from ..m2 import train as m2_train
        failed = []
        for m in todo:
            m2_train.train(start(m))
            if not finish(m):
                failed.append(m)
        return failed
    # Longest first (v65k softmax, then SentencePiece) so the last job is a short one.
    todo.sort(key=lambda m: -read_shard(shard_path(shards, "val", m), check_tokens=False).vocab_size)
    return _run_processes(scale, todo, len(methods), jobs, start, finish)


def _run_processes(scale: Scale, todo: list[str], n_methods: int, jobs: int, start,
                   finish) -> list[str]:
    """`jobs` training processes at a time over `todo`; SIGTERM/SIGINT are forwarded to them
    (each checkpoints and exits). -> the methods that failed."""
    from tqdm import tqdm
    # The processes import this very package (in-tree or installed), whatever the current
    # directory and PYTHONPATH say.
    package_parent = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [package_parent] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    running: dict[str, subprocess.Popen] = {}
    failed: list[str] = []

    def forward():
        for p in running.values():
            p.send_signal(signal.SIGTERM)
    stop = StopOnSignal("experiment", on_stop=forward,
                        action="stopping the training runs (each checkpoints first)")
    bar = tqdm(total=n_methods, initial=n_methods - len(todo), desc=f"M2 runs ({scale.name})",
               unit="run", disable=not sys.stderr.isatty())
    try:
        while (todo and not stop.requested) or running:
            while todo and len(running) < jobs and not stop.requested:
                m = todo.pop(0)
                cfg = start(m)
                run_dir = Path(cfg.out)
                config_file = write_config(cfg, run_dir / TRAIN_CONFIG)
                with open(run_dir / "train.out", "a") as log:
                    running[m] = subprocess.Popen(
                        [sys.executable, "-m", "eqinfo.m2.train", "--config", str(config_file)],
                        stdout=log, stderr=subprocess.STDOUT, env=env)
                bar.write(f"[experiment] started {m} (pid {running[m].pid})")
            time.sleep(0.2)
            for m, p in list(running.items()):
                if p.poll() is not None:
                    del running[m]
                    ok = p.returncode == 0 and finish(m)
                    if not ok and not stop.requested:
                        failed.append(m)
                    bar.write(f"[experiment] {m}: {'done' if ok else f'exit {p.returncode}'}")
                    bar.update(1 if ok else 0)
    finally:
        bar.close()
        stop.restore()
    return failed
