"""Bits/byte of the trivial models of a token stream (the paper's Table 3 line).

    uniform  = log2(vocab) x tokens / bytes
    unigram  = cross-entropy of the VALIDATION tokens under the TRAIN shard's token frequencies,
               add-one (Laplace) smoothed over the whole vocabulary, x tokens / bytes
both over the validation shard (tokens = its token count, EOS/padding included; bytes = its text
bytes, the same text for every method). Add-one keeps tokens never seen in train finite; with
millions of train tokens and v <= 65,536 it moves the result by well under 1%.
"""
from __future__ import annotations

import math

import numpy as np

from ..shards import Shard


def uniform_bpb(vocab_size: int, n_tokens: int, text_bytes: int) -> float:
    if vocab_size < 1 or text_bytes <= 0:
        raise ValueError(f"need vocab_size >= 1 and text_bytes > 0, got {vocab_size}, {text_bytes}")
    return math.log2(vocab_size) * n_tokens / text_bytes


def unigram_bpb(train_tokens: np.ndarray, val_tokens: np.ndarray, vocab_size: int,
                text_bytes: int, alpha: float = 1.0) -> float:
    """Cross-entropy (bits) of val_tokens under add-alpha train frequencies, per text byte."""
    if text_bytes <= 0:
        raise ValueError(f"text_bytes must be > 0, got {text_bytes}")
    counts = np.bincount(np.asarray(train_tokens, dtype=np.int64), minlength=vocab_size)
    if len(counts) > vocab_size:
        raise ValueError(f"train token {len(counts) - 1} >= vocab_size {vocab_size}")
    logp = np.log2(counts + alpha) - math.log2(counts.sum() + alpha * vocab_size)  # [V]
    val = np.asarray(val_tokens, dtype=np.int64)
    if val.size and val.max() >= vocab_size:
        raise ValueError(f"val token {int(val.max())} >= vocab_size {vocab_size}")
    return float(-logp[val].sum()) / text_bytes


def shard_baselines(train: Shard, val: Shard) -> dict:
    """Trivial-model bits/byte of one method's stream (module docstring)."""
    if train.vocab_size != val.vocab_size:
        raise ValueError(f"train vocab {train.vocab_size} != val vocab {val.vocab_size}")
    return {"uniform_bpb": uniform_bpb(val.vocab_size, val.n_tokens, val.text_bytes),
            "unigram_bpb": unigram_bpb(train.tokens, val.tokens, val.vocab_size, val.text_bytes),
            "val_tokens": val.n_tokens, "val_text_bytes": val.text_bytes,
            "val_bytes_per_token": val.bytes_per_token, "train_tokens": train.n_tokens,
            "train_text_bytes": train.text_bytes, "vocab_size": val.vocab_size}
