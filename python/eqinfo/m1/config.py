"""M1's model configuration and its named presets, and the configuration of a training run.

The structure is fixed (see model.py); a model config only sets sizes. Keep it that way: the C++
side re-implements exactly this network in integer fixed point, and reads these fields from the
export.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..training.config import DictConfig, TrainConfig, option

# Symbols: UTF-8 bytes 0..255 plus EOS = 256. EOS also serves as BOS: every M1 context starts
# with it (the EOS that ended the previous document, or an explicit one at a window reset).
EOS = 256
VOCAB_SIZE = 257


@dataclass(frozen=True)
class M1Config(DictConfig):
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
    # Bounded attention (format v2, docs/integer_m1.md "Attention span"): with W > 0 the query at
    # position t sees at most W keys, its context's first position (the EOS that starts every
    # context: an attention sink) and the W - 1 most recent positions t - W + 2 .. t. 0: every
    # position 0..t (format v1). A model trained on W-position sequences matches W = that length.
    attention_window: int = 0

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} not divisible by n_heads {self.n_heads}")
        if self.attention_window == 1 or self.attention_window < 0:
            raise ValueError(f"attention_window must be 0 (unbounded) or >= 2, not {self.attention_window}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads


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


@dataclass(frozen=True, kw_only=True)
class M1TrainConfig(TrainConfig):
    """One M1 training run (eqinfo.m1.train; flags: eqinfo-train-m1 --help)."""
    preset: str = option("m1-3m", "model preset (PRESETS)")
    out: str = TrainConfig.redefault("out", "runs/m1-3m")
    data: str | None = option(None, "corpus .jsonl.gz (default: shared data)")
    cache_dir: str | None = option(None, "default: <repo>/runs/cache")
    steps: int = option(10000, "total steps (sets the schedule: keep it across resumes)")
    batch: int = option(32, "sequences per step")
    seq_len: int = option(256, "symbols per sequence")
    reset_frac: float = option(0.5, "fraction of sequences with extra window-start resets")
    reset_min: int = option(4, "shortest segment between extra resets")
    reset_max: int = option(96, "longest segment between extra resets")
    bos_start: bool = option(False, "reset every sequence at its first position, so every "
                                    "context starts with EOS (AC's bounded span, format v2)")
    mix_data: str | None = option(None, "second corpus .jsonl.gz with a `lang` field (default: "
                                        "the shared multilingual_ko_zh file)")
    mix_frac: float = option(0.0, "fraction of training sequences (= of symbols) drawn from "
                                  "--mix-data's train split; > 0 also evaluates its Korean and "
                                  "Chinese validation text")
    mix_eval_bytes: int = option(100_000, "validation symbols evaluated per language of "
                                          "--mix-data (at most the whole split)")
    warmup: int = TrainConfig.redefault("warmup", 300)
    ckpt_every: int = TrainConfig.redefault("ckpt_every", 250)
    log_every: int = TrainConfig.redefault("log_every", 50)
    eval_bytes: int = option(200_000, "validation symbols evaluated")
    eval_window: int = option(16, "window length of the 'window' evaluation (resets)")
    eval_batch: int = option(16, "evaluation sequences per forward pass")
    init_weights: str | None = option(
        None, "only when <out>/ckpt.pt does not exist: start from this weights-only snapshot "
              "(eqinfo.m1.snapshot) at its step, with a fresh optimizer")
    init_ramp: int = option(50, "with --init-weights: scale the lr linearly from 1/N to 1 over "
                                "the first N steps after the snapshot's step (fresh Adam moments)")
    warm_start: str | None = option(
        None, "only without <out>/ckpt.pt and --init-weights: a NEW run from this snapshot's "
              "weights (another run's), at step 0 with this run's schedule and a fresh log")


# Named training runs (`eqinfo-train-m1 --config NAME`): the recipe each model was trained with.
RUNS: dict[str, M1TrainConfig] = {
    # The bundled models/m1-3m.safetensors: 7,200 steps x 32 x 256 symbols (59M tokens), window-
    # start mixing at 0.5 (docs/m1_training.md). Equal to the "args" of its committed snapshot
    # (models/checkpoints/m1-3m-train.pt), which scripts/train_m1.sh resumes from.
    "m1-3m": M1TrainConfig(preset="m1-3m", out="runs/m1-3m", steps=7200, eval_every=400,
                           ckpt_every=200, log_every=50),
    # scripts/reset_ablation.sh: m1-small from scratch, once per --reset-frac, its window
    # evaluation at 5 symbols (docs/m1_training.md, "does window-start mixing help").
    "reset-ablation": M1TrainConfig(preset="m1-small", out="runs/reset-ablation/rf0.5", steps=1200,
                                    warmup=100, eval_every=400, ckpt_every=200, eval_window=5),
    # M1 v2 (issue 12; docs/m1_training.md, "M1 v2"): m1-3m warm-started from the bundled
    # model's weights, on English + 25 % Korean/Chinese by bytes, every context starting at EOS
    # (full 256-position spans for AC's bounded attention, window-start segments of 2..40 bytes
    # for Equal-Info b16..b128). Planned at 10,000 steps (82M tokens); shortened to 3,000 (25M
    # tokens) at step 600, because the shared 2-core machine gave 9.8 s/step (600 steps in
    # 5,894 s), not the 3.4 s/step planned: 10,000 steps would have been 26 hours, and the
    # kernel, the format v2 and the re-run of the experiment wait on this model. The cosine
    # schedule was still at its peak (lr 9.98e-4), so the change costs only the longer tail.
    # A checkpoint every 200 steps = every 10-30 minutes there.
    "m1-v2": M1TrainConfig(preset="m1-3m", out="runs/m1-v2", steps=3000, warmup=300,
                           reset_frac=0.5, reset_min=2, reset_max=40, bos_start=True,
                           mix_frac=0.25, eval_every=500, ckpt_every=200, log_every=50,
                           warm_start="models/checkpoints/m1-3m-train.pt"),
    # A window model for Equal-Info (issue 12's "one model or two"): m1-v2's weights fine-tuned
    # on window-start contexts only (every sequence reset into segments of 2..16 bytes: a b16
    # window holds ~4-6 English bytes, 2-3 Korean/Chinese, b24-b32 up to ~11), with m1-v2's
    # language mix and a fine-tuning learning rate. The reset ablation measured +4.4 %
    # bytes/token for window-start-only training (docs/m1_training.md); m1-v2 used 0.5 for AC's
    # sake, which a separate AC model (m1-v2 itself) no longer needs. Started 2026-12-06 on one
    # core; ~2.7-3.4 s/step, so 3,000 steps take ~2.5 hours over two sessions.
    "m1-v2-window": M1TrainConfig(preset="m1-3m", out="runs/m1-v2-window", steps=3000, warmup=100, lr=3e-4,
                                  reset_frac=1.0, reset_min=2, reset_max=16, bos_start=True,
                                  mix_frac=0.25, eval_every=500, ckpt_every=200, log_every=50,
                                  warm_start="models/checkpoints/m1-v2-train.pt"),
}
