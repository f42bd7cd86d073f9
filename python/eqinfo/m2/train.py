"""Train M2 on one method's TRAIN token shard; evaluate bits/byte on its VALIDATION shard.

    eqinfo-train-m2 --train runs/shards/train/bytes.shard --val runs/shards/val/bytes.shard \
        --out runs/m2/bytes --preset m2-cpu-xs --tokens 4e6 --seq-len 256 --batch 16

Examples are the paper's: the shard's token stream cut into seq_len-token examples, shuffled
with a fixed seed (shards.Shard.examples). Example j of step s is global example g = s*batch + j
of epoch g // n_examples, whose order is Shard.examples(seq_len, seed=epoch_seed(seed, epoch)):
the batch is a pure function of (seed, step), so resuming needs no loader state and is exact.
Each example is predicted in full behind a BOS (model.shift_right).

Budget: --steps, or --tokens (steps = ceil(tokens / (batch * seq_len))), or --flops (training
FLOPs, Kaplan's 6 N per token with N the non-embedding parameters: model.train_flops_per_token).

Evaluation (every --eval-every steps and at the end), by the paper's formula:
    bits/byte = (total CE in nats over every validation token) / ln 2 / (validation text bytes)
The validation stream (documents in corpus order, or its first --eval-tokens tokens) is cut into
consecutive seq_len chunks, the last one padded and masked, so each token is predicted exactly
once; text bytes = Shard.text_bytes, the same validation text for every method (with
--eval-tokens, the text bytes of the documents wholly covered, and the cut falls on a document
boundary). For Equal-Info methods whose window b is a multiple of the token size N, loss and
accuracy are also logged per token position inside a window (paper Fig. 10): every document's
tokens start at a window boundary, so position = (t - first token of t's document) mod (b / N).

Outputs in --out: log.csv (step, tokens_seen, train_loss_nats, lr, val_loss_nats, val_bpb,
val_acc, train_flops, elapsed_s, tokens_per_s), positions.csv (step, tokens_seen, position,
n_tokens, loss_nats, accuracy), ckpt.pt (atomic; every --ckpt-every steps, at the end and on
SIGTERM/SIGINT), config.json, result.json (written once the budget is done: a finished run).

This module is what is M2's own (batches, loss, evaluation, result.json); the loop, optimiser,
schedule, checkpoints, logs and stop signals are eqinfo.training's, shared with M1. The flags are
the fields of config.M2TrainConfig; `--config FILE` reads them from JSON (the experiment's
train_config.json).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from ..registry import METHODS
from ..shards import Shard, read_shard
from ..training.checkpoint import load_checkpoint, restore, save_checkpoint
from ..training.cli import parse_config
from ..training.csv_log import CsvLog
from ..training.loop import LossMeter, resolve_device, train_loop
from ..training.optim import make_optimizer, warmup_cosine_lr
from .config import M2Config, M2TrainConfig, get_preset
from .model import (M2, forward_flops_per_token, loss_fn, non_embedding_params, shift_right,
                    train_flops_per_token)

LN2 = math.log(2.0)
LOG_FIELDS = ["step", "tokens_seen", "train_loss_nats", "lr", "val_loss_nats", "val_bpb",
              "val_acc", "train_flops", "elapsed_s", "tokens_per_s"]
POS_FIELDS = ["step", "tokens_seen", "position", "n_tokens", "loss_nats", "accuracy"]


# ----------------------------------------------------------------------------- data

def epoch_seed(seed: int, epoch: int) -> int:
    return seed * 1_000_003 + epoch


class Batches:
    """Training batches as a pure function of (seed, step) over a shard's shuffled examples."""

    def __init__(self, shard: Shard, seq_len: int, batch: int, seed: int):
        self.shard, self.seq_len, self.batch, self.seed = shard, seq_len, batch, seed
        self.n_examples = shard.n_tokens // seq_len
        if self.n_examples < 1:
            raise ValueError(f"{shard.path}: {shard.n_tokens} tokens, fewer than one example of "
                             f"seq_len {seq_len}")
        self._orders: dict[int, np.ndarray] = {}

    def order(self, epoch: int) -> np.ndarray:
        if epoch not in self._orders:
            self._orders = {epoch: self.shard.examples(self.seq_len, epoch_seed(self.seed, epoch))}
        return self._orders[epoch]

    def __call__(self, step: int) -> np.ndarray:
        """-> int64 [batch, seq_len] token examples of `step`."""
        g = step * self.batch + np.arange(self.batch)                     # [B] global indices
        starts = np.empty(self.batch, dtype=np.int64)
        for j, gi in enumerate(g):
            starts[j] = self.order(int(gi // self.n_examples))[gi % self.n_examples]
        idx = starts[:, None] + np.arange(self.seq_len)[None, :]          # [B, T]
        return np.asarray(self.shard.tokens[idx], dtype=np.int64)


def window_tokens(meta: dict, name: str = "") -> int | None:
    """Tokens per Equal-Info window (b / N) when the shard is windowed and N divides b.

    b and N come from the sidecar (`b`, `N`), else from the registry row of the method it names
    (meta["method"], or `name`, the shard's file stem).
    """
    b, n = meta.get("b"), meta.get("N")
    method = str(meta.get("method", ""))
    if b and n:
        if "equalinfo" not in method.lower() and "equalinfo" not in name.lower():
            return None
        return b // n if b % n == 0 else None
    for candidate in (method, name):
        if candidate in METHODS:
            return METHODS[candidate].window_tokens
    return None


def eval_stream(shard: Shard, max_tokens: int | None):
    """(tokens int64 [n], window position int64 [n] or None-able source, text bytes) of the
    validation stream, cut at a document boundary when max_tokens is given."""
    off = shard.doc_token_offsets
    n_docs = shard.n_docs
    if max_tokens is not None and max_tokens < shard.n_tokens:
        n_docs = int(np.searchsorted(off, max_tokens, side="right")) - 1   # docs wholly inside
        if n_docs < 1:
            raise ValueError(f"--eval-tokens {max_tokens} is shorter than the first validation "
                             f"document ({int(off[1])} tokens)")
    n = int(off[n_docs])
    tokens = np.asarray(shard.tokens[:n], dtype=np.int64)
    doc_start = np.repeat(off[:n_docs], np.diff(off[:n_docs + 1]))         # [n]
    offset_in_doc = np.arange(n, dtype=np.int64) - doc_start
    return tokens, offset_in_doc, int(shard.doc_text_bytes[:n_docs].sum())


@torch.no_grad()
def evaluate(model: M2, tokens: np.ndarray, positions: np.ndarray | None, text_bytes: int,
             seq_len: int, batch: int, device: torch.device, autocast: bool = False) -> dict:
    """bits/byte over every token of `tokens` exactly once (module docstring).

    positions: int64 [n] window position of every token (None: no per-position stats).
    -> {"loss_nats", "bpb", "acc", "n_tokens", "text_bytes", "positions": [(pos, n, loss, acc)]}
    """
    n = len(tokens)
    n_seq = -(-n // seq_len)
    x = np.zeros(n_seq * seq_len, dtype=np.int64)
    valid = np.zeros(n_seq * seq_len, dtype=bool)
    x[:n], valid[:n] = tokens, True
    x, valid = x.reshape(n_seq, seq_len), valid.reshape(n_seq, seq_len)
    ce_all = np.zeros(n_seq * seq_len, dtype=np.float64)
    hit_all = np.zeros(n_seq * seq_len, dtype=bool)
    was_training = model.training
    model.eval()
    for i in range(0, n_seq, batch):
        y = torch.from_numpy(x[i:i + batch]).to(device)                   # [b, T] targets
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            logits = model(shift_right(y, model.cfg.bos))                  # [b, T, V]
        _, ce = loss_fn(logits, y)                                         # [b, T] nats
        hit = logits.argmax(-1) == y
        sl = slice(i * seq_len, (i + len(y)) * seq_len)
        ce_all[sl] = ce.double().cpu().numpy().reshape(-1)
        hit_all[sl] = hit.cpu().numpy().reshape(-1)
    model.train(was_training)
    ce_all, hit_all = ce_all[:n], hit_all[:n]
    total = float(ce_all.sum())
    out = {"loss_nats": total / max(1, n), "bpb": total / LN2 / max(1, text_bytes),
           "acc": float(hit_all.mean()) if n else 0.0, "n_tokens": n, "text_bytes": text_bytes,
           "positions": []}
    if positions is not None:
        for p in range(int(positions.max()) + 1 if n else 0):
            m = positions == p
            out["positions"].append((p, int(m.sum()), float(ce_all[m].mean()),
                                     float(hit_all[m].mean())))
    return out


def bits_per_byte(total_nats: float, text_bytes: int) -> float:
    """The paper's formula: total validation loss in nats / ln 2 / validation text bytes."""
    if text_bytes <= 0:
        raise ValueError(f"text_bytes must be > 0, got {text_bytes}")
    return total_nats / LN2 / text_bytes


# ----------------------------------------------------------------------------- the run

class M2Task:
    """M2's part of the training loop (eqinfo.training.loop.TrainingTask): shuffled examples of
    the train shard, bits/byte on the validation stream, per-window-position stats."""

    def __init__(self, model: M2, cfg: M2TrainConfig, batches: Batches, val: tuple,
                 positions_log: CsvLog, device: torch.device, autocast: bool):
        self.model, self.cfg, self.batches = model, cfg, batches
        self.val_tokens, self.val_positions, self.val_text_bytes = val
        self.positions_log = positions_log
        self.device, self.autocast = device, autocast
        self.last_eval: dict | None = None

    def train_step(self, step: int, meter: LossMeter) -> None:
        ex = torch.from_numpy(self.batches(step)).to(self.device)          # [B, T]
        batch = len(ex)
        micro = self.cfg.micro_batch or batch
        for i in range(0, batch, micro):
            y = ex[i:i + micro]
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.autocast):
                logits = self.model(shift_right(y, self.model.cfg.bos))     # [b, T, V]
            loss, ce = loss_fn(logits, y)
            (loss * (len(y) / batch)).backward()     # the mean over the whole batch
            meter.add(float(ce.sum()), ce.numel())

    def train_fields(self, step: int, meter: LossMeter) -> dict[str, str]:
        tokens = step * self.cfg.batch * self.cfg.seq_len
        return {"train_flops": f"{train_flops_per_token(self.model.cfg) * tokens:.4e}"}

    def run_evaluation(self) -> dict:
        self.last_eval = evaluate(self.model, self.val_tokens, self.val_positions,
                                  self.val_text_bytes, self.cfg.seq_len, self.cfg.eval_batch,
                                  self.device, self.autocast)
        return self.last_eval

    def evaluate(self, step: int) -> dict[str, str]:
        ev = self.run_evaluation()
        tokens_seen = step * self.cfg.batch * self.cfg.seq_len
        for p, n, loss, acc in ev["positions"]:
            self.positions_log.write({"step": step, "tokens_seen": tokens_seen, "position": p,
                                      "n_tokens": n, "loss_nats": f"{loss:.5f}",
                                      "accuracy": f"{acc:.5f}"})
        return {"val_loss_nats": f"{ev['loss_nats']:.5f}", "val_bpb": f"{ev['bpb']:.5f}",
                "val_acc": f"{ev['acc']:.5f}"}


def read_shards(cfg: M2TrainConfig) -> tuple[Shard, Shard]:
    """The run's train and validation shards, checked to be of one method and vocabulary."""
    tr, va = read_shard(cfg.train), read_shard(cfg.val)
    if tr.vocab_size != va.vocab_size:
        raise ValueError(f"train vocab {tr.vocab_size} != val vocab {va.vocab_size}")
    for key in ("method", "b", "N"):
        if key in tr.meta and key in va.meta and tr.meta[key] != va.meta[key]:
            raise ValueError(f"train and val shards differ in {key}: {tr.meta[key]!r} vs "
                             f"{va.meta[key]!r}")
    return tr, va


def train(cfg: M2TrainConfig) -> dict:
    """One run (module docstring). -> {"step", "model", "done"} and, once the budget is done,
    "summary" (= result.json)."""
    dev, autocast = resolve_device(cfg)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    tr, va = read_shards(cfg)

    ckpt = load_checkpoint(out, cfg.resume)
    model_cfg = (M2Config.from_dict(ckpt["config"]) if ckpt else
                 get_preset(cfg.preset, vocab_size=tr.vocab_size, max_seq_len=cfg.seq_len))
    if model_cfg.vocab_size != tr.vocab_size or model_cfg.max_seq_len < cfg.seq_len:
        raise ValueError(f"checkpoint config {model_cfg} does not fit vocab {tr.vocab_size} / "
                         f"seq_len {cfg.seq_len}")
    total_steps = cfg.total_steps(model_cfg)
    torch.manual_seed(cfg.seed)
    model = M2(model_cfg).to(dev)
    opt = make_optimizer(model, cfg.lr, cfg.weight_decay)
    step, elapsed = 0, 0.0
    if ckpt:
        step, elapsed = restore(ckpt, model, opt)
        if ckpt["total_steps"] != total_steps:
            print(f"[m2] warning: the budget gives {total_steps} steps, the checkpoint's "
                  f"{ckpt['total_steps']}: the lr schedule changes", flush=True)
        print(f"[m2] resumed from {out / 'ckpt.pt'} at step {step}", flush=True)
    (out / "config.json").write_text(json.dumps(model_cfg.to_dict(), indent=1))
    n_ne = non_embedding_params(model_cfg)
    print(f"[m2] {tr.path.name}: vocab {tr.vocab_size}, {tr.n_tokens:,} train tokens, "
          f"{tr.bytes_per_token:.3f} bytes/token; {model_cfg}; non-embedding params {n_ne:,}; "
          f"{total_steps} steps x {cfg.batch} x {cfg.seq_len}; device {dev}", flush=True)

    batches = Batches(tr, cfg.seq_len, cfg.batch, cfg.seed)
    k = window_tokens(va.meta, va.path.stem)
    ev_tokens, ev_offset, ev_bytes = eval_stream(va, cfg.eval_tokens)
    ev_pos = ev_offset % k if k else None
    if k and len(va.doc_token_offsets) > 1 and np.any(np.diff(va.doc_token_offsets) % k):
        print(f"[m2] warning: some validation documents are not a whole number of {k}-token "
              f"windows; window positions may be off", flush=True)

    def save(at_step: int, at_elapsed: float) -> None:
        save_checkpoint(out, model, opt, at_step, at_elapsed, model_cfg.to_dict(), cfg.to_dict(),
                        total_steps=total_steps)

    log = CsvLog(out / "log.csv", LOG_FIELDS, step if ckpt else None)
    positions_log = CsvLog(out / "positions.csv", POS_FIELDS, step if ckpt else None)
    task = M2Task(model, cfg, batches, (ev_tokens, ev_pos, ev_bytes), positions_log, dev, autocast)
    try:
        step, elapsed = train_loop(
            task, opt, cfg, total_steps=total_steps, step=step, elapsed_s=elapsed,
            tokens_per_step=cfg.batch * cfg.seq_len,
            lr_at=lambda s: warmup_cosine_lr(s, total_steps, cfg.warmup, cfg.lr),
            log=log, save=save, tag="m2")
    finally:
        log.close()
        positions_log.close()

    result = {"step": step, "model": model, "done": step >= total_steps}
    if step >= total_steps:
        # resumed after the final step's evaluation: evaluate again
        ev = task.last_eval if task.last_eval is not None else task.run_evaluation()
        tokens_seen = step * cfg.batch * cfg.seq_len
        summary = {
            "train_shard": str(tr.path), "val_shard": str(va.path),
            "method": tr.meta.get("method"), "vocab_size": tr.vocab_size,
            "train_bytes_per_token": tr.bytes_per_token, "val_bytes_per_token":
                va.bytes_per_token, "config": model_cfg.to_dict(), "preset": cfg.preset,
            "non_embedding_params": n_ne,
            "inference_flops_per_token": forward_flops_per_token(model_cfg),
            "steps": step, "batch": cfg.batch, "seq_len": cfg.seq_len,
            "tokens_seen": tokens_seen,
            "train_flops": train_flops_per_token(model_cfg) * tokens_seen,
            "epochs": step * cfg.batch / batches.n_examples, "elapsed_s": elapsed,
            "val_loss_nats": ev["loss_nats"], "val_bpb": ev["bpb"],
            "val_acc": ev["acc"], "val_tokens": ev["n_tokens"],
            "val_text_bytes": ev["text_bytes"], "window_tokens": k,
            "val_positions": [{"position": p, "n_tokens": n, "loss_nats": l, "accuracy": a}
                              for p, n, l, a in ev["positions"]],
        }
        tmp = out / "result.json.tmp"
        tmp.write_text(json.dumps(summary, indent=1) + "\n")
        tmp.replace(out / "result.json")
        result["summary"] = summary
    return result


def parse_args(argv: list[str] | None = None) -> M2TrainConfig:
    return parse_config(M2TrainConfig, argv, __doc__.split("\n\n")[0])


def main(argv=None):
    train(parse_args(argv))


if __name__ == "__main__":
    main()
