"""M1 v2's training data: English plus a fixed fraction of Korean/Chinese, and the validation
streams of both (docs/m1_training.md, "M1 v2").

The mix is by sequences: each training sequence (seq_len + 1 symbols) comes from the second
corpus with probability `frac`, else from the English train split, at a uniform random offset of
the chosen one. Sequences are all the same length, so `frac` is also the expected fraction of
training symbols (bytes + EOS) from the second corpus. The two corpora stay separate arrays
(memory-mapped caches of eqinfo.data.load_split): nothing is concatenated or copied.

Without a mix (frac 0, the runs before M1 v2) the offsets are drawn exactly as before, so the
old runs keep their batches and losses bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import CHINESE, KOREAN, MULTILINGUAL_FILE, default_data_path, load_split


@dataclass(frozen=True)
class TrainMix:
    other: np.ndarray   # the second corpus's flat train symbols (eqinfo.data.load_split)
    frac: float         # probability that a sequence is drawn from `other`

    def __post_init__(self):
        if not 0.0 < self.frac < 1.0:
            raise ValueError(f"mix fraction must be in (0, 1), got {self.frac}")


def draw_sequences(rng: np.random.Generator, train: np.ndarray, batch: int, seq_len: int,
                   mix: TrainMix | None = None) -> np.ndarray:
    """[batch, seq_len + 1] int64 consecutive symbols at random offsets (module docstring)."""
    span = np.arange(seq_len + 1)[None, :]
    if mix is None:
        # The draw of every run before the mix existed: keep it first and alone.
        offsets = rng.integers(0, len(train) - seq_len - 1, size=batch)
        return np.asarray(train[offsets[:, None] + span], dtype=np.int64)
    from_other = rng.random(batch) < mix.frac                               # [B]
    off_en = rng.integers(0, len(train) - seq_len - 1, size=batch)
    off_other = rng.integers(0, len(mix.other) - seq_len - 1, size=batch)
    seqs = np.empty((batch, seq_len + 1), dtype=np.int64)
    en, other = np.nonzero(~from_other)[0], np.nonzero(from_other)[0]
    seqs[en] = train[off_en[en, None] + span]
    seqs[other] = mix.other[off_other[other, None] + span]
    return seqs


def load_mix(path: str | None, frac: float, cache_dir) -> TrainMix | None:
    """The second corpus's train split as a TrainMix (None when frac is 0)."""
    if frac == 0.0:
        return None
    other, _ = load_split(path or default_data_path(MULTILINGUAL_FILE), "train", cache_dir)
    return TrainMix(other, frac)


def load_mix_validation(path: str | None, cache_dir) -> dict[str, np.ndarray]:
    """{"ko": symbols, "zh": symbols}: the second corpus's validation split by language (the
    file is ordered Korean then Chinese, so the first N symbols of the whole split would be
    Korean only)."""
    path = path or default_data_path(MULTILINGUAL_FILE)
    return {name: load_split(path, "val", cache_dir, langs=langs)[0]
            for name, langs in (("ko", KOREAN), ("zh", CHINESE))}
