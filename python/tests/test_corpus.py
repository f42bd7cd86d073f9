"""Own corpora (issue 13 item 5): plain .jsonl, .jsonl.gz, parquet and directories of .txt files;
any text field; the fixed split, a split ratio, or explicit train/validation sources; a missing
corpus names the flag that fixes it. The reader tests need no extension; the eqinfo-compress
tests use Bytes and GZip (no model file) through the binding and skip without it."""
import gzip
import json
from fractions import Fraction

import pytest

from eqinfo import data
from eqinfo.data import Corpus, CorpusNotFoundError

TEXTS = [f"document {i}: " + "word " * (i % 7) for i in range(120)]


def write_jsonl(path, texts, field="text", compress=None, extra=None):
    lines = "".join(json.dumps({field: t, **(extra or {})}) + "\n" for t in texts).encode()
    compress = path.suffix == ".gz" if compress is None else compress
    path.write_bytes(gzip.compress(lines) if compress else lines)
    return path


def test_plain_jsonl_reads_like_jsonl_gz(tmp_path):
    plain = write_jsonl(tmp_path / "c.jsonl", TEXTS)
    packed = write_jsonl(tmp_path / "c.jsonl.gz", TEXTS)
    for split in ("all", "train", "val"):
        assert list(data.iter_documents(plain, split)) == list(data.iter_documents(packed, split))
    assert list(data.iter_documents(plain, "val")) == [TEXTS[0], TEXTS[50], TEXTS[100]]
    # gzip is recognised by its magic bytes, whatever the name says
    odd = write_jsonl(tmp_path / "gzipped.jsonl", TEXTS, compress=True)
    assert list(data.iter_documents(odd)) == TEXTS


def test_gzip_is_still_checked_to_its_end(tmp_path):
    good = gzip.compress("".join(json.dumps({"text": t}) + "\n" for t in TEXTS).encode())
    for name in ("cut.jsonl.gz", "cut.jsonl"):  # the check does not depend on the suffix
        path = tmp_path / name
        path.write_bytes(good[:-8])
        with pytest.raises(ValueError, match="truncated or damaged corpus file"):
            list(data.iter_documents(path))


def test_plain_jsonl_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": "\xff"}\n')
    with pytest.raises(ValueError, match="truncated or damaged corpus file"):
        list(data.iter_documents(path))


def test_a_directory_of_text_files_is_one_document_per_file(tmp_path):
    root = tmp_path / "txt"
    (root / "b").mkdir(parents=True)
    (root / "b" / "2.txt").write_text("second, in a subdirectory")
    (root / "a.txt").write_text("first")
    (root / "c.txt").write_text("caf\u00e9 \u4f60\u597d\n")
    (root / "notes.md").write_text("not a .txt: ignored")
    assert list(data.iter_documents(root)) == ["first", "second, in a subdirectory", "caf\u00e9 \u4f60\u597d\n"]
    assert [r["path"] for r in data.iter_records(root)] == ["a.txt", "b/2.txt", "c.txt"]
    assert list(data.iter_documents(root, "val")) == ["first"]        # the fixed split: file 0
    (root / "bad.txt").write_bytes(b"\xff\xfe")
    with pytest.raises(ValueError, match=r"bad\.txt: not UTF-8"):
        list(data.iter_documents(root))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .txt files"):
        list(data.iter_documents(tmp_path / "empty"))


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow", reason="pyarrow not installed: parquet corpora not tested")
    import pyarrow.parquet as pq
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"body": TEXTS, "n": list(range(len(TEXTS)))}), path, row_group_size=17)
    assert list(data.iter_documents(path, text_field="body")) == TEXTS
    assert list(Corpus(path, text_field="body").iter_documents("val")) == [TEXTS[0], TEXTS[50], TEXTS[100]]
    with pytest.raises(ValueError, match='no column "text".*--text-field'):
        list(data.iter_documents(path))


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    path = tmp_path / "c.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(ImportError, match="pip install pyarrow"):
        list(data.iter_documents(path))


def test_text_field(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", TEXTS, field="content", extra={"id": 1})
    assert list(data.iter_documents(path, text_field="content")) == TEXTS
    assert list(Corpus(path, text_field="content").iter_documents("val"))[1] == TEXTS[50]
    with pytest.raises(ValueError, match=r'^.*c\.jsonl:1: not a JSON object with a string field "text" '
                                         r'\(it has content, id: --text-field names another field\)$'):
        list(data.iter_documents(path))


def test_split_ratio_generalises_the_fixed_split(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", TEXTS)
    fixed = list(data.iter_documents(path, "val"))
    for ratio in ("1/50", "0.02", Fraction(1, 50), 0.02):
        assert list(data.iter_documents(path, "val", val_ratio=ratio)) == fixed
        assert Corpus(path, val_ratio=ratio).split_rule is None  # the fixed rule, recorded as such
    tenth = Corpus(path, val_ratio="0.1")
    val, train = list(tenth.iter_documents("val")), list(tenth.iter_documents("train"))
    assert val == TEXTS[::10] and len(train) == 108 and sorted(val + train) == sorted(TEXTS)
    assert tenth.split_rule == "ratio 1/10"
    third = [i for i in range(30) if data.is_validation_at(i, Fraction(1, 3))]
    assert third == list(range(0, 30, 3))
    quarter3 = [i for i in range(8) if data.is_validation_at(i, Fraction(3, 4))]
    assert len(quarter3) == 6  # 3/4 of 8, evenly spread
    for bad in ("0", "1", "1.5", "x", "1/0", -0.1):
        with pytest.raises(ValueError, match="val_ratio"):
            Corpus(path, val_ratio=bad)


def test_explicit_train_and_validation_sources(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", TEXTS[:100])
    val = tmp_path / "val"
    val.mkdir()
    for i, t in enumerate(TEXTS[100:]):
        (val / f"{i:03d}.txt").write_text(t)
    c = Corpus(train=train, validation=val)
    assert list(c.iter_documents("train")) == TEXTS[:100]     # read whole: no document held out
    assert list(c.iter_documents("val")) == TEXTS[100:]
    assert list(c.iter_documents("all")) == TEXTS
    assert c.split_rule == "whole" and c.source("val") == val
    with pytest.raises(ValueError, match="--train and --validation go together"):
        Corpus(train=train)
    with pytest.raises(ValueError, match="either --data or --train"):
        Corpus(train, train=train, validation=val)
    with pytest.raises(ValueError, match="--val-ratio splits one --data source"):
        Corpus(train=train, validation=val, val_ratio="0.1")


def test_a_missing_corpus_names_the_flag(tmp_path, monkeypatch):
    gone = tmp_path / "nope.jsonl.gz"
    with pytest.raises(CorpusNotFoundError, match=r"nope\.jsonl\.gz does not exist: pass --data PATH"):
        list(data.iter_documents(gone))
    with pytest.raises(CorpusNotFoundError, match="EQINFO_DATA_DIR"):
        Corpus(gone).check()
    there = write_jsonl(tmp_path / "t.jsonl", TEXTS)
    with pytest.raises(CorpusNotFoundError, match="fix --validation"):
        Corpus(train=there, validation=gone).check()
    with pytest.raises(CorpusNotFoundError, match="fix --train"):
        Corpus(train=gone, validation=there).check()
    # no repository to find the default corpus from: still the flag, not a bare traceback
    monkeypatch.delenv("EQINFO_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "default_data_path", lambda: (_ for _ in ()).throw(
        FileNotFoundError("cannot find the eqinfo repository")))
    with pytest.raises(CorpusNotFoundError, match="no corpus given.*pass --data"):
        list(data.iter_documents())


def test_the_cli_flags_build_the_corpus(tmp_path):
    import argparse
    ap = argparse.ArgumentParser()
    data.add_corpus_arguments(ap)
    c = data.corpus_from_args(ap.parse_args(["--data", "x.jsonl", "--text-field", "body", "--val-ratio", "1/4"]))
    assert (c.path.name, c.text_field, c.val_ratio) == ("x.jsonl", "body", Fraction(1, 4))
    c = data.corpus_from_args(ap.parse_args(["--train", "a", "--validation", "b"]))
    assert c.explicit and c.source("train").name == "a"
    assert data.corpus_from_args(ap.parse_args([])) == Corpus()


# ----------------------------------------------------------------------------- eqinfo-compress

@pytest.fixture
def binding():
    from binding_support import require_binding
    require_binding()
    from eqinfo import compress
    return compress


METHODS = ["bytes", "gzip-v256"]


def _compress(compress, tmp_path, *flags):
    out = tmp_path / "shards"
    compress.main(["--methods", ",".join(METHODS), "--out", str(out), "--no-progress", *flags])
    return out


def test_compress_reads_plain_jsonl_and_verifies(binding, tmp_path, capsys):
    from eqinfo.shards import read_shard
    path = write_jsonl(tmp_path / "mine.jsonl", TEXTS, field="body")
    out = _compress(binding, tmp_path, "--split", "train", "--data", str(path), "--text-field", "body",
                    "--val-ratio", "0.1")
    shard = read_shard(out / "train" / "bytes.shard")
    expected = [t for i, t in enumerate(TEXTS) if i % 10]
    assert shard.n_docs == len(expected) and shard.text_bytes == sum(len(t.encode()) for t in expected)
    assert bytes(shard.document(1)[:-1].astype("u1")) == expected[1].encode()
    assert (shard.meta["text_field"], shard.meta["corpus_split"]) == ("body", "ratio 1/10")
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:  # the sidecar's field and split are what verify reads
        binding.main(["--verify", "--split", "train", "--out", str(out)])
    assert e.value.code == 0 and capsys.readouterr().out.count("exact") == 2
    # the same text under another split rule is another shard, not "up to date"
    _compress(binding, tmp_path, "--split", "train", "--data", str(path), "--text-field", "body")
    assert read_shard(out / "train" / "bytes.shard").n_docs == 117


def test_compress_from_text_directories_and_explicit_splits(binding, tmp_path, capsys):
    from eqinfo.shards import read_shard
    train, val = tmp_path / "train", tmp_path / "val"
    for d, texts in ((train, TEXTS[:30]), (val, TEXTS[30:35])):
        d.mkdir()
        for i, t in enumerate(texts):
            (d / f"{i:03d}.txt").write_text(t)
    for split, n in (("train", 30), ("val", 5)):
        out = _compress(binding, tmp_path, "--split", split, "--train", str(train), "--validation", str(val))
        shard = read_shard(out / split / "gzip-v256.shard")
        assert shard.n_docs == n and shard.meta["corpus_split"] == "whole"
        assert shard.meta["corpus"] == str(train if split == "train" else val)
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        binding.main(["--verify", "--split", "val", "--out", str(out)])
    assert e.value.code == 0 and capsys.readouterr().out.count("exact") == 2
    (val / "000.txt").write_text("changed")   # the directory's hash covers every file
    with pytest.raises(SystemExit) as e:
        binding.main(["--verify", "--split", "val", "--out", str(out)])
    assert e.value.code == 1 and "made from corpus" in capsys.readouterr().out


def test_old_sidecars_stay_up_to_date(binding, tmp_path):
    """Sidecars written before text_field / corpus_split existed match the default corpus."""
    from eqinfo.shards import read_shard, sidecar_path
    path = write_jsonl(tmp_path / "c.jsonl.gz", TEXTS)
    made = binding.compress_split("bytes", "val", tmp_path / "s", data_path=path, progress=False)
    meta = read_shard(made).meta
    assert meta["text_field"] is None and meta["corpus_split"] is None
    for k in ("text_field", "corpus_split"):
        del meta[k]
    sidecar_path(made).write_text(json.dumps(meta))
    stamp = made.stat().st_mtime_ns
    binding.compress_split("bytes", "val", tmp_path / "s", data_path=path, progress=False)
    assert made.stat().st_mtime_ns == stamp


def test_compress_names_the_flag_for_a_missing_corpus(binding, tmp_path, capsys):
    for flags, want in ((["--data", str(tmp_path / "gone.jsonl")], "pass --data PATH"),
                        (["--train", str(tmp_path / "gone"), "--validation", str(tmp_path)], "fix --train")):
        with pytest.raises(SystemExit) as e:
            _compress(binding, tmp_path, "--split", "train", *flags)
        err = capsys.readouterr().err
        assert e.value.code == 2 and want in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as e:
        _compress(binding, tmp_path, "--train", str(tmp_path))
    assert e.value.code == 2 and "--train and --validation go together" in capsys.readouterr().err


def test_the_sentencepiece_trainer_names_the_flag_too(tmp_path, capsys):
    pytest.importorskip("sentencepiece")
    from eqinfo import sentencepiece_method
    with pytest.raises(SystemExit) as e:
        sentencepiece_method.main(["--data", str(tmp_path / "gone.jsonl"), "--out", str(tmp_path / "m.model")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "pass --data PATH" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.model").exists()
