"""M2's model configuration (the LM trained over token streams) and its named presets, and the
configuration of a training run.

M2 is an ordinary decoder-only transformer; only its sizes change between presets. The paper's
M2 sizes (PAPER.md, "M2 results") are named by NON-EMBEDDING parameters: 25m / 113m / 403m / 2b.
Those counts only come out with a GATED feed-forward (3 matrices d x mlp_dim, T5.1.1-style GEGLU):
    25m : 6 x (4*512^2 + 3*512*2048)   = 25.2M   (a plain 2-matrix MLP would give 18.9M)
    113m: 12 x (4*768^2 + 3*768*3072)  = 113.2M
    403m: 24 x (4*1024^2 + 3*1024*4096) = 402.7M
    2b  : 24 x (4*2048*4096 + 3*2048*8192) = 2.01B, i.e. 32 heads of dim 128 (attention width
          4096 = 2 d); with head dim 64 it would be 1.61B.
so M2 uses GEGLU, and `head_dim` may differ from d_model / n_heads (only the 2b preset uses that).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..training.config import DictConfig, TrainConfig, option


@dataclass(frozen=True)
class M2Config(DictConfig):
    d_model: int
    n_heads: int
    n_layers: int
    mlp_dim: int
    vocab_size: int = 256     # output classes = the token stream's vocabulary (shard vocab_size)
    max_seq_len: int = 512    # learned absolute positions: the longest example the model takes
    head_dim: int | None = None  # None -> d_model // n_heads
    norm_eps: float = 1e-6

    def __post_init__(self):
        if self.head_dim is None and self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} not divisible by n_heads {self.n_heads}")
        for name in ("d_model", "n_heads", "n_layers", "mlp_dim", "vocab_size", "max_seq_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    @property
    def hd(self) -> int:
        return self.head_dim if self.head_dim is not None else self.d_model // self.n_heads

    @property
    def attn_dim(self) -> int:
        """Width of q, k, v (n_heads x head_dim)."""
        return self.n_heads * self.hd

    @property
    def bos(self) -> int:
        """The input-only BOS id (= vocab_size): every example's inputs start with it, so that
        all of its seq_len tokens are predicted (T5X decoder-only "shift right")."""
        return self.vocab_size


PRESETS: dict[str, M2Config] = {
    # Unit tests and the end-to-end `tiny` scale: milliseconds per step.
    "tiny": M2Config(d_model=32, n_heads=2, n_layers=1, mlp_dim=64, max_seq_len=64),
    # CPU sizes for the `small` experiment scale, chosen by measured throughput
    # (docs/experiment.md, eqinfo.experiment.scales).
    "m2-cpu-xs": M2Config(d_model=128, n_heads=4, n_layers=2, mlp_dim=256, max_seq_len=256),
    "m2-cpu-s": M2Config(d_model=192, n_heads=4, n_layers=3, mlp_dim=512, max_seq_len=256),
    # The Bytes size sweep of `small` (eqinfo.experiment.scales): 3.41M non-embedding parameters,
    # so Bytes costs 6.8M FLOPs/byte, just above the M1 methods' ~5M, and "equal FLOPs/byte" can
    # be read off an interpolation instead of being extrapolated.
    "m2-cpu-m": M2Config(d_model=256, n_heads=4, n_layers=4, mlp_dim=768, max_seq_len=256),
    # The paper's M2 sizes (PAPER.md; counts above). Training: seq 512, batch 256.
    "m2-25m": M2Config(d_model=512, n_heads=8, n_layers=6, mlp_dim=2048),
    "m2-113m": M2Config(d_model=768, n_heads=12, n_layers=12, mlp_dim=3072),
    "m2-403m": M2Config(d_model=1024, n_heads=16, n_layers=24, mlp_dim=4096),
    "m2-2b": M2Config(d_model=2048, n_heads=32, n_layers=24, mlp_dim=8192, head_dim=128),
}


def get_preset(name: str, **overrides) -> M2Config:
    """A preset with e.g. vocab_size / max_seq_len replaced for the token stream at hand."""
    try:
        cfg = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown M2 preset {name!r}; choose from {sorted(PRESETS)}") from None
    return cfg.with_(**overrides) if overrides else cfg


@dataclass(frozen=True, kw_only=True)
class M2TrainConfig(TrainConfig):
    """One M2 training run (eqinfo.m2.train; flags: eqinfo-train-m2 --help). The budget is
    exactly one of steps, tokens, flops. The experiment builds these from its named scales
    (eqinfo.experiment.train_runs.train_config)."""
    train: str = option(help="train token shard (.shard)")
    val: str = option(help="validation token shard of the same method")
    preset: str = option("m2-cpu-xs", "model preset (PRESETS); vocabulary and seq_len from the run")
    steps: int | None = option(None, "budget: training steps")
    tokens: float | None = option(None, "budget: training tokens (sets the steps)")
    flops: float | None = option(None, "budget: training FLOPs, 6 N per token (sets the steps)")
    seq_len: int = option(512, "tokens per example")
    batch: int = option(16, "examples per step")
    micro_batch: int = option(0, "split each batch into micro-batches of this size (memory; "
                                 "0 = whole)")
    warmup: int = TrainConfig.redefault("warmup", 100)
    eval_tokens: int | None = option(None, "evaluate on the first documents covering at most "
                                           "this many validation tokens (default: all)")
    eval_batch: int = option(16, "evaluation examples per forward pass")

    def __post_init__(self):
        super().__post_init__()
        budgets = [k for k in ("steps", "tokens", "flops") if getattr(self, k) is not None]
        if len(budgets) != 1:
            raise ValueError(f"give exactly one budget of steps, tokens, flops (got "
                             f"{budgets or 'none'})")
        if self.micro_batch and self.batch % self.micro_batch:
            raise ValueError(f"batch {self.batch} is not a multiple of micro_batch "
                             f"{self.micro_batch}")

    def total_steps(self, model: M2Config) -> int:
        """Steps of the budget; flops count 6 N per token (model.train_flops_per_token)."""
        from .model import train_flops_per_token   # torch: only where a run is planned
        per_step = self.batch * self.seq_len
        if self.steps is not None:
            n = self.steps
        elif self.tokens is not None:
            n = math.ceil(self.tokens / per_step)
        else:
            n = math.ceil(self.flops / (train_flops_per_token(model) * per_step))
        if n < 1:
            raise ValueError(f"the budget gives {n} steps")
        return n
