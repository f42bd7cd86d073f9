"""Small deterministic M1s for tests: a structured byte stream and the "tiny" preset trained on
it for a few Adam steps. Shared by python/tests/test_m1_integer.py (its fixtures) and
tests/golden/make_m1_tiny_v2.py (the committed v2 model of the C++ tests), so both describe the
same model. A random-init model is a poor stand-in: with large random weights its attention is
chaotic and amplifies any rounding; with the default init it predicts near-uniform tables.
"""
from __future__ import annotations

import numpy as np


def structured_corpus() -> np.ndarray:
    """A small structured byte stream: repeated words, some random bytes, some Korean."""
    rng = np.random.default_rng(1)
    words = [b"the ", b"cat ", b"sat ", b"on ", b"a ", b"mat. ", b"\xed\x95\x9c "]
    out = bytearray()
    while len(out) < 20000:
        out += words[rng.integers(len(words))] if rng.random() < 0.8 else bytes([rng.integers(256)])
    return np.frombuffer(bytes(out), np.uint8).astype(np.uint16)


def tiny_trained_model(corpus: np.ndarray, steps: int = 80):
    """The "tiny" M1 after `steps` Adam steps on `corpus` (seed 0, deterministic), in eval mode."""
    import torch

    from .config import get_preset
    from .model import M1, loss_fn
    from .train import sample_batch
    torch.manual_seed(0)
    m = M1(get_preset("tiny"))
    with torch.no_grad():
        for blk in m.blocks:
            blk.attn.rel_bias.weight.normal_(0, 1.0)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    for step in range(steps):
        x, y, g = (torch.from_numpy(a) for a in sample_batch(corpus, 0, step, 8, 64, 0.5, 4, 32))
        loss, _ = loss_fn(m(x, g), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return m.eval()
