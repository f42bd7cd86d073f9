"""Train M1 on the byte stream of the fixed TRAIN split, with exact resumption.

    PYTHONPATH=python python -m eqinfo.m1.train --preset m1-3m --out runs/m1-3m --steps 10000

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
uniform in [--reset-min, --reset-max].

Evaluation: bits/byte on the first --eval-bytes symbols of the VALIDATION split, in two modes:
"full" (contiguous chunks of seq_len, EOS resets only) and "window" (also a reset every 16
symbols, a proxy for Equal-Info windows). bits/byte = total nats over all symbols (EOS included)
/ ln 2 / number of text bytes (EOS excluded).

Resuming: from <out>/ckpt.pt, exactly. Without one (a fresh machine), --init-weights SNAPSHOT
continues from a weights-only snapshot (eqinfo.m1.snapshot) at its step with a fresh optimizer and
an lr ramp over --init-ramp steps; see docs/m1_training.md.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..data import DEFAULT_CACHE_DIR, EOS, load_split
from .config import M1Config, get_preset
from .model import M1, flops_per_byte, loss_fn, non_embedding_params

LOG_FIELDS = ["step", "tokens_seen", "train_loss_nats", "train_bpb", "lr", "val_bpb_full",
              "val_bpb_window", "elapsed_s", "tokens_per_s"]
LN2 = math.log(2.0)


# ----------------------------------------------------------------------------- batches

def segment_ids_from_inputs(inputs: np.ndarray) -> np.ndarray:
    """[B, T] inputs -> [B, T] int64 segment ids: a new segment at every EOS input."""
    return np.cumsum(inputs == EOS, axis=1, dtype=np.int64)


def sample_batch(train: np.ndarray, seed: int, step: int, batch: int, seq_len: int,
                 reset_frac: float, reset_min: int, reset_max: int):
    """Training batch for `step`: a pure function of (seed, step). -> inputs, targets, segs [B, T]."""
    rng = np.random.default_rng([seed, step])
    offsets = rng.integers(0, len(train) - seq_len - 1, size=batch)         # [B]
    idx = offsets[:, None] + np.arange(seq_len + 1)[None, :]               # [B, T+1]
    seqs = np.asarray(train[idx], dtype=np.int64)                          # [B, T+1]
    inputs, targets = seqs[:, :-1].copy(), seqs[:, 1:]
    n_max = seq_len // max(1, reset_min) + 2
    do_reset = rng.random(batch) < reset_frac                              # [B]
    lengths = rng.integers(reset_min, reset_max + 1, size=(batch, n_max))  # [B, n_max]
    first = rng.integers(1, reset_max + 1, size=batch)                     # phase of 1st reset
    for b in np.nonzero(do_reset)[0]:
        pos = first[b] + np.concatenate([[0], np.cumsum(lengths[b, :-1])])
        inputs[b, pos[pos < seq_len]] = EOS
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


# ----------------------------------------------------------------------------- optimisation

def lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    """Linear warmup to `peak`, then cosine decay to 10% of peak at `total`."""
    if step < warmup:
        return peak * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * t)))


def make_optimizer(model: M1, lr: float, wd: float) -> torch.optim.AdamW:
    # Weight decay on weight matrices (Linear + embedding) only; not on RMSNorm gains or the
    # relative-bias tables, which play the role of biases.
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if (p.dim() < 2 or "rel_bias" in name) else decay).append(p)
    groups = [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8)


# ----------------------------------------------------------------------------- checkpoints / log

class StopOnSignal:
    """SIGTERM/SIGINT ask a training loop to checkpoint after its current step and exit
    (`while ... and not stop.requested`); restore() puts the previous handlers back."""

    def __init__(self, tag: str):
        self.requested = False
        self._tag = tag
        self._old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}

    def _on_signal(self, signum, _frame):
        print(f"[{self._tag}] signal {signum}: checkpointing after this step", flush=True)
        self.requested = True

    def restore(self) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)


def atomic_save(obj, path: Path):
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)  # a kill mid-write never leaves a truncated checkpoint


def rng_state() -> dict:
    st = {"torch": torch.get_rng_state(), "python": random.getstate(),
          "numpy": np.random.get_state()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: dict):
    torch.set_rng_state(st["torch"])
    random.setstate(st["python"])
    np.random.set_state(st["numpy"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


def open_csv(path: Path, fields: list[str], resume_step: int | None):
    """CSV log; on resume drop rows written after the checkpoint (they will be redone)."""
    rows = []
    if resume_step is not None and path.exists():
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
    f = open(path, "w", newline="")
    w = csv.DictWriter(f, fieldnames=fields)
    w.writeheader()
    w.writerows(rows)
    f.flush()
    return f, w


# ----------------------------------------------------------------------------- main loop

def add_common_args(p: argparse.ArgumentParser, *, warmup: int, ckpt_every: int,
                    log_every: int) -> None:
    """The options M1 and M2 training share (eqinfo.m2.train uses this too), with each trainer's
    own defaults for the schedule and the logging/checkpoint cadence."""
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=warmup)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--ckpt-every", type=int, default=ckpt_every)
    p.add_argument("--log-every", type=int, default=log_every)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue from <out>/ckpt.pt if it exists")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--preset", default="m1-3m")
    p.add_argument("--out", default="runs/m1-3m", help="run directory")
    p.add_argument("--data", default=None, help="corpus .jsonl.gz (default: shared data)")
    p.add_argument("--cache-dir", default=None, help="default: <repo>/runs/cache")
    p.add_argument("--steps", type=int, default=10000, help="total steps (sets the schedule)")
    p.add_argument("--stop-at", type=int, default=None, help="stop (and checkpoint) at this step")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--reset-frac", type=float, default=0.5)
    p.add_argument("--reset-min", type=int, default=4)
    p.add_argument("--reset-max", type=int, default=96)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--eval-bytes", type=int, default=200_000)
    p.add_argument("--eval-window", type=int, default=16)
    p.add_argument("--eval-batch", type=int, default=16)
    add_common_args(p, warmup=300, ckpt_every=250, log_every=50)
    p.add_argument("--init-weights", default=None, metavar="PATH",
                   help="only when <out>/ckpt.pt does not exist: start from this weights-only "
                        "snapshot (eqinfo.m1.snapshot) at its step, with a fresh optimizer")
    p.add_argument("--init-ramp", type=int, default=50,
                   help="with --init-weights: scale the lr linearly from 1/N to 1 over the first N "
                        "steps after the snapshot's step (fresh Adam moments)")
    return p


def train(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    dev = torch.device(("cuda" if torch.cuda.is_available() else "cpu")
                       if args.device == "auto" else args.device)
    autocast = dev.type == "cuda"  # bf16 on CUDA only; fp32 on CPU
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = args.cache_dir if args.cache_dir is not None else DEFAULT_CACHE_DIR
    train_sym, _ = load_split(args.data, "train", cache)
    val_sym, _ = load_split(args.data, "val", cache)

    ckpt_path = out / "ckpt.pt"
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False) \
        if (args.resume and ckpt_path.exists()) else None
    snap = None
    if ckpt is None and args.init_weights:
        snap = torch.load(args.init_weights, map_location="cpu", weights_only=False)
    cfg = M1Config.from_dict((ckpt or snap)["config"]) if (ckpt or snap) else get_preset(args.preset)
    torch.manual_seed(args.seed)
    model = M1(cfg).to(dev)
    opt = make_optimizer(model, args.lr, args.weight_decay)
    step, best, elapsed = 0, float("inf"), 0.0
    # {"step": s, "ramp": n}: lr multiplier (step - s + 1) / n for steps s .. s+n-1 (a run started
    # from --init-weights; kept in ckpt.pt so an exact resume continues the ramp). None: no ramp.
    init = None
    if ckpt:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        step, best, elapsed = ckpt["step"], ckpt["best_val"], ckpt["elapsed_s"]
        set_rng_state(ckpt["rng"])
        if ckpt["args"].get("steps") != args.steps:
            print(f"[train] warning: --steps {args.steps} differs from checkpoint's "
                  f"{ckpt['args'].get('steps')}: the lr schedule changes", flush=True)
        init = ckpt.get("init")
        print(f"[train] resumed from {ckpt_path} at step {step}", flush=True)
        if args.init_weights:
            print(f"[train] --init-weights {args.init_weights} ignored: {ckpt_path} exists",
                  flush=True)
    elif snap is not None:
        model.load_state_dict({k: v.float() for k, v in snap["model"].items()})  # bf16 -> fp32
        step, elapsed = int(snap["step"]), float(snap.get("elapsed_s", 0.0))
        best = float(snap.get("best_val", float("inf")))
        init = {"step": step, "ramp": max(1, args.init_ramp), "from": str(args.init_weights)}
        if snap.get("args", {}).get("steps") not in (None, args.steps):
            print(f"[train] warning: --steps {args.steps} differs from the snapshot's "
                  f"{snap['args']['steps']}: the lr schedule changes", flush=True)
        log_path = out / "log.csv"
        if snap.get("log_csv"):
            if log_path.exists():
                os.replace(log_path, out / "log.csv.before-init")
            with open(log_path, "w", newline="") as f:   # open_csv below keeps rows <= step
                f.write(snap["log_csv"])
        print(f"[train] initialised from weights-only snapshot {args.init_weights} at step {step} "
              f"(fresh optimizer, lr ramp over {init['ramp']} steps)", flush=True)
    (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1))
    print(f"[train] {cfg} non-embedding params {non_embedding_params(cfg):,}; "
          f"FLOPs/byte at context {cfg.context}: {flops_per_byte(cfg) / 1e6:.2f}M; device {dev}",
          flush=True)

    stop = StopOnSignal("train")

    def save():
        atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                     "config": cfg.to_dict(), "args": vars(args), "rng": rng_state(),
                     "best_val": best, "elapsed_s": elapsed, "init": init}, ckpt_path)

    def evaluate() -> tuple[float, float]:
        kw = dict(device=dev, batch=args.eval_batch, autocast=autocast)
        full = evaluate_bpb(model, val_sym, args.eval_bytes, args.seq_len, None, **kw)
        win = evaluate_bpb(model, val_sym, args.eval_bytes, args.seq_len, args.eval_window, **kw)
        return full, win

    logf, logw = open_csv(out / "log.csv", LOG_FIELDS, step if (ckpt or snap) else None)
    last_step = args.steps if args.stop_at is None else min(args.steps, args.stop_at)
    bar = tqdm(total=args.steps, initial=step, disable=not sys.stderr.isatty(), dynamic_ncols=True)
    acc_nats = acc_bytes = acc_syms = acc_time = 0.0
    tokens_per_step = args.batch * args.seq_len
    model.train()
    try:
        while step < last_step and not stop.requested:
            t0 = time.time()
            lr = lr_at(step, args.steps, args.warmup, args.lr)
            if init is not None and step < init["step"] + init["ramp"]:
                lr *= (step - init["step"] + 1) / init["ramp"]
            for g in opt.param_groups:
                g["lr"] = lr
            x, y, g_ = (torch.from_numpy(a).to(dev) for a in sample_batch(
                train_sym, args.seed, step, args.batch, args.seq_len,
                args.reset_frac, args.reset_min, args.reset_max))
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
                logits = model(x, g_)                     # [B, T, 257]
            loss, ce = loss_fn(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
            opt.step()
            step += 1
            dt = time.time() - t0
            elapsed += dt
            acc_time += dt
            acc_nats += float(ce.sum())
            acc_syms += ce.numel()
            acc_bytes += int((y != EOS).sum())
            bar.update(1)

            do_eval = step % args.eval_every == 0 or step == args.steps
            if step % args.log_every == 0 or do_eval:
                row = {"step": step, "tokens_seen": step * tokens_per_step,
                       "train_loss_nats": f"{acc_nats / acc_syms:.5f}",
                       "train_bpb": f"{acc_nats / LN2 / acc_bytes:.5f}", "lr": f"{lr:.3e}",
                       "val_bpb_full": "", "val_bpb_window": "",
                       "tokens_per_s": f"{acc_syms / acc_time:.1f}"}
                if do_eval:
                    t1 = time.time()
                    full, win = evaluate()
                    elapsed += time.time() - t1
                    row["val_bpb_full"], row["val_bpb_window"] = f"{full:.5f}", f"{win:.5f}"
                    if win < best:
                        best = win
                        atomic_save(model.state_dict(), out / "weights_best.pt")
                row["elapsed_s"] = f"{elapsed:.1f}"
                logw.writerow(row)
                logf.flush()
                msg = " ".join(f"{k}={v}" for k, v in row.items() if v != "")
                (bar.write if not bar.disable else print)(f"[train] {msg}")
                sys.stdout.flush()
                acc_nats = acc_bytes = acc_syms = acc_time = 0.0
            if step % args.ckpt_every == 0:
                save()
        save()
    finally:
        bar.close()
        logf.close()
        stop.restore()
    return {"step": step, "best_val": best, "model": model}


def main(argv=None):
    args = build_parser().parse_args(argv)
    train(args)


if __name__ == "__main__":
    main()
