"""Trivial-model baselines, FLOPs/byte, and the experiment's run keys."""
import math

import numpy as np
import pytest

from eqinfo.experiment.baselines import shard_baselines, unigram_bpb, uniform_bpb
from eqinfo.experiment.flops import inference_flops_per_byte, m1_context
from eqinfo.experiment.methods import paper_flops_per_byte, parse_method
from eqinfo.m1 import flops_per_byte as m1_fpb, get_preset as m1_preset
from eqinfo.m2 import get_preset, non_embedding_params
from eqinfo.registry import lookup
from eqinfo.shards import read_shard, write_shard


def test_uniform():
    assert uniform_bpb(256, 100, 200) == pytest.approx(4.0)
    assert uniform_bpb(65536, 10, 40) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        uniform_bpb(256, 1, 0)


def test_unigram_known_distribution():
    # train: token 0 three times as often as token 1 (p = 3/4, 1/4 without smoothing).
    train = np.array([0] * 3000 + [1] * 1000)
    val = np.array([0, 0, 0, 1])
    h = -(3 * math.log2(0.75) + math.log2(0.25))            # 3.245 bits over 4 tokens
    assert unigram_bpb(train, val, 2, 4, alpha=0) == pytest.approx(h / 4)
    # add-one over a 4-token vocabulary: p = 3001/4004, 1001/4004
    want = -(3 * math.log2(3001 / 4004) + math.log2(1001 / 4004)) / 8
    assert unigram_bpb(train, val, 4, 8) == pytest.approx(want)
    # a token never seen in train stays finite
    assert math.isfinite(unigram_bpb(train, np.array([3]), 4, 1))
    with pytest.raises(ValueError):
        unigram_bpb(train, np.array([7]), 4, 1)


def test_shard_baselines(tmp_path):
    rng = np.random.default_rng(0)
    tr = write_shard(tmp_path / "t.shard", [rng.integers(0, 4, 4000)], [8000], 4, {})
    va = write_shard(tmp_path / "v.shard", [rng.integers(0, 4, 1000)], [2000], 4, {})
    b = shard_baselines(read_shard(tr), read_shard(va))
    assert b["uniform_bpb"] == pytest.approx(2 * 1000 / 2000)
    assert b["unigram_bpb"] == pytest.approx(1.0, abs=0.01)  # uniform source: unigram ~ uniform


def test_flops_per_byte():
    cfg = get_preset("m2-25m")
    n = non_embedding_params(cfg)
    m1 = m1_preset("m1-3m")
    by = inference_flops_per_byte("bytes", cfg, 1.0)
    assert by["flops_per_byte"] == 2 * n and by["m1_flops_per_byte"] == 0
    gz = inference_flops_per_byte("gzip-v256", cfg, 2.0)
    assert gz["flops_per_byte"] == n                             # GZip's cost ignored
    ac = inference_flops_per_byte("ac-v256", cfg, 5.0)
    assert ac["m1_context"] == 1024
    assert ac["flops_per_byte"] == pytest.approx(2 * n / 5 + m1_fpb(m1, 1024))
    eq = inference_flops_per_byte("equalinfo-b16-v65k", cfg, 5.31)
    assert eq["m1_context"] == round(16 / 16 * 5.31)             # one window of bytes
    assert eq["bytes_per_step"] == 5.31
    assert m1_context("equalinfo-b64-v256", 4.0, m1) == 32
    # the paper's Fig. 3 numbers: Bytes 25m at 2 x 25.2M, EqualInfoAC[b16,v65k] 2N/5.31 + 6.0M
    assert paper_flops_per_byte("bytes") == pytest.approx(50.3e6, rel=0.01)
    assert paper_flops_per_byte("equalinfo-b16-v65k") == pytest.approx(15.48e6, rel=0.01)
    with pytest.raises(ValueError):
        inference_flops_per_byte("bytes", cfg, 0)


def test_run_keys():
    info = parse_method("equalinfo-b24-v65k")
    assert (info.family, info.b, info.token_bits, info.window_tokens) == ("equalinfo", 24, 16, None)
    assert info.method is lookup("equalinfo-b24-v65k") and info.preset is None
    assert parse_method("equalinfo-b16-v256").window_tokens == 2
    assert parse_method("gzip-v65k").label == "GZip[v65k]"
    sweep = parse_method("bytes@m2-cpu-m")
    assert (sweep.stream, sweep.preset, sweep.label) == ("bytes", "m2-cpu-m", "Bytes @m2-cpu-m")
    # a sweep run has no paper point (the paper trains each stream at 25m)
    assert parse_method("bytes").paper and sweep.paper == {} and paper_flops_per_byte(sweep.name) is None
    for bad in ("equalinfo-v256", "bytes-v256", "ac", "zip", "bytes@", "bytes@m2-nope"):
        with pytest.raises(ValueError):
            parse_method(bad)
