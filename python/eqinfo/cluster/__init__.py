"""Corpus compression in work units: on a Ray cluster, or as batch shards (docs/cluster.md).

    from eqinfo.cluster import Job, run_on_ray, run_batch, merge_units
    job = Job(("bytes", "equalinfo-b16-v65k"), "train", "runs/shards", Corpus("c4/en"), unit_bytes=8_000_000)
    report = run_on_ray(job, address="head:6379")     # needs eqinfo[cluster]
    report = run_batch(job, num_shards=3, shard_index=0); merge_units(job)   # no Ray
    job = Job(("bytes",), "train", "runs/shards", datasets.load_from_disk("c4-arrow"), 8_000_000)  # a Dataset

Modules: units.py (the plan: deterministic units), dataset_units.py (a datasets.Dataset as the
corpus: row ranges, its fingerprint), work.py (one unit's files and record),
files.py (atomic writes, streamed shards), manifest.py (manifest and merge), run.py (what
engines share; the batch engine), ray_engine.py (Ray actors), progress.py, cli.py.
"""
from eqinfo.cluster.run import merge_units, run_batch, verify_units
from eqinfo.cluster.units import DEFAULT_UNIT_BYTES, Plan, Unit
from eqinfo.cluster.work import Job


def run_on_ray(job: Job, address: str | None = None, workers: int | None = None, progress: str = "bar") -> dict:
    """eqinfo.cluster.ray_engine.run_on_ray (imported here on use: Ray is an extra)."""
    from eqinfo.console import require
    require("ray", "eqinfo.cluster.run_on_ray")
    from eqinfo.cluster.ray_engine import run_on_ray as run
    return run(job, address, workers, progress)


def verify_on_ray(job: Job, address: str | None = None, workers: int | None = None) -> dict:
    from eqinfo.console import require
    require("ray", "eqinfo.cluster.verify_on_ray")
    from eqinfo.cluster.ray_engine import verify_on_ray as verify
    return verify(job, address, workers)


__all__ = ["Job", "Plan", "Unit", "DEFAULT_UNIT_BYTES", "run_on_ray", "verify_on_ray", "run_batch",
           "merge_units", "verify_units"]
