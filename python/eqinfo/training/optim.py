"""AdamW with decay on weight matrices only, and the learning-rate schedule of M1 and M2."""
from __future__ import annotations

import math

import torch


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW (0.9, 0.95). Weight decay on weight matrices (Linear, embedding) only; not on norm
    gains or M1's relative-bias tables, which play the role of biases."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if (p.dim() < 2 or "rel_bias" in name) else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8)


def warmup_cosine_lr(step: int, total: int, warmup: int, peak: float) -> float:
    """Linear warmup to `peak`, then cosine decay to 10% of peak at `total`."""
    if step < warmup:
        return peak * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * t)))


def restart_ramp(step: int, ramp: dict | None) -> float:
    """lr multiplier after a restart with fresh optimizer moments (M1's --init-weights).

    ramp = {"step": s, "ramp": n}: (step - s + 1) / n for steps s .. s+n-1, then 1. With fresh
    Adam moments the first updates are sign-like (about +-lr in every coordinate), a shock to a
    trained model; ramping lets the moments fill in. None: no restart, always 1.
    """
    if ramp is None or step >= ramp["step"] + ramp["ramp"]:
        return 1.0
    return (step - ramp["step"] + 1) / ramp["ramp"]
