"""M1 v2's data: the Korean/Chinese file's split, the English + Korean/Chinese training mix, the
EOS-started contexts, the extra validation columns and the warm start (docs/data.md,
docs/m1_training.md "M1 v2")."""
import csv
import gzip
import json

import numpy as np
import pytest
import torch

from eqinfo import resources
from eqinfo.data import CHINESE, EOS, KOREAN, MULTILINGUAL_FILE, iter_documents, load_split
from eqinfo.m1 import snapshot
from eqinfo.m1 import train as T
from eqinfo.m1.config import RUNS
from eqinfo.m1.data_mix import TrainMix, draw_sequences

from binding_support import corpus_or_skip
from test_m1_train import make_args, write_corpus


def write_multilingual(path, n_docs=150):
    """Korean first, then Chinese, like the shared file; -> [(lang, text)]."""
    docs = [("ko", f"한국어 문서 {i} 입니다") if i < 60 else
            (("zh", "zh-Hant", "zh-classical")[i % 3], f"中文文件 {i} 號")
            for i in range(n_docs)]
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for lang, text in docs:
            f.write(json.dumps({"text": text, "source": "test", "lang": lang},
                               ensure_ascii=False) + "\n")
    return docs


def test_split_rule_is_per_file_and_language_selection_keeps_it(tmp_path):
    p = tmp_path / "m.jsonl.gz"
    docs = write_multilingual(p)
    assert list(iter_documents(p, "val")) == [docs[i][1] for i in (0, 50, 100)]
    # A language's documents keep the indices of the whole file: Korean val = doc 0 and 50 only.
    assert list(iter_documents(p, "val", KOREAN)) == [docs[0][1], docs[50][1]]
    assert list(iter_documents(p, "val", CHINESE)) == [docs[100][1]]
    zh_train = [t for i, (lang, t) in enumerate(docs) if i % 50 and lang != "ko"]
    assert list(iter_documents(p, "train", CHINESE)) == zh_train
    sym, _ = load_split(p, "val", tmp_path / "cache", verbose=False, langs=KOREAN)
    assert bytes(sym[sym != EOS].astype(np.uint8)).decode() == docs[0][1] + docs[50][1]
    # the language selection has its own cache entry, not the whole split's
    whole, _ = load_split(p, "val", tmp_path / "cache", verbose=False)
    assert len(whole) > len(sym) and len(list((tmp_path / "cache").glob("*_symbols.npy"))) == 2


def test_shared_multilingual_split_has_both_languages_as_documented():
    path = corpus_or_skip(MULTILINGUAL_FILE)
    ko = list(iter_documents(path, "val", KOREAN))
    zh = list(iter_documents(path, "val", CHINESE))
    assert (len(ko), len(zh)) == (22, 76)              # docs/data.md
    assert sum(len(t.encode()) for t in ko) == 68_718
    assert sum(len(t.encode()) for t in zh) == 101_519
    assert sum(1 for _ in iter_documents(path, "train")) == 4_801


@pytest.mark.parametrize("frac", [0.25, 0.6])
def test_mix_draws_the_documented_fraction_of_symbols_from_the_second_corpus(frac):
    english = np.full(10_000, 1, dtype=np.uint16)
    other = np.full(3_000, 2, dtype=np.uint16)
    mix = TrainMix(other, frac)
    seqs = np.concatenate([draw_sequences(np.random.default_rng([0, s]), english, 64, 32, mix)
                           for s in range(200)])                   # 12,800 sequences
    # every sequence comes from one corpus
    assert ((seqs == 1).all(axis=1) | (seqs == 2).all(axis=1)).all()
    # binomial sd of the fraction: sqrt(f (1 - f) / 12,800) < 0.0044; 4.5 sd
    assert (seqs == 2).mean() == pytest.approx(frac, abs=0.02)


def test_without_a_mix_the_batches_are_the_old_ones():
    """mix=None draws exactly the offsets the sampler drew before the mix existed (the loss-curve
    test in test_m1_train pins a whole run; this pins the draw itself)."""
    train = np.arange(5_000, dtype=np.uint16) % 256
    rng = np.random.default_rng([7, 3])
    offsets = rng.integers(0, len(train) - 64 - 1, size=8)
    want = train[offsets[:, None] + np.arange(65)[None, :]].astype(np.int64)
    assert np.array_equal(draw_sequences(np.random.default_rng([7, 3]), train, 8, 64), want)
    with pytest.raises(ValueError):
        TrainMix(train, 0.0)


@pytest.mark.parametrize("reset_frac", [0.0, 1.0])
def test_bos_start_makes_every_context_start_with_eos(reset_frac):
    train = np.random.default_rng(1).integers(0, 256, 5_000).astype(np.uint16)
    args = (train, 7, 3, 8, 64, reset_frac, 2, 40)
    x, y, g = T.sample_batch(*args)
    xb, yb, gb = T.sample_batch(*args, bos_start=True)
    assert (xb[:, 0] == EOS).all() and np.array_equal(yb, y)       # targets untouched
    assert np.array_equal(xb[:, 1:], x[:, 1:])                     # only position 0 changes
    assert np.array_equal(gb, np.cumsum(xb == EOS, axis=1))
    if reset_frac == 0.0:     # a full span of 64 positions after one EOS: AC's bounded context
        assert (gb == 1).all()


def test_mixed_run_logs_korean_and_chinese_validation(tmp_path):
    corpus, multi = tmp_path / "c.jsonl.gz", tmp_path / "m.jsonl.gz"
    write_corpus(corpus, n_docs=200)
    write_multilingual(multi)
    def args(out, **kw):
        return make_args(tmp_path, corpus, out, mix_data=multi, mix_frac=0.25, reset_min=2,
                         reset_max=40, steps=6, **kw).with_(bos_start=True)
    T.train(args(tmp_path / "r", stop_at=4))
    # a fresh machine: the run continues from its weights-only snapshot, columns and all
    snapshot.write_snapshot(tmp_path / "r", tmp_path / "r.pt")
    T.train(args(tmp_path / "r2", init_weights=tmp_path / "r.pt"))
    rows = list(csv.DictReader(open(tmp_path / "r2" / "log.csv", newline="")))
    assert list(rows[0]) == T.LOG_FIELDS + T.MIX_LOG_FIELDS
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    for row in rows:
        evaluated = int(row["step"]) % 2 == 0                        # --eval-every 2
        for f in T.MIX_LOG_FIELDS:
            assert (float(row[f]) > 0) if evaluated else row[f] == "", (row["step"], f)
    # a run without a mix keeps the old header
    T.train(make_args(tmp_path, corpus, tmp_path / "plain", steps=1))
    assert open(tmp_path / "plain" / "log.csv").readline().strip() == ",".join(T.LOG_FIELDS)


def test_warm_start_is_a_new_run_from_another_runs_weights(tmp_path):
    corpus = tmp_path / "c.jsonl.gz"
    write_corpus(corpus, n_docs=200)
    T.train(make_args(tmp_path, corpus, tmp_path / "a", steps=2))
    snap = snapshot.write_snapshot(tmp_path / "a", tmp_path / "a.pt")
    T.train(make_args(tmp_path, corpus, tmp_path / "b", warm_start=tmp_path / "a.pt", stop_at=0))
    ck = torch.load(tmp_path / "b" / "ckpt.pt", weights_only=False)
    assert ck["step"] == 0 and ck.get("init") is None                # its own schedule from 0
    for k, v in snap["model"].items():
        assert torch.equal(ck["model"][k], v.float()), k
    assert open(tmp_path / "b" / "log.csv").read().strip() == ",".join(T.LOG_FIELDS)


def test_m1_v2_run_is_the_documented_recipe():
    c = RUNS["m1-v2"]
    assert (c.preset, c.batch, c.seq_len, c.steps) == ("m1-3m", 32, 256, 3_000)  # shortened at step 600
    assert (c.mix_frac, c.bos_start, c.reset_frac, c.reset_min, c.reset_max) == \
        (0.25, True, 0.5, 2, 40)
    assert c.warm_start == "models/checkpoints/m1-3m-train.pt"
    assert (resources.repo_root() / c.warm_start).exists()


@pytest.mark.parametrize("bos_start", [False, True])
def test_full_evaluation_starts_every_chunk_at_eos_only_for_bos_start_runs(tmp_path, bos_start):
    val = np.random.default_rng(3).integers(0, 256, 400).astype(np.uint16)
    cfg = make_args(tmp_path, tmp_path / "unused", tmp_path / "r", eval_bytes=400).with_(
        bos_start=bos_start)
    torch.manual_seed(0)
    model = T.M1(T.get_preset("tiny"))
    task = T.M1Task(model, cfg, val, val, tmp_path, torch.device("cpu"), False, 0.0)
    got = float(task.evaluate(0)["val_bpb_full"])
    dev = torch.device("cpu")
    eos_chunks = T.evaluate_bpb(model, val, 400, 32, 32, dev, cfg.eval_batch)
    plain = T.evaluate_bpb(model, val, 400, 32, None, dev, cfg.eval_batch)
    assert abs(eos_chunks - plain) > 1e-4    # the modes differ (by 8e-4 here), far above 1e-5
    assert got == pytest.approx(eos_chunks if bos_start else plain, abs=1e-5)
