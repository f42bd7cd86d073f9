"""End to end: the `tiny` scale on synthetic shards (no compression), in-process runs."""
import json

import numpy as np

from eqinfo.experiment import run as R
from eqinfo.experiment.claims import NOT_MEASURABLE, NOT_REPRODUCED, REPRODUCED
from eqinfo.shards import write_shard

METHODS = ["bytes", "ac-v256", "equalinfo-b16-v256", "equalinfo-b16-v65k", "gzip-v256"]


def synthetic_shards(root, n_docs=(12, 3), seed=0):
    """Same document byte counts for every method (the same text); tokens per method:
    bytes = a learnable repeating text, AC = uniform noise, Equal-Info = whole windows."""
    rng = np.random.default_rng(seed)
    for split, nd in zip(("train", "val"), n_docs):
        nbytes = [int(x) for x in rng.integers(200, 400, nd)]
        for m in METHODS:
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
            meta = {"method": m, "split": split}
            if m.startswith("equalinfo"):
                meta.update(b=16, N=8 if m.endswith("v256") else 16)
            write_shard(root / split / f"{m}.shard", docs, nbytes, vocab, meta)


def test_tiny_scale_end_to_end(tmp_path):
    shards, out, docs = tmp_path / "shards", tmp_path / "exp", tmp_path / "docs"
    synthetic_shards(shards)
    argv = ["--scale", "tiny", "--shards", str(shards), "--out", str(out), "--docs", str(docs),
            "--jobs", "0", "--methods", ",".join(METHODS)]
    assert R.main(argv) == 0
    res = json.loads((out / "results.json").read_text())
    assert set(res["methods"]) == set(METHODS) and res["scale"]["name"] == "tiny"
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
    for claim in ("AC and StaticAC stay at uniform", "GZip learns", "shorter windows"):
        line = next(l for l in md.splitlines() if claim in l)
        assert any(v in line for v in (REPRODUCED, NOT_REPRODUCED, NOT_MEASURABLE))
    assert (docs / "results_tiny_fig3.png").stat().st_size > 1000
    assert (docs / "results_tiny_fig10.png").stat().st_size > 1000
    # finished runs are skipped; the report re-renders from results.json alone
    stamp = (out / "runs" / "bytes" / "result.json").stat().st_mtime_ns
    assert R.main(argv) == 0
    assert (out / "runs" / "bytes" / "result.json").stat().st_mtime_ns == stamp
    (docs / "results.md").unlink()
    from eqinfo.experiment.report import main as report_main
    report_main([str(out / "results.json"), "--docs", str(docs)])
    assert (docs / "results.md").read_text() == md
