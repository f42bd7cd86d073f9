"""Integer M1 (docs/integer_m1.md): helpers, frequency tables, full-sequence == KV-cache path,
closeness to the float model, quantizer, and the safetensors export round trip."""
import hashlib
import json
import math

import numpy as np
import pytest
import torch

from eqinfo.m1 import M1, get_preset
from eqinfo.m1 import export as ex
from eqinfo.m1.config import EOS
from eqinfo.m1.fixtures import structured_corpus, tiny_trained_model
from eqinfo.m1.integer_model import (A, R, IntegerM1, check_bounds, div_round, exp2_neg,
                                     fnv1a64, forward_logits_batch, forward_tables, frequencies,
                                     incremental_tables, isqrt, isqrt_array, logits_q10,
                                     make_exp2_lut, pure_integer, requant, rshift_round,
                                     self_test_hash, tensor_specs)
from eqinfo.m1.model import loss_fn
from eqinfo.m1.train import sample_batch
from eqinfo.m1.quantize import (calibration_windows, choose_grids, collect_activation_stats,
                                float_bpb, integer_bpb, multipliers, quantize_model, quantize_rows)

torch.set_num_threads(1)
LUT = make_exp2_lut().astype(np.int64)


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def corpus():
    return structured_corpus()


@pytest.fixture(scope="module")
def float_model(corpus):
    """Tiny M1 after 80 Adam steps on the corpus (deterministic): peaked, realistic predictions."""
    return tiny_trained_model(corpus)


@pytest.fixture(scope="module")
def int_model(float_model, corpus):
    stats = collect_activation_stats(float_model, calibration_windows(corpus, 64, seed=0))
    return quantize_model(float_model, choose_grids(stats, "max"))


def _ctx(rng, n):
    return np.concatenate([[EOS], rng.integers(0, 256, n)]).astype(np.int64)


# ----------------------------------------------------------------------------- helpers

def test_rshift_round_hand_worked():
    cases = [(5, 1, 3), (-5, 1, -2), (-6, 2, -1), (-1, 1, 0), (-3, 1, -1), (3, 1, 2), (4, 1, 2),
             (7, 0, 7), (-7, 0, -7), (1023, 10, 1), (-1537, 10, -2), (-1536, 10, -1), (0, 5, 0)]
    for a, s, want in cases:
        assert rshift_round(a, s) == want, (a, s)
    arr = np.array([c[0] for c in cases if c[1] == 1])
    assert rshift_round(arr, 1).tolist() == [c[2] for c in cases if c[1] == 1]


def test_div_round_hand_worked():
    cases = [(5, 2, 3), (-5, 2, -3), (7, 3, 2), (-7, 3, -2), (-8, 3, -3), (3, 6, 1), (-3, 6, -1),
             (2, 6, 0), (-2, 6, 0), (0, 5, 0), (10, 5, 2), (-10, 5, -2), (1, 1, 1)]
    for a, b, want in cases:
        assert div_round(a, b) == want, (a, b)
    a, b = np.array([c[0] for c in cases]), np.array([c[1] for c in cases])
    assert div_round(a, b).tolist() == [c[2] for c in cases]


def test_requant_and_isqrt():
    assert int(requant(np.int64(-3), 1, 1)) == -1          # -1.5 rounds half up to -1
    assert int(requant(np.int64(3), 1, 1)) == 2
    assert int(requant(np.int64(-1000), 3, 4)) == -187      # -187.5 -> -187
    assert int(requant(np.int64(1000), 3, 4)) == 188
    for n, want in [(0, 0), (1, 1), (3, 1), (4, 2), (15, 3), (16, 4), (1 << 62, 1 << 31),
                    ((1 << 31) ** 2 - 1, (1 << 31) - 1), ((1 << 64) - 1, (1 << 32) - 1)]:
        assert isqrt(n) == want, n
    rng = np.random.default_rng(0)
    v = np.concatenate([rng.integers(0, 1 << 62, 500), np.arange(300), [(1 << 62) - 1]])
    assert isqrt_array(v).tolist() == [math.isqrt(int(x)) for x in v]
    with pytest.raises(ValueError):
        isqrt(-1)


def test_exp2_rule():
    assert LUT[0] == 1 << 15 and LUT.shape == (1024,) and np.all(np.diff(LUT) <= 0)
    d = np.array([0, 512, 1024, 1536, 1024 * 15, 1024 * 30, 1024 * 31, 1 << 40])
    assert exp2_neg(d, LUT).tolist() == [32768, 23170, 16384, 11585, 1, 0, 0, 0]


def test_fnv1a64_vectors():
    assert fnv1a64(b"") == 0xcbf29ce484222325
    assert fnv1a64(b"a") == 0xaf63dc4c8601ec8c
    assert fnv1a64(b"foobar") == 0x85944171f73967e8


# ----------------------------------------------------------------------------- frequency tables

def test_frequencies_hand_worked():
    f = frequencies(np.zeros(257, np.int64), 16, LUT)       # uniform: e = 2^15 everywhere
    assert f[0] == 256 and np.all(f[1:] == 255) and f.sum() == 1 << 16
    lg = np.full(257, -10**6, np.int64)
    lg[7] = 5
    f = frequencies(lg, 16, LUT)                            # one dominant symbol
    assert f[7] == (1 << 16) - 256 and np.all(np.delete(f, 7) == 1)
    lg = np.zeros(257, np.int64)
    lg[[3, 9]] = 2048                                       # tie for the maximum: lower index
    f = frequencies(lg, 14, LUT)
    # e = 2^15 for 3 and 9, 2^13 elsewhere; E = 2154496; K = 16127: 1 + 245, 1 + 61, remainder 82
    assert f[3] == 246 + 82 and f[9] == 246 and np.all(np.delete(f, [3, 9]) == 62)


@pytest.mark.parametrize("P", [9, 14, 16, 24])
def test_tables_sum_and_floor(int_model, P):
    rng = np.random.default_rng(P)
    t = forward_tables(int_model, _ctx(rng, 30), P)
    assert t.shape == (31, 257) and t.dtype == np.int64
    assert np.all(t.sum(1) == 1 << P) and t.min() >= 1
    lg = rng.integers(-(1 << 20), 1 << 20, (50, 257))
    f = frequencies(lg, P, LUT)
    assert np.all(f.sum(1) == 1 << P) and f.min() >= 1
    with pytest.raises(ValueError):
        frequencies(lg, 25, LUT)


# ----------------------------------------------------------------------------- paths agree

def test_full_sequence_equals_incremental(int_model):
    rng = np.random.default_rng(5)
    # 140 positions: distances beyond rel_max_distance = 128 use the last bucket
    for n in (0, 1, 17, 139):
        ctx = _ctx(rng, n)
        full = forward_tables(int_model, ctx, 16)
        inc = incremental_tables(int_model, ctx, 16)
        assert np.array_equal(full, inc), n
        with pure_integer():
            assert np.array_equal(forward_tables(int_model, ctx, 16), full)


def test_segments_behave_as_separate_contexts(int_model):
    rng = np.random.default_rng(6)
    a, b, c = _ctx(rng, 10), _ctx(rng, 25), _ctx(rng, 4)
    packed = np.concatenate([a, b, c])[None]
    segs = np.cumsum(packed == EOS, axis=1)
    lp = forward_logits_batch(int_model, packed, segs)[0]
    sep = np.concatenate([logits_q10(int_model, x) for x in (a, b, c)])
    assert np.array_equal(lp, sep)


def test_causal(int_model):
    rng = np.random.default_rng(7)
    x = _ctx(rng, 20)
    y = x.copy()
    y[12] = (y[12] + 1) % 256
    tx, ty = forward_tables(int_model, x, 16), forward_tables(int_model, y, 16)
    assert np.array_equal(tx[:12], ty[:12]) and not np.array_equal(tx[12:], ty[12:])


# ----------------------------------------------------------------------------- vs the float model

def _softmax_gap(float_model, im, ctx):
    with torch.no_grad():
        fl = float_model(torch.from_numpy(ctx)[None])[0].double().numpy()
    lg = logits_q10(im, ctx) / 1024.0 * math.log(2.0)      # Q.10 log2 units -> nats
    pf = np.exp(fl - fl.max(1, keepdims=True))
    pf /= pf.sum(1, keepdims=True)
    pi = np.exp(lg - lg.max(1, keepdims=True))
    pi /= pi.sum(1, keepdims=True)
    kl = float((pf * (np.log(pf) - np.log(pi))).sum(1).mean())
    return float(np.abs(pf - pi).max()), kl, float(-(pf * np.log(pf)).sum(1).mean())


def _tampered(im, **changes):
    t = dict(im.tensors)
    for name, fn in changes.items():
        t[name.replace("__", ".")] = fn(t[name.replace("__", ".")].copy())
    return IntegerM1(im.config, t)


KL_TOL, MAXDIFF_TOL = 4e-5, 0.03   # measured: good KL <= 1.2e-5, max |Δp| <= 0.014


def test_integer_softmax_close_to_float(float_model, int_model, corpus):
    text = np.concatenate([[EOS], corpus[1000:1048]]).astype(np.int64)
    for ctx in (text, _ctx(np.random.default_rng(8), 48)):
        maxdiff, kl, entropy = _softmax_gap(float_model, int_model, ctx)
        assert maxdiff < MAXDIFF_TOL and kl < KL_TOL, (maxdiff, kl)
    assert _softmax_gap(float_model, int_model, text)[2] < 2.0   # far from uniform (5.55 nats)
    # broken requantisations must violate that tolerance (measured KL: 7e-5 .. 0.8)
    broken = {
        "logits halved": _tampered(int_model, out__shift=lambda s: s + 1),
        "v grid off by 2": _tampered(int_model, l0__v__mult=lambda m: m // 2),
        "MLP update doubled": _tampered(int_model, l1__w2__shift=lambda s: s - 1),
        "scores dropped": _tampered(int_model, l0__score__mult=lambda m: m * 0),
        "q halved": _tampered(int_model, l1__q__shift=lambda s: s + 1),
        "o 10% too small": _tampered(int_model, l0__o__mult=lambda m: (m.astype(np.int64) * 9 // 10).astype(np.int32)),
    }
    for name, im in broken.items():
        md, k, _ = _softmax_gap(float_model, im, text)
        assert md >= MAXDIFF_TOL or k >= KL_TOL, (name, md, k)


def test_integer_bpb_close_to_float(float_model, int_model, corpus):
    n = 2048
    for window in (16, None):
        fb = float_bpb(float_model, corpus, n, window, seq_len=128)
        ib = integer_bpb(int_model, corpus, n, 16, window, seq_len=128, diagnostics=True)
        assert abs(ib["softmax"] / fb - 1) < 0.005, (window, fb, ib)   # the integer network
        assert abs(ib["table"] / fb - 1) < 0.01, (window, fb, ib)      # plus the P-bit tables


# ----------------------------------------------------------------------------- quantizer

def test_quantize_rows_and_multipliers():
    rng = np.random.default_rng(9)
    W = rng.normal(0, 1, (16, 40))
    W[3] = 0.0
    for clip in ("max", "mse"):
        q, sc = quantize_rows(W, clip)
        assert q.dtype == np.int8 and q.min() >= -127 and q.max() <= 127
        assert np.all(np.abs(q * sc[:, None] - W) <= sc[:, None] * 0.5 + np.abs(W) * (clip == "mse"))
    q, sc = quantize_rows(W, "max")
    assert np.all(np.abs(q).max(1)[np.arange(16) != 3] == 127)
    ratio = np.array([1e-3, 2.5e-3, 0.0, 7e-4])
    M, s = multipliers(ratio)
    assert M.max() < 1 << 31 and M.max() >= 1 << 30 and 1 <= s <= 62
    assert np.allclose(M / 2.0 ** s, ratio, rtol=1e-8, atol=0)
    assert np.round(ratio.max() * 2.0 ** (s + 1)) >= 1 << 31   # s is the largest possible


def test_gain_folding(float_model, int_model):
    """Dequantised folded weights reproduce W · diag(gain)."""
    blk = float_model.blocks[1]
    W = (blk.attn.k.weight * blk.norm1.weight[None]).detach().double().numpy()
    Wq = int_model.tensors["l1.k.weight"].astype(np.float64)
    scale = np.abs(W).max(1) / 127
    assert np.allclose(Wq * scale[:, None], W, atol=scale.max() / 2 + 1e-12)
    assert int_model.tensors["rel_bucket"].tolist()[:17] == list(range(17))
    assert int_model.tensors["rel_bucket"][-1] == 31


def test_validation_rejects_bad_tensors(int_model):
    t = dict(int_model.tensors)
    bad = dict(t, **{"l0.q.weight": t["l0.q.weight"].astype(np.int16)})
    with pytest.raises(ValueError, match="expected"):
        IntegerM1(int_model.config, bad)
    w = t["l0.q.weight"].copy()
    w[0, 0] = -128
    with pytest.raises(ValueError, match="-127"):
        IntegerM1(int_model.config, dict(t, **{"l0.q.weight": w}))
    with pytest.raises(ValueError, match="missing"):
        IntegerM1(int_model.config, {k: v for k, v in t.items() if k != "exp2_lut"})
    with pytest.raises(ValueError, match="logits"):
        check_bounds(int_model.config, dict(t, **{"out.mult": np.full(257, (1 << 31) - 1, np.int32),
                                                  "out.shift": np.array([1], np.int32)}))
    assert set(tensor_specs(int_model.config)) == set(t)


# ----------------------------------------------------------------------------- export

def test_self_test_definition(int_model):
    """Recompute a self-test hash independently: incremental tables, uint32 LE, FNV-1a 64."""
    data = "안녕하세요".encode()
    ctx = np.concatenate([[EOS], np.frombuffer(data, np.uint8)]).astype(np.int64)
    tables = incremental_tables(int_model, ctx, 16)
    raw = b"".join(int(v).to_bytes(4, "little") for v in tables.ravel())
    h = 0xcbf29ce484222325
    for byte in raw:
        h = ((h ^ byte) * 0x100000001b3) % (1 << 64)
    assert self_test_hash(int_model, data, 16) == f"{h:016x}"


def test_export_round_trip(tmp_path, int_model):
    meta = ex.make_metadata(int_model, 16, quantization={"note": "test"},
                            training={"steps": 0}, evaluation={"x": 1.5})
    assert len(meta["self_test"]["inputs"]) == len(meta["self_test"]["table_hashes"]) == 7
    assert meta["self_test"]["inputs"][0] == "" and len(bytes.fromhex(meta["self_test"]["inputs"][3])) == 40
    # every byte value occurs in some input: every embedding row takes part
    assert set(b"".join(bytes.fromhex(x) for x in meta["self_test"]["inputs"])) == set(range(256))
    path = tmp_path / "m.safetensors"
    ex.save(path, int_model, meta)
    im, meta2 = ex.load(path)
    assert meta2 == json.loads(json.dumps(meta))
    assert set(im.tensors) == set(int_model.tensors)
    for k, v in int_model.tensors.items():
        assert im.tensors[k].dtype == v.dtype and np.array_equal(im.tensors[k], v), k
    # content hash = sha256 over sorted names of the raw bytes
    h = hashlib.sha256()
    for k in sorted(im.tensors):
        h.update(im.tensors[k].tobytes())
    assert meta2["content_hash"] == h.hexdigest()
    rng = np.random.default_rng(10)
    ctx = _ctx(rng, 12)
    assert np.array_equal(forward_tables(im, ctx, 16), forward_tables(int_model, ctx, 16))


def test_export_detects_tampering(tmp_path, int_model):
    from safetensors.numpy import save_file as save_raw
    meta = ex.make_metadata(int_model, 16)
    path = tmp_path / "m.safetensors"

    def save_file(tensors, where, metadata):  # sealed as the exporter seals, so later checks run
        save_raw(tensors, where, metadata=dict(metadata, eqinfo_sha256=ex.metadata_sha256(metadata["eqinfo"])))
    # a changed weight: content hash mismatch
    t = dict(int_model.tensors)
    w = t["l1.w2.weight"].copy()
    w[0, 0] = 5 if w[0, 0] != 5 else 6
    save_file(dict(t, **{"l1.w2.weight": w}), str(path), metadata={"eqinfo": json.dumps(meta)})
    with pytest.raises(ValueError, match="content hash"):
        ex.load(path)
    # a wrong stored self-test hash
    bad = json.loads(json.dumps(meta))
    bad["self_test"]["table_hashes"][2] = "0" * 16
    save_file(dict(int_model.tensors), str(path), metadata={"eqinfo": json.dumps(bad)})
    with pytest.raises(ValueError, match="self-test"):
        ex.load(path)
    bad = dict(meta, format="other")
    save_file(dict(int_model.tensors), str(path), metadata={"eqinfo": json.dumps(bad)})
    with pytest.raises(ValueError, match="format"):
        ex.load(path)
    # the metadata changed after sealing (an informational field), or never sealed
    save_raw(dict(int_model.tensors), str(path),
             metadata={"eqinfo": json.dumps(dict(meta, note="x")), "eqinfo_sha256": ex.metadata_sha256(json.dumps(meta))})
    with pytest.raises(ValueError, match="eqinfo_sha256"):
        ex.load(path)
    save_raw(dict(int_model.tensors), str(path), metadata={"eqinfo": json.dumps(meta)})
    with pytest.raises(ValueError, match="eqinfo_sha256"):
        ex.load(path)


def test_reseal_upgrades_an_old_export_and_refuses_damaged_tensors(tmp_path, int_model):
    """An export from before eqinfo_sha256 and the all-bytes self-test input: --reseal gives it
    both, leaves the tensors and the other fields alone, and will not seal damaged tensors."""
    from safetensors.numpy import save_file
    meta = ex.make_metadata(int_model, 16, training={"steps": 3})
    old = json.loads(json.dumps(meta))
    old["self_test"] = {k: v[:6] if isinstance(v, list) else v for k, v in old["self_test"].items()}
    path = tmp_path / "old.safetensors"
    save_file(dict(int_model.tensors), str(path), metadata={"eqinfo": json.dumps(old)})
    ex.main(["--reseal", str(path)])
    im, meta2 = ex.load(path)
    assert meta2 == json.loads(json.dumps(meta))
    assert all(np.array_equal(im.tensors[k], v) for k, v in int_model.tensors.items())
    t = dict(int_model.tensors)
    t["embed"] = t["embed"].copy()
    t["embed"][7, 0] += 1
    save_file(t, str(path), metadata={"eqinfo": json.dumps(old)})
    with pytest.raises(ValueError, match="damaged"):
        ex.reseal(path)


def test_constants():
    assert A == 4095 and R == (1 << 23) - 1
    assert A * 127 * 1024 < 1 << 31


# ----------------------------------------------------------------------------- format v2: bounded span

def _windowed(im, window):
    import dataclasses
    return IntegerM1(dataclasses.replace(im.config, attention_window=window), im.tensors)


def test_span_allows_the_sink_and_the_latest_positions():
    from eqinfo.m1.integer_model import span_allows
    dist = np.arange(12)
    assert span_allows(0, dist, dist == 11).all()                       # v1: everything
    got = span_allows(5, dist, dist == 11)                               # t = 11: keys 11..8 and 0
    assert got.tolist() == [True] * 4 + [False] * 7 + [True]
    assert span_allows(5, np.arange(4), np.arange(4) == 3).all()        # t < W: all positions


def test_v2_full_sequence_equals_incremental_beyond_the_span(int_model):
    """The masked full-sequence path and the KV-cache path agree past W, and the span changes
    the tables only once a context is longer than W (before that it sees every position)."""
    W = 8
    v2 = _windowed(int_model, W)
    rng = np.random.default_rng(21)
    ctx = _ctx(rng, 30)
    full = forward_tables(v2, ctx, 16)
    assert np.array_equal(full, incremental_tables(v2, ctx, 16))
    v1 = forward_tables(int_model, ctx, 16)
    assert np.array_equal(full[:W], v1[:W])
    assert not np.array_equal(full[W:], v1[W:])
    # Bounded receptive field: each layer reaches W - 2 positions further back (the sink aside),
    # so a byte at position j changes the tables up to j + L (W - 2) and none after.
    j, L = 3, v2.config.n_layers
    changed = ctx.copy()
    changed[j] = (changed[j] + 1) % 256
    after = forward_tables(v2, changed, 16)
    reach = j + L * (W - 2)
    assert not np.array_equal(after[j:reach + 1], full[j:reach + 1])
    assert np.array_equal(after[reach + 1:], full[reach + 1:])


def test_v2_segments_behave_as_separate_contexts(int_model):
    from eqinfo.m1.integer_model import forward_logits_batch
    v2 = _windowed(int_model, 6)
    rng = np.random.default_rng(22)
    a, b = _ctx(rng, 14), _ctx(rng, 9)
    packed = np.concatenate([a, b])[None]
    seg = np.concatenate([np.zeros(len(a), int), np.ones(len(b), int)])[None]
    got = forward_logits_batch(v2, packed, seg)[0]
    assert np.array_equal(got[:len(a)], forward_logits_batch(v2, a[None])[0])
    assert np.array_equal(got[len(a):], forward_logits_batch(v2, b[None])[0])


def test_v2_float_model_masks_the_same_span(float_model):
    import dataclasses
    W = 8
    m2 = M1(dataclasses.replace(float_model.cfg, attention_window=W))
    m2.load_state_dict(float_model.state_dict())
    m2.eval()
    rng = np.random.default_rng(23)
    x = torch.tensor(_ctx(rng, 25))[None]
    with torch.no_grad():
        full, windowed = float_model(x)[0], m2(x)[0]
        assert torch.allclose(full[:W], windowed[:W], atol=1e-5)
        assert not torch.allclose(full[W:], windowed[W:], atol=1e-3)
        # one segment given explicitly is the same context (the sink is the segment's start)
        seg = torch.zeros_like(x)
        assert torch.allclose(m2(x, seg)[0], windowed, atol=1e-5)


def test_v2_export_round_trip_with_a_self_test_longer_than_the_span(tmp_path, int_model):
    W = 16
    v2 = _windowed(int_model, W)
    meta = ex.make_metadata(v2, 16)
    assert meta["version"] == 2 and meta["architecture"]["attention_window"] == W
    assert len(meta["self_test"]["inputs"]) == 8
    assert len(bytes.fromhex(meta["self_test"]["inputs"][7])) == 2 * W + 100
    path = tmp_path / "v2.safetensors"
    ex.save(path, v2, meta)
    im, meta2 = ex.load(path)
    assert im.config.attention_window == W and meta2 == json.loads(json.dumps(meta))
    v1_meta = ex.make_metadata(int_model, 16)
    assert v1_meta["version"] == 1 and "attention_window" not in v1_meta["architecture"]
    # a span in a version-1 file is refused, never reinterpreted
    bad = json.loads(json.dumps(meta))
    bad["version"] = 1
    ex.save(path, v2, bad)
    with pytest.raises(ValueError, match="version 1 with an attention_window"):
        ex.load(path)
