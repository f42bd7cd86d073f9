"""Train M1 on the byte stream of the fixed TRAIN split, with exact resumption.

    PYTHONPATH=python python -m eqinfo.m1.train --preset m1-3m --out runs/m1-3m --steps 10000
    PYTHONPATH=python python -m eqinfo.m1.train --config m1-3m     # the bundled model's run

Batches. Each sequence is seq_len+1 consecutive symbols cut at a random offset of the flat train
array; inputs = s[:-1], targets = s[1:]. The sampler is a pure function of (seed, step)
(numpy Generator seeded with [seed, step]), so resuming needs no loader state.

Context resets (the whole point of "window-start" mixing). At inference M1 is RESET at the start
of every Equal-Info window and only ever sees that window's bytes (typically 4..60), so it must
predict well from short, mid-document contexts. A reset at input position p means:
    inputs[p] := EOS (EOS doubles as BOS) and a new segment starts at p.
Then targets p, p+1, ... are predicted from [BOS, bytes since p] only, exactly what M1 sees at a
window start, and every symbol is still predicted exactly once (symbol s[p] is the target of the
position before, in the previous segment). Segment ids are cumsum(inputs == EOS): documents are
reset the same way, since the EOS ending a document is the first input of the next.
With probability --reset-frac a sequence also gets resets at random points, segment lengths
uniform in [--reset-min, --reset-max]. --bos-start also resets every sequence at position 0, so
every context starts with EOS: a sequence without extra resets is then exactly AC's context over
a bounded span of seq_len positions with the document's EOS kept as the first (format v2), and
the first segment of one with resets is a window start too.

M1 v2 (--mix-frac > 0): a fraction of the sequences comes from the Korean/Chinese train split
(data_mix.py), and Korean and Chinese validation text is evaluated beside the English
(val_bpb_{full,window}_{ko,zh} in log.csv, columns only such runs have).

Evaluation: bits/byte on the first --eval-bytes symbols of the VALIDATION split, in two modes:
"full" (contiguous chunks of seq_len, EOS resets only) and "window" (also a reset every 16
symbols, a proxy for Equal-Info windows). With --bos-start every "full" chunk also starts at EOS
(the contexts such a model is trained for, AC's bounded span; it never saw one without the EOS
first). bits/byte = total nats over all symbols (EOS included)
/ ln 2 / number of text bytes (EOS excluded).

Resuming: from <out>/ckpt.pt, exactly. Without one (a fresh machine), --init-weights SNAPSHOT
continues from a weights-only snapshot (eqinfo.m1.snapshot) at its step with a fresh optimizer and
an lr ramp over --init-ramp steps; see docs/m1_training.md. --warm-start SNAPSHOT (when neither
applies) starts a NEW run from another run's weights: step 0, this run's schedule and warmup
(which ramps the fresh optimizer), a new log.

This module is what is M1's own (batches, loss, evaluation, the snapshot start); the loop,
optimiser, schedule, checkpoints, log and stop signals are eqinfo.training's, shared with M2.
The flags are the fields of config.M1TrainConfig.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import torch

from ..data import DEFAULT_CACHE_DIR, EOS, load_split
from ..training.checkpoint import atomic_save, load_checkpoint, restore, save_checkpoint
from ..training.cli import parse_config
from ..training.csv_log import CsvLog
from ..training.loop import LossMeter, resolve_device, train_loop
from ..training.optim import make_optimizer, restart_ramp, warmup_cosine_lr
from .config import RUNS, M1Config, M1TrainConfig, get_preset
from .data_mix import TrainMix, draw_sequences, load_mix, load_mix_validation
from .model import M1, flops_per_byte, loss_fn, non_embedding_params

LOG_FIELDS = ["step", "tokens_seen", "train_loss_nats", "train_bpb", "lr", "val_bpb_full",
              "val_bpb_window", "elapsed_s", "tokens_per_s"]
# The columns of a run with a Korean/Chinese validation stream (--mix-frac > 0) only: the logs
# of the runs before it keep their header.
MIX_LOG_FIELDS = ["val_bpb_full_ko", "val_bpb_window_ko", "val_bpb_full_zh", "val_bpb_window_zh"]
LN2 = math.log(2.0)


# ----------------------------------------------------------------------------- batches

def segment_ids_from_inputs(inputs: np.ndarray) -> np.ndarray:
    """[B, T] inputs -> [B, T] int64 segment ids: a new segment at every EOS input."""
    return np.cumsum(inputs == EOS, axis=1, dtype=np.int64)


def sample_batch(train: np.ndarray, seed: int, step: int, batch: int, seq_len: int,
                 reset_frac: float, reset_min: int, reset_max: int,
                 mix: TrainMix | None = None, bos_start: bool = False):
    """Training batch for `step`: a pure function of (seed, step). -> inputs, targets, segs [B, T].
    mix: draw a fraction of the sequences from a second corpus (data_mix); bos_start: every
    sequence's first input is EOS (module docstring). Neither changes the draws of a run
    without them."""
    rng = np.random.default_rng([seed, step])
    seqs = draw_sequences(rng, train, batch, seq_len, mix)                 # [B, T+1]
    inputs, targets = seqs[:, :-1].copy(), seqs[:, 1:]
    n_max = seq_len // max(1, reset_min) + 2
    do_reset = rng.random(batch) < reset_frac                              # [B]
    lengths = rng.integers(reset_min, reset_max + 1, size=(batch, n_max))  # [B, n_max]
    first = rng.integers(1, reset_max + 1, size=batch)                     # phase of 1st reset
    for b in np.nonzero(do_reset)[0]:
        pos = first[b] + np.concatenate([[0], np.cumsum(lengths[b, :-1])])
        inputs[b, pos[pos < seq_len]] = EOS
    if bos_start:
        inputs[:, 0] = EOS
    return inputs, targets, segment_ids_from_inputs(inputs)


def eval_sequences(val: np.ndarray, n_symbols: int, seq_len: int, window: int | None):
    """Chunk [EOS] + val[:n_symbols] into sequences predicting every symbol exactly once.

    -> inputs, targets [N, T] int64, valid [N, T] bool, segs [N, T]. window=k adds a reset every
    k symbols (aligned to the stream; seq_len % k == 0 keeps windows inside one chunk).
    """
    s = np.concatenate([[EOS], np.asarray(val[:n_symbols], dtype=np.int64)])
    n = len(s) - 1
    n_seq = -(-n // seq_len)
    inputs = np.full(n_seq * seq_len, EOS, dtype=np.int64)
    targets = np.zeros(n_seq * seq_len, dtype=np.int64)
    valid = np.zeros(n_seq * seq_len, dtype=bool)
    inputs[:n], targets[:n], valid[:n] = s[:-1], s[1:], True
    if window:
        inputs[::window] = EOS
    inputs, targets, valid = (a.reshape(n_seq, seq_len) for a in (inputs, targets, valid))
    return inputs, targets, valid, segment_ids_from_inputs(inputs)


@torch.no_grad()
def evaluate_bpb(model: M1, val: np.ndarray, n_symbols: int, seq_len: int, window: int | None,
                 device: torch.device, batch: int = 16, autocast: bool = False) -> float:
    inputs, targets, valid, segs = eval_sequences(val, n_symbols, seq_len, window)
    was_training = model.training
    model.eval()
    nats, text_bytes = 0.0, 0
    for i in range(0, len(inputs), batch):
        x, y, v, g = (torch.from_numpy(a[i:i + batch]).to(device)
                      for a in (inputs, targets, valid, segs))
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            logits = model(x, g)
        _, ce = loss_fn(logits, y)
        nats += float((ce * v).sum())
        text_bytes += int((v & (y != EOS)).sum())
    model.train(was_training)
    return nats / LN2 / max(1, text_bytes)


# ----------------------------------------------------------------------------- the run

class M1Task:
    """M1's part of the training loop (eqinfo.training.loop.TrainingTask): reset-mixed batches
    of the train split, bits/byte in full and window context, the best-window weights."""

    def __init__(self, model: M1, cfg: M1TrainConfig, train_sym: np.ndarray, val_sym: np.ndarray,
                 out: Path, device: torch.device, autocast: bool, best_val: float,
                 mix: TrainMix | None = None, mix_val: dict[str, np.ndarray] | None = None):
        self.model, self.cfg, self.out = model, cfg, out
        self.train_sym, self.val_sym = train_sym, val_sym
        self.mix = mix
        self.mix_val = mix_val or {}       # {"ko": symbols, "zh": symbols}: extra columns
        self.device, self.autocast = device, autocast
        self.best_val = best_val           # lowest val_bpb_window so far (weights_best.pt)

    def train_step(self, step: int, meter: LossMeter) -> None:
        c = self.cfg
        x, y, segs = (torch.from_numpy(a).to(self.device) for a in sample_batch(
            self.train_sym, c.seed, step, c.batch, c.seq_len, c.reset_frac, c.reset_min,
            c.reset_max, self.mix, c.bos_start))
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.autocast):
            logits = self.model(x, segs)                                   # [B, T, 257]
        loss, ce = loss_fn(logits, y)
        loss.backward()
        meter.add(float(ce.sum()), ce.numel(), int((y != EOS).sum()))

    def train_fields(self, step: int, meter: LossMeter) -> dict[str, str]:
        return {"train_bpb": f"{meter.nats / LN2 / meter.text_bytes:.5f}"}

    def evaluate(self, step: int) -> dict[str, str]:
        c = self.cfg
        kw = dict(device=self.device, batch=c.eval_batch, autocast=self.autocast)
        full_window = c.seq_len if c.bos_start else None   # module docstring
        full = evaluate_bpb(self.model, self.val_sym, c.eval_bytes, c.seq_len, full_window, **kw)
        win = evaluate_bpb(self.model, self.val_sym, c.eval_bytes, c.seq_len, c.eval_window, **kw)
        if win < self.best_val:   # the English window context picks weights_best.pt
            self.best_val = win
            atomic_save(self.model.state_dict(), self.out / "weights_best.pt")
        row = {"val_bpb_full": f"{full:.5f}", "val_bpb_window": f"{win:.5f}"}
        for lang, sym in self.mix_val.items():
            n = min(c.mix_eval_bytes, len(sym))
            for mode, window in (("full", full_window), ("window", c.eval_window)):
                bpb = evaluate_bpb(self.model, sym, n, c.seq_len, window, **kw)
                row[f"val_bpb_{mode}_{lang}"] = f"{bpb:.5f}"
        return row


def _start_from_snapshot(cfg: M1TrainConfig, snap: dict, model: M1, out: Path) -> dict:
    """Weights (bf16 -> fp32), step, wall time and log.csv from a weights-only snapshot.
    -> the lr ramp of the fresh optimizer (optim.restart_ramp; kept in ckpt.pt as "init")."""
    model.load_state_dict({k: v.float() for k, v in snap["model"].items()})
    step = int(snap["step"])
    init = {"step": step, "ramp": max(1, cfg.init_ramp), "from": str(cfg.init_weights)}
    if snap.get("args", {}).get("steps") not in (None, cfg.steps):
        print(f"[train] warning: --steps {cfg.steps} differs from the snapshot's "
              f"{snap['args']['steps']}: the lr schedule changes", flush=True)
    log_path = out / "log.csv"
    if snap.get("log_csv"):
        if log_path.exists():
            os.replace(log_path, out / "log.csv.before-init")
        with open(log_path, "w", newline="") as f:   # CsvLog keeps the rows <= step
            f.write(snap["log_csv"])
    print(f"[train] initialised from weights-only snapshot {cfg.init_weights} at step {step} "
          f"(fresh optimizer, lr ramp over {init['ramp']} steps)", flush=True)
    return init


def _warm_start(cfg: M1TrainConfig, model: M1) -> None:
    """Weights (bf16 -> fp32) of another run's snapshot for a new run at step 0 (--warm-start)."""
    snap = torch.load(cfg.warm_start, map_location="cpu", weights_only=False)
    model.load_state_dict({k: v.float() for k, v in snap["model"].items()})
    print(f"[train] new run warm-started from the weights of {cfg.warm_start} "
          f"(its step {snap.get('step')}); step 0, fresh optimizer, warmup {cfg.warmup}",
          flush=True)


def train(cfg: M1TrainConfig) -> dict:
    """One run (module docstring). -> {"step", "best_val", "model"}."""
    dev, autocast = resolve_device(cfg)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = cfg.cache_dir if cfg.cache_dir is not None else DEFAULT_CACHE_DIR
    train_sym, _ = load_split(cfg.data, "train", cache)
    val_sym, _ = load_split(cfg.data, "val", cache)
    mix = load_mix(cfg.mix_data, cfg.mix_frac, cache)
    mix_val = load_mix_validation(cfg.mix_data, cache) if mix is not None else None

    ckpt = load_checkpoint(out, cfg.resume)
    snap = None
    if ckpt is None and cfg.init_weights:
        snap = torch.load(cfg.init_weights, map_location="cpu", weights_only=False)
    # --warm-start keeps the preset's architecture; a snapshot of another one fails to load.
    model_cfg = (M1Config.from_dict((ckpt or snap)["config"]) if (ckpt or snap)
                 else get_preset(cfg.preset))
    torch.manual_seed(cfg.seed)
    model = M1(model_cfg).to(dev)
    opt = make_optimizer(model, cfg.lr, cfg.weight_decay)
    step, best, elapsed = 0, float("inf"), 0.0
    # The lr ramp after --init-weights ({"step": s, "ramp": n}, optim.restart_ramp); None: none.
    init = None
    if ckpt:
        step, elapsed = restore(ckpt, model, opt)
        best = ckpt["best_val"]
        if ckpt["args"].get("steps") != cfg.steps:
            print(f"[train] warning: --steps {cfg.steps} differs from checkpoint's "
                  f"{ckpt['args'].get('steps')}: the lr schedule changes", flush=True)
        init = ckpt.get("init")
        print(f"[train] resumed from {out / 'ckpt.pt'} at step {step}", flush=True)
        if cfg.init_weights:
            print(f"[train] --init-weights {cfg.init_weights} ignored: {out / 'ckpt.pt'} exists",
                  flush=True)
    elif snap is not None:
        init = _start_from_snapshot(cfg, snap, model, out)
        step, elapsed = init["step"], float(snap.get("elapsed_s", 0.0))
        best = float(snap.get("best_val", float("inf")))
    elif cfg.warm_start:
        _warm_start(cfg, model)
    (out / "config.json").write_text(json.dumps(model_cfg.to_dict(), indent=1))
    print(f"[train] {model_cfg} non-embedding params {non_embedding_params(model_cfg):,}; "
          f"FLOPs/byte at context {model_cfg.context}: {flops_per_byte(model_cfg) / 1e6:.2f}M; "
          f"device {dev}", flush=True)

    task = M1Task(model, cfg, train_sym, val_sym, out, dev, autocast, best, mix, mix_val)

    def save(at_step: int, at_elapsed: float) -> None:
        save_checkpoint(out, model, opt, at_step, at_elapsed, model_cfg.to_dict(), cfg.to_dict(),
                        best_val=task.best_val, init=init)

    def lr_at(s: int) -> float:
        return warmup_cosine_lr(s, cfg.steps, cfg.warmup, cfg.lr) * restart_ramp(s, init)

    fields = LOG_FIELDS + (MIX_LOG_FIELDS if mix is not None else [])
    log = CsvLog(out / "log.csv", fields, step if (ckpt or snap) else None)
    try:
        step, _ = train_loop(task, opt, cfg, total_steps=cfg.steps, step=step, elapsed_s=elapsed,
                             tokens_per_step=cfg.batch * cfg.seq_len, lr_at=lr_at, log=log,
                             save=save, tag="train")
    finally:
        log.close()
    return {"step": step, "best_val": task.best_val, "model": model}


def parse_args(argv: list[str] | None = None) -> M1TrainConfig:
    return parse_config(M1TrainConfig, argv, __doc__.split("\n\n")[0], RUNS)


def main(argv=None):
    train(parse_args(argv))


if __name__ == "__main__":
    main()
