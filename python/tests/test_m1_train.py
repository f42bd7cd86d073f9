"""Data split, batch sampling, evaluation chunking and exact resumption of training."""
import csv
import gzip
import json

import numpy as np
import pytest
import torch

from eqinfo.data import EOS, iter_documents, load_split
from eqinfo.m1 import train as T


def write_corpus(path, n_docs=120, seed=0):
    rng = np.random.default_rng(seed)
    words = ["the", "cat", "sat", "on", "a", "mat", "naïve", "café", "data", "byte", "€"]
    texts = [f"doc {i}: " + " ".join(rng.choice(words, size=rng.integers(5, 40)))
             for i in range(n_docs)]
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t, "source": "test"}) + "\n")
    return texts


def test_split_rule_and_loader(tmp_path):
    p = tmp_path / "c.jsonl.gz"
    texts = write_corpus(p)
    val = list(iter_documents(p, "val"))
    train = list(iter_documents(p, "train"))
    assert val == [texts[0], texts[50], texts[100]]  # i % 50 == 0
    assert train == [t for i, t in enumerate(texts) if i % 50 != 0]
    for split, docs in (("val", val), ("train", train)):
        sym, starts = load_split(p, split, tmp_path / "cache", verbose=False)
        want = np.concatenate([list(d.encode("utf-8")) + [EOS] for d in docs]).astype(np.uint16)
        assert sym.dtype == np.uint16 and np.array_equal(sym, want)
        assert len(starts) == len(docs) and starts[0] == 0
        assert all(sym[s - 1] == EOS for s in starts[1:])
        sym2, starts2 = load_split(p, split, tmp_path / "cache", verbose=False)  # from cache
        assert np.array_equal(sym2, sym) and np.array_equal(starts2, starts)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 4


def test_sampler_is_pure_and_resets_are_well_formed():
    train = np.random.default_rng(1).integers(0, 256, 5000).astype(np.uint16)
    train[::300] = EOS
    a = T.sample_batch(train, 7, 3, 8, 64, 1.0, 4, 12)
    b = T.sample_batch(train, 7, 3, 8, 64, 1.0, 4, 12)
    c = T.sample_batch(train, 7, 4, 8, 64, 1.0, 4, 12)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    inputs, targets, segs = a
    for i in range(8):
        starts = np.nonzero(inputs[i] == EOS)[0]
        # every segment but the first and last is a full reset segment of length in [4, 12]
        lens = np.diff(starts)
        inner = lens[(inputs[i, starts[:-1]] == EOS)]
        assert len(starts) >= 4 and (inner >= 1).all() and (inner <= 12).all()
        # inputs only differ from the raw stream (= targets shifted) by EOS at reset points
        raw_in = np.concatenate([[inputs[i, 0]], targets[i, :-1]])
        diff = np.nonzero(raw_in != inputs[i])[0]
        assert (inputs[i, diff] == EOS).all()
        assert np.array_equal(segs[i], np.cumsum(inputs[i] == EOS))
    # reset_frac 0: inputs are exactly the raw stream
    x0, y0, _ = T.sample_batch(train, 7, 3, 8, 64, 0.0, 4, 12)
    assert np.array_equal(x0[:, 1:], y0[:, :-1])


def test_eval_sequences_predict_every_symbol_once():
    val = np.arange(100, dtype=np.uint16) % 256
    val[[30, 99]] = EOS
    for window in (None, 16):
        x, y, v, g = T.eval_sequences(val, 90, 32, window)
        assert np.array_equal(y[v], val[:90])
        assert x[0, 0] == EOS
    x, y, v, g = T.eval_sequences(val, 90, 32, 16)
    assert (x.reshape(-1)[::16] == EOS).all()
    for row in x:  # window mode: no segment longer than 16 (EOS inside a window resets too)
        starts = np.nonzero(row == EOS)[0]
        assert starts[0] == 0 and (np.diff(np.append(starts, 32)) <= 16).all()


def make_args(tmp_path, corpus, out, **kw):
    argv = ["--preset", "tiny", "--out", str(out), "--data", str(corpus),
            "--cache-dir", str(tmp_path / "cache"), "--steps", "4", "--batch", "4",
            "--seq-len", "32", "--warmup", "2", "--eval-every", "2", "--eval-bytes", "300",
            "--ckpt-every", "100", "--log-every", "1"]
    for k, v in kw.items():
        argv += [f"--{k.replace('_', '-')}", str(v)]
    return T.parse_args(argv)


def test_exact_resumption(tmp_path):
    corpus = tmp_path / "c.jsonl.gz"
    write_corpus(corpus, n_docs=200)
    straight = T.train(make_args(tmp_path, corpus, tmp_path / "a"))["model"].state_dict()
    first = T.train(make_args(tmp_path, corpus, tmp_path / "b", stop_at=2))
    assert first["step"] == 2
    resumed = T.train(make_args(tmp_path, corpus, tmp_path / "b"))["model"].state_dict()
    for k in straight:
        assert torch.equal(straight[k], resumed[k]), k
    rows = (tmp_path / "b" / "log.csv").read_text().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    assert (tmp_path / "b" / "weights_best.pt").exists()
    # and the checkpoint really is used: a fresh run with --no-resume differs from resumed after 2
    ck = torch.load(tmp_path / "b" / "ckpt.pt", weights_only=False)
    assert ck["step"] == 4 and ck["config"]["d_model"] == 64


def test_loss_curve_is_the_one_recorded_before_the_trainers_shared_a_loop(tmp_path):
    """The same seed gives the same run: train loss, bits/byte and lr of every step as logged by
    m1/train.py before eqinfo.training existed (torch 2.13.0, CPU). The tolerance is the log's
    5 decimals plus float noise across machines; a change of schedule, step order or batches
    moves these by far more."""
    corpus = tmp_path / "c.jsonl.gz"
    write_corpus(corpus, n_docs=200)
    T.train(make_args(tmp_path, corpus, tmp_path / "r", steps=6, eval_every=3))
    rows = list(csv.DictReader(open(tmp_path / "r" / "log.csv", newline="")))
    recorded = [  # step, train_loss_nats, train_bpb, lr, val_bpb_full, val_bpb_window
        (1, 5.58295, 8.05449, 5.000e-04, None, None), (2, 5.31465, 7.72779, 1.000e-03, None, None),
        (3, 5.05421, 7.29168, 1.000e-03, 7.28422, 7.30020),
        (4, 4.99000, 7.37182, 8.682e-04, None, None), (5, 4.81619, 7.00300, 5.500e-04, None, None),
        (6, 4.79220, 6.96813, 2.318e-04, 6.99258, 7.02590)]
    fields = ("train_loss_nats", "train_bpb", "lr", "val_bpb_full", "val_bpb_window")
    for row, (step, *want) in zip(rows, recorded, strict=True):
        assert int(row["step"]) == step
        for f, w in zip(fields, want):
            assert (row[f] == "") if w is None else float(row[f]) == pytest.approx(w, abs=2e-5), \
                (step, f)
