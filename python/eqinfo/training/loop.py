"""The training loop of M1 and M2: schedule, step, clipping, log rows, evaluations, checkpoints.

A trainer supplies a TrainingTask (its model, the forward/backward of one step's batch, the
fields of its own in a log row, its evaluation) and the loop does the rest, in this order per
step (the order is part of the results: the same seed gives the same weights, bit for bit):

    lr = lr_at(step) -> zero grads -> task.train_step (forward + backward) -> clip -> AdamW step
    -> log row every log_every steps -> evaluation every eval_every steps and at the last step
    (its time counts in elapsed_s, not in tokens_per_s) -> checkpoint every ckpt_every steps

and checkpoints once more when it ends: at the budget, at stop_at, or on SIGTERM/SIGINT.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import torch
from tqdm import tqdm

from .config import TrainConfig
from .csv_log import CsvLog
from .signals import StopOnSignal


@dataclass
class LossMeter:
    """Training loss summed since the last log row."""
    nats: float = 0.0       # cross entropy over every predicted token
    tokens: int = 0         # predicted tokens
    text_bytes: int = 0     # text bytes they cover, where the trainer knows (M1: non-EOS)
    seconds: float = 0.0    # training time (evaluations excluded)

    def add(self, nats: float, tokens: int, text_bytes: int = 0) -> None:
        self.nats += nats
        self.tokens += tokens
        self.text_bytes += text_bytes


class TrainingTask(Protocol):
    """What a trainer brings to the loop: everything that is its own."""
    model: torch.nn.Module

    def train_step(self, step: int, meter: LossMeter) -> None:
        """Forward and backward of `step`'s batch (a pure function of seed and step), its loss
        added to `meter`; the loop has zeroed the gradients and clips and steps after."""

    def train_fields(self, step: int, meter: LossMeter) -> dict[str, str]:
        """The trainer's own training fields of a log row (M1: train_bpb; M2: train_flops)."""

    def evaluate(self, step: int) -> dict[str, str]:
        """Validation fields of the log row at an evaluation step."""


def resolve_device(cfg: TrainConfig) -> tuple[torch.device, bool]:
    """Sets the torch threads. -> (device, autocast): bf16 autocast on CUDA only; fp32 on CPU
    (measured no faster in bf16 there)."""
    torch.set_num_threads(cfg.threads)
    dev = torch.device(("cuda" if torch.cuda.is_available() else "cpu")
                       if cfg.device == "auto" else cfg.device)
    return dev, dev.type == "cuda"


def train_loop(task: TrainingTask, opt: torch.optim.Optimizer, cfg: TrainConfig, *,
               total_steps: int, step: int, elapsed_s: float, tokens_per_step: int,
               lr_at: Callable[[int], float], log: CsvLog,
               save: Callable[[int, float], None], tag: str) -> tuple[int, float]:
    """Train from `step` to the budget (`total_steps`) or cfg.stop_at (module docstring).
    save(step, elapsed_s) writes a checkpoint. -> (step, elapsed_s) reached."""
    last_step = total_steps if cfg.stop_at is None else min(total_steps, cfg.stop_at)
    elapsed = elapsed_s
    stop = StopOnSignal(tag)
    bar = tqdm(total=total_steps, initial=step, disable=not sys.stderr.isatty(),
               dynamic_ncols=True, desc=Path(cfg.out).name)
    say = bar.write if not bar.disable else print
    meter = LossMeter()
    task.model.train()
    try:
        while step < last_step and not stop.requested:
            t0 = time.time()
            lr = lr_at(step)
            for g in opt.param_groups:
                g["lr"] = lr
            opt.zero_grad(set_to_none=True)
            task.train_step(step, meter)
            torch.nn.utils.clip_grad_norm_(task.model.parameters(), cfg.grad_clip)
            opt.step()
            step += 1
            dt = time.time() - t0
            elapsed += dt
            meter.seconds += dt
            bar.update(1)

            do_eval = step == total_steps or (cfg.eval_every and step % cfg.eval_every == 0)
            if step % cfg.log_every == 0 or do_eval:
                row = {"step": step, "tokens_seen": step * tokens_per_step,
                       "train_loss_nats": f"{meter.nats / meter.tokens:.5f}", "lr": f"{lr:.3e}",
                       "tokens_per_s": f"{meter.tokens / meter.seconds:.1f}",
                       **task.train_fields(step, meter)}
                if do_eval:
                    t1 = time.time()
                    row.update(task.evaluate(step))
                    elapsed += time.time() - t1
                row["elapsed_s"] = f"{elapsed:.1f}"
                log.write(row)
                if not cfg.quiet or do_eval:
                    say(f"[{tag}] " + " ".join(f"{k}={row[k]}" for k in log.fields
                                               if row.get(k, "") != ""))
                    sys.stdout.flush()
                meter = LossMeter()
            if step % cfg.ckpt_every == 0:
                save(step, elapsed)
        save(step, elapsed)
    finally:
        bar.close()
        stop.restore()
    return step, elapsed
