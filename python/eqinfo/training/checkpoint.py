"""Checkpoints that resume exactly: weights, optimizer, step and every RNG, written atomically.

A checkpoint (<out>/ckpt.pt) is a dict:
    {"model": state_dict, "optimizer": state_dict, "step", "elapsed_s", "rng": rng_state(),
     "config": the model config's to_dict, "args": the training config's to_dict, ...}
plus what a trainer adds of its own (M1: "best_val", "init"; M2: "total_steps"). These are the
keys the trainers wrote before this module existed, so older checkpoints resume unchanged.
Batches are pure functions of (seed, step), so no loader state is needed.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from ..atomic_files import replacing

CHECKPOINT = "ckpt.pt"


def atomic_save(obj, path: Path) -> None:
    """torch.save through eqinfo.atomic_files: a kill mid-write never leaves a truncated checkpoint."""
    with replacing(path) as tmp:
        torch.save(obj, tmp)


def rng_state() -> dict:
    st = {"torch": torch.get_rng_state(), "python": random.getstate(),
          "numpy": np.random.get_state()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: dict) -> None:
    torch.set_rng_state(st["torch"])
    random.setstate(st["python"])
    np.random.set_state(st["numpy"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


def load_checkpoint(out: Path, resume: bool) -> dict | None:
    """<out>/ckpt.pt when resuming and it exists, else None (a fresh run)."""
    path = out / CHECKPOINT
    if not (resume and path.exists()):
        return None
    return torch.load(path, map_location="cpu", weights_only=False)  # our own file (RNG states)


def restore(ckpt: dict, model: torch.nn.Module, opt: torch.optim.Optimizer) -> tuple[int, float]:
    """Weights, optimizer and RNG states from `ckpt`. -> (step, elapsed_s)."""
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    set_rng_state(ckpt["rng"])
    return int(ckpt["step"]), float(ckpt["elapsed_s"])


def save_checkpoint(out: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, step: int,
                    elapsed_s: float, config: dict, args: dict, **extra) -> None:
    atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                 "config": config, "args": args, "rng": rng_state(), "elapsed_s": elapsed_s,
                 **extra}, out / CHECKPOINT)
