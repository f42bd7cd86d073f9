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
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..m1.train import (StopOnSignal, add_common_args, atomic_save, lr_at, make_optimizer, open_csv,
                        rng_state, set_rng_state)
from ..shards import Shard, read_shard
from .config import M2Config, get_preset
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


_EQ_NAME = re.compile(r"equalinfo-b(\d+)-v(256|65k|65536)$")


def window_tokens(meta: dict, name: str = "") -> int | None:
    """Tokens per Equal-Info window (b / N) when the shard is windowed and N divides b.

    b and N come from the sidecar (`b`, `N`), else from an experiment method name such as
    `equalinfo-b16-v256` in meta["method"] or `name` (the shard's file stem).
    """
    b, n = meta.get("b"), meta.get("N")
    method = str(meta.get("method", "")).lower()
    if not (b and n):
        m = _EQ_NAME.search(method) or _EQ_NAME.search(name.lower())
        if not m:
            return None
        b, n = int(m.group(1)), (8 if m.group(2) == "256" else 16)
    elif "equalinfo" not in method and "equalinfo" not in name.lower():
        return None
    return b // n if b % n == 0 else None


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


# ----------------------------------------------------------------------------- main loop

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--train", required=True, help="train token shard (.shard)")
    p.add_argument("--val", required=True, help="validation token shard of the same method")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--preset", default="m2-cpu-xs")
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--steps", type=int, help="training steps")
    budget.add_argument("--tokens", type=float, help="training tokens (sets the steps)")
    budget.add_argument("--flops", type=float, help="training FLOPs, 6 N per token (sets steps)")
    p.add_argument("--stop-at", type=int, default=None, help="stop (and checkpoint) at this step")
    p.add_argument("--seq-len", type=int, default=512)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--micro-batch", type=int, default=0,
                   help="split each batch into micro-batches of this size (memory; 0 = whole)")
    p.add_argument("--eval-every", type=int, default=500, help="steps; 0 = only at the end")
    p.add_argument("--eval-tokens", type=int, default=None,
                   help="evaluate on the first documents covering at most this many validation "
                        "tokens (default: all)")
    p.add_argument("--eval-batch", type=int, default=16)
    add_common_args(p, warmup=100, ckpt_every=200, log_every=20)
    p.add_argument("--quiet", action="store_true", help="no per-log-row prints")
    return p


def steps_for(args, cfg: M2Config) -> int:
    per_step = args.batch * args.seq_len
    if args.steps is not None:
        n = args.steps
    elif args.tokens is not None:
        n = math.ceil(args.tokens / per_step)
    else:
        n = math.ceil(args.flops / (train_flops_per_token(cfg) * per_step))
    if n < 1:
        raise ValueError(f"the budget gives {n} steps")
    return n


def train(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    dev = torch.device(("cuda" if torch.cuda.is_available() else "cpu")
                       if args.device == "auto" else args.device)
    autocast = dev.type == "cuda"  # bf16 on CUDA; fp32 on CPU (bf16 measured no faster there)
    if args.micro_batch and args.batch % args.micro_batch:
        raise ValueError(f"--batch {args.batch} is not a multiple of --micro-batch "
                         f"{args.micro_batch}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tr, va = read_shard(args.train), read_shard(args.val)
    if tr.vocab_size != va.vocab_size:
        raise ValueError(f"train vocab {tr.vocab_size} != val vocab {va.vocab_size}")
    for key in ("method", "b", "N"):
        if key in tr.meta and key in va.meta and tr.meta[key] != va.meta[key]:
            raise ValueError(f"train and val shards differ in {key}: {tr.meta[key]!r} vs "
                             f"{va.meta[key]!r}")

    ckpt_path = out / "ckpt.pt"
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False) \
        if (args.resume and ckpt_path.exists()) else None
    cfg = (M2Config.from_dict(ckpt["config"]) if ckpt else
           get_preset(args.preset, vocab_size=tr.vocab_size, max_seq_len=args.seq_len))
    if cfg.vocab_size != tr.vocab_size or cfg.max_seq_len < args.seq_len:
        raise ValueError(f"checkpoint config {cfg} does not fit vocab {tr.vocab_size} / seq_len "
                         f"{args.seq_len}")
    total_steps = steps_for(args, cfg)
    torch.manual_seed(args.seed)
    model = M2(cfg).to(dev)
    opt = make_optimizer(model, args.lr, args.weight_decay)
    step, elapsed = 0, 0.0
    if ckpt:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        step, elapsed = ckpt["step"], ckpt["elapsed_s"]
        set_rng_state(ckpt["rng"])
        if ckpt["total_steps"] != total_steps:
            print(f"[m2] warning: the budget gives {total_steps} steps, the checkpoint's "
                  f"{ckpt['total_steps']}: the lr schedule changes", flush=True)
        print(f"[m2] resumed from {ckpt_path} at step {step}", flush=True)
    (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=1))
    n_ne = non_embedding_params(cfg)
    print(f"[m2] {tr.path.name}: vocab {tr.vocab_size}, {tr.n_tokens:,} train tokens, "
          f"{tr.bytes_per_token:.3f} bytes/token; {cfg}; non-embedding params {n_ne:,}; "
          f"{total_steps} steps x {args.batch} x {args.seq_len}; device {dev}", flush=True)

    batches = Batches(tr, args.seq_len, args.batch, args.seed)
    k = window_tokens(va.meta, va.path.stem)
    ev_tokens, ev_offset, ev_bytes = eval_stream(va, args.eval_tokens)
    ev_pos = ev_offset % k if k else None
    if k and len(va.doc_token_offsets) > 1 and np.any(np.diff(va.doc_token_offsets) % k):
        print(f"[m2] warning: some validation documents are not a whole number of {k}-token "
              f"windows; window positions may be off", flush=True)

    stop = StopOnSignal("m2")

    def save():
        atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                     "total_steps": total_steps, "config": cfg.to_dict(), "args": vars(args),
                     "rng": rng_state(), "elapsed_s": elapsed}, ckpt_path)

    logf, logw = open_csv(out / "log.csv", LOG_FIELDS, step if ckpt else None)
    posf, posw = open_csv(out / "positions.csv", POS_FIELDS, step if ckpt else None)
    last_step = total_steps if args.stop_at is None else min(total_steps, args.stop_at)
    tok_per_step = args.batch * args.seq_len
    micro = args.micro_batch or args.batch
    bar = tqdm(total=total_steps, initial=step, disable=not sys.stderr.isatty(),
               dynamic_ncols=True, desc=out.name)
    acc_nats = acc_tok = acc_time = 0.0
    last_eval = None
    model.train()
    try:
        while step < last_step and not stop.requested:
            t0 = time.time()
            lr = lr_at(step, total_steps, args.warmup, args.lr)
            for g in opt.param_groups:
                g["lr"] = lr
            ex = torch.from_numpy(batches(step)).to(dev)                  # [B, T]
            opt.zero_grad(set_to_none=True)
            for i in range(0, args.batch, micro):
                y = ex[i:i + micro]
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
                    logits = model(shift_right(y, cfg.bos))               # [b, T, V]
                loss, ce = loss_fn(logits, y)
                (loss * (len(y) / args.batch)).backward()
                acc_nats += float(ce.sum())
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
            opt.step()
            step += 1
            dt = time.time() - t0
            elapsed += dt
            acc_time += dt
            acc_tok += tok_per_step
            bar.update(1)

            do_eval = step == total_steps or (args.eval_every and step % args.eval_every == 0)
            if step % args.log_every == 0 or do_eval:
                row = {"step": step, "tokens_seen": step * tok_per_step,
                       "train_loss_nats": f"{acc_nats / acc_tok:.5f}", "lr": f"{lr:.3e}",
                       "val_loss_nats": "", "val_bpb": "", "val_acc": "",
                       "train_flops": f"{train_flops_per_token(cfg) * step * tok_per_step:.4e}",
                       "tokens_per_s": f"{acc_tok / acc_time:.1f}"}
                if do_eval:
                    t1 = time.time()
                    last_eval = evaluate(model, ev_tokens, ev_pos, ev_bytes, args.seq_len,
                                         args.eval_batch, dev, autocast)
                    elapsed += time.time() - t1
                    row.update(val_loss_nats=f"{last_eval['loss_nats']:.5f}",
                               val_bpb=f"{last_eval['bpb']:.5f}", val_acc=f"{last_eval['acc']:.5f}")
                    for p, n, l, a in last_eval["positions"]:
                        posw.writerow({"step": step, "tokens_seen": step * tok_per_step,
                                       "position": p, "n_tokens": n, "loss_nats": f"{l:.5f}",
                                       "accuracy": f"{a:.5f}"})
                    posf.flush()
                row["elapsed_s"] = f"{elapsed:.1f}"
                logw.writerow(row)
                logf.flush()
                if not args.quiet or do_eval:
                    msg = " ".join(f"{k_}={v}" for k_, v in row.items() if v != "")
                    (bar.write if not bar.disable else print)(f"[m2] {msg}")
                    sys.stdout.flush()
                acc_nats = acc_tok = acc_time = 0.0
            if step % args.ckpt_every == 0:
                save()
        save()
    finally:
        bar.close()
        logf.close()
        posf.close()
        stop.restore()

    result = {"step": step, "model": model, "done": step >= total_steps}
    if step >= total_steps:
        if last_eval is None:  # resumed after the final step's eval: evaluate again
            last_eval = evaluate(model, ev_tokens, ev_pos, ev_bytes, args.seq_len,
                                 args.eval_batch, dev, autocast)
        summary = {
            "train_shard": str(tr.path), "val_shard": str(va.path),
            "method": tr.meta.get("method"), "vocab_size": tr.vocab_size,
            "train_bytes_per_token": tr.bytes_per_token, "val_bytes_per_token":
                va.bytes_per_token, "config": cfg.to_dict(), "preset": args.preset,
            "non_embedding_params": n_ne,
            "inference_flops_per_token": forward_flops_per_token(cfg),
            "steps": step, "batch": args.batch, "seq_len": args.seq_len,
            "tokens_seen": step * tok_per_step,
            "train_flops": train_flops_per_token(cfg) * step * tok_per_step,
            "epochs": step * args.batch / batches.n_examples, "elapsed_s": elapsed,
            "val_loss_nats": last_eval["loss_nats"], "val_bpb": last_eval["bpb"],
            "val_acc": last_eval["acc"], "val_tokens": last_eval["n_tokens"],
            "val_text_bytes": last_eval["text_bytes"], "window_tokens": k,
            "val_positions": [{"position": p, "n_tokens": n, "loss_nats": l, "accuracy": a}
                              for p, n, l, a in last_eval["positions"]],
        }
        tmp = out / "result.json.tmp"
        tmp.write_text(json.dumps(summary, indent=1) + "\n")
        tmp.replace(out / "result.json")
        result["summary"] = summary
    return result


def main(argv=None):
    train(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
