"""Inference FLOPs per byte and bytes per step, by the paper's formula (PAPER.md, "Metrics").

    FLOPs/byte = 2 x (M2 non-embedding params) / (bytes per token)  +  M1 FLOPs/byte (AC methods)
    bytes/step = bytes per token (text bytes produced per M2 decoding step)

M1's cost: eqinfo.m1.flops_per_byte (Kaplan et al. 2020, Table 1: 2 N + 2 n_layer n_ctx d_model
per byte). The context n_ctx is the one M1 really has at inference:
  * AC (no windows): M1 sees the whole document; we use the M1 config's training context (1024 for
    m1-3m: 6.30M FLOPs/byte, the paper counts 6.0M).
  * EqualInfoAC[b]: M1 is reset at every window, so its context is at most one window; we use the
    mean window length in bytes, b/N tokens x bytes/token (an upper bound on the mean context:
    ~4.75M FLOPs/byte for m1-3m at b16 instead of 6.3M).
StaticAC's order-0 model and GZip cost nothing here (the paper ignores GZip's cost; a table
lookup per byte is negligible against either transformer).
"""
from __future__ import annotations

from ..m1 import M1Config, flops_per_byte as m1_flops_per_byte, get_preset as m1_preset
from ..m2 import M2Config, non_embedding_params
from .methods import parse_method


def m1_context(method: str, bytes_per_token: float, m1_cfg: M1Config) -> int | None:
    """M1's context at inference for `method` (module docstring); None if M1 is not used."""
    info = parse_method(method)
    if not info.uses_m1:
        return None
    if info.b is None:   # AC: the whole document
        return m1_cfg.context
    window_bytes = info.b / info.token_bits * bytes_per_token
    return max(1, round(window_bytes))


def inference_flops_per_byte(method: str, m2: M2Config | int, bytes_per_token: float,
                             m1_cfg: M1Config | None = None) -> dict:
    """-> {"flops_per_byte", "m2_flops_per_byte", "m1_flops_per_byte", "m1_context",
    "bytes_per_step"}. m2: a config, or its non-embedding parameter count."""
    if bytes_per_token <= 0:
        raise ValueError(f"bytes_per_token must be > 0, got {bytes_per_token}")
    n = m2 if isinstance(m2, int) else non_embedding_params(m2)
    m1_cfg = m1_cfg or m1_preset("m1-3m")
    m2_f = 2.0 * n / bytes_per_token
    ctx = m1_context(method, bytes_per_token, m1_cfg)
    m1_f = m1_flops_per_byte(m1_cfg, ctx) if ctx is not None else 0.0
    return {"flops_per_byte": m2_f + m1_f, "m2_flops_per_byte": m2_f, "m1_flops_per_byte": m1_f,
            "m1_context": ctx, "bytes_per_step": bytes_per_token}
