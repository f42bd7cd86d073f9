"""eqinfo.cluster without Ray: units, records, the manifest, the merge, the batch (Slurm-style)
mode as real processes, resume and failures. Every run is compared with single-process
eqinfo-compress on the same corpus, byte for byte."""
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from binding_support import require_binding
from cluster_support import compress_cli, dataset_texts, env_for_ray, make_corpus, same_shards

require_binding()

from eqinfo import compress, data, shards  # noqa: E402
from eqinfo.cluster import Job, run_batch, verify_units  # noqa: E402
from eqinfo.cluster import files, units  # noqa: E402

CHEAP = ("bytes", "gzip-v65k", "staticac-v256")
M1 = ("equalinfo-b16-v65k", "equalinfo-b16-v256")  # one M1 pass, two N
OTHER_M1 = ("ac-v256", "ac-v65k", "equalinfo-b32-v65k", "sentencepiece")  # and the other model kinds


def reference(tmp: Path, corpus, methods, split="train") -> Path:
    compress.compress_methods(methods, split, tmp / "single", data_path=corpus, progress=False)
    return tmp / "single" / split


def run_shard_processes(common: list, k: int) -> list[dict]:
    """`eqinfo-compress COMMON --num-shards k --shard-index i --json` for every i, as k processes
    at once (a batch scheduler's array job); their JSON reports, in shard order."""
    procs = [subprocess.Popen([sys.executable, "-m", "eqinfo.compress", *map(str, common),
                               "--num-shards", str(k), "--shard-index", str(i), "--json"],
                              env=env_for_ray(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(k)]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        reports.append(json.loads(out))
    return reports


def test_streamed_writer_writes_the_bytes_of_write_shard(tmp_path):
    rng = np.random.default_rng(0)
    docs = [rng.integers(0, 300, size=n).astype(np.uint16) for n in (0, 5, 1, 0, 17)]
    text = [3, 0, 9, 1, 4]
    meta = {"method": "x", "nested": {"a": [1, None]}}
    shards.write_shard(tmp_path / "a.shard", docs, text, 300, meta)
    pieces = [files.Piece.of_documents(docs[:2], text[:2]), files.Piece.of_documents([], []),
              files.Piece.of_documents(docs[2:], text[2:])]
    side, sha = files.write_shard_pieces(tmp_path / "b.shard", lambda: iter(pieces), 300, meta)
    assert (tmp_path / "a.shard").read_bytes() == (tmp_path / "b.shard").read_bytes()
    assert (tmp_path / "a.shard.json").read_bytes() == (tmp_path / "b.shard.json").read_bytes()
    assert sha == files.sha256_file(tmp_path / "b.shard")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        files.write_shard_pieces(tmp_path / "c.shard", lambda: iter(pieces), 200, meta)
    assert not (tmp_path / "c.shard").exists()


def test_a_directory_of_jsonl_files_reads_as_their_concatenation(tmp_path):
    d = make_corpus(tmp_path / "c", files=3, docs=30, gz=(1,))
    cat = tmp_path / "all.jsonl"
    cat.write_bytes(b"".join(gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
                             for f in data.corpus_files(d)))
    assert data.corpus_format(d) == "file-dir"
    for split in ("train", "val"):
        assert list(data.iter_documents(d, split)) == list(data.iter_documents(cat, split))
    assert list(data.iter_documents(data.Corpus(d, val_ratio="1/4"), "val")) == \
        list(data.iter_documents(data.Corpus(cat, val_ratio="1/4"), "val"))


def test_the_plan_depends_only_on_content_and_unit_bytes(tmp_path):
    d = make_corpus(tmp_path / "c", files=2, docs=25)
    corpus = data.Corpus(d)
    scan = [units.scan_source(s, "text", 2000) for s in units.list_sources(corpus, "train")]
    plan = units.make_plan(corpus, "train", 2000, scan)
    lines = [len(l.encode()) for f in data.corpus_files(d) for l in f.read_text().splitlines(keepends=True)]
    assert sum(u.raw_bytes for u in plan.units) == sum(lines)
    assert [u.hi - u.lo for u in plan.units if u.source == 0] and all(u.raw_bytes >= 2000 for u in plan.units
                                                                       if u.hi != plan.sources[u.source].documents)
    assert plan.sources[1].first_index == 25
    again = units.make_plan(corpus, "train", 2000, [units.scan_source(s, "text", 2000)
                                                     for s in units.list_sources(corpus, "train")])
    assert again == plan and units.Plan.from_json(json.loads(json.dumps(plan.to_json()))) == plan
    assert plan.corpus_sha256 == compress.corpus_sha256(d)


@pytest.mark.parametrize("unit_bytes", [700, 5000, 10 ** 9])
def test_units_merge_to_the_single_process_shards(tmp_path, unit_bytes):
    d = make_corpus(tmp_path / "c", files=3, docs=30, max_words=12, gz=(2,))
    corpus = data.Corpus(d)
    methods = CHEAP + M1 + OTHER_M1 if unit_bytes == 700 else CHEAP
    ref = reference(tmp_path, corpus, methods)
    job = Job(methods, "train", str(tmp_path / "units"), corpus, unit_bytes)
    r = run_batch(job, progress="none")
    assert r["complete"] and r["computed"] == r["units"] and not r["failed"]
    same_shards(ref, tmp_path / "units" / "train", methods)
    for m in methods:
        man = json.loads((tmp_path / "units" / "train" / "units" / m / "manifest.json").read_text())
        assert man["shard"]["sha256"] == files.sha256_file(ref / f"{m}.shard")
        tokens = np.concatenate([shards.read_shard(tmp_path / "units" / "train" / u["path"]).tokens for u in man["units"]])
        assert np.array_equal(tokens, shards.read_shard(ref / f"{m}.shard").tokens)  # units concatenated
        assert sum(u["documents"] for u in man["units"]) == man["shard"]["documents"]
        for u in man["units"]:
            assert files.sha256_file(tmp_path / "units" / "train" / u["path"]) == u["sha256"]
    # The same command again reuses every unit (sha256 checked) and makes the same shards.
    again = run_batch(job, progress="none")
    assert again["computed"] == 0 and again["reused"] == r["units"]
    same_shards(ref, tmp_path / "units" / "train", methods)


@pytest.mark.parametrize("kind", ["fixed-split-file", "text-dir", "explicit", "ratio"])
def test_every_corpus_kind_splits_as_single_process(tmp_path, kind):
    d = make_corpus(tmp_path / "c", files=2, docs=60, max_words=8)
    if kind == "fixed-split-file":
        corpus = data.Corpus(data.corpus_files(d)[0])
    elif kind == "text-dir":
        t = tmp_path / "txt"
        for i, text in enumerate(data.iter_documents(d)):
            (t / f"{i % 3}").mkdir(parents=True, exist_ok=True)
            (t / f"{i % 3}" / f"{i:03d}.txt").write_text(text)
        corpus = data.Corpus(t)
    elif kind == "explicit":
        a, b = data.corpus_files(d)
        corpus = data.Corpus(train=a, validation=b)
    else:
        corpus = data.Corpus(d, val_ratio="1/7")
    ref = reference(tmp_path, corpus, ("bytes",), split="val")
    r = run_batch(Job(("bytes",), "val", str(tmp_path / "u"), corpus, 400), progress="none")
    assert r["complete"] and r["units"] > 2
    same_shards(ref, tmp_path / "u" / "val", ("bytes",))


def test_batch_shards_as_processes_then_merge_equal_single_process(tmp_path):
    d = make_corpus(tmp_path / "c", files=4, docs=25, max_words=10)
    methods = ("bytes", "gzip-v256", "equalinfo-b16-v65k")
    ref = reference(tmp_path, data.Corpus(d), methods)
    common = ["--data", d, "--split", "train", "--methods", ",".join(methods), "--out", tmp_path / "b",
              "--unit-bytes", 900, "--no-progress"]
    early = compress_cli(*common, "--merge", check=False)  # nothing made yet: says what is missing
    assert early.returncode == 1 and "units missing" in early.stderr
    reports = run_shard_processes(common, 3)
    assert sorted(sum(([u for u in range(r["units"]) if u % 3 == r["shard_index"]] for r in reports), [])) == \
        list(range(reports[0]["units"]))
    assert sum(r["computed"] for r in reports) == reports[0]["units"]
    assert not (tmp_path / "b" / "train" / "bytes.shard").exists()  # shards do not merge
    merged = json.loads(compress_cli(*common, "--merge", "--json").stdout)
    assert merged["complete"] and merged["computed"] == 0
    same_shards(ref, tmp_path / "b" / "train", methods)
    v = compress_cli(*common, "--verify")
    assert f"exact: {reports[0]['units']}" in v.stdout


def test_a_bad_line_fails_its_unit_only_and_names_file_and_line(tmp_path):
    d = make_corpus(tmp_path / "c", files=3, docs=20, max_words=6)
    bad = data.corpus_files(d)[1]
    lines = bad.read_text().splitlines(keepends=True)
    lines[7] = '{"text": "cut off\n'
    bad.write_text("".join(lines))
    r = compress_cli("--data", d, "--split", "train", "--methods", "bytes", "--out", tmp_path / "o",
                     "--unit-bytes", 300, "--no-progress", "--json", check=False)
    assert r.returncode == 1
    rep = json.loads(r.stdout)
    assert len(rep["failed"]) == 1 and f"{bad}:8:" in rep["failed"][0]["error"]
    assert rep["missing"] == [rep["failed"][0]["unit"]] and rep["computed"] == rep["units"] - 1
    assert not (tmp_path / "o" / "train" / "bytes.shard").exists()
    human = compress_cli("--data", d, "--split", "train", "--methods", "bytes", "--out", tmp_path / "o",
                         "--unit-bytes", 300, "--no-progress", check=False)
    assert human.returncode == 1 and f"{bad}:8:" in human.stdout and "1 units missing" in human.stderr
    assert "0 computed" in human.stdout  # the finished units were kept


def test_a_damaged_unit_is_recomputed_and_verify_finds_a_wrong_token(tmp_path):
    d = make_corpus(tmp_path / "c", files=2, docs=20, max_words=6)
    job = Job(("bytes",), "train", str(tmp_path / "o"), data.Corpus(d), 300)
    first = run_batch(job, progress="none")
    unit_files = sorted((tmp_path / "o" / "train" / "units" / "bytes").glob("*.shard"))
    victim = unit_files[2]
    raw = bytearray(victim.read_bytes())
    raw[-2] ^= 1  # a token's low bit: the file still parses, its sha256 does not match
    victim.write_bytes(bytes(raw))
    assert not verify_units(job)["ok"]
    second = run_batch(job, progress="none")
    assert second["computed"] == 1 and second["reused"] == first["units"] - 1
    assert verify_units(job)["ok"]
    ref = reference(tmp_path, data.Corpus(d), ("bytes",))
    same_shards(ref, tmp_path / "o" / "train", ("bytes",))


def test_unit_flags_refuse_what_needs_the_whole_corpus(tmp_path):
    d = make_corpus(tmp_path / "c", files=1, docs=5)
    for extra in (["--max-docs", "3"], ["--order", "shuffled"], ["--force"], ["--num-shards", "2"]):
        r = compress_cli("--data", d, "--out", tmp_path / "o", "--unit-bytes", "100", *extra, check=False)
        assert r.returncode == 2 and "error:" in r.stderr, extra
    with pytest.raises(ValueError, match="shard_index"):
        run_batch(Job(("bytes",), "train", str(tmp_path / "o"), data.Corpus(d), 100), 2, 2)


def test_progress_reports_units_documents_bytes_and_eta_as_json(tmp_path, capsys):
    d = make_corpus(tmp_path / "c", files=2, docs=12, max_words=6)
    r = run_batch(Job(("bytes",), "train", str(tmp_path / "o"), data.Corpus(d), 200), progress="json")
    lines = [json.loads(l) for l in capsys.readouterr().err.splitlines()]
    assert [l["units_done"] for l in lines] == list(range(1, r["units"] + 1))
    last = lines[-1]
    assert last["documents"] == r["documents"] and last["bytes_in"] == r["bytes_in"]
    assert last["input_bytes_done"] == last["input_bytes"] and last["eta_s"] == 0
    assert all(l["eta_s"] is not None and l["eta_s"] >= 0 for l in lines)


def test_a_split_without_documents_is_refused_as_single_process_refuses_it(tmp_path):
    d = make_corpus(tmp_path / "c", files=1, docs=1)  # its one document is validation
    with pytest.raises(ValueError, match="no documents"):
        compress.compress_methods(["bytes"], "train", tmp_path / "s", data_path=data.Corpus(d), progress=False)
    with pytest.raises(ValueError, match="no documents"):
        run_batch(Job(("bytes",), "train", str(tmp_path / "o"), data.Corpus(d), 100), progress="none")


def test_merge_removes_the_temporary_files_of_killed_writers(tmp_path):
    d = make_corpus(tmp_path / "c", files=1, docs=8)
    job = Job(("bytes",), "train", str(tmp_path / "o"), data.Corpus(d), 100)
    stale = tmp_path / "o" / "train" / "units" / "bytes" / "u00000-0000000000-0000000001.shard.tmp.host.123"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    assert run_batch(job, progress="none")["complete"] and not stale.exists()


def test_without_tqdm_progress_is_plain_lines(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now fails as if not installed
    d = make_corpus(tmp_path / "c", files=2, docs=12, max_words=6)
    r = run_batch(Job(("bytes",), "train", str(tmp_path / "o"), data.Corpus(d), 200), progress="bar")
    err = capsys.readouterr().err
    assert f"units {r['units']}/{r['units']}, {r['documents']} docs" in err and "ETA" in err


# A datasets.Dataset as the corpus (eqinfo.cluster.dataset_units): units are row ranges, the
# plan is tied to the Dataset's fingerprint, a save_to_disk directory is --data.

def _datasets():
    return pytest.importorskip("datasets", reason="datasets not installed (pip install '.[hf]')")


def _dataset(rows=150, column="text", seed=0, texts=None):
    return _datasets().Dataset.from_dict({column: texts if texts is not None else dataset_texts(rows, seed=seed),
                                          "id": list(range(rows if texts is None else len(texts)))})


@pytest.mark.parametrize("kind", ["fixed", "ratio", "dict"])
def test_a_dataset_in_units_equals_single_process(tmp_path, kind):
    if kind == "dict":
        corpus = data.DatasetCorpus(_datasets().DatasetDict(train=_dataset(90, "body", 1), validation=_dataset(70, "body", 2)),
                                    text_field="body")
        split, methods = "val", CHEAP
    elif kind == "ratio":
        corpus, split, methods = data.DatasetCorpus(_dataset(column="body"), text_field="body", val_ratio="1/7"), "val", CHEAP
    else:
        corpus, split, methods = data.DatasetCorpus(_dataset()), "train", CHEAP + M1
    ref = reference(tmp_path, corpus, methods, split=split)
    job = Job(methods, split, str(tmp_path / "u"), corpus, 600)
    r = run_batch(job, progress="none")
    assert r["complete"] and r["computed"] == r["units"] > 3 and not r["failed"]
    same_shards(ref, tmp_path / "u" / split, methods)
    man = json.loads((tmp_path / "u" / split / "units" / methods[0] / "manifest.json").read_text())
    ds = corpus.source(split).dataset
    # Global ids are row indices: the units cover the rows in order, and each unit's documents are
    # the rows of its range that the split rule selects.
    ranges = [u["global_documents"] for u in man["units"]]
    assert ranges[0][0] == 0 and ranges[-1][1] == len(ds) and all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    chosen = {"fixed": lambda i: i % 50 != 0, "ratio": lambda i: data.is_validation_at(i, data.parse_ratio("1/7")),
              "dict": lambda i: True}[kind]
    for u in man["units"]:
        assert u["documents"] == sum(chosen(i) for i in range(*u["global_documents"]))
    # Another Dataset object with the same rows (a new process, say) has the same fingerprint:
    # the run resumes, every unit reused.
    again_corpus = (data.DatasetCorpus(_dataset(), text_field=corpus.text_field) if kind == "fixed" else corpus)
    again = run_batch(Job(methods, split, str(tmp_path / "u"), again_corpus, 600), progress="none")
    assert again["computed"] == 0 and again["reused"] == r["units"]


def test_a_job_takes_a_raw_dataset_and_its_text_column(tmp_path):
    ds = _dataset(60)
    job = Job(("bytes",), "train", str(tmp_path / "u"), ds, 300)
    assert isinstance(job.corpus, data.DatasetCorpus) and job.corpus.text_field == "text"
    ref = reference(tmp_path, ds, ("bytes",))
    assert run_batch(job, progress="none")["complete"]
    same_shards(ref, tmp_path / "u" / "train", ("bytes",))


def test_a_changed_dataset_is_refused_on_resume(tmp_path):
    from eqinfo.cluster.dataset_units import DatasetChangedError
    texts = dataset_texts(80)
    first = Job(("bytes",), "train", str(tmp_path / "u"), _dataset(texts=texts), 300)
    assert run_batch(first, progress="none")["complete"]
    changed = _dataset(texts=texts[:-1] + ["one row edited"])
    with pytest.raises(DatasetChangedError, match=r"planned from a datasets.Dataset with fingerprint \w+ \(80 rows\); "
                                                 r"the Dataset given has fingerprint \w+ \(80 rows\).*delete .*units"):
        run_batch(Job(("bytes",), "train", str(tmp_path / "u"), changed, 300), progress="none")
    # From the command line, a saved Dataset: exit status 2 and the same message.
    a, b = tmp_path / "a", tmp_path / "b"
    _dataset(texts=texts).save_to_disk(str(a))
    changed.save_to_disk(str(b))
    common = ["--split", "train", "--methods", "bytes", "--out", tmp_path / "cli", "--unit-bytes", 300, "--no-progress"]
    compress_cli("--data", a, *common, "--num-shards", 2, "--shard-index", 0)
    r = compress_cli("--data", b, *common, "--num-shards", 2, "--shard-index", 1, check=False)
    assert r.returncode == 2 and "the Dataset given has fingerprint" in r.stderr, r.stderr


@pytest.mark.parametrize("saved", ["dataset", "dataset-dict"])
def test_batch_shards_of_a_saved_dataset_then_merge_equal_single_process(tmp_path, saved):
    datasets = _datasets()
    d = tmp_path / "saved"
    if saved == "dataset-dict":
        datasets.DatasetDict(train=_dataset(70, "body", 3), validation=_dataset(40, "body", 4)).save_to_disk(str(d))
        split, methods, extra = "val", ("bytes", "gzip-v256"), ["--text-field", "body"]
    else:
        _dataset(160, "body").save_to_disk(str(d))
        split, methods, extra = "train", ("bytes", "gzip-v256", "equalinfo-b16-v65k"), ["--text-field", "body"]
    assert data.is_saved_dataset(d)
    single = ["--data", d, "--split", split, "--methods", ",".join(methods), "--no-progress", *extra]
    compress_cli(*single, "--out", tmp_path / "single")  # single-process eqinfo-compress reads it too
    common = single + ["--out", tmp_path / "b", "--unit-bytes", 500]
    reports = run_shard_processes(common, 3)
    assert sum(r["computed"] for r in reports) == reports[0]["units"] > 3
    merged = json.loads(compress_cli(*common, "--merge", "--json").stdout)
    assert merged["complete"] and merged["computed"] == 0
    same_shards(tmp_path / "single" / split, tmp_path / "b" / split, methods)
    meta = json.loads((tmp_path / "b" / split / f"{methods[0]}.shard.json").read_text())
    assert meta["corpus"].startswith("datasets.Dataset(rows=") and meta["corpus_split"] == (
        "whole" if saved == "dataset-dict" else None)
    assert f"exact: {reports[0]['units']}" in compress_cli(*common, "--verify").stdout
    assert "exact" in compress_cli(*single, "--out", tmp_path / "b", "--verify").stdout  # the merged shards


def test_a_row_that_is_not_text_fails_the_dataset_and_the_run_says_so(tmp_path):
    ds = _datasets().Dataset.from_dict({"text": ["a", "b", None, "d"]})
    r = run_batch(Job(("bytes",), "train", str(tmp_path / "u"), ds, 1), progress="none")
    assert not r["complete"] and r["units"] == 0
    assert 'row 2: column "text" is not a string' in r["failed"][0]["error"]
    assert r["missing"] == [f"source {r['failed'][0]['source']}"]
    assert not (tmp_path / "u" / "train" / "units" / "plan.json").exists()  # a fixed Dataset is scanned again


def test_only_a_memory_mapped_dataset_can_go_to_ray_workers(tmp_path):
    from eqinfo.cluster.dataset_units import check_shippable
    datasets = _datasets()
    in_memory = _dataset(30)
    in_memory.save_to_disk(str(tmp_path / "d"))
    mapped = datasets.load_from_disk(str(tmp_path / "d"))
    for ok in (mapped, mapped.shuffle(seed=0), mapped.select(range(3, 20)),
               datasets.concatenate_datasets([mapped, mapped])):
        check_shippable(data.DatasetCorpus(ok))
    check_shippable(data.Corpus(tmp_path))  # files: nothing to check
    for bad in (in_memory, datasets.concatenate_datasets([mapped, in_memory])):
        with pytest.raises(ValueError, match=r"held in memory .*save_to_disk\(DIR\), then datasets.load_from_disk"):
            check_shippable(data.DatasetCorpus(bad))
    with pytest.raises(ValueError, match="the 'validation' split of the DatasetDict"):
        check_shippable(data.DatasetCorpus(datasets.DatasetDict(train=mapped, validation=in_memory)))
