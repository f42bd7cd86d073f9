"""Model configuration for M1 and its named presets.

The structure is fixed (see model.py); a config only sets sizes. Keep it that way: the C++ side
re-implements exactly this network in integer fixed point, and reads these fields from the export.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

# Symbols: UTF-8 bytes 0..255 plus EOS = 256. EOS also serves as BOS: every M1 context starts
# with it (the EOS that ended the previous document, or an explicit one at a window reset).
EOS = 256
VOCAB_SIZE = 257


@dataclass(frozen=True)
class M1Config:
    d_model: int
    n_heads: int
    n_layers: int
    mlp_dim: int
    vocab_size: int = VOCAB_SIZE
    # T5 relative position bias, unidirectional bucketing (see model.relative_position_bucket).
    rel_num_buckets: int = 32
    rel_max_distance: int = 128
    norm_eps: float = 1e-6
    # Paper's training context; used for the FLOPs/byte report, not a hard limit of the model
    # (relative positions have no maximum length).
    context: int = 1024

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} not divisible by n_heads {self.n_heads}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "M1Config":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


PRESETS: dict[str, M1Config] = {
    # For unit tests only: runs in milliseconds.
    "tiny": M1Config(d_model=64, n_heads=2, n_layers=2, mlp_dim=256),
    # A cheaper model for quick experiments on CPU.
    "m1-small": M1Config(d_model=128, n_heads=4, n_layers=2, mlp_dim=512),
    # The paper's "3m" M1: d 256, 4 heads of 64, 3 layers, MLP 1024 (PAPER.md, "M1").
    "m1-3m": M1Config(d_model=256, n_heads=4, n_layers=3, mlp_dim=1024),
}


def get_preset(name: str) -> M1Config:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}") from None
