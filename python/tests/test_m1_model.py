"""M1 model: shapes, causality, segment resets, T5 bucketing, loss and FLOPs formulas."""
import math

import pytest
import torch

from eqinfo.m1 import M1, flops_per_byte, get_preset, non_embedding_params, relative_position_bucket
from eqinfo.m1.model import Z_LOSS_COEF, loss_fn

torch.set_num_threads(1)


def tiny_model(seed=0):
    torch.manual_seed(seed)
    m = M1(get_preset("tiny")).eval()
    # rel_bias starts at zero; randomise it so position-dependence is really exercised.
    with torch.no_grad():
        for blk in m.blocks:
            blk.attn.rel_bias.weight.normal_(0, 1.0)
    return m


def test_shapes_and_presets():
    m = tiny_model()
    x = torch.randint(0, 257, (3, 11))
    assert m(x).shape == (3, 11, 257)
    assert m(x, torch.zeros(3, 11, dtype=torch.long)).shape == (3, 11, 257)
    c = get_preset("m1-3m")
    assert (c.d_model, c.n_heads, c.head_dim, c.n_layers, c.mlp_dim) == (256, 4, 64, 3, 1024)
    # no bias anywhere: every parameter is a weight matrix, an RMSNorm gain, or a rel-bias table
    assert not [n for n, _ in m.named_parameters() if n.endswith(".bias")]


def test_causal_masking():
    m = tiny_model()
    x = torch.randint(0, 256, (2, 16))
    y = x.clone()
    y[:, 9] = (y[:, 9] + 1) % 256
    with torch.no_grad():
        a, b = m(x), m(y)
    assert torch.allclose(a[:, :9], b[:, :9], atol=1e-6)
    assert not torch.allclose(a[:, 9:], b[:, 9:], atol=1e-3)  # the change is visible from 9 on


def test_segment_reset_equivalence():
    m = tiny_model()
    a = torch.randint(0, 257, (1, 23))
    b = torch.randint(0, 257, (1, 17))
    packed = torch.cat([a, b], 1)
    segs = torch.cat([torch.zeros(1, 23), torch.ones(1, 17)], 1).long()
    with torch.no_grad():
        lp = m(packed, segs)
        la, lb = m(a), m(b)
        lnoseg = m(packed)
    assert torch.allclose(lp[:, :23], la, atol=1e-5)
    assert torch.allclose(lp[:, 23:], lb, atol=1e-5)
    assert not torch.allclose(lnoseg[:, 23:], lb, atol=1e-3)  # without the reset, b sees a


def test_relative_bucket_hand_worked():
    # unidirectional T5 bucketing, 32 buckets, max_distance 128: max_exact = 16;
    # n >= 16 -> 16 + floor(log(n/16) / log(128/16) * 16), capped at 31.
    #   n=20: log(1.25)/log(8)*16 = 1.72 -> 17;  n=32: 16/3 = 5.33 -> 21;  n=64: 32/3 -> 26;
    #   n=127: 15.94 -> 31;  n>=128 -> 31.  Future keys (key > query) map to bucket 0.
    dist = torch.tensor([0, 1, 15, 16, 20, 32, 64, 127, 128, 1000])
    want = torch.tensor([0, 1, 15, 16, 17, 21, 26, 31, 31, 31])
    assert torch.equal(relative_position_bucket(-dist, 32, 128), want)
    assert torch.equal(relative_position_bucket(torch.tensor([1, 5]), 32, 128), torch.tensor([0, 0]))
    # smaller config: 8 buckets, max_distance 16: exact 0..3, then 4 + floor(log(n/4)/log(4)*4)
    assert relative_position_bucket(torch.tensor([-8]), 8, 16).item() == 6


def test_loss_with_z_loss():
    logits = torch.zeros(1, 3, 257)
    targets = torch.tensor([[0, 5, 256]])
    total, ce = loss_fn(logits, targets)
    assert torch.allclose(ce, torch.full((1, 3), math.log(257)))
    assert total.item() == pytest.approx(math.log(257) + Z_LOSS_COEF * math.log(257) ** 2, rel=1e-6)


def test_flops_per_byte_formula():
    c = get_preset("m1-3m")
    n = non_embedding_params(c)
    assert 2.35e6 < n < 2.37e6  # 3 * (4*256^2 + 2*256*1024) = 2,359,296 plus norms/rel-bias
    assert flops_per_byte(c, 1024) == 2 * n + 2 * 3 * 1024 * 256  # Kaplan et al. 2020, Table 1
    assert 6.2e6 < flops_per_byte(c) < 6.4e6  # paper: 6.0M
