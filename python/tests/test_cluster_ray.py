"""eqinfo-compress --engine ray on a real local Ray cluster: a head node and a second node
process (1 CPU each) on 127.0.0.1, started once for this module and stopped at its end (no Ray
process is left behind: cluster_support.LocalRayCluster). Every run is compared, byte for byte,
with single-process eqinfo-compress; the fault-injection tests kill a worker process during a
unit and the driver during a run."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from binding_support import require_binding
from cluster_support import (LocalRayCluster, compress_cli, dataset_texts, env_for_ray, make_corpus, ray_available,
                             same_shards)

require_binding()
if not ray_available():
    pytest.skip("ray is not installed (pip install 'eqinfo[cluster]'): the Ray engine tests need it",
                allow_module_level=True)

from eqinfo import compress, data  # noqa: E402

METHODS = ("bytes", "gzip-v65k", "staticac-v256", "equalinfo-b16-v65k", "equalinfo-b16-v256")
SLOW = ("bytes", "equalinfo-b16-v65k", "equalinfo-b16-v256")  # M1 units: long enough to kill one mid-unit
WORKER_TITLE = "ray::_UnitWorker.compress_unit"  # Ray's process title while a unit runs


@pytest.fixture(scope="module")
def cluster():
    with LocalRayCluster(cpus_per_node=(1, 1)) as c:
        yield c
    assert not c.processes(), "Ray processes left behind"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    d = make_corpus(tmp / "c", files=4, docs=20, max_words=14, gz=(1,))
    compress.compress_methods(METHODS, "train", tmp / "single", data_path=data.Corpus(d), progress=False)
    return d, tmp / "single" / "train"


@pytest.fixture(scope="module")
def long_corpus(tmp_path_factory):
    """Longer documents (~700 bytes) for the fault tests: enough M1 work per unit that a kill
    lands in the middle of the run even where M1 is fast (~20 units of ~1.5 kB)."""
    tmp = tmp_path_factory.mktemp("long")
    d = make_corpus(tmp / "c", files=4, docs=10, max_words=300, seed=1)
    compress.compress_methods(SLOW, "train", tmp / "single", data_path=data.Corpus(d), progress=False)
    return d, tmp / "single" / "train"


def ray_args(cluster, d, out, methods, unit_bytes=600):
    return ["--engine", "ray", "--address", cluster.address, "--data", d, "--split", "train",
            "--methods", ",".join(methods), "--out", out, "--unit-bytes", unit_bytes, "--json"]


def test_a_multi_file_corpus_on_two_nodes_equals_single_process(cluster, corpus, tmp_path):
    d, ref = corpus
    r = compress_cli(*ray_args(cluster, d, tmp_path / "o", METHODS), "--no-progress")
    rep = json.loads(r.stdout)
    assert rep["complete"] and rep["computed"] == rep["units"] > 4 and rep["workers"] == 2
    assert len(rep["nodes_used"]) == 2, rep["nodes_used"]  # both node processes made units
    same_shards(ref, tmp_path / "o" / "train", METHODS)
    v = compress_cli(*ray_args(cluster, d, tmp_path / "o", METHODS), "--verify")
    assert json.loads(v.stdout)["ok"]


def _start_driver(args, out_log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "eqinfo.compress", *map(str, args)], env=env_for_ray(),
                            stdout=open(out_log, "w"), stderr=subprocess.PIPE, text=True)


def _wait_for(what, timeout=240, every=0.05):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = what()
        if v:
            return v
        time.sleep(every)
    raise AssertionError("timed out")


def test_a_worker_killed_during_a_unit_is_retried_and_the_output_is_identical(cluster, long_corpus, tmp_path):
    d, ref = long_corpus
    log = tmp_path / "driver.json"
    driver = _start_driver(ray_args(cluster, d, tmp_path / "o", SLOW, unit_bytes=1500), log)
    try:
        victim = _wait_for(lambda: cluster.worker_pids(WORKER_TITLE))[0]
        os.kill(victim, signal.SIGKILL)
        _, err = driver.communicate(timeout=600)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 0, err
    rep = json.loads(log.read_text())
    assert rep["complete"] and not rep["failed"] and rep["computed"] == rep["units"]
    same_shards(ref, tmp_path / "o" / "train", SLOW)
    assert victim not in cluster.worker_pids("ray::_UnitWorker")  # Ray started another process


def test_a_killed_driver_rerun_completes_only_the_missing_units(cluster, long_corpus, tmp_path):
    d, ref = long_corpus
    args = ray_args(cluster, d, tmp_path / "o", SLOW, unit_bytes=1500)
    last = tmp_path / "o" / "train" / "units" / SLOW[-1]
    driver = _start_driver(args, tmp_path / "first.json")
    try:
        _wait_for(lambda: len(list(last.glob("*.shard.json"))) >= 1)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    # Ray ends the dead driver's workers; then the unit files are what the rerun will find.
    _wait_for(lambda: not cluster.worker_pids("ray::_UnitWorker"), timeout=60)
    unit_dir = tmp_path / "o" / "train" / "units"
    done = {p: p.stat().st_mtime_ns for p in unit_dir.glob("*/*.shard.json")}
    finished_units = {n for n in {p.name.split(".")[0] for p in done}
                      if all((unit_dir / m / f"{n}.shard.json").exists() for m in SLOW)}
    rep = json.loads(compress_cli(*args, "--no-progress").stdout)
    assert 0 < len(finished_units) < rep["units"], "the driver was not killed mid-run"
    assert rep["complete"] and rep["reused"] == len(finished_units)
    assert rep["computed"] == rep["units"] - len(finished_units)
    for m in SLOW:  # finished units were kept, not rewritten
        for n in finished_units:
            p = unit_dir / m / f"{n}.shard.json"
            assert p.stat().st_mtime_ns == done[p]
    same_shards(ref, tmp_path / "o" / "train", SLOW)


def test_a_bad_file_fails_its_units_and_the_run_says_what_is_missing(cluster, tmp_path):
    d = make_corpus(tmp_path / "c", files=3, docs=10, max_words=5, gz=(0,))
    damaged = data.corpus_files(d)[0]
    damaged.write_bytes(damaged.read_bytes()[:-9])  # a truncated gzip member: unreadable
    bad_line = data.corpus_files(d)[2]
    bad_line.write_text(bad_line.read_text().replace('{"text"', '{"txt"', 1))
    r = compress_cli(*ray_args(cluster, d, tmp_path / "o", ("bytes",), unit_bytes=200), "--no-progress", check=False)
    assert r.returncode == 1
    rep = json.loads(r.stdout)
    errors = " | ".join(f["error"] for f in rep["failed"])
    assert "truncated or damaged" in errors and f"{bad_line}:1:" in errors
    assert f"source {damaged}" in rep["missing"] and not rep["complete"]
    assert rep["computed"] == rep["units"] - 1  # every unit of the good file and the rest of the bad-line one


def test_a_saved_dataset_dict_on_two_nodes_equals_single_process(cluster, tmp_path):
    """A DatasetDict that save_to_disk wrote, as --data: each worker maps its files and reads
    only its units' rows (the Dataset goes to the workers as file paths)."""
    datasets = pytest.importorskip("datasets", reason="datasets not installed (pip install '.[hf]')")
    d = tmp_path / "saved"
    datasets.DatasetDict(train=datasets.Dataset.from_dict({"text": dataset_texts(90, max_words=14, seed=5)}),
                         validation=datasets.Dataset.from_dict({"text": dataset_texts(20, seed=6)})).save_to_disk(str(d))
    compress_cli("--data", d, "--split", "train", "--methods", ",".join(METHODS), "--out", tmp_path / "single",
                 "--no-progress")
    args = ray_args(cluster, d, tmp_path / "o", METHODS)
    rep = json.loads(compress_cli(*args, "--no-progress").stdout)
    assert rep["complete"] and rep["computed"] == rep["units"] > 4 and rep["workers"] == 2
    assert len(rep["nodes_used"]) == 2, rep["nodes_used"]
    same_shards(tmp_path / "single" / "train", tmp_path / "o" / "train", METHODS)
    assert json.loads(compress_cli(*args, "--verify").stdout)["ok"]


def test_an_in_memory_dataset_is_refused_before_a_worker_starts(tmp_path):
    datasets = pytest.importorskip("datasets", reason="datasets not installed (pip install '.[hf]')")
    import ray
    from eqinfo.cluster import Job, run_on_ray, verify_on_ray
    job = Job(("bytes",), "train", str(tmp_path / "o"), datasets.Dataset.from_dict({"text": dataset_texts(10)}), 100)
    for call in (run_on_ray, verify_on_ray):
        with pytest.raises(ValueError, match=r"held in memory .*save_to_disk\(DIR\)"):
            call(job, address="127.0.0.1:1")  # no cluster there: refused before connecting
    assert not ray.is_initialized() and not (tmp_path / "o").exists()
