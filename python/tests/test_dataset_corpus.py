"""A Hugging Face datasets.Dataset as a corpus (eqinfo.data.DatasetCorpus): the same documents
and splits as the same rows in a .jsonl file, and compression from Python that reads it as it
reads files (issue 13, item 4)."""
import json
from fractions import Fraction

import numpy as np
import pytest

from binding_support import require_binding

datasets = pytest.importorskip("datasets", reason="datasets not installed (pip install '.[hf]')")

from eqinfo import data  # noqa: E402

# 120 rows, so that the fixed split (i % 50 == 0) has 3 validation documents and 1/10 has 12.
TEXTS = [f"Document {i}: " + "word " * (i % 7) + "\u00e9\u4f60" * (i % 3) for i in range(120)]


@pytest.fixture()
def jsonl(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"body": t}) + "\n" for t in TEXTS))
    return path


def _ds(texts=TEXTS, column="body"):
    return datasets.Dataset.from_dict({column: list(texts), "id": list(range(len(texts)))})


@pytest.mark.parametrize("ratio", [None, Fraction(1, 10), "1/3"])
def test_a_dataset_splits_like_the_same_rows_in_a_file(jsonl, ratio):
    corpus = data.DatasetCorpus(_ds(), text_field="body", val_ratio=ratio)
    on_disk = data.Corpus(jsonl, text_field="body", val_ratio=ratio)
    for split in ("train", "val", "all"):
        assert list(corpus.iter_documents(split)) == list(on_disk.iter_documents(split)), split
    assert corpus.split_rule == on_disk.split_rule
    assert len(list(corpus.iter_documents("val"))) == {None: 3, Fraction(1, 10): 12, "1/3": 40}[ratio]


def test_a_dataset_dict_is_read_whole_per_split():
    dd = datasets.DatasetDict(train=_ds(TEXTS[:5]), validation=_ds(TEXTS[5:7]))
    corpus = data.as_corpus(data.DatasetCorpus(dd, text_field="body"))
    assert list(corpus.iter_documents("train")) == TEXTS[:5]
    assert list(corpus.iter_documents("val")) == TEXTS[5:7] and corpus.split_rule == "whole"
    with pytest.raises(ValueError, match="missing validation"):
        data.DatasetCorpus(datasets.DatasetDict(train=_ds()), text_field="body")


def test_readers_take_a_dataset_and_name_a_missing_column():
    ds = _ds(column="text")
    assert list(data.iter_documents(ds, "val")) == [TEXTS[0], TEXTS[50], TEXTS[100]]
    with pytest.raises(ValueError, match='no column "text" .*body, id.*text_field='):
        data.as_corpus(_ds())
    with pytest.raises(TypeError, match="datasets.Dataset"):
        data.DatasetCorpus(TEXTS)
    bad = datasets.Dataset.from_dict({"text": ["a", None]})
    with pytest.raises(ValueError, match='row 1: column "text" is not a string'):
        list(data.iter_documents(bad))


def test_the_content_hash_follows_the_text_not_the_object():
    a, b = (data.DatasetCorpus(_ds(), text_field="body").source("all") for _ in range(2))
    assert a.sha256() == b.sha256() and len(a.sha256()) == 16
    changed = data.DatasetCorpus(_ds(TEXTS[:-1] + ["other"]), text_field="body").source("all")
    assert changed.sha256() != a.sha256()


def test_compression_reads_a_dataset_as_it_reads_the_file(tmp_path, jsonl):
    require_binding()
    from eqinfo import compress
    from eqinfo.shards import read_shard
    methods = ["bytes", "gzip-v256"]
    from_file = compress.compress_methods(methods, "val", tmp_path / "file", progress=False,
                                          data_path=data.Corpus(jsonl, text_field="body"))
    corpus = data.DatasetCorpus(_ds(), text_field="body")
    from_ds = compress.compress_methods(methods, "val", tmp_path / "ds", progress=False, data_path=corpus)
    for m in methods:
        a, b = read_shard(from_file[m]), read_shard(from_ds[m])
        assert a.n_docs == b.n_docs == 3
        assert all(np.array_equal(a.document(j), b.document(j)) for j in range(a.n_docs))
        assert b.meta["corpus"].startswith("datasets.Dataset(rows=120") and b.meta["text_field"] == "body"
    # Up to date for another Dataset object with the same rows: reused, not rewritten.
    mtime = from_ds["bytes"].stat().st_mtime_ns
    again = compress.compress_methods(["bytes"], "val", tmp_path / "ds", progress=False,
                                      data_path=data.DatasetCorpus(_ds(), text_field="body"))
    assert again["bytes"].stat().st_mtime_ns == mtime
    v = compress.verify_shard(from_ds["gzip-v256"], data_path=corpus)
    assert v.ok and v.documents == 3
    # A raw Dataset with a "text" column is taken as it is.
    raw = compress.compress_methods(["bytes"], "train", tmp_path / "raw", progress=False,
                                    data_path=_ds(column="text"))
    assert read_shard(raw["bytes"]).n_docs == 117


def test_the_cli_reads_a_directory_that_save_to_disk_wrote(tmp_path):
    require_binding()
    import subprocess
    import sys
    from eqinfo import compress
    from eqinfo.shards import read_shard
    ds = _ds()
    ds.save_to_disk(str(tmp_path / "saved"))
    datasets.DatasetDict(train=_ds(TEXTS[:9]), validation=_ds(TEXTS[9:12])).save_to_disk(str(tmp_path / "dict"))
    assert data.is_saved_dataset(tmp_path / "saved") and data.is_saved_dataset(tmp_path / "dict")
    assert not data.is_saved_dataset(tmp_path / "dict" / "missing") and not data.is_saved_dataset(tmp_path)
    for saved, ref_corpus, n in (("saved", data.DatasetCorpus(ds, text_field="body", val_ratio="1/10"), 12),
                                 ("dict", data.DatasetCorpus(datasets.DatasetDict(train=_ds(TEXTS[:9]), validation=_ds(TEXTS[9:12])),
                                                             text_field="body"), 3)):
        ref = compress.compress_methods(["bytes"], "val", tmp_path / f"ref-{saved}", progress=False,
                                        data_path=ref_corpus)["bytes"]
        flags = ["--data", str(tmp_path / saved), "--text-field", "body", "--split", "val", "--methods", "bytes",
                 "--out", str(tmp_path / f"cli-{saved}"), "--no-progress"]
        if saved == "saved":
            flags += ["--val-ratio", "1/10"]
        for extra in ([], ["--verify"]):
            r = subprocess.run([sys.executable, "-m", "eqinfo.compress", *flags, *extra], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
        assert "exact" in r.stdout
        made = tmp_path / f"cli-{saved}" / "val" / "bytes.shard"
        assert made.read_bytes() == ref.read_bytes() and read_shard(made).n_docs == n
        # The sidecar names the loaded Dataset: load_from_disk gives it a fingerprint of its own
        # (the same in every process that loads the directory).
        assert read_shard(made).meta["corpus"].startswith(f"datasets.Dataset(rows={len(ds) if saved == 'saved' else 3}, ")
