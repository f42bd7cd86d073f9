"""The experiment's analyses glue (eqinfo.experiment.analyses) and their report sections."""
import numpy as np
import pytest

from eqinfo.analysis.token_kl import kl_profile
from eqinfo.experiment import analyses as A
from eqinfo.experiment import claims, report
from eqinfo.shards import write_shard


def _write(root, method, docs, vocab, model_hash="h1"):
    write_shard(root / "val" / f"{method}.shard", docs, [len(d) * 2 for d in docs], vocab,
                {"method": method, "model_hash": model_hash})


# ----------------------------------------------------------------------------- KL

def test_shared_nulls_reproduce_kl_profile_exactly():
    bits = np.random.default_rng(5).integers(0, 2, 6000, dtype=np.uint8)
    bits[::7] = 1  # some structure
    nulls = A.NullProfiles(range(1, 11), draws=3, seed=7)
    ours, ref = A.kl_of_bits(bits, nulls), kl_profile(bits, range(1, 11), null_draws=3, seed=7)
    for key in ("tokens", "ngrams"):
        np.testing.assert_allclose(ours[key], ref[key], rtol=0, atol=1e-12)
        assert ours[key + "_plugin"] == ref[key + "_plugin"]
        assert len(ours[key + "_null_sd"]) == 10 and all(s >= 0 for s in ours[key + "_null_sd"])
    assert ours["bits"] == 6000
    # a second stream of the same length reuses the drawn nulls
    assert A.kl_of_bits(bits[::-1].copy(), nulls)["tokens_null_sd"] == ours["tokens_null_sd"]


def test_kl_of_uniform_stream_is_noise_and_of_constant_stream_is_n(tmp_path):
    rng = np.random.default_rng(0)
    _write(tmp_path, "ac-v256", [rng.integers(0, 256, 4000), rng.integers(0, 256, 4000)], 256)
    _write(tmp_path, "gzip-v65k", [np.zeros(3000, np.uint16)], 65536)
    _write(tmp_path, "sentencepiece", [rng.integers(0, 8192, 100)], 8192)
    kl = A.kl_analysis(["ac-v256", "gzip-v65k", "sentencepiece"], tmp_path)
    assert set(kl["methods"]) == {"ac-v256", "gzip-v65k"}  # SentencePiece is no bit stream
    ac = kl["methods"]["ac-v256"]
    assert ac["n"] == list(range(1, 17)) and ac["bits"] == 64_000 and not ac["capped"]
    for kind in ("tokens", "ngrams"):
        v, sd = np.array(ac[kind]), np.array(ac[kind + "_null_sd"])
        assert np.all(np.abs(v) <= 5 * sd + 1e-12), (kind, v, sd)
        assert np.max(np.abs(v)) < 0.05
    # constant bits: every n-bit value is 0 -> plug-in KL = n bits exactly; corrected, n minus
    # the null bias (large only where 2^n nears the 3,000 tokens / 48,000 n-grams)
    gz = kl["methods"]["gzip-v65k"]
    for i, n in enumerate(gz["n"]):
        for kind in ("tokens", "ngrams"):
            assert gz[kind + "_plugin"][i] == pytest.approx(n)
            assert n / 2 < gz[kind][i] <= n
            assert gz[kind][i] > 100 * ac[kind + "_null_sd"][i]


def test_kl_stream_bits_caps_and_drops_eos():
    toks = np.array([65, 256, 66, 256], dtype=np.uint16)
    bits, capped = A.kl_stream_bits(toks, "bytes", 1 << 20)
    assert not capped and bits.tolist() == [0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0]
    bits, capped = A.kl_stream_bits(np.arange(100, dtype=np.uint16), "equalinfo-b16-v65k", 160)
    assert capped and len(bits) == 160
    assert A.kl_stream_bits(toks, "sentencepiece", 100) is None


def test_kl_cache_is_keyed_by_shard_content(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    _write(tmp_path, "ac-v256", [rng.integers(0, 256, 3000)], 256)
    first = A.kl_analysis(["ac-v256"], tmp_path)
    calls = []
    real = A.kl_of_bits
    monkeypatch.setattr(A, "kl_of_bits", lambda *a: calls.append(1) or real(*a))
    again = A.kl_analysis(["ac-v256"], tmp_path, first)
    assert calls == [] and again["methods"] == first["methods"]
    A.kl_analysis(["ac-v256"], tmp_path, first, max_bits=8000)        # other settings
    assert calls == [1]
    _write(tmp_path, "ac-v256", [rng.integers(0, 256, 3000)], 256, model_hash="h2")  # new M1
    new = A.kl_analysis(["ac-v256"], tmp_path, first)
    assert calls == [1, 1] and new["methods"]["ac-v256"]["key"]["val"]["model_hash"] == "h2"


# ----------------------------------------------------------------------------- stability

SENTENCES = ["The cat sat on the mat.", "A second sentence here."]
PREFIXES = ["Some earlier text. ", "Other words came first. ", "Nothing much. "]


def _bytes(text):
    return np.append(np.frombuffer(text.encode(), np.uint8).astype(np.uint16), 256)


def _running_sum(text):  # every token depends on all earlier text, like AC
    return np.cumsum(np.frombuffer(text.encode(), np.uint8).astype(np.int64)) % 251


def test_stability_of_context_free_tokenizer_is_zero_and_of_context_dependent_is_not():
    enc = {"bytes": (_bytes, None), "ac-v256": (_running_sum, "m"), "gzip-v256": (_bytes, None)}
    st = A.stability_analysis(["bytes", "ac-v256"], SENTENCES, PREFIXES, enc)
    assert set(st["methods"]) == {"bytes", "ac-v256"}
    b, a = st["methods"]["bytes"], st["methods"]["ac-v256"]
    assert b["mean_levenshtein"] == b["median_levenshtein"] == 0
    assert b["distinct_tail_fraction"] == pytest.approx(1 / 3)
    assert b["mean_tail_tokens"] == pytest.approx(np.mean([len(s) + 1 for s in SENTENCES]))
    assert a["mean_normalized_levenshtein"] > 0.5 and a["distinct_tail_fraction"] == 1
    assert len(a["per_sentence"]) == 2 and st["settings"]["prefixes"] == 3


def test_stability_cache_is_keyed_by_model_and_texts(monkeypatch):
    enc = {"ac-v256": (_running_sum, "m1")}
    first = A.stability_analysis(["ac-v256"], SENTENCES, PREFIXES, enc)
    calls = []
    real = A.stability_summary
    monkeypatch.setattr(A, "stability_summary", lambda *a: calls.append(1) or real(*a))
    assert A.stability_analysis(["ac-v256"], SENTENCES, PREFIXES, enc, first)["methods"] == first["methods"]
    assert calls == []
    A.stability_analysis(["ac-v256"], SENTENCES, PREFIXES, {"ac-v256": (_running_sum, "m2")}, first)
    A.stability_analysis(["ac-v256"], SENTENCES[:1], PREFIXES, enc, first)
    assert calls == [1, 1]


def test_pick_sentences_are_disjoint_and_deterministic():
    texts = [". ".join(f"Sentence number {i} is long enough to count" for i in range(30))]
    s, p = A.pick_sentences(texts, 4, 6, seed=3)
    assert (s, p) == A.pick_sentences(texts, 4, 6, seed=3)
    assert len(s) == 4 and len(p) == 6 and not {x + " " for x in s} & set(p)
    assert all(x.endswith(".") for x in s) and all(x.endswith(". ") for x in p)


def test_shared_m1_encoding_equals_each_tokenizer():
    """v256 and v65k share one N = 1 M1 encoding, cut as eqinfo.compress cuts it."""
    pytest.importorskip("_eqinfo_core")
    from eqinfo.tokenizers import get_tokenizer
    methods = ["bytes", "equalinfo-b16-v256", "equalinfo-b16-v65k", "ac-v65k"]
    enc = A.method_encoders(methods)
    text = "Earlier context here. The measured sentence, with some words."
    for m in methods:
        tok = get_tokenizer(m)
        assert np.array_equal(enc[m][0](text), tok.encode(text)), m
        assert enc[m][1] == tok.model_hash


# ----------------------------------------------------------------------------- report

def _results(tmp_path):
    rng = np.random.default_rng(2)
    _write(tmp_path, "ac-v256", [rng.integers(0, 256, 2000)], 256)
    _write(tmp_path, "ac-v65k", [rng.integers(0, 65536, 1000)], 65536)
    _write(tmp_path, "bytes", [np.append(np.frombuffer(b"abcab" * 300, np.uint8), 256)], 257)
    kl = A.kl_analysis(["bytes", "ac-v256", "ac-v65k"], tmp_path)
    st = A.stability_analysis(["bytes", "ac-v256"], SENTENCES, PREFIXES,
                              {"bytes": (_bytes, None), "ac-v256": (_running_sum, "m")})
    M = {m: {"label": lab, "family": m.split("-")[0]} for m, lab in
         (("bytes", "Bytes"), ("ac-v256", "AC[v256]"), ("ac-v65k", "AC[v65k]"))}
    return {"scale": {"name": "t"}, "methods": M, "analyses": {"kl": kl, "stability": st}}


def test_report_sections_and_plots(tmp_path):
    res = _results(tmp_path)
    L = report._kl_section(res, res["analyses"]["kl"], {"fig11": "x.png"})
    text = "\n".join(L)
    bytes_row = next(l for l in L if l.startswith("| Bytes |"))
    ac_row = next(l for l in L if l.startswith("| AC[v256] |"))
    assert "~0" not in bytes_row.split("|")[5]          # n = 8 tokens: far from uniform
    assert ac_row.count("~0 (±") >= 7                    # random bytes: mostly noise
    assert "![" in text and "x.png" in text
    S = "\n".join(report._stability_section(res, res["analyses"]["stability"], {}))
    assert "| Bytes | 0.00 | 0.00 | 0.000 |" in S and "| AC[v256] |" in S
    # the plot draws AC[v256] for both AC streams (v65k has the same bits)
    assert claims.kl_streams(res["analyses"]["kl"]) == ["bytes", "ac-v256"]
    assert report.plot_fig11(res, tmp_path / "f11.png") and (tmp_path / "f11.png").stat().st_size > 1000
    assert report.plot_stability(res, tmp_path / "st.png") and (tmp_path / "st.png").stat().st_size > 1000
    assert report._stability_section(res, {"skipped": "corpus unavailable"}, {})[2] == \
        "Not computed: corpus unavailable."


def test_fig10_table_uses_the_last_evaluation():
    curve = [{"step": s, "tokens_seen": 10 * s, "position": p, "n_tokens": 5,
              "loss_nats": 5.0 - s - p, "accuracy": 0.1 * s + 0.01 * p}
             for s in (1, 2) for p in (0, 1)]
    res = {"methods": {"equalinfo-b16-v256": {"label": "EqualInfoAC[b16, v256]", "window_tokens": 2,
                                              "positions_curve": curve, "tokens_seen": 20},
                       "bytes": {"label": "Bytes", "window_tokens": None}}}
    L = report._fig10_section(res, {})
    assert "| EqualInfoAC[b16, v256] | 20 | 0.200 / 3.00 | 0.210 / 2.00 |" in L
    assert not any(l.startswith("| Bytes") for l in L)


def test_the_committed_results_render_to_the_committed_report(tmp_path):
    """docs/results.md is rendered from docs/results/small/results.json: re-rendering it must
    give the same text (the row order comes from the method registry, the paper's numbers from
    eqinfo.paper; labels were collected into results.json from the registry). The line naming the run directories depends on where the runs were and the current
    directory, so it is left out of the comparison."""
    import json
    from pathlib import Path
    docs = Path(__file__).resolve().parents[2] / "docs"
    results = json.loads((docs / "results" / "small" / "results.json").read_text())
    md = report.write_report(results, tmp_path).read_text()

    def comparable(text):
        return [line for line in text.splitlines() if not line.startswith("Per-run logs:")]
    assert comparable(md) == comparable((docs / "results.md").read_text())
