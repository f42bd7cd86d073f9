"""M2 training: batches, exact resumption, bits/byte formula and evaluation coverage, positions."""
import csv
import math

import numpy as np
import pytest
import torch

from eqinfo.m2 import M2, get_preset
from eqinfo.m2 import train as T
from eqinfo.shards import read_shard, write_shard


def make_shards(tmp_path, name="equalinfo-b32-v256", vocab=256, n_docs=(60, 6), k=4, seed=0):
    """Documents of whole k-token windows (as Equal-Info shards are)."""
    rng = np.random.default_rng(seed)
    paths = []
    for split, nd in zip(("train", "val"), n_docs):
        docs = [rng.integers(0, vocab, size=k * int(rng.integers(3, 40))) for _ in range(nd)]
        paths.append(write_shard(tmp_path / split / f"{name}.shard", docs,
                                 [3 * len(d) + 1 for d in docs], vocab,
                                 {"method": name, "b": 32, "N": 8, "split": split}))
    return paths


def args(tmp_path, tr, va, out, **kw):
    argv = ["--train", str(tr), "--val", str(va), "--out", str(out), "--preset", "tiny",
            "--steps", "6", "--seq-len", "32", "--batch", "4", "--warmup", "2",
            "--eval-every", "3", "--ckpt-every", "100", "--log-every", "1", "--quiet"]
    for key, v in kw.items():
        argv += [f"--{key.replace('_', '-')}", str(v)]
    return T.parse_args(argv)


def test_batches_pure_and_cover_epochs(tmp_path):
    tr, _ = make_shards(tmp_path)
    sh = read_shard(tr)
    b = T.Batches(sh, 32, 4, seed=3)
    assert np.array_equal(b(5), T.Batches(sh, 32, 4, seed=3)(5))
    assert not np.array_equal(b(5), b(6))
    n = b.n_examples
    steps = -(-n // 4)
    seen = np.concatenate([b(s) for s in range(steps)])[:n]        # one epoch
    want = np.asarray(sh.tokens[:n * 32]).reshape(n, 32)
    assert sorted(map(tuple, seen)) == sorted(map(tuple, want))     # each example once


def test_exact_resumption(tmp_path):
    tr, va = make_shards(tmp_path)
    straight = T.train(args(tmp_path, tr, va, tmp_path / "a"))["model"].state_dict()
    first = T.train(args(tmp_path, tr, va, tmp_path / "b", stop_at=3))
    assert first["step"] == 3 and not first["done"]
    assert not (tmp_path / "b" / "result.json").exists()
    res = T.train(args(tmp_path, tr, va, tmp_path / "b"))
    for k, v in straight.items():
        assert torch.equal(v, res["model"].state_dict()[k]), k
    assert res["done"] and (tmp_path / "b" / "result.json").exists()
    steps = [r["step"] for r in csv.DictReader(open(tmp_path / "b" / "log.csv"))]
    assert steps == ["1", "2", "3", "4", "5", "6"]
    a_rows = list(csv.DictReader(open(tmp_path / "a" / "log.csv")))
    b_rows = list(csv.DictReader(open(tmp_path / "b" / "log.csv")))
    assert [r["val_bpb"] for r in a_rows] == [r["val_bpb"] for r in b_rows]


def test_bits_per_byte_formula_hand_checked(tmp_path):
    # 10 tokens over 25 text bytes in 2 documents; a model whose logits are all 0 predicts
    # uniformly over V = 16: loss ln 16 per token -> bits/byte = 10 * 4 / 25 = 1.6 exactly.
    docs = [np.arange(4), np.arange(6) % 16]
    p = write_shard(tmp_path / "v.shard", docs, [10, 15], 16, {"method": "x"})
    sh = read_shard(p)
    cfg = get_preset("tiny", vocab_size=16, max_seq_len=4)
    m = M2(cfg)
    torch.nn.init.zeros_(m.out.weight)
    tokens, offs, nbytes = T.eval_stream(sh, None)
    assert nbytes == 25 and len(tokens) == 10
    r = T.evaluate(m, tokens, None, nbytes, seq_len=4, batch=2, device=torch.device("cpu"))
    assert r["n_tokens"] == 10                     # 3 chunks of 4, tail of 2 included once
    assert r["bpb"] == pytest.approx(1.6, rel=1e-6)
    assert r["loss_nats"] == pytest.approx(math.log(16), rel=1e-6)
    assert T.bits_per_byte(10 * math.log(16), 25) == pytest.approx(1.6)
    # a prefix of whole documents: the first document only
    t1, _, b1 = T.eval_stream(sh, 5)
    assert len(t1) == 4 and b1 == 10


def test_window_positions_logged(tmp_path):
    tr, va = make_shards(tmp_path, k=4)
    T.train(args(tmp_path, tr, va, tmp_path / "r"))
    rows = list(csv.DictReader(open(tmp_path / "r" / "positions.csv")))
    assert {r["step"] for r in rows} == {"3", "6"}
    assert sorted({int(r["position"]) for r in rows}) == [0, 1, 2, 3]      # b32 / N8 = 4
    sh = read_shard(va)
    n_per = [int(r["n_tokens"]) for r in rows if r["step"] == "6"]
    assert sum(n_per) == sh.n_tokens and len(set(n_per)) == 1              # whole windows
    assert T.window_tokens({"method": "equalinfo-b24-v65k", "b": 24, "N": 16}) is None
    assert T.window_tokens({}, "equalinfo-b16-v256") == 2
    assert T.window_tokens({"method": "gzip-v256", "N": 8}) is None


def test_budgets_and_errors(tmp_path):
    tr, va = make_shards(tmp_path)
    cfg = get_preset("tiny", vocab_size=256, max_seq_len=32)
    a = args(tmp_path, tr, va, tmp_path / "x")
    assert a.with_(steps=None, tokens=1000).total_steps(cfg) == math.ceil(1000 / 128)
    assert a.with_(steps=None, flops=1e9).total_steps(cfg) == math.ceil(1e9 / (6 * 10336 * 128))
    with pytest.raises(ValueError, match="exactly one budget"):
        a.with_(tokens=1000)
    with pytest.raises(ValueError, match="micro_batch"):
        a.with_(micro_batch=3)
    bad = write_shard(tmp_path / "val" / "other.shard", [np.arange(40)], [40], 100, {})
    with pytest.raises(ValueError, match="vocab"):
        T.train(args(tmp_path, tr, bad, tmp_path / "y"))


def test_loss_curve_is_the_one_recorded_before_the_trainers_shared_a_loop(tmp_path):
    """The same seed gives the same run (micro-batches included): train loss, lr and validation
    of every step as logged by m2/train.py before eqinfo.training existed (torch 2.13.0, CPU);
    the tolerance is the log's 5 decimals plus float noise across machines."""
    tr, va = make_shards(tmp_path)
    T.train(args(tmp_path, tr, va, tmp_path / "r", micro_batch=2))
    rows = list(csv.DictReader(open(tmp_path / "r" / "log.csv")))
    recorded = [  # step, train_loss_nats, lr, val_loss_nats, val_bpb
        (1, 5.55550, 5.000e-04, None, None), (2, 5.53723, 1.000e-03, None, None),
        (3, 5.56449, 1.000e-03, 5.54963, 2.65726), (4, 5.55784, 8.682e-04, None, None),
        (5, 5.55331, 5.500e-04, None, None), (6, 5.55512, 2.318e-04, 5.54904, 2.65697)]
    for row, (step, *want) in zip(rows, recorded, strict=True):
        assert int(row["step"]) == step
        for f, w in zip(("train_loss_nats", "lr", "val_loss_nats", "val_bpb"), want):
            assert (row[f] == "") if w is None else float(row[f]) == pytest.approx(w, abs=2e-5), \
                (step, f)
