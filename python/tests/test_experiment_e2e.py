"""End to end: the `tiny` scale on synthetic shards (no compression), in-process runs; the
analyses in results.json / results.md; results kept in --results-dir across fresh --out dirs."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from eqinfo import resources
from eqinfo.experiment import analyses as A
from eqinfo.experiment import run as R
from eqinfo.experiment.collect import collect
from eqinfo.experiment.run_records import IDENTITY_FILE, persist_run
from eqinfo.experiment.scales import get_scale
from eqinfo.experiment.train_runs import TRAIN_CONFIG, run_all, train_config
from eqinfo.experiment.claims import NOT_MEASURABLE, NOT_REPRODUCED, REPRODUCED
from eqinfo.m2.config import M2TrainConfig
from eqinfo.shards import read_shard, write_shard

METHODS = ["bytes", "ac-v256", "equalinfo-b16-v256", "equalinfo-b16-v65k", "gzip-v256"]
SWEEP = "bytes@m2-cpu-xs"   # the Bytes stream with a bigger M2 than the tiny scale's


def synthetic_shards(root, n_docs=(12, 3), seed=0, methods=METHODS, model_hash=None):
    """Same document byte counts for every method (the same text); tokens per method:
    bytes = a learnable repeating text, AC = uniform noise, Equal-Info = whole windows."""
    sizes = np.random.default_rng(seed)
    for split, nd in zip(("train", "val"), n_docs):
        nbytes = [int(x) for x in sizes.integers(200, 400, nd)]
        for m in methods:  # a method's tokens do not depend on which other methods are made
            rng = np.random.default_rng([seed, len(split), METHODS.index(m)])
            docs = []
            for nb in nbytes:
                if m == "bytes":
                    d = np.append(np.frombuffer((b"abcab" * nb)[:nb], np.uint8), 256)
                elif m.startswith("equalinfo"):
                    k, v = (2, 256) if m.endswith("v256") else (1, 65536)
                    d = rng.integers(0, v, size=k * (nb // 5))
                else:
                    d = rng.integers(0, 256, size=nb // 2)
                docs.append(d)
            vocab = 257 if m == "bytes" else (65536 if m.endswith("v65k") else 256)
            meta = {"method": m, "split": split, "model_hash": model_hash}
            if m.startswith("equalinfo"):
                meta.update(b=16, N=8 if m.endswith("v256") else 16)
            write_shard(root / split / f"{m}.shard", docs, nbytes, vocab, meta)


def _have_corpus():
    try:
        return resources.default_data_path().exists()
    except FileNotFoundError:
        return False


def test_tiny_scale_end_to_end(tmp_path, monkeypatch):
    shards, out, docs, kept = tmp_path / "shards", tmp_path / "exp", tmp_path / "docs", tmp_path / "kept"
    synthetic_shards(shards)
    common = ["--scale", "tiny", "--shards", str(shards), "--docs", str(docs), "--jobs", "0",
              "--methods", ",".join(METHODS + [SWEEP]), "--results-dir", str(kept),
              "--stability-sentences", "2", "--stability-prefixes", "3"]
    argv = common + ["--out", str(out)]
    assert R.main(argv) == 0
    res = json.loads((out / "results.json").read_text())
    assert set(res["methods"]) == set(METHODS + [SWEEP]) and res["scale"]["name"] == "tiny"
    # the sweep run: the Bytes shard, its own M2 size and so its own FLOPs/byte
    sw, by = res["methods"][SWEEP], res["methods"]["bytes"]
    assert sw["stream"] == "bytes" and sw["m2_preset"] == "m2-cpu-xs" and by["m2_preset"] == "tiny"
    assert sw["train_tokens"] == by["train_tokens"] and sw["val_tokens"] == by["val_tokens"]
    assert sw["m2_non_embedding_params"] == 328_320 > by["m2_non_embedding_params"]
    assert sw["flops_per_byte"] == 2 * 328_320 / sw["bytes_per_token"]
    assert json.loads((out / "runs" / SWEEP / "config.json").read_text())["d_model"] == 128
    for m, r in res["methods"].items():
        run = json.loads((out / "runs" / m / "result.json").read_text())
        assert r["m2_bpb"] == run["val_bpb"] and r["tokens_seen"] == run["tokens_seen"]
        assert r["val_text_bytes"] == res["val_text_bytes"]
        # 2 epochs of the train shard (rounded up to whole steps)
        assert 2 * r["train_tokens"] <= run["tokens_seen"] < 2 * r["train_tokens"] + 4 * 64
    eq = res["methods"]["equalinfo-b16-v256"]
    assert eq["window_tokens"] == 2 and {c["position"] for c in eq["positions_curve"]} == {0, 1}
    assert res["m1"]["bpb"] == res["methods"]["ac-v256"]["uniform_bpb"]
    md = (docs / "results.md").read_text()
    assert "scale `tiny`" in md and "EqualInfoAC[b16, v65k]" in md
    assert "**M2 size sweep**" in md and "| Bytes @m2-cpu-xs |" in md
    for claim in ("AC and StaticAC stay at uniform", "GZip learns", "shorter windows"):
        line = next(l for l in md.splitlines() if claim in l)
        assert any(v in line for v in (REPRODUCED, NOT_REPRODUCED, NOT_MEASURABLE))
    for fig in ("fig3", "fig10", "fig11"):
        assert (docs / f"results_tiny_{fig}.png").stat().st_size > 1000

    # Fig. 10 table: final accuracy per position of the b16-v256 run, from its positions.csv
    row = next(l for l in md.splitlines() if l.startswith("| EqualInfoAC[b16, v256] |") and " / " in l)
    last = max(c["step"] for c in eq["positions_curve"])
    acc1 = next(c["accuracy"] for c in eq["positions_curve"] if c["step"] == last and c["position"] == 0)
    assert f"{acc1:.3f} / " in row

    # KL analysis: every bit-stream method; the repeating text is far from uniform, the AC noise
    # is within the null spread at small n (where the spread is meaningful)
    kl = res["analyses"]["kl"]["methods"]
    assert set(kl) == set(METHODS)
    assert kl["bytes"]["tokens"][7] > 4 and kl["bytes"]["ngrams"][15] > 5
    for i in range(4):
        assert abs(kl["ac-v256"]["tokens"][i]) < 5 * kl["ac-v256"]["tokens_null_sd"][i] + 1e-9
    assert kl["ac-v256"]["key"]["val"]["tokens_out"] == res["methods"]["ac-v256"]["val_tokens"]
    assert "paper Fig. 11" in md and "| Bytes |" in md.split("paper Fig. 11")[1]

    # Stability: Bytes is perfectly stable; the M1 methods were measured with the real models
    st = res["analyses"]["stability"]
    if _have_corpus():
        assert set(st["methods"]) == {"bytes", "ac-v256", "equalinfo-b16-v256", "equalinfo-b16-v65k"}
        assert st["methods"]["bytes"]["mean_levenshtein"] == 0
        assert st["methods"]["ac-v256"]["mean_normalized_levenshtein"] > 0.5
        assert "## Stability of a sentence" in md
        assert (docs / "results_tiny_stability.png").stat().st_size > 1000
    else:
        assert "skipped" in st

    # kept results: small files only, with the shard identity
    for m in METHODS:
        k = json.loads((kept / "runs" / m / "result.json").read_text())
        assert k["shard_identity"] == res["methods"][m]["shard_identity"]
        assert k["val_bpb"] == res["methods"][m]["m2_bpb"]
        assert sorted(p.name for p in (kept / "runs" / m).iterdir()) == [
            "config.json", "log.csv", "positions.csv", "result.json"]
    assert json.loads((kept / "results.json").read_text())["methods"].keys() == res["methods"].keys()

    # finished runs are skipped and the analyses are not recomputed (cached by key)
    calls = []
    from eqinfo.m2 import train as m2_train
    real_train = m2_train.train
    monkeypatch.setattr(m2_train, "train", lambda cfg: calls.append(cfg.out) or real_train(cfg))

    def boom(*a, **k):
        raise AssertionError("recomputed a cached analysis")
    with monkeypatch.context() as mp:
        mp.setattr(A, "kl_of_bits", boom)
        mp.setattr(A, "stability_summary", boom)
        stamp = (out / "runs" / "bytes" / "result.json").stat().st_mtime_ns
        assert R.main(argv) == 0
        assert (out / "runs" / "bytes" / "result.json").stat().st_mtime_ns == stamp
        assert calls == []
        assert json.loads((out / "results.json").read_text())["analyses"] == res["analyses"]
    (docs / "results.md").unlink()
    from eqinfo.experiment.report import main as report_main
    report_main([str(out / "results.json"), "--docs", str(docs)])
    assert (docs / "results.md").read_text() == md

    # another session: a fresh --out, the same --results-dir -> nothing is retrained
    out2 = tmp_path / "exp2"
    assert R.main(common + ["--out", str(out2)]) == 0
    assert calls == [] and not list(out2.glob("runs/*/ckpt.pt")) and not list(out2.glob("runs/*/train.out"))
    res2 = json.loads((out2 / "results.json").read_text())
    assert {m: r["m2_bpb"] for m, r in res2["methods"].items()} == \
        {m: r["m2_bpb"] for m, r in res["methods"].items()}
    assert res2["methods"]["bytes"]["run_dir"] == str(kept / "runs" / "bytes")

    # M1 "retrained": a shard's model hash changed -> that method (only) is retrained; its old
    # local run directory is moved aside
    synthetic_shards(shards, methods=["equalinfo-b16-v256"], model_hash="new")
    out3 = out
    assert R.main(common + ["--out", str(out3)]) == 0
    assert [Path(p).name for p in calls] == ["equalinfo-b16-v256"]
    assert (out / "runs" / "equalinfo-b16-v256.stale" / "result.json").exists()
    assert json.loads((out / "runs" / "equalinfo-b16-v256" / IDENTITY_FILE).read_text()
                      )["val"]["model_hash"] == "new"
    k = json.loads((kept / "runs" / "equalinfo-b16-v256" / "result.json").read_text())
    assert k["shard_identity"]["train"]["model_hash"] == "new"
    res3 = json.loads((out3 / "results.json").read_text())
    assert res3["analyses"]["kl"]["methods"]["equalinfo-b16-v256"]["key"]["val"]["model_hash"] == "new"

    # a fresh machine: no shards at all -> --report-only renders the kept results.json, noted
    docs4 = tmp_path / "docs4"
    import shutil
    shutil.rmtree(shards)
    assert R.main(common[:2] + ["--shards", str(shards), "--docs", str(docs4), "--results-dir",
                                str(kept), "--out", str(tmp_path / "exp4"), "--report-only"]) == 0
    md4 = (docs4 / "results.md").read_text()
    assert "**Note:** Re-rendered from" in md4 and "paper Fig. 11" in md4
    assert "note" not in json.loads((kept / "results.json").read_text())


def test_collect_from_kept_results_and_val_shards_only(tmp_path):
    """collect() with only the validation shards and --results-dir: train-derived fields and
    the M2 numbers come from the kept results, matched on the validation shard's identity."""
    shards, kept = tmp_path / "shards", tmp_path / "kept"
    synthetic_shards(shards, methods=["bytes"])
    scale = get_scale("tiny")
    run = tmp_path / "runs" / "bytes"
    run.mkdir(parents=True)
    va = read_shard(shards / "val" / "bytes.shard")
    (run / "result.json").write_text(json.dumps({
        "val_bpb": 1.5, "val_loss_nats": 1.0, "val_acc": 0.5, "tokens_seen": 10, "steps": 1,
        "epochs": 1.0, "elapsed_s": 1.0, "train_flops": 1.0, "val_text_bytes": va.text_bytes}))
    (run / "ckpt.pt").write_bytes(b"x")
    assert persist_run("bytes", shards, tmp_path / "runs", kept)
    assert not (kept / "runs" / "bytes" / "ckpt.pt").exists()
    full = collect(scale, ["bytes"], shards, tmp_path / "nowhere", kept)
    assert full["methods"]["bytes"]["m2_bpb"] == 1.5
    (shards / "train" / "bytes.shard").unlink()
    (shards / "train" / "bytes.shard.json").unlink()
    assert collect(scale, ["bytes"], shards, tmp_path / "nowhere", kept)["methods"] == {}
    part = collect(scale, ["bytes"], shards, tmp_path / "nowhere", kept, previous=full)
    assert part["methods"]["bytes"] == full["methods"]["bytes"]
    # a different validation shard does not match the kept run
    synthetic_shards(shards, methods=["bytes"], seed=1)
    other = collect(scale, ["bytes"], shards, tmp_path / "nowhere", kept)
    assert other["methods"]["bytes"]["m2_bpb"] is None


def test_a_method_added_at_run_time_runs_the_tiny_experiment(tmp_path):
    """Adding a method is one registry row: EqualInfoAC with b = 48, in no matrix, goes through
    the whole tiny experiment -- real compression with the bundled M1, M2 training, the KL
    analysis and the report -- and its shards decode back to the corpus text."""
    from binding_support import corpus_or_skip, require_binding
    from eqinfo.compress import verify_shard
    from eqinfo.registry import FAMILIES, METHODS, Method, add
    require_binding()
    corpus_or_skip()
    out, docs = tmp_path / "exp", tmp_path / "docs"
    rows = [add(Method(FAMILIES["equalinfo"], b=48, N=n)) for n in (8, 16)]
    try:
        assert R.main(["--scale", "tiny", "--methods", ",".join(r.name for r in rows),
                       "--jobs", "0", "--compress-threads", "1", "--out", str(out),
                       "--docs", str(docs), "--results-dir", "", "--stability-sentences", "0"]) == 0
        verified = [verify_shard(out / "shards" / split / f"{r.name}.shard")
                    for r in rows for split in ("train", "val")]
    finally:
        for r in rows:
            del METHODS[r.name]
    assert all(v.ok and v.documents > 0 for v in verified)
    res = json.loads((out / "results.json").read_text())
    md = (docs / "results.md").read_text()
    for r in rows:
        row = res["methods"][r.name]
        assert (row["label"], row["family"], row["b"], row["token_bits"]) == (r.label, "equalinfo", 48, r.N)
        assert row["window_tokens"] == 48 // r.N and row["m2_bpb"] > 0 and row["m1_context"] > 0
        assert {c["position"] for c in row["positions_curve"]} == set(range(48 // r.N))
        assert res["analyses"]["kl"]["methods"][r.name]["bits"] > 0
        assert f"| {r.label} | {row['vocab_size']:,} |" in md
    assert (docs / "results_tiny_fig10.png").stat().st_size > 1000

def test_a_run_in_its_own_process_gets_the_typed_config_of_an_in_process_run(tmp_path):
    """--jobs 1 starts `eqinfo.m2.train --config runs/<method>/train_config.json`: the config
    the runner made from the scale, the same object an in-process run (--jobs 0) is given, and
    the same seed gives the same result."""
    shards = tmp_path / "shards"
    synthetic_shards(shards, methods=["bytes"])
    scale = get_scale("tiny")
    own, inside = tmp_path / "processes", tmp_path / "in-process"
    assert run_all(scale, ["bytes"], shards, own, jobs=1, threads=1) == []
    cfg = M2TrainConfig.from_dict(json.loads((own / "bytes" / TRAIN_CONFIG).read_text()))
    assert cfg == train_config(scale, "bytes", shards, own / "bytes", threads=1)
    n_tokens = read_shard(shards / "train" / "bytes.shard").n_tokens
    assert cfg.steps == math.ceil(2 * n_tokens / (4 * 64))    # tiny: 2 epochs, batch 4 x 64
    assert (cfg.preset, cfg.warmup, cfg.eval_every, cfg.quiet) == \
        ("tiny", max(1, int(0.05 * cfg.steps)), max(1, cfg.steps // 2), True)
    assert run_all(scale, ["bytes"], shards, inside, jobs=0, threads=1) == []
    a, b = (json.loads((d / "bytes" / "result.json").read_text()) for d in (own, inside))
    assert a["steps"] == b["steps"] == cfg.steps and a["val_bpb"] == b["val_bpb"]
