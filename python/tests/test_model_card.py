"""Helpers of the model card generator: eqinfo-encode --stats-json objects, log.csv, SOURCES.md."""
import gzip
import json

import pytest

from eqinfo.m1 import model_card as MC

# What eqinfo-encode --stats-json writes (docs/formats.md).
EQUALINFO_STATS = {"method": "equalinfo", "window_bits": 16, "token_bits": 16, "vocabulary_size": 65536,
                   "frequency_bits": 16, "model": "m1:models/m1-3m.safetensors", "fingerprint": "00" * 8,
                   "documents": 3, "bytes": 100000, "tokens": 24198, "bytes_per_token": 4.1326,
                   "bits_per_byte": 3.8717, "windows": 24198, "window_symbols": 100003,
                   "greedy_symbols": 100387, "fallback_windows": 350}

STATICAC_STATS = {"method": "staticac", "window_bits": 0, "token_bits": 8, "vocabulary_size": 256,
                  "frequency_bits": 14, "model": "static:models/static_en_train.json",
                  "fingerprint": "00" * 8, "documents": 2, "bytes": 78, "tokens": 52,
                  "bytes_per_token": 1.5, "bits_per_byte": 5.3333, "windows": 0, "window_symbols": 0,
                  "greedy_symbols": 0, "fallback_windows": 0}

GZIP_STATS = {**STATICAC_STATS, "method": "gzip", "token_bits": 16, "vocabulary_size": 65536,
              "frequency_bits": 0, "model": None, "documents": 1, "bytes": 1000, "tokens": 300,
              "bytes_per_token": 3.3333, "bits_per_byte": 4.8}

LOG_CSV = """\
step,tokens_seen,train_loss_nats,train_bpb,lr,val_bpb_full,val_bpb_window,elapsed_s,tokens_per_s
50,409600,4.24781,6.12928,1.667e-04,,,112.8,3631.2
100,819200,2.94253,4.24574,3.333e-04,3.50000,3.60000,215.9,3972.8
150,1228800,2.67660,3.86215,5.000e-04,,,329.2,3614.1
200,1638400,2.62166,3.78281,6.667e-04,3.10000,3.20000,451.3,3355.5
"""


def test_card_stats_equalinfo():
    st = MC.card_stats(EQUALINFO_STATS)
    assert st["method"] == "equalinfo"
    assert (st["window_bits"], st["token_bits"], st["vocabulary"]) == (16, 16, 65536)
    assert st["frequency_bits"] == 16 and st["model"] == "m1:models/m1-3m.safetensors"
    assert (st["documents"], st["bytes"], st["tokens"]) == (3, 100000, 24198)
    assert st["bytes_per_token"] == pytest.approx(4.1326)
    assert st["bits_per_byte"] == pytest.approx(3.8717)
    assert st["windows"] == 24198 and st["symbols_per_window"] == pytest.approx(100003 / 24198)
    assert st["fallback_windows"] == 350 and st["fallback_pct"] == pytest.approx(100 * 350 / 24198)
    assert st["greedy_symbols_per_window"] == pytest.approx(100387 / 24198)
    assert st["greedy_more_pct"] == pytest.approx(100 * (100387 / 100003 - 1))


def test_card_stats_without_windows_or_model():
    st = MC.card_stats(STATICAC_STATS)
    assert st["method"] == "staticac" and st["window_bits"] is None
    assert (st["token_bits"], st["vocabulary"], st["frequency_bits"]) == (8, 256, 14)
    assert st["bytes_per_token"] == pytest.approx(1.5) and "windows" not in st
    assert "fallback_windows" not in st
    g = MC.card_stats(GZIP_STATS)
    assert g["frequency_bits"] is None and g["model"] is None and g["tokens"] == 300


@pytest.mark.parametrize("missing", ["bytes_per_token", "tokens", "windows", "model"])
def test_card_stats_rejects_a_missing_field(missing):
    with pytest.raises(ValueError, match=missing):
        MC.card_stats({k: v for k, v in EQUALINFO_STATS.items() if k != missing})


def test_log_to_curve_and_rows(tmp_path):
    p = tmp_path / "log.csv"
    # rows out of order and a repeated step (the later row wins)
    p.write_text(LOG_CSV + "100,819200,2.9,4.2,3.3e-04,3.40000,3.50000,216.0,3900.0\n")
    rows = MC.read_log(p)
    assert [r["step"] for r in rows] == [50, 100, 150, 200]
    assert rows[0]["val_bpb_full"] is None and rows[0]["elapsed_s"] == pytest.approx(112.8)
    assert rows[1]["val_bpb_full"] == pytest.approx(3.4)        # the repeated row
    c = MC.learning_curve(rows)
    assert c["train"] == ([409600, 819200, 1228800, 1638400],
                          [pytest.approx(6.12928), pytest.approx(4.2), pytest.approx(3.86215),
                           pytest.approx(3.78281)])
    assert c["val_full"] == ([819200, 1638400], [pytest.approx(3.4), pytest.approx(3.1)])
    assert c["val_window"][1] == [pytest.approx(3.5), pytest.approx(3.2)]
    assert [r["step"] for r in MC.eval_rows(rows)] == [100, 200]
    assert MC.row_at_step(rows, 200)["elapsed_s"] == pytest.approx(451.3)
    assert MC.row_at_step(rows, 75) is None
    assert MC.parse_log(LOG_CSV)[-1]["tokens_seen"] == 1638400


def test_plot_writes_png(tmp_path):
    out = tmp_path / "curve.png"
    MC.plot_curve(MC.parse_log(LOG_CSV), out, "test", mark_step=100)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sources_sha256(tmp_path):
    md = tmp_path / "SOURCES.md"
    h1, h2 = "a" * 64, "b" * 64
    md.write_text("| file | what | compressed |\n|---|---|---|\n"
                  f"| `other.jsonl.gz` | x | 1 / `{'c' * 64}` |\n"
                  f"| `en_real_mix.jsonl.gz` | English | 22 / `{h1}` | 76 / `{h2}` |\n"
                  "| `en_real_mix.jsonl.gz` is mentioned in prose too |\n")
    assert MC.sources_sha256(md, "en_real_mix.jsonl.gz") == h1
    assert MC.sources_sha256(md, "missing.jsonl.gz") is None
    assert MC.sources_sha256(tmp_path / "nope.md", "en_real_mix.jsonl.gz") is None


def test_val_subset_follows_split_and_budget(tmp_path):
    corpus = tmp_path / "c.jsonl.gz"
    texts = [f"document {i} " + "é" * 30 for i in range(160)]   # 2-byte chars: cut inside one
    with gzip.open(corpus, "wt", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            f.write(json.dumps({"text": t, "source": f"s{i // 100}"}) + "\n")
    n0, n50 = len(texts[0].encode()), len(texts[50].encode())
    budget = n0 + n50 + 16                                      # 13 ASCII + 1.5 "é"
    sub = MC.write_val_subset(corpus, budget, tmp_path / "sub.jsonl")
    got = [json.loads(l)["text"] for l in (tmp_path / "sub.jsonl").read_text().splitlines()]
    assert got[:2] == [texts[0], texts[50]]                   # validation docs only, in order
    assert texts[100].startswith(got[2]) and got[2] != texts[100]
    assert sub["documents"] == 3 and sub["cut_last"] and sub["sources"] == ["s0", "s1"]
    assert sub["bytes"] == sum(len(t.encode()) for t in got) and budget - 1 <= sub["bytes"] <= budget


def test_build_card_smoke(tmp_path):
    from eqinfo.m1.config import get_preset
    model = tmp_path / "m1-tiny.safetensors"
    model.write_bytes(b"x" * 10)
    ev = {"symbols": 1000, "frequency_bits": 16, "definition": "d",
          "full": {"float_bpb": 2.5, "integer_bpb": 2.51, "relative_gap": 0.004},
          "window": {"float_bpb": 2.7, "integer_bpb": 2.7027, "relative_gap": 0.001}}
    meta = {"format": "eqinfo-m1", "version": 1, "content_hash": "ab" * 32, "frequency_bits": 16,
            "architecture": get_preset("tiny").to_dict(), "eval": ev,
            "training": {"step": 100, "tokens_seen": 819200, "source": "log.csv"}}
    eq = {**MC.card_stats(EQUALINFO_STATS), "seconds": 1.0, "command": "c", "subset": "subset"}
    ac = {**MC.card_stats({**EQUALINFO_STATS, "method": "ac", "window_bits": 0, "windows": 0,
                           "bits_per_byte": 3.6}),
          "seconds": 1.0, "command": "c", "subset": "prefix"}
    sub = {"documents": 3, "bytes": 100000, "cut_last": True, "sources": ["sotu"],
           "longest_document": 5000}
    card = MC.build_card(
        model_path=model, meta=meta, rows=MC.parse_log(LOG_CSV), log_source="log.csv",
        data={"file": "c.jsonl.gz", "sha256": "0" * 64, "split": "rule"},
        hardware={"cpu": "CPU", "cores": 2, "threads": 1, "torch": "2"},
        run_args={"steps": 1000, "batch": 32, "seq_len": 256, "eval_bytes": 200000},
        plot_rel="curve.png", encode={"subset": sub, "prefix": sub, "runs": [eq, ac]},
        encode_note=None)
    assert "**4.133**" in card and "| 5.31 |" in card and "10.98" in card     # ours and paper's
    assert "+0.400%" in card and "Interim model" in card and "![learning curve](curve.png)" in card
    assert "350 windows (1.446%)" in card and "0.384% more" in card
    assert "| 200 | 1,638,400 |" in card and "100 ← exported" in card
    assert "up to 5,000 bytes" in card                                        # the AC note
    skipped = MC.build_card(
        model_path=model, meta=meta, rows=[], log_source="-", data={"file": "f", "sha256": "s",
        "split": "r"}, hardware={"cpu": "c", "cores": 1, "threads": 1, "torch": "2"},
        run_args=None, plot_rel=None, encode=None, encode_note="no binary")
    assert "_Skipped: no binary_" in skipped


def test_the_card_names_the_second_corpus_of_a_mixed_run(tmp_path):
    """An M1 v2 run (--mix-frac > 0) trained on Korean/Chinese too: the Data section says so,
    with the file, its sha256, the fraction and (when the file is here) its split sizes; an
    English-only run has no such rows."""
    corpus = tmp_path / "multilingual_ko_zh.jsonl.gz"
    with gzip.open(corpus, "wt", encoding="utf-8") as f:
        for i in range(40):
            f.write(json.dumps({"text": f"문서 {i} 中文", "lang": "ko" if i < 20 else "zh"}) + "\n")
    assert MC.mix_facts({"mix_frac": 0.0}, tmp_path / "en.jsonl.gz") is None
    assert MC.mix_facts(None, tmp_path / "en.jsonl.gz") is None
    mix = MC.mix_facts({"mix_frac": 0.25, "mix_data": None}, tmp_path / "en.jsonl.gz")
    assert mix["file"] == corpus.name and mix["frac"] == 0.25 and len(mix["sha256"]) == 64
    assert mix["train_docs"] + mix["val_docs"] == 40 and mix["val_docs"] >= 1
    from eqinfo.m1.card.render import build_card
    from eqinfo.m1.config import get_preset
    meta = {"format": "eqinfo-m1", "version": 2, "content_hash": "ab" * 32, "frequency_bits": 16,
            "architecture": get_preset("tiny").to_dict(), "training": {"step": 1}}
    args = dict(model_path=tmp_path / "m.safetensors", meta=meta, rows=[], log_source="-",
                hardware={"cpu": "c", "cores": 1, "threads": 1, "torch": "2"}, run_args=None,
                plot_rel=None, encode=None, encode_note="no binary")
    (tmp_path / "m.safetensors").write_bytes(b"x")
    mixed = build_card(data={"file": "en.jsonl.gz", "sha256": "0" * 64, "split": "r", "mix": mix}, **args)
    assert f"| mixed in | `{corpus.name}`: each training sequence is drawn from it with probability 0.25" in mixed
    assert f"| its train | {mix['train_docs']:,} documents" in mixed
    english = build_card(data={"file": "en.jsonl.gz", "sha256": "0" * 64, "split": "r", "mix": None}, **args)
    assert "mixed in" not in english
