"""Corpus compression: shards for every method that round-trip on validation text, output that
does not depend on the thread count, one M1 pass equal to encoding at each N, and reuse of
up-to-date shards."""
import filecmp
import gzip
import json
import os

import numpy as np
import pytest

from binding_support import corpus_or_skip, require_binding

require_binding()

from eqinfo import compress  # noqa: E402
from eqinfo.shards import read_shard  # noqa: E402
from eqinfo.tokenizers import METHODS, Tokenizer, get_tokenizer  # noqa: E402

# Text per method for the round trip. M1 runs at a few KB/s per core, so its methods get less by
# default (9 kB: the first validation document); EQINFO_ROUNDTRIP_BYTES / EQINFO_ROUNDTRIP_M1_BYTES
# raise either.
ROUNDTRIP_BYTES = int(os.environ.get("EQINFO_ROUNDTRIP_BYTES", 300_000))
ROUNDTRIP_M1_BYTES = int(os.environ.get("EQINFO_ROUNDTRIP_M1_BYTES", 9_000))


def test_chunk_bits_pads_like_the_core():
    bits = np.array([1, 0, 1, 1, 0, 0, 0, 0, 1], dtype=np.uint16)
    np.testing.assert_array_equal(compress.chunk_bits(bits, 8), [0b10110000, 0b10000000])
    np.testing.assert_array_equal(compress.chunk_bits(bits, 16), [0b1011000010000000])
    assert compress.chunk_bits(bits[:0], 16).size == 0


@pytest.mark.parametrize("family", ["ac", "equalinfo-b24", "equalinfo-b16", "staticac"])
def test_one_pass_equals_encoding_at_each_n(family):
    texts = [b"", b"x", b"One pass, two token sizes.", "caf\u00e9 \u4f60\u597d\n".encode() * 3]
    v256, v65k = get_tokenizer(f"{family}-v256"), get_tokenizer(f"{family}-v65k")
    bits = Tokenizer(v256.spec, token_bits=1).encode_batch(texts, threads=2)
    for text, b in zip(texts, bits):
        assert set(np.unique(b)) <= {0, 1}
        np.testing.assert_array_equal(compress.chunk_bits(b, 8), v256.encode(text))
        np.testing.assert_array_equal(compress.chunk_bits(b, 16), v65k.encode(text))


def test_document_selection_is_a_prefix_within_the_limits():
    path = corpus_or_skip()
    docs = compress.select_documents("val", path, max_bytes=50_000)
    assert sum(map(len, docs)) <= 50_000
    more = compress.select_documents("val", path, max_bytes=200_000)
    assert more[:len(docs)] == docs and sum(map(len, more[:len(docs) + 1])) > 50_000
    assert compress.select_documents("val", path, max_docs=3) == more[:3]
    with pytest.raises(ValueError, match="split"):
        compress.select_documents("test", path)
    with pytest.raises(ValueError, match="no documents"):
        compress.select_documents("val", path, max_bytes=1)


@pytest.fixture(scope="module")
def val_shards(tmp_path_factory):
    """Every method on a prefix of the validation split, 2 threads."""
    path = corpus_or_skip()
    out = tmp_path_factory.mktemp("shards")
    m1 = [m for m, s in METHODS.items() if s.uses_m1]
    fast = [m for m in METHODS if m not in m1]
    shards = compress.compress_methods(fast, "val", out, max_bytes=ROUNDTRIP_BYTES, threads=2,
                                       data_path=path, progress=False)
    shards |= compress.compress_methods(m1, "val", out, max_bytes=ROUNDTRIP_M1_BYTES, threads=2,
                                        data_path=path, progress=False)
    return out, shards


def test_every_method_round_trips_on_validation(val_shards):
    out, shards = val_shards
    assert set(shards) == set(METHODS)
    texts = {}
    for method, path in shards.items():
        assert path == out / "val" / f"{method}.shard"
        shard = read_shard(path)
        meta = shard.meta
        if meta["max_bytes"] not in texts:
            texts[meta["max_bytes"]] = compress.select_documents("val", meta["corpus"], meta["max_bytes"])
        docs = texts[meta["max_bytes"]]
        assert shard.n_docs == len(docs) and shard.text_bytes == sum(map(len, docs))
        tok = get_tokenizer(method)
        assert tok.model_hash == meta["model_hash"] and tok.vocab_size == shard.vocab_size
        decoded = tok.decode_batch([shard.document(j) for j in range(shard.n_docs)], threads=2)
        for j, (d, r) in enumerate(zip(docs, decoded)):
            assert r.ok and r.documents == [d], f"{method}: document {j} ({r.describe()})"


def test_sidecar_says_how_the_shard_was_made(val_shards):
    _, shards = val_shards
    meta = read_shard(shards["equalinfo-b24-v256"]).meta
    for key in ("method", "b", "N", "model", "model_hash", "split", "corpus", "corpus_sha256", "threads",
                "wall_seconds", "tool_version", "documents", "bytes_in", "tokens_out", "vocab_size"):
        assert key in meta, key
    assert (meta["method"], meta["b"], meta["N"], meta["split"], meta["threads"]) == \
        ("equalinfo-b24-v256", 24, 8, "val", 2)
    assert meta["one_pass_with"] == ["equalinfo-b24-v256", "equalinfo-b24-v65k"]
    assert read_shard(shards["sentencepiece"]).meta["model_hash"] == get_tokenizer("sentencepiece").model_hash


@pytest.fixture
def tiny_corpus(tmp_path):
    """A 12-document corpus: documents 1..11 are its train split (document 0 is validation)."""
    path = tmp_path / "tiny.jsonl.gz"
    texts = ["validation"] + [f"Document {i}: " + "words and more words. " * (i * 3) for i in range(1, 10)] + \
        ["", "caf\u00e9 \u4f60\u597d"]
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps({"text": t}) + "\n" for t in texts)
    return path, [t.encode() for t in texts[1:]]


def test_output_is_identical_for_any_thread_count(tmp_path, tiny_corpus):
    path, train = tiny_corpus
    methods = ["bytes", "gzip-v256", "staticac-v65k", "sentencepiece", "equalinfo-b32-v256", "equalinfo-b32-v65k"]
    made = {}
    for threads in (1, 3):
        made[threads] = compress.compress_methods(methods, "train", tmp_path / f"t{threads}", threads=threads,
                                                  data_path=path, progress=False)
    for m in methods:
        assert filecmp.cmp(made[1][m], made[3][m], shallow=False), m
        shard = read_shard(made[1][m])
        assert shard.n_docs == len(train) and shard.text_bytes == sum(map(len, train))
        assert read_shard(made[3][m]).meta["threads"] == 3


def test_verify_finds_exact_round_trips_and_every_changed_document(tmp_path, tiny_corpus, capsys):
    path, train = tiny_corpus
    methods = ["bytes", "staticac-v256", "equalinfo-b32-v65k"]
    made = compress.compress_methods(methods, "train", tmp_path, data_path=path, progress=False)
    for m in methods:
        v = compress.verify_shard(made[m])
        assert v.ok and (v.method, v.documents, v.text_bytes) == (m, len(train), sum(map(len, train)))
    # one changed token in document 3 of the Equal-Info shard: that document (only) differs
    sh = read_shard(made["equalinfo-b32-v65k"])
    docs = [sh.document(j).copy() for j in range(sh.n_docs)]
    docs[3][0] ^= 0x0100
    sizes = [len(d) for d in train]
    compress.write_shard(made["equalinfo-b32-v65k"], docs, sizes, sh.vocab_size, sh.meta)
    v = compress.verify_shard(made["equalinfo-b32-v65k"])
    assert not v.ok and [j for j, _ in v.mismatched] == [3]
    # the CLI: a table, exit status 1 on any difference
    argv = ["--verify", "--split", "train", "--out", str(tmp_path), "--data", str(path)]
    with pytest.raises(SystemExit) as e:
        compress.main(argv + ["--methods", "bytes,staticac-v256"])
    assert e.value.code == 0 and capsys.readouterr().out.count("exact") == 2
    with pytest.raises(SystemExit) as e:
        compress.main(argv)
    assert e.value.code == 1 and "1 documents differ: #3" in capsys.readouterr().out
    # not comparable: a shard recorded as made with another model, or from another corpus
    st = read_shard(made["staticac-v256"])
    compress.write_shard(made["staticac-v256"], [st.document(j) for j in range(st.n_docs)], sizes,
                         st.vocab_size, dict(st.meta, model_hash="0123456789abcdef"))
    with pytest.raises(ValueError, match="made with model 0123456789abcdef"):
        compress.verify_shard(made["staticac-v256"])
    other = tmp_path / "other.jsonl.gz"
    with gzip.open(other, "wt") as f:
        f.write(json.dumps({"text": "x"}) + "\n")
    with pytest.raises(ValueError, match="corpus"):
        compress.verify_shard(made["bytes"], data_path=other)


def test_up_to_date_shards_are_reused(tmp_path):
    path = corpus_or_skip()
    first = compress.compress_split("gzip-v65k", "val", tmp_path, max_bytes=20_000, data_path=path, progress=False)
    stamp = first.stat().st_mtime_ns
    again = compress.compress_split("gzip-v65k", "val", tmp_path, max_bytes=20_000, threads=2, data_path=path,
                                    progress=False)
    assert again == first and first.stat().st_mtime_ns == stamp  # threads is not a setting
    compress.compress_split("gzip-v65k", "val", tmp_path, max_bytes=30_000, data_path=path, progress=False)
    assert first.stat().st_mtime_ns != stamp and read_shard(first).meta["max_bytes"] == 30_000
    first.write_bytes(first.read_bytes()[:-2])  # damaged: rebuilt
    compress.compress_split("gzip-v65k", "val", tmp_path, max_bytes=30_000, data_path=path, progress=False)
    assert read_shard(first).n_tokens == read_shard(first).meta["tokens_out"]


def test_command_line(tmp_path, capsys):
    path = corpus_or_skip()
    compress.main(["--methods", "bytes,gzip-v256", "--split", "val", "--out", str(tmp_path), "--max-docs", "2",
                   "--data", str(path), "--no-progress"])
    out = capsys.readouterr().out
    assert "gzip-v256" in out and (tmp_path / "val" / "bytes.shard").exists()
    with pytest.raises(SystemExit) as e:
        compress.main(["--methods", "nope", "--out", str(tmp_path), "--no-progress"])
    assert e.value.code == 2


def test_shuffled_selection_is_a_fixed_sample_over_sources():
    path = corpus_or_skip()
    docs = compress.select_documents("val", path, max_bytes=100_000, order="shuffled")
    assert docs == compress.select_documents("val", path, max_bytes=100_000, order="shuffled")
    assert 90_000 < sum(map(len, docs)) <= 100_000
    prefix = compress.select_documents("val", path, max_bytes=100_000)
    assert docs[:len(prefix)] != prefix and len(docs) > len(prefix)
    # whole documents of the split, no repeats
    every = compress.select_documents("val", path)
    assert len(set(docs)) == len(docs) and set(docs) <= set(every)
    assert compress.select_documents("val", path, max_docs=5, order="shuffled") == \
        compress.select_documents("val", path, order="shuffled")[:5]
    with pytest.raises(ValueError, match="order"):
        compress.select_documents("val", path, order="random")
