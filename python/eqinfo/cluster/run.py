"""What every engine shares: the plan, the resume check, the report; and the batch engine.

The batch engine is the Slurm-style mode without Ray: `--num-shards K --shard-index i` runs the
units whose plan index is i modulo K in this process (any machine that sees the output
directory), and `--merge` checks that every unit is finished and writes the manifest and the
merged shards. Shard processes are independent: they share nothing but the output directory,
where each unit's files are written atomically, so a shard that is rerun (or run twice) only
completes the units still missing.

A run's report (what `--json` prints) is a dict:
  engine, split, methods, units (planned), computed, reused (finished units kept after their
  sha256 was checked), failed [{unit, source, error}], missing [unit names], complete,
  shards {method: path}, manifests {method: path}, documents, bytes_in, tokens_out {method},
  seconds.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from eqinfo import compress, data
from eqinfo.cluster import dataset_units
from eqinfo.cluster import manifest as manifests
from eqinfo.cluster.progress import Progress
from eqinfo.cluster.units import (Plan, Source, Unit, UnitInputError, cached_plan, list_sources,
                                  make_plan, save_plan, scan_source)
from eqinfo.cluster.work import Job, UnitCompressor, method_settings, resolved_models


@dataclass
class Prepared:
    job: Job
    plan: Plan
    models: dict               # absolute model paths, for the workers
    settings: dict[str, dict]  # {method: its shard settings}


def local_scan(sources: list[Source], text_field: str, unit_bytes: int) -> list[Source]:
    return [scan_source(s, text_field, unit_bytes) for s in sources]


def prepare(job: Job, scan: Callable = local_scan) -> Prepared:
    """The job's plan (cached, or scanned with `scan`: sources -> scanned sources, in order; a
    Dataset is scanned in this process), its models and its settings. Raises ValueError /
    FileNotFoundError on bad input (dataset_units.DatasetChangedError: a resume against another
    Dataset)."""
    job.corpus.check((job.split,))
    plan = cached_plan(job.out_dir, job.corpus, job.split, job.unit_bytes)
    if plan is None:
        sources = list_sources(job.corpus, job.split)
        if isinstance(job.corpus, data.DatasetCorpus):  # its rows are in this process: read here
            scanned = [dataset_units.scan_dataset(s, job.corpus, job.split, job.unit_bytes) for s in sources]
        else:
            scanned = scan(sources, job.corpus.text_field, job.unit_bytes)
        plan = make_plan(job.corpus, job.split, job.unit_bytes, scanned)
        save_plan(job.out_dir, plan)
    models = resolved_models(job)
    return Prepared(job, plan, models, method_settings(job, plan, models))


def unit_totals(record_sets: list[dict]) -> tuple[int, int]:
    """(documents, bytes_in) of a unit from its records (the same for every method)."""
    if not record_sets:
        return 0, 0
    r = next(iter(record_sets[0].values()))
    return r["documents"], r["bytes_in"]


def report(prep: Prepared, engine: str, computed: int, reused: int, failed: list[dict],
           t0: float, merge: bool, run_info: dict | None = None) -> dict:
    """Check every unit's files, merge the methods that are complete (if merge) and say what the
    run made and what is missing."""
    job = prep.job
    records = manifests.unit_records(job, prep.plan, prep.settings)
    bad_sources = [s for s in prep.plan.sources if s.error]
    missing = manifests.missing_units(records) + [f"source {s.path}" for s in bad_sources]
    failed = failed + [{"unit": None, "source": s.path, "documents": None, "error": s.error} for s in bad_sources]
    made = {}
    if merge and not missing:
        info = dict(run_info or {}, engine=engine, threads=job.threads)
        made = manifests.merge(job, prep.plan, prep.settings, records, info)
    out = {"engine": engine, "split": job.split, "methods": list(job.methods), "units": len(prep.plan.units),
           "computed": computed, "reused": reused, "failed": failed, "missing": missing,
           "complete": not missing,
           "shards": {m: str(compress.shard_path(job.out_dir, job.split, m)) for m in made},
           "manifests": {m: str(manifests.manifest_path(job.out_dir, job.split, m)) for m in made},
           "seconds": round(time.perf_counter() - t0, 3)}
    if made:
        first = next(iter(made.values()))["shard"]
        out.update(documents=first["documents"], bytes_in=first["bytes_in"],
                   tokens_out={m: v["shard"]["tokens_out"] for m, v in made.items()})
    return out


def failure(prep: Prepared, unit: Unit, error: str) -> dict:
    return {"unit": unit.name, "source": prep.plan.sources[unit.source].path,
            "documents": [unit.lo, unit.hi], "error": error}


def run_batch(job: Job, num_shards: int = 1, shard_index: int = 0, progress: str = "bar",
              merge: bool | None = None) -> dict:
    """Run this process's share of the units (index % num_shards == shard_index) locally.
    merge: write manifests and shards when everything is finished (default: when num_shards is 1)."""
    if num_shards < 1 or not 0 <= shard_index < num_shards:
        raise ValueError(f"need num_shards >= 1 and 0 <= shard_index < num_shards, got "
                         f"{num_shards} and {shard_index}")
    t0 = time.perf_counter()
    prep = prepare(job)
    mine = [u for u in prep.plan.units if u.index % num_shards == shard_index]
    compressor = UnitCompressor(job, prep.plan, prep.models, prep.settings)
    bar = Progress(len(mine), sum(u.raw_bytes for u in mine), progress, desc=f"shard {shard_index}/{num_shards}")
    computed = reused = 0
    failed = []
    try:
        for u in mine:
            try:
                s = compressor.compress(u)
            except UnitInputError as e:
                failed.append(failure(prep, u, str(e)))
                bar.advance(u.raw_bytes, 0, 0, u.name)
                continue
            was_done = len(s["reused"]) == len(job.methods)
            reused, computed = reused + was_done, computed + (not was_done)
            docs, nbytes = unit_totals([s["records"]])
            bar.advance(u.raw_bytes, docs, nbytes, u.name, reused=was_done)
    finally:
        bar.close()
    engine = "batch" if num_shards > 1 else "local"
    out = report(prep, engine, computed, reused, failed, t0, merge if merge is not None else num_shards == 1)
    out.update(num_shards=num_shards, shard_index=shard_index, shard_units=len(mine),
               shard_missing=[u.name for u in mine if u.name in set(out["missing"])])
    return out


def merge_units(job: Job) -> dict:
    """The merge step of a batch run: manifests and shards if every unit is finished."""
    t0 = time.perf_counter()
    return report(prepare(job), "merge", 0, 0, [], t0, True)


def verify_units(job: Job, num_shards: int = 1, shard_index: int = 0) -> dict:
    """Decode every unit (of this shard) and compare it with its input text, locally."""
    prep = prepare(job)
    compressor = UnitCompressor(job, prep.plan, prep.models, prep.settings)
    results = []
    for u in prep.plan.units:
        if u.index % num_shards != shard_index:
            continue
        try:
            results.append(compressor.verify(u))
        except UnitInputError as e:
            results.append({"unit": u.name, "error": str(e), "mismatched": {}, "missing": []})
    return verification_report(results)


def verification_report(results: list[dict]) -> dict:
    bad = [r for r in results if r["mismatched"] or r["missing"] or r.get("error")]
    return {"units": len(results), "exact": len(results) - len(bad), "ok": not bad, "problems": bad}
