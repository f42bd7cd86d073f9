"""Post-training quantization of a float M1 (model.py) into the integer tensors of
docs/integer_m1.md, plus the bits/byte evaluation of both.

Offline only: floats are used here to *choose* the integers; the forward pass that uses them
(integer_model.py, and the C++ kernel) is integer-only.

Steps (quantize_model):
  * fold each RMSNorm gain into the weight matrices that read its output (q, k, v <- norm1;
    w1 <- norm2; out <- norm_f);
  * per-row (output channel) symmetric int8 weights, scale_j = clip_j / 127 with clip_j = max|W_j|
    ("max") or the per-row clip that minimises the squared rounding error ("mse");
  * activation grids (one scalar per tensor and layer) for q, k, v and the MLP hidden, from
    calibration statistics: grid = stat(|value|) / A with A = 4095 (stat = max or a percentile);
  * multipliers M_j = round(ratio_j · 2^s), one shift s per tensor, the largest with all M_j < 2^31;
  * embed -> Q.10, rel_bias -> Q.10 log2 units, rel_bucket via model.relative_position_bucket,
    exp2_lut.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..data import EOS
from .config import M1Config
from .integer_model import (A, NORM_BITS, Q10, R, IntegerM1, forward_logits_batch,
                            frequencies, make_exp2_lut)
from .model import M1, relative_position_bucket
from .train import eval_sequences, evaluate_bpb, segment_ids_from_inputs

LOG2E = 1.0 / math.log(2.0)
LN2 = math.log(2.0)
ACT_TENSORS = ("q", "k", "v", "hidden")
STATS = ("max", "p99.999", "p99.99", "p99.9")  # candidates, simplest first


# ----------------------------------------------------------------------------- weights

def quantize_rows(W: np.ndarray, clip: str = "max") -> tuple[np.ndarray, np.ndarray]:
    """Per-row symmetric int8: W [out, in] float -> (int8 [out, in] in [-127, 127], scale [out])."""
    W = np.asarray(W, dtype=np.float64)
    amax = np.abs(W).max(axis=1)
    if clip == "max":
        c = amax
    elif clip == "mse":
        best_err = np.full(W.shape[0], np.inf)
        c = amax.copy()
        for frac in np.linspace(0.5, 1.0, 26):
            cc = np.maximum(amax * frac, 1e-30)
            sc = cc / 127.0
            err = ((np.clip(np.round(W / sc[:, None]), -127, 127) * sc[:, None] - W) ** 2).sum(1)
            better = err < best_err
            best_err[better], c[better] = err[better], cc[better]
    else:
        raise ValueError(f"unknown weight clip {clip!r}")
    scale = np.where(c > 0, c / 127.0, 1.0)                # an all-zero row: any scale, W = 0
    Wq = np.clip(np.round(W / scale[:, None]), -127, 127).astype(np.int8)
    return Wq, scale


def multipliers(ratio: np.ndarray) -> tuple[np.ndarray, int]:
    """ratio [n] >= 0 -> (M int32 [n], s): M_j = round(ratio_j · 2^s), s in [1, 62] as large as
    keeps every M_j < 2^31."""
    ratio = np.asarray(ratio, dtype=np.float64).reshape(-1)
    assert np.all(ratio >= 0) and np.all(np.isfinite(ratio))
    rmax = float(ratio.max())
    if rmax == 0:
        return np.zeros(len(ratio), np.int32), 62
    s = min(62, math.floor(math.log2((2**31 - 1) / rmax)))
    while s >= 1 and np.round(ratio * 2.0**s).max() >= 2**31:
        s -= 1
    if s < 1:
        raise ValueError(f"multiplier ratio {rmax} too large for a shift >= 1")
    M = np.round(ratio * 2.0**s)
    assert M.max() < 2**31
    return M.astype(np.int32), s


# ----------------------------------------------------------------------------- calibration

def calibration_windows(symbols: np.ndarray, n: int, seed: int = 0, min_len: int = 16,
                        max_len: int = 64) -> list[np.ndarray]:
    """n window-like contexts [EOS] + L consecutive symbols (L uniform in [min_len, max_len])
    at random offsets of a split's symbol stream."""
    rng = np.random.default_rng(seed)
    lens = rng.integers(min_len, max_len + 1, size=n)
    offs = rng.integers(0, len(symbols) - max_len - 1, size=n)
    return [np.concatenate([[EOS], np.asarray(symbols[o:o + L], dtype=np.int64)])
            for o, L in zip(offs, lens)]


def pack_windows(windows: list[np.ndarray], row_len: int = 256):
    """Greedy-pack contexts (each starting with EOS) into rows; pad with EOS.
    -> tokens [B, row_len], segment ids [B, row_len], valid [B, row_len] (False on padding)."""
    rows, cur = [], []
    for w in windows:
        assert len(w) <= row_len and w[0] == EOS
        if sum(len(x) for x in cur) + len(w) > row_len:
            rows.append(cur)
            cur = []
        cur.append(w)
    if cur:
        rows.append(cur)
    tokens = np.full((len(rows), row_len), EOS, np.int64)
    valid = np.zeros((len(rows), row_len), bool)
    for b, ws in enumerate(rows):
        flat = np.concatenate(ws)
        tokens[b, :len(flat)] = flat
        valid[b, :len(flat)] = True
    return tokens, segment_ids_from_inputs(tokens), valid


@torch.no_grad()
def collect_activation_stats(model: M1, windows: list[np.ndarray], batch: int = 16,
                             max_values: int = 4_000_000, seed: int = 0) -> dict[str, np.ndarray]:
    """|value| samples of q, k, v, and the post-ReLU hidden of every layer over the calibration
    contexts (valid positions only). -> {"l{i}.{q,k,v,hidden}": float32 array}. Capped at
    max_values per tensor by a uniform random subsample (the max is always kept)."""
    model.eval()
    tokens, segs, valid = pack_windows(windows)
    acc: dict[str, list[np.ndarray]] = {}
    cur_valid = {}

    def hook(name, relu=False):
        def f(_mod, _inp, out):
            o = out.float()
            if relu:
                o = torch.relu(o)
            v = o.abs().numpy()[cur_valid["v"]]            # [n_valid, dim]
            acc.setdefault(name, []).append(v.reshape(-1).astype(np.float32))
        return f

    handles = []
    for i, blk in enumerate(model.blocks):
        for t in ("q", "k", "v"):
            handles.append(getattr(blk.attn, t).register_forward_hook(hook(f"l{i}.{t}")))
        handles.append(blk.mlp.w1.register_forward_hook(hook(f"l{i}.hidden", relu=True)))
    try:
        for b in range(0, len(tokens), batch):
            cur_valid["v"] = valid[b:b + batch]
            model(torch.from_numpy(tokens[b:b + batch]), torch.from_numpy(segs[b:b + batch]))
    finally:
        for h in handles:
            h.remove()
    rng = np.random.default_rng(seed)
    out = {}
    for k, parts in acc.items():
        v = np.concatenate(parts)
        if len(v) > max_values:
            mx = v.max()
            v = np.append(rng.choice(v, max_values, replace=False), mx)
        out[k] = v
    return out


def stat_value(values: np.ndarray, stat: str) -> float:
    if stat == "max":
        return float(values.max())
    if stat.startswith("p"):
        return float(np.percentile(values, float(stat[1:])))
    raise ValueError(f"unknown statistic {stat!r}")


def choose_grids(stats: dict[str, np.ndarray], stat: str | dict[str, str]) -> dict[str, float]:
    """Grid (real value of one integer unit) per activation tensor: stat(|x|) / A.
    stat: one statistic for all, or per tensor kind {"q": ..., "k": ..., "v": ..., "hidden": ...}."""
    grids = {}
    for name, v in stats.items():
        kind = name.split(".")[1]
        st = stat[kind] if isinstance(stat, dict) else stat
        grids[name] = max(stat_value(v, st), 1e-6) / A
    return grids


# ----------------------------------------------------------------------------- build

def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy()


def quantize_model(model: M1, grids: dict[str, float], weight_clip: str = "max") -> IntegerM1:
    """Float M1 + activation grids -> IntegerM1 (docs/integer_m1.md)."""
    cfg: M1Config = model.cfg
    tensors: dict[str, np.ndarray] = {}
    norm_scale = 2.0 ** -NORM_BITS       # real value of one unit of n (unit-RMS, 2^-8 grid)
    res_scale = 2.0 ** -Q10              # real value of one unit of the residual stream
    logit_unit = 2.0 ** -Q10 / LOG2E     # real (nats) value of one Q.10 log2 unit

    def put_linear(name: str, W: np.ndarray, in_scale: float, out_scale: float, gain=None):
        if gain is not None:
            W = W * gain[None, :]
        Wq, sc = quantize_rows(W, weight_clip)
        M, s = multipliers(sc * in_scale / out_scale)
        tensors[f"{name}.weight"] = Wq
        tensors[f"{name}.mult"] = M
        tensors[f"{name}.shift"] = np.array([s], np.int32)

    emb = np.round(_np(model.embed.weight) / res_scale)
    if np.abs(emb).max() > R:
        raise ValueError("embedding exceeds the residual range ±R·2^-10")
    tensors["embed"] = emb.astype(np.int32)
    n = torch.arange(cfg.rel_max_distance + 1)
    tensors["rel_bucket"] = relative_position_bucket(
        -n, cfg.rel_num_buckets, cfg.rel_max_distance).numpy().astype(np.int32)
    tensors["exp2_lut"] = make_exp2_lut()
    for i, blk in enumerate(model.blocks):
        g1, g2 = _np(blk.norm1.weight), _np(blk.norm2.weight)
        at, mlp = blk.attn, blk.mlp
        gq, gk, gv, gh = (grids[f"l{i}.{t}"] for t in ACT_TENSORS)
        put_linear(f"l{i}.q", _np(at.q.weight), norm_scale, gq, g1)
        put_linear(f"l{i}.k", _np(at.k.weight), norm_scale, gk, g1)
        put_linear(f"l{i}.v", _np(at.v.weight), norm_scale, gv, g1)
        # score = q·k / √h nats -> Q.10 log2 units
        M, s = multipliers(np.array([gq * gk / math.sqrt(cfg.head_dim) / logit_unit]))
        tensors[f"l{i}.score.mult"], tensors[f"l{i}.score.shift"] = M, np.array([s], np.int32)
        tensors[f"l{i}.rel_bias"] = np.round(_np(at.rel_bias.weight) / logit_unit).astype(np.int32)
        put_linear(f"l{i}.o", _np(at.o.weight), gv, res_scale)
        put_linear(f"l{i}.w1", _np(mlp.w1.weight), norm_scale, gh, g2)
        put_linear(f"l{i}.w2", _np(mlp.w2.weight), gh, res_scale)
    put_linear("out", _np(model.out.weight), norm_scale, logit_unit, _np(model.norm_f.weight))
    return IntegerM1(cfg, tensors)


# ----------------------------------------------------------------------------- evaluation

def _score_tables(im: IntegerM1, tokens, segs, targets, valid, P: int, batch_rows: int):
    bits, soft_bits, nbytes = 0.0, 0.0, 0
    lut = im.i64("exp2_lut")
    for b in range(0, len(tokens), batch_rows):
        sl = slice(b, b + batch_rows)
        logits = forward_logits_batch(im, tokens[sl], segs[sl])
        f = frequencies(logits, P, lut)                                  # [b, T, V]
        tg = targets[sl][..., None]
        ft = np.take_along_axis(f, tg, -1)[..., 0]                       # [b, T]
        v = valid[sl]
        bits += float(-(np.log2(ft[v].astype(np.float64)) - P).sum())
        # diagnostic: exact base-2 softmax of the integer logits (no P-bit table, no exp2 LUT)
        lg = logits.astype(np.float64) / (1 << Q10)                      # bits
        mx = lg.max(-1, keepdims=True)
        lse = mx[..., 0] + np.log2(np.exp2(lg - mx).sum(-1))
        soft_bits += float((lse - np.take_along_axis(lg, tg, -1)[..., 0])[v].sum())
        nbytes += int((v & (targets[sl] != EOS)).sum())
    return bits, soft_bits, nbytes


def integer_bpb(im: IntegerM1, symbols: np.ndarray, n_symbols: int, P: int,
                window: int | None, seq_len: int = 256, diagnostics: bool = False):
    """Bits/byte of the integer model's P-bit tables on the first n_symbols of `symbols`:
    −Σ log2(f_target / 2^P) over all predicted symbols (EOS included) / text bytes (EOS excluded).
    Contexts as in train.eval_sequences: [EOS] + symbols chunked into rows of seq_len, a new
    context at every EOS input, and (window=k) a reset to [EOS] every k symbols.
    diagnostics=True: -> {"table": that, "softmax": the same with p = exact softmax of the
    integer logits (separates the cost of the P-bit tables from that of the integer network)}."""
    inputs, targets, valid, segs = eval_sequences(symbols, n_symbols, seq_len, window)
    if window and seq_len % window == 0:
        # windows never share context: evaluate them as rows of their own (same result, cheaper)
        inputs, targets, valid, segs = (a.reshape(-1, window) for a in (inputs, targets, valid, segs))
        rows = max(1, 4096 // window)
    else:
        rows = 8
    bits, soft_bits, nbytes = _score_tables(im, inputs, segs, targets, valid, P, rows)
    if diagnostics:
        return {"table": bits / max(1, nbytes), "softmax": soft_bits / max(1, nbytes)}
    return bits / max(1, nbytes)


def float_bpb(model: M1, symbols: np.ndarray, n_symbols: int, window: int | None,
              seq_len: int = 256) -> float:
    """The same measure for the float model (train.evaluate_bpb: exact softmax, no P-bit floor)."""
    return evaluate_bpb(model, symbols, n_symbols, seq_len, window, torch.device("cpu"))


@dataclass
class Calibration:
    weight_clip: str
    stat: dict[str, str]
    grids: dict[str, float]
    selection: list[dict]          # every candidate tried with its selection bits/byte
    meta: dict                     # calibration settings and results, for the export metadata


MIN_GAIN = 5e-4  # bits/byte: a candidate must beat the incumbent by this much (noise guard)


def calibrate(model: M1, train_symbols: np.ndarray, P: int, n_windows: int = 512,
              select_symbols: int = 8192, seed: int = 0, log=print) -> tuple[IntegerM1, Calibration]:
    """Choose weight clip and activation statistics by integer bits/byte (P-bit tables; the mean
    of window contexts and full contexts) on a slice of the TRAIN split; activation statistics
    from n_windows train windows. Scoring full contexts too matters: clipping k and v at a
    percentile can look free on 16-byte windows yet cost ~0.4% with 256-byte contexts.

    Search: one statistic for all tensors (max first), then one coordinate-descent pass per
    tensor kind (q, k, v, hidden), then the weight clip (max vs mse). Ties and gains below
    MIN_GAIN keep the incumbent (simpler) choice.
    """
    windows = calibration_windows(train_symbols, n_windows, seed)
    stats = collect_activation_stats(model, windows, seed=seed)
    rng = np.random.default_rng([seed, 1])
    off = int(rng.integers(0, len(train_symbols) - select_symbols - 1))
    sel = np.asarray(train_symbols[off:off + select_symbols])

    tried = []

    def score(clip, stat):
        im = quantize_model(model, choose_grids(stats, stat), clip)
        w, f = (integer_bpb(im, sel, select_symbols, P, win) for win in (16, None))
        bpb = (w + f) / 2
        tried.append({"weight_clip": clip, "stat": dict(stat), "bpb": round(bpb, 6),
                      "bpb_window": round(w, 6), "bpb_full": round(f, 6)})
        log(f"[calib] clip={clip} stat={stat} integer bpb {bpb:.5f} (window {w:.5f}, full {f:.5f})")
        return im, bpb

    fw, ff = (float_bpb(model, sel, select_symbols, win) for win in (16, None))
    fb = (fw + ff) / 2
    log(f"[calib] {n_windows} calibration windows; selection slice {select_symbols} train symbols "
        f"at offset {off}: float bpb {fb:.5f} (window {fw:.5f}, full {ff:.5f})")
    best = None
    for st in STATS:                                       # 1) one statistic for all
        stat = {k: st for k in ACT_TENSORS}
        im, bpb = score("max", stat)
        if best is None or bpb < best[0] - MIN_GAIN:
            best = (bpb, "max", stat, im)
    for kind in ACT_TENSORS:                               # 2) per tensor kind
        for st in STATS:
            if st != best[2][kind]:
                stat = dict(best[2], **{kind: st})
                im, bpb = score(best[1], stat)
                if bpb < best[0] - MIN_GAIN:
                    best = (bpb, best[1], stat, im)
    im, bpb = score("mse", best[2])                        # 3) weight clip
    if bpb < best[0] - MIN_GAIN:
        best = (bpb, "mse", best[2], im)
    log(f"[calib] chosen: clip={best[1]} stat={best[2]} integer bpb {best[0]:.5f} "
        f"(float {fb:.5f}, gap {100 * (best[0] / fb - 1):+.3f}%)")
    meta = {"split": "train", "windows": n_windows, "window_context": "[EOS] + 16..64 bytes",
            "seed": seed, "selection_symbols": select_symbols, "selection_offset": off,
            "selection_score": "mean of integer bpb under window (reset every 16) and full contexts",
            "selection_float_bpb": round(fb, 6), "min_gain_bpb": MIN_GAIN, "tried": tried}
    return best[3], Calibration(best[1], dict(best[2]), choose_grids(stats, best[2]), tried, meta)
