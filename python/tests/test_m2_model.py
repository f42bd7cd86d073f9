"""M2 model: shapes, causality, BOS shift, parameter counts and FLOPs formulas."""
import pytest
import torch

from eqinfo.m2 import (M2, M2Config, forward_flops_per_token, get_preset, non_embedding_params,
                       shift_right, train_flops_per_token)


def test_shapes_and_bos():
    cfg = get_preset("tiny", vocab_size=50, max_seq_len=16)
    m = M2(cfg)
    x = torch.randint(0, 50, (3, 16))
    inp = shift_right(x, cfg.bos)
    assert inp.shape == (3, 16) and (inp[:, 0] == 50).all() and torch.equal(inp[:, 1:], x[:, :-1])
    logits = m(inp)
    assert logits.shape == (3, 16, 50)          # never predicts BOS
    assert m.embed.num_embeddings == 51          # but takes it as input
    with pytest.raises(ValueError, match="max_seq_len"):
        m(torch.zeros(1, 17, dtype=torch.long))


def test_causal():
    torch.manual_seed(0)
    cfg = get_preset("tiny", vocab_size=30, max_seq_len=12)
    m = M2(cfg).eval()
    x = torch.randint(0, 30, (2, 12))
    y = x.clone()
    y[:, 7] = (y[:, 7] + 1) % 30                 # change the input at position 7
    with torch.no_grad():
        a, b = m(x), m(y)
    assert torch.equal(a[:, :7], b[:, :7])       # positions < 7 do not see the future
    assert not torch.allclose(a[:, 7:], b[:, 7:])  # 7 and later do see the change


def test_non_embedding_params_match_module_and_paper():
    cfg = get_preset("tiny", vocab_size=77, max_seq_len=20)
    m = M2(cfg)
    emb = {"embed.weight", "pos.weight", "out.weight"}
    counted = sum(p.numel() for n, p in m.named_parameters() if n not in emb)
    assert non_embedding_params(cfg) == counted
    # the paper's M2 sizes are named by non-embedding parameters (PAPER.md)
    for name, want in (("m2-25m", 25e6), ("m2-113m", 113e6), ("m2-403m", 403e6), ("m2-2b", 2.0e9)):
        assert abs(non_embedding_params(get_preset(name)) / want - 1) < 0.01, name
    assert get_preset("m2-2b").attn_dim == 4096


def test_flops_formulas():
    cfg = get_preset("m2-25m")
    n = non_embedding_params(cfg)
    assert forward_flops_per_token(cfg) == 2 * n
    assert forward_flops_per_token(cfg, context=512) == 2 * n + 2 * 6 * 512 * 512
    assert train_flops_per_token(cfg) == 6 * n


def test_bad_config():
    with pytest.raises(ValueError):
        M2Config(d_model=30, n_heads=4, n_layers=1, mlp_dim=8)
    with pytest.raises(ValueError, match="unknown M2 preset"):
        get_preset("nope")
