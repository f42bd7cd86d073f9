"""Integer (fixed-point) M1: the NumPy reference of docs/integer_m1.md.

Everything from input symbols to the frequency table is integer arithmetic on int64 NumPy arrays
with explicit rounding and stated bounds, so the result does not depend on summation order, batch
shape or code path. The C++ kernel implements the same contract and must match this file bit for
bit (FNV-1a self-test hashes in the exported file; see export.py).

One exactness note. The matrix products are integer dot products whose every partial sum is
bounded far below 2^53 (asserted in `int_matmul`). Such a product is computed *exactly* by a
float64 BLAS call: each product and each partial sum is an integer of magnitude < 2^53, hence
exactly representable, so no rounding ever happens and the order of additions cannot matter.
That is used only as a fast path for evaluation (int64 matmul in NumPy has no BLAS); set
`PURE_INTEGER = True` (or use the `pure_integer()` context) to force int64 arithmetic. The tests
check both give identical tables, and the incremental (KV-cache) path is pure int64 throughout.

Shapes: d = d_model, H heads of h = d/H, F = mlp_dim, V = 257, T = positions of one context.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from .config import EOS, M1Config

A = 4095              # activation clamp (13-bit signed): n, q, k, v, attention output, hidden
R = (1 << 23) - 1     # residual clamp (Q.10): a sum of 256 squares fits int64
Q10 = 10              # residual stream and logits/scores are Q.10 (1 unit = 2^-10)
NORM_BITS = 8         # RMSNorm output n is unit-RMS on a 2^-8 grid
EXP2_BITS = 15        # exp2_lut entries are Q.15: lut[0] = 2^15
MIN_P, MAX_P = 9, 24  # frequency precision range (FrequencyTable<P> in C++ accepts [9, 24])

PURE_INTEGER = False  # True: int64 matmuls only (slow); False: exact float64-BLAS fast path


@contextlib.contextmanager
def pure_integer(enabled: bool = True):
    """Temporarily force int64 matmuls (no float64 fast path)."""
    global PURE_INTEGER
    old, PURE_INTEGER = PURE_INTEGER, enabled
    try:
        yield
    finally:
        PURE_INTEGER = old


# ----------------------------------------------------------------------------- helpers

def rshift_round(a, s: int):
    """⌊(a + 2^(s-1)) / 2^s⌋ for s >= 1 (round half up, also for negatives); a for s = 0."""
    if s < 0 or s > 62:
        raise ValueError(f"shift {s} out of [0, 62]")
    if s == 0:
        return a
    if isinstance(a, (int, np.integer)):
        return (int(a) + (1 << (s - 1))) >> s
    a = np.asarray(a, dtype=np.int64)
    assert np.all(np.abs(a) < (1 << 62)), "rshift_round: |a| must be < 2^62 (no overflow of a + half)"
    return (a + np.int64(1 << (s - 1))) >> np.int64(s)   # numpy >> on int64 is arithmetic (floor)


def div_round(a, b):
    """sign(a) · ⌊(|a| + ⌊b/2⌋) / b⌋ for b > 0: round half away from zero."""
    if isinstance(a, (int, np.integer)) and isinstance(b, (int, np.integer)):
        a, b = int(a), int(b)
        if b <= 0:
            raise ValueError("div_round: b must be > 0")
        q = (abs(a) + b // 2) // b
        return -q if a < 0 else q
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    assert np.all(b > 0), "div_round: b must be > 0"
    q = (np.abs(a) + b // 2) // b
    return np.where(a < 0, -q, q)


def requant(acc, M, s: int):
    """rshift_round(acc · M, s) in int64; M >= 0 (an int32 multiplier), s in [1, 62].

    Bound: |acc| < 2^31 and M < 2^31 give |acc · M| < 2^62, so acc · M + 2^(s-1) fits int64.
    """
    if not 1 <= s <= 62:
        raise ValueError(f"requant shift {s} out of [1, 62]")
    acc = np.asarray(acc, dtype=np.int64)
    M = np.asarray(M, dtype=np.int64)
    assert np.all(np.abs(acc) < (1 << 31)), "requant: accumulator exceeds int32"
    assert np.all((M >= 0) & (M < (1 << 31))), "requant: multiplier out of [0, 2^31)"
    return rshift_round(acc * M, s)


def clamp(a, lo: int, hi: int):
    return np.clip(a, lo, hi)


def isqrt(n: int) -> int:
    """⌊√n⌋ of a non-negative integer (< 2^64), integers only."""
    n = int(n)
    if n < 0 or n >= (1 << 64):
        raise ValueError("isqrt: n must be a uint64")
    return math.isqrt(n)


def isqrt_array(n: np.ndarray) -> np.ndarray:
    """Elementwise ⌊√n⌋ with math.isqrt (integer-only)."""
    n = np.asarray(n, dtype=np.int64)
    assert np.all(n >= 0)
    out = np.fromiter((math.isqrt(int(v)) for v in n.ravel()), dtype=np.int64, count=n.size)
    return out.reshape(n.shape)


def make_exp2_lut() -> np.ndarray:
    """exp2_lut[f] = round(2^15 · 2^(-f/1024)), f = 0..1023 (no ties: irrational for f > 0)."""
    f = np.arange(1024, dtype=np.float64)
    return np.round((1 << EXP2_BITS) * np.exp2(-f / 1024.0)).astype(np.int32)


def exp2_neg(delta, lut: np.ndarray):
    """The exp2 rule: e = (δ >> 10) >= 31 ? 0 : lut[δ & 1023] >> (δ >> 10), for δ >= 0.

    e ≈ 2^15 · 2^(-δ/1024), so 0 <= e <= 2^15 and e = 2^15 at δ = 0.
    """
    delta = np.asarray(delta, dtype=np.int64)
    assert np.all(delta >= 0), "exp2_neg: δ must be >= 0"
    sh = delta >> 10
    base = lut.astype(np.int64)[delta & 1023]
    return np.where(sh >= 31, 0, base >> np.minimum(sh, 31))


def int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact integer a @ b (int64 result) for integer arrays.

    Fast path: if K · max|a| · max|b| < 2^53, every partial sum of every dot product is an
    integer below 2^53 in magnitude, so float64 BLAS computes it exactly (order-independent).
    """
    a = np.asarray(a)
    b = np.asarray(b)
    K = a.shape[-1]
    if not PURE_INTEGER and a.size and b.size:
        amax = int(np.abs(a).max())
        bmax = int(np.abs(b).max())
        if K * amax * bmax < (1 << 53):
            af, bf = a.astype(np.float64), b.astype(np.float64)
            if bf.ndim == 2 and af.ndim > 2:     # one 2-D GEMM (NumPy's stacked matmul is slow)
                out = np.ascontiguousarray(af).reshape(-1, K) @ np.ascontiguousarray(bf)
                return out.reshape(*a.shape[:-1], b.shape[-1]).astype(np.int64)
            return np.matmul(af, bf).astype(np.int64)
    return np.matmul(a.astype(np.int64), b.astype(np.int64))


def frequencies(logits: np.ndarray, P: int, lut: np.ndarray) -> np.ndarray:
    """Frequency tables at precision P from Q.10 log2 logits [..., V] -> int64 [..., V].

    f_s = 1 + ⌊e_s · (2^P - V) / E⌋; the remainder 2^P - Σ f (< V) goes to the symbol with the
    largest e_s (lowest index on ties). Sums to 2^P, every f_s >= 1.
    Bounds: e_s <= 2^15, 2^P - V < 2^24, so e_s · (2^P - V) < 2^39; E <= V · 2^15 < 2^24.
    """
    if not MIN_P <= P <= MAX_P:
        raise ValueError(f"frequency bits P={P} out of [{MIN_P}, {MAX_P}]")
    logits = np.asarray(logits, dtype=np.int64)
    V = logits.shape[-1]
    m = logits.max(axis=-1, keepdims=True)
    e = exp2_neg(m - logits, lut)                          # [..., V], max entry is 2^15
    E = e.sum(axis=-1, keepdims=True)                      # >= 2^15
    K = (1 << P) - V
    f = 1 + (e * K) // E
    rem = (1 << P) - f.sum(axis=-1)                        # in [0, V)
    assert np.all((rem >= 0) & (rem < V))
    idx = np.argmax(e, axis=-1)                            # first maximum = lowest index on ties
    np.put_along_axis(f, idx[..., None], np.take_along_axis(f, idx[..., None], -1) + rem[..., None], -1)
    return f


# ----------------------------------------------------------------------------- tensors

LINEARS = ("q", "k", "v", "o", "w1", "w2")


def tensor_specs(cfg: M1Config) -> dict[str, tuple[type, tuple[int, ...]]]:
    """name -> (dtype, shape) exactly as in the table of docs/integer_m1.md."""
    d, F, V, H = cfg.d_model, cfg.mlp_dim, cfg.vocab_size, cfg.n_heads
    specs: dict[str, tuple[type, tuple[int, ...]]] = {
        "embed": (np.int32, (V, d)),
        "rel_bucket": (np.int32, (cfg.rel_max_distance + 1,)),
        "exp2_lut": (np.int32, (1024,)),
        "out.weight": (np.int8, (V, d)),
        "out.mult": (np.int32, (V,)),
        "out.shift": (np.int32, (1,)),
    }
    shapes = {"q": (d, d), "k": (d, d), "v": (d, d), "o": (d, d), "w1": (F, d), "w2": (d, F)}
    for i in range(cfg.n_layers):
        specs[f"l{i}.rel_bias"] = (np.int32, (cfg.rel_num_buckets, H))
        for name, shp in shapes.items():
            specs[f"l{i}.{name}.weight"] = (np.int8, shp)
            specs[f"l{i}.{name}.mult"] = (np.int32, (shp[0],))
            specs[f"l{i}.{name}.shift"] = (np.int32, (1,))
        specs[f"l{i}.score.mult"] = (np.int32, (1,))
        specs[f"l{i}.score.shift"] = (np.int32, (1,))
    return specs


@dataclass(frozen=True)
class IntegerM1:
    """The integer tensors of one M1 (read-only) and its config. Validated on construction."""
    config: M1Config
    tensors: Mapping[str, np.ndarray]
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        specs = tensor_specs(self.config)
        missing = sorted(set(specs) - set(self.tensors))
        extra = sorted(set(self.tensors) - set(specs))
        if missing or extra:
            raise ValueError(f"tensor names differ from the spec: missing {missing}, extra {extra}")
        frozen = {}
        for name, (dt, shp) in specs.items():
            t = np.asarray(self.tensors[name])
            if t.dtype != np.dtype(dt) or t.shape != shp:
                raise ValueError(f"{name}: {t.dtype}{list(t.shape)}, expected {np.dtype(dt)}{list(shp)}")
            t = np.ascontiguousarray(t).copy()
            t.setflags(write=False)
            frozen[name] = t
        self._validate(frozen)
        object.__setattr__(self, "tensors", frozen)

    def _validate(self, t: dict):
        cfg = self.config
        if not np.array_equal(t["exp2_lut"], make_exp2_lut()):
            raise ValueError("exp2_lut differs from round(2^15 · 2^(-f/1024))")
        if np.any(np.abs(t["embed"].astype(np.int64)) > R):
            raise ValueError("embed exceeds the residual clamp R")
        rb = t["rel_bucket"]
        if np.any(rb < 0) or np.any(rb >= cfg.rel_num_buckets):
            raise ValueError("rel_bucket entries out of [0, num_buckets)")
        for name, arr in t.items():
            if name.endswith(".weight") and np.any(arr == -128):
                raise ValueError(f"{name}: int8 weights must be in [-127, 127]")
            if name.endswith(".mult") and np.any(arr < 0):
                raise ValueError(f"{name}: negative multiplier")
            if name.endswith(".shift") and not 1 <= int(arr[0]) <= 62:
                raise ValueError(f"{name}: shift {int(arr[0])} out of [1, 62]")

        check_bounds(self.config, t)

    # -- convenience wrappers around the module functions below
    def forward_tables(self, symbols, P: int) -> np.ndarray:
        return forward_tables(self, symbols, P)

    def logits_q10(self, symbols) -> np.ndarray:
        return logits_q10(self, symbols)

    def incremental(self) -> "IncrementalState":
        return IncrementalState(self)

    # -- cached int64 views
    def i64(self, name: str) -> np.ndarray:
        c = self._cache.get(name)
        if c is None:
            c = self.tensors[name].astype(np.int64)
            self._cache[name] = c
        return c

    def shift(self, name: str) -> int:
        return int(self.tensors[f"{name}.shift"][0])

    def linear(self, n: np.ndarray, name: str) -> np.ndarray:
        """acc_j = Σ_i n_i · W[j, i] (int32 by the bounds), returned int64 [..., out]."""
        W = self.tensors[f"{name}.weight"]
        acc = int_matmul(n, W.T)
        # |n| <= A and |W| <= 127 with K <= 1024 terms: |acc| <= 4095·127·1024 < 2^31.
        return acc

    def requant_linear(self, acc: np.ndarray, name: str) -> np.ndarray:
        return requant(acc, self.i64(f"{name}.mult"), self.shift(name))


INT32_HALF = (1 << 30) - 1   # |score|, |logit| bound: differences of two of them fit int32 too


def _requant_bound(acc_bound: np.ndarray, M: np.ndarray, s: int) -> int:
    """Largest |requant(acc, M_j, s)| over |acc| <= acc_bound_j (rounding adds at most 1)."""
    return int(((acc_bound.astype(object) * M.astype(np.int64).astype(object)) >> s).max()) + 1


def check_bounds(cfg: M1Config, t: Mapping[str, np.ndarray] | IntegerM1):
    """Worst-case bounds that let a C++ kernel use int32 where the spec says int32.

    Every accumulator |acc_j| <= A · Σ_i |W[j, i]| <= A · 127 · K < 2^31. Then, with that bound:
    |score requant| + max|rel_bias| <= 2^30 - 1 and |logit| <= 2^30 - 1 (so m - u and m - logit
    fit int32), and |residual update| + R < 2^31 (so x + update fits int32 before the clamp).
    Raises ValueError if a tensor set violates them.
    """
    if isinstance(t, IntegerM1):
        t = t.tensors
    d, F, h = cfg.d_model, cfg.mlp_dim, cfg.head_dim
    if A * 127 * max(d, F) >= (1 << 31) or h * A * A >= (1 << 31):
        raise ValueError("dimensions too large for int32 accumulators")
    if d > 256:
        raise ValueError("RMSNorm bounds (ss < 2^63) assume d_model <= 256")

    def acc_bound(name):
        return A * np.abs(t[f"{name}.weight"].astype(np.int64)).sum(axis=1)

    def rq(name):
        return _requant_bound(acc_bound(name), t[f"{name}.mult"], int(t[f"{name}.shift"][0]))

    for i in range(cfg.n_layers):
        sc = _requant_bound(np.array([h * A * A]), t[f"l{i}.score.mult"], int(t[f"l{i}.score.shift"][0]))
        if sc + int(np.abs(t[f"l{i}.rel_bias"].astype(np.int64)).max()) > INT32_HALF:
            raise ValueError(f"layer {i}: attention scores may exceed 2^30")
        for name in (f"l{i}.o", f"l{i}.w2"):
            if rq(name) + R >= (1 << 31):
                raise ValueError(f"{name}: residual update may overflow int32")
    if rq("out") > INT32_HALF:
        raise ValueError("logits may exceed 2^30")


# ----------------------------------------------------------------------------- shared steps

def rmsnorm(x: np.ndarray) -> np.ndarray:
    """Integer RMSNorm (gain folded into the next weights) of Q.10 x [..., d] -> n [..., d].

    ss = Σ x² (|x| <= R = 2^23-1, d <= 256: ss < 2^54); ms = max(⌊ss/d⌋, 1);
    r = isqrt(ms · 2^16) (ms · 2^16 < 2^62); n = clamp(div_round(x · 2^16, r), -A, A).
    """
    x = np.asarray(x, dtype=np.int64)
    d = x.shape[-1]
    assert np.all(np.abs(x) <= R)
    ss = (x * x).sum(axis=-1)
    ms = np.maximum(ss // d, 1)
    r = isqrt_array(ms << 16)                              # >= 256
    return clamp(div_round(x << 16, r[..., None]), -A, A)


def embed_lookup(m: IntegerM1, symbols: np.ndarray) -> np.ndarray:
    symbols = np.asarray(symbols, dtype=np.int64)
    if np.any(symbols < 0) or np.any(symbols >= m.config.vocab_size):
        raise ValueError("symbols must be in [0, 257)")
    return m.i64("embed")[symbols]


def qkv(m: IntegerM1, layer: int, n: np.ndarray):
    out = []
    for t in ("q", "k", "v"):
        name = f"l{layer}.{t}"
        out.append(clamp(m.requant_linear(m.linear(n, name), name), -A, A))
    return out


def o_residual(m: IntegerM1, layer: int, x: np.ndarray, a: np.ndarray) -> np.ndarray:
    name = f"l{layer}.o"
    return clamp(x + m.requant_linear(m.linear(a, name), name), -R, R)


def mlp_residual(m: IntegerM1, layer: int, x: np.ndarray) -> np.ndarray:
    n = rmsnorm(x)
    acc = np.maximum(m.linear(n, f"l{layer}.w1"), 0)
    hid = clamp(m.requant_linear(acc, f"l{layer}.w1"), 0, A)
    acc2 = m.linear(hid, f"l{layer}.w2")
    return clamp(x + m.requant_linear(acc2, f"l{layer}.w2"), -R, R)


def output_logits(m: IntegerM1, x: np.ndarray) -> np.ndarray:
    n = rmsnorm(x)
    logits = m.requant_linear(m.linear(n, "out"), "out")
    assert np.all(np.abs(logits) < (1 << 31)), "logit exceeds int32"
    return logits


def bucket_of_distance(m: IntegerM1, dist: np.ndarray) -> np.ndarray:
    """rel_bucket[min(n, max_distance)] for distances n >= 0."""
    dist = np.asarray(dist, dtype=np.int64)
    assert np.all(dist >= 0)
    return m.i64("rel_bucket")[np.minimum(dist, m.config.rel_max_distance)]


def span_allows(window: int, dist: np.ndarray, is_first) -> np.ndarray:
    """The attention span (docs/integer_m1.md, "Attention span"): a key at distance t - τ >= 0 is
    seen iff the span is unbounded (window 0, format v1), or τ is the context's first position
    (its EOS, the attention sink), or t - τ <= window - 2 (the window - 1 latest positions)."""
    dist = np.asarray(dist)
    if not window:
        return np.ones(dist.shape, bool)
    return (dist <= window - 2) | np.asarray(is_first, bool)


# ----------------------------------------------------------------------------- full sequence

NEG_INF = -(1 << 40)  # score of a masked key: δ >= 2^40 - 2^31 ≫ 31·1024, so e = 0 exactly


def forward_logits_batch(m: IntegerM1, tokens: np.ndarray,
                         segment_ids: np.ndarray | None = None) -> np.ndarray:
    """Teacher-forced integer logits for tokens [B, T] -> int64 [B, T, V] (Q.10 log2 units).

    segment_ids [B, T] (None = one segment per row) restricts attention to keys of the same
    segment, so each segment behaves exactly like a separate context (relative positions only).
    """
    cfg = m.config
    tokens = np.asarray(tokens, dtype=np.int64)
    B, T = tokens.shape
    H, h = cfg.n_heads, cfg.head_dim
    lut = m.i64("exp2_lut")
    pos = np.arange(T)
    dist = pos[:, None] - pos[None, :]                     # [T(query), T(key)] = t - τ
    allowed = np.broadcast_to(dist >= 0, (B, T, T))
    first = np.zeros((B, T), bool)                         # each segment's first position
    first[:, 0] = True
    if segment_ids is not None:
        seg = np.asarray(segment_ids)
        allowed = allowed & (seg[:, :, None] == seg[:, None, :])
        first[:, 1:] = seg[:, 1:] != seg[:, :-1]
    allowed = allowed & span_allows(cfg.attention_window, dist, first[:, None, :])
    allowed = allowed[:, None]                             # [B, 1, T, T]
    buckets = bucket_of_distance(m, np.maximum(dist, 0))   # [T, T]

    x = embed_lookup(m, tokens)                            # [B, T, d] Q.10
    for i in range(cfg.n_layers):
        n = rmsnorm(x)
        q, k, v = (t.reshape(B, T, H, h).transpose(0, 2, 1, 3) for t in qkv(m, i, n))  # [B,H,T,h]
        dot = int_matmul(q, k.transpose(0, 1, 3, 2))      # [B, H, T, T]; |dot| <= 64·A² < 2^31
        u = requant(dot, m.i64(f"l{i}.score.mult")[0], m.shift(f"l{i}.score"))
        bias = m.i64(f"l{i}.rel_bias")[buckets]            # [T, T, H]
        u = u + bias.transpose(2, 0, 1)[None]
        u = np.where(allowed, u, NEG_INF)
        mx = u.max(axis=-1, keepdims=True)                 # the diagonal is always allowed
        e = np.where(allowed, exp2_neg(mx - u, lut), 0)    # [B, H, T, T], 0..2^15
        S = e.sum(axis=-1, keepdims=True)                  # >= 2^15
        num = int_matmul(e, v)                             # |Σ e·v| <= 2^15·A·T < 2^53
        a = clamp(div_round(num, S), -A, A)                # [B, H, T, h] on v's grid
        a = a.transpose(0, 2, 1, 3).reshape(B, T, H * h)
        x = o_residual(m, i, x, a)
        x = mlp_residual(m, i, x)
    return output_logits(m, x)


def logits_q10(m: IntegerM1, symbols) -> np.ndarray:
    """Integer logits [T, V] (Q.10 log2 units) for one context [EOS, s1, ..., s_{T-1}]."""
    symbols = np.asarray(symbols, dtype=np.int64)
    return forward_logits_batch(m, symbols[None])[0]


def forward_tables(m: IntegerM1, symbols, P: int) -> np.ndarray:
    """Frequency tables [T, V] int64 at every position of one context (full-sequence path).

    The caller includes the leading EOS; table t predicts the symbol after position t.
    """
    symbols = np.asarray(symbols, dtype=np.int64)
    if symbols.ndim != 1 or len(symbols) == 0:
        raise ValueError("symbols must be a non-empty 1-D sequence (starting with EOS)")
    return frequencies(logits_q10(m, symbols), P, m.i64("exp2_lut"))


# ----------------------------------------------------------------------------- incremental

class IncrementalState:
    """One context evaluated one position at a time with a KV cache (pure int64, no BLAS)."""

    def __init__(self, m: IntegerM1):
        self.m = m
        cfg = m.config
        self.t = -1
        self.k_cache = [np.zeros((0, cfg.d_model), np.int64) for _ in range(cfg.n_layers)]
        self.v_cache = [np.zeros((0, cfg.d_model), np.int64) for _ in range(cfg.n_layers)]
        self.logits: np.ndarray | None = None

    def advance(self, symbol: int) -> np.ndarray:
        """Feed the symbol at the next position; returns its logits [V] (Q.10 log2 units)."""
        m, cfg = self.m, self.m.config
        H, h = cfg.n_heads, cfg.head_dim
        lut = m.i64("exp2_lut")
        self.t += 1
        t = self.t
        with pure_integer():
            x = embed_lookup(m, np.array([symbol]))[0]      # [d]
            for i in range(cfg.n_layers):
                n = rmsnorm(x)
                q, k, v = qkv(m, i, n)
                self.k_cache[i] = np.vstack([self.k_cache[i], k[None]])
                self.v_cache[i] = np.vstack([self.v_cache[i], v[None]])
                keys = np.arange(t + 1)                          # the span's positions
                keys = keys[span_allows(cfg.attention_window, t - keys, keys == 0)]
                K, Vc = self.k_cache[i][keys], self.v_cache[i][keys]  # [≤ W, d]
                buckets = bucket_of_distance(m, t - keys)
                M_s, s_s = int(m.i64(f"l{i}.score.mult")[0]), m.shift(f"l{i}.score")
                a = np.zeros(cfg.d_model, np.int64)
                for hd in range(H):
                    sl = slice(hd * h, (hd + 1) * h)
                    dot = K[:, sl] @ q[sl]                      # int64 [t+1]
                    u = requant(dot, M_s, s_s) + m.i64(f"l{i}.rel_bias")[buckets, hd]
                    e = exp2_neg(u.max() - u, lut)
                    S = int(e.sum())
                    a[sl] = clamp(div_round(e @ Vc[:, sl], S), -A, A)
                x = o_residual(m, i, x, a)
                x = mlp_residual(m, i, x)
            self.logits = output_logits(m, x)
        return self.logits

    def table(self, P: int) -> np.ndarray:
        if self.logits is None:
            raise RuntimeError("advance() first")
        return frequencies(self.logits, P, self.m.i64("exp2_lut"))


def incremental_tables(m: IntegerM1, symbols, P: int) -> np.ndarray:
    st = IncrementalState(m)
    out = []
    for s in np.asarray(symbols, dtype=np.int64):
        st.advance(int(s))
        out.append(st.table(P))
    return np.stack(out)


# ----------------------------------------------------------------------------- hashing

FNV_OFFSET = 0xcbf29ce484222325
FNV_PRIME = 0x100000001b3


def fnv1a64(data: bytes) -> int:
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def tables_fnv1a64(tables: np.ndarray) -> str:
    """FNV-1a 64 (16 lower-case hex digits) of tables [T, 257] serialized as uint32 LE, row-major."""
    tables = np.asarray(tables)
    assert np.all((tables >= 1) & (tables < (1 << 32)))
    return f"{fnv1a64(tables.astype('<u4').tobytes()):016x}"


def self_test_hash(m: IntegerM1, data: bytes, P: int) -> str:
    """Hash of the tables at every position of the context [EOS] + data."""
    ctx = np.concatenate([[EOS], np.frombuffer(data, dtype=np.uint8)]).astype(np.int64)
    return tables_fnv1a64(forward_tables(m, ctx, P))
