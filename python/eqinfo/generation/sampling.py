"""The token loop: M2 continues a token sequence one token at a time, in whole groups, from a
seeded generator (docs/generation.md, "Sampling")."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from .errors import GenerateError


def _pick(logits: torch.Tensor, temperature: float, top_k: int | None,
          gen: torch.Generator) -> int:
    """One token from logits [V] (float, CPU)."""
    if temperature == 0:
        return int(torch.argmax(logits))
    x = logits.double() / temperature                     # temperature=inf -> uniform
    if top_k is not None and top_k < x.numel():
        v, idx = torch.topk(x, top_k)
        x = torch.full_like(x, -math.inf).scatter_(0, idx, v)
    p = torch.softmax(x, dim=0)
    if not torch.isfinite(p).all():
        raise GenerateError("the model produced non-finite logits")
    return int(torch.multinomial(p, 1, generator=gen))


@torch.no_grad()
def sample_tokens(model, prefix: np.ndarray, n_new: int, *, group: int = 1,
                  temperature: float = 1.0, top_k: int | None = None,
                  generator: torch.Generator | None = None,
                  stop: Callable[[np.ndarray], bool] | None = None,
                  device: torch.device | str = "cpu") -> tuple[np.ndarray, bool]:
    """Continue `prefix` by up to n_new tokens (n_new a multiple of `group`).

    No KV cache: each step re-runs the model on [BOS] + the last tokens that fit in
    max_seq_len. M2 here is small and generations are short, so the quadratic cost is
    irrelevant and the loop stays obviously correct. The context window slides by whole groups,
    so, as in training (examples start at window boundaries), the token after BOS starts a
    window. `stop(tokens so far)` is asked after each whole group; True ends the sample.
    -> (the new tokens uint16, whether `stop` ended it)
    """
    cfg = model.cfg
    room = cfg.max_seq_len - 1                              # BOS takes one position
    ctx = [int(t) for t in prefix]
    new: list[int] = []
    for _ in range(n_new):
        start = max(0, len(ctx) - room)
        start = min(len(ctx), -(-start // group) * group)   # slide by whole groups
        inp = torch.tensor([[cfg.bos] + ctx[start:]], dtype=torch.long, device=device)
        logits = model(inp)[0, -1].float().cpu()            # [V]
        t = _pick(logits, temperature, top_k, generator)
        ctx.append(t)
        new.append(t)
        if stop is not None and len(new) % group == 0 and stop(np.asarray(ctx, dtype=np.uint16)):
            return np.asarray(new, dtype=np.uint16), True
    return np.asarray(new, dtype=np.uint16), False


def sample_seed(seed: int, i: int) -> int:
    """Sample i's own generator seed: sample i is the same whatever --samples is."""
    return (seed * 1_000_003 + i) % (1 << 63)

