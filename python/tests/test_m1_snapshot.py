"""Weights-only snapshots (eqinfo.m1.snapshot) and train.py --init-weights: continuing a run on a
machine without its ckpt.pt."""
import csv
from pathlib import Path

import pytest
import torch

from eqinfo.m1 import get_preset
from eqinfo.m1.config import RUNS, M1Config, M1TrainConfig
from eqinfo.m1 import snapshot as S
from eqinfo.m1 import train as T
from eqinfo.training.optim import warmup_cosine_lr
from test_m1_train import make_args, write_corpus


def log_rows(run):
    with open(run / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def first_run(tmp_path):
    """A tiny run stopped (and checkpointed) at step 2 of 6, and its snapshot."""
    corpus = tmp_path / "c.jsonl.gz"
    write_corpus(corpus, n_docs=200)
    a = tmp_path / "a"
    T.train(make_args(tmp_path, corpus, a, steps=6, stop_at=2))
    snap_path = tmp_path / "snap" / "a-train.pt"
    S.main(["--run", str(a), "--out", str(snap_path)])
    return corpus, a, snap_path


def test_snapshot_contents(first_run):
    _, a, snap_path = first_run
    snap = torch.load(snap_path, weights_only=False)
    ck = torch.load(a / "ckpt.pt", weights_only=False)
    assert snap["format"] == S.FORMAT and snap["step"] == 2 == ck["step"]
    assert snap["tokens_seen"] == 2 * 4 * 32 and snap["config"] == ck["config"]
    assert snap["args"]["steps"] == 6 and snap["elapsed_s"] == ck["elapsed_s"]
    assert snap["best_val"] == ck["best_val"] < float("inf")
    assert set(snap["model"]) == set(ck["model"])
    for k, v in snap["model"].items():
        assert v.dtype == torch.bfloat16, k
        assert torch.equal(v, ck["model"][k].to(torch.bfloat16)), k
    assert snap["log_csv"] == (a / "log.csv").read_bytes().decode()
    # the run may be ahead of its checkpoint: rows after the checkpoint's step are dropped
    assert S.trim_log(snap["log_csv"], 1).splitlines()[1:] == \
        snap["log_csv"].splitlines()[1:2]


def test_init_weights_continues_step_schedule_and_log(tmp_path, first_run):
    corpus, a, snap_path = first_run
    snap = torch.load(snap_path, weights_only=False)
    snap["elapsed_s"] = 1000.0                       # a visible wall time to continue from
    snap_path = tmp_path / "snap" / "a-train-1000s.pt"
    torch.save(snap, snap_path)
    b = tmp_path / "b"                               # a fresh machine: no ckpt.pt, no log
    # Stopping at the snapshot's step trains nothing: the model is the snapshot, back in fp32.
    r0 = T.train(make_args(tmp_path, corpus, b, steps=6, stop_at=2, init_weights=snap_path))
    assert r0["step"] == 2
    for k, v in r0["model"].state_dict().items():
        assert v.dtype == torch.float32 and torch.equal(v, snap["model"][k].float()), k
    (b / "ckpt.pt").unlink()                         # still "no checkpoint" for the real test

    r = T.train(make_args(tmp_path, corpus, b, steps=6, init_weights=snap_path, init_ramp=2))
    assert r["step"] == 6
    rows, rows_a = log_rows(b), log_rows(a)
    assert [int(x["step"]) for x in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[:2] == rows_a                       # the snapshot's learning curve survives
    assert 1000.0 <= float(rows[2]["elapsed_s"]) < 1100.0  # wall time continues
    assert int(rows[2]["tokens_seen"]) == 3 * 4 * 32
    # the lr follows the run's schedule, times the ramp 1/2, 2/2 over the 2 steps after step 2
    lr = [float(x["lr"]) for x in rows]
    assert lr[2] == pytest.approx(warmup_cosine_lr(2, 6, 2, 1e-3) / 2, rel=1e-3)
    assert lr[3] == pytest.approx(warmup_cosine_lr(3, 6, 2, 1e-3), rel=1e-3)
    assert lr[5] == pytest.approx(warmup_cosine_lr(5, 6, 2, 1e-3), rel=1e-3)
    ck = torch.load(b / "ckpt.pt", weights_only=False)
    assert ck["step"] == 6 and ck["init"]["step"] == 2 and ck["init"]["ramp"] == 2
    # the continued run really trained from the snapshot (not from scratch)
    scratch = T.train(make_args(tmp_path, corpus, tmp_path / "s", steps=6))["model"].state_dict()
    assert any(not torch.equal(scratch[k], v) for k, v in r["model"].state_dict().items())


def test_resume_inside_the_ramp_is_exact(tmp_path, first_run):
    corpus, _, snap_path = first_run
    kw = dict(steps=6, init_weights=snap_path, init_ramp=3)
    straight = T.train(make_args(tmp_path, corpus, tmp_path / "c1", **kw))["model"].state_dict()
    T.train(make_args(tmp_path, corpus, tmp_path / "c2", stop_at=3, **kw))
    # ckpt.pt exists now: it wins over --init-weights, and the ramp (stored in it) continues
    resumed = T.train(make_args(tmp_path, corpus, tmp_path / "c2", **kw))["model"].state_dict()
    for k in straight:
        assert torch.equal(straight[k], resumed[k]), k
    assert log_rows(tmp_path / "c1") == [
        {**r, "elapsed_s": x["elapsed_s"], "tokens_per_s": x["tokens_per_s"]}
        for r, x in zip(log_rows(tmp_path / "c2"), log_rows(tmp_path / "c1"))]


COMMITTED = Path(__file__).resolve().parents[2] / "models" / "checkpoints" / "m1-3m-train.pt"


def test_the_committed_snapshot_still_starts_a_run(tmp_path):
    """models/checkpoints/m1-3m-train.pt (written before the trainers shared eqinfo.training)
    loads as the m1-3m model and continues training from its step."""
    snap = torch.load(COMMITTED, map_location="cpu", weights_only=False)
    assert snap["format"] == S.FORMAT and M1Config.from_dict(snap["config"]) == get_preset("m1-3m")
    corpus = tmp_path / "c.jsonl.gz"
    write_corpus(corpus, n_docs=200)
    step = int(snap["step"])
    kw = dict(steps=step + 10, batch=2, init_weights=COMMITTED)
    r0 = T.train(make_args(tmp_path, corpus, tmp_path / "r", stop_at=step, **kw))
    assert r0["step"] == step
    for k, v in r0["model"].state_dict().items():
        assert torch.equal(v, snap["model"][k].float()), k
    (tmp_path / "r" / "ckpt.pt").unlink()
    r = T.train(make_args(tmp_path, corpus, tmp_path / "r", stop_at=step + 1, **kw))
    assert r["step"] == step + 1
    row = log_rows(tmp_path / "r")[-1]
    # a trained model: well below the uniform ln 257 = 5.55 nats of a fresh one
    assert int(row["step"]) == step + 1 and float(row["train_loss_nats"]) < 4.0


def test_the_bundled_runs_preset_is_the_recipe_its_snapshot_ran_with():
    snap = torch.load(COMMITTED, map_location="cpu", weights_only=False)
    ran = M1TrainConfig.from_dict(snap["args"])
    assert ran.init_weights is not None               # continued from an earlier snapshot
    assert ran.with_(init_weights=None) == RUNS["m1-3m"]
    assert T.parse_args(["--config", "m1-3m"]) == RUNS["m1-3m"]
