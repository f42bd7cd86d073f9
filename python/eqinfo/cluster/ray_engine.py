"""The Ray engine: units on a pool of Ray actors, one per worker process (docs/cluster.md).

Why Ray Core actors (not Ray Data, not plain tasks): a unit is coarse (megabytes of text, minutes
of M1) and writes its own files, so there is no dataset to stream between operators -- only
work to hand out and results to collect. An actor is a worker process that keeps its state, so
each one loads the M1 (and the other models) once, in its constructor, and then compresses unit
after unit; a task per unit would load the model per unit. The driver hands each actor one unit
at a time (memory per worker: one unit), in plan order, and Ray does the rest: placement over
the nodes, restarting an actor whose process died (max_restarts) and re-running the unit it was
on (max_task_retries). A unit's result is its files (atomic, eqinfo.cluster.files) and a small
summary; the object store carries no tokens.

The output directory must be one filesystem seen by the driver and every node (NFS, Lustre, a
cloud bucket mounted with a POSIX view); so must the corpus and the model files. A
datasets.Dataset goes to the workers with the job, pickled as the paths of its memory-mapped
files (an in-memory one is refused: eqinfo.cluster.dataset_units).
"""
from __future__ import annotations

import os
import time
from collections import deque
from pathlib import Path

import ray

from eqinfo.cluster.dataset_units import check_shippable
from eqinfo.cluster.progress import Progress
from eqinfo.cluster.run import Prepared, failure, prepare, report, unit_totals, verification_report
from eqinfo.cluster.units import Source, UnitInputError, scan_source
from eqinfo.cluster.work import Job, UnitCompressor

MAX_TASK_RETRIES = 3  # a unit whose worker process dies is run again this many times


class _UnitWorker:
    """One worker process: the job's tokenizers, made once, and its units one at a time."""

    def __init__(self, job: Job, plan, models: dict, settings: dict):
        self.compressor = UnitCompressor(job, plan, models, settings)

    def compress_unit(self, unit) -> dict:
        try:
            return {"ok": True, **self.compressor.compress(unit)}
        except UnitInputError as e:  # the unit's input, not the worker: report, go on
            return {"ok": False, "error": str(e)}

    def verify_unit(self, unit) -> dict:
        try:
            return self.compressor.verify(unit)
        except UnitInputError as e:
            return {"unit": unit.name, "error": str(e), "mismatched": {}, "missing": []}

    def pid(self) -> int:
        return os.getpid()


UnitWorker = ray.remote(_UnitWorker)


@ray.remote(num_cpus=1)
def _scan(source: Source, text_field: str, unit_bytes: int) -> Source:
    return scan_source(source, text_field, unit_bytes)


def _ray_scan(sources, text_field, unit_bytes):
    """Scan the sources in parallel, one task each (planning reads the whole corpus once)."""
    return ray.get([_scan.remote(s, text_field, unit_bytes) for s in sources])


def _runtime_env() -> dict | None:
    """Workers import eqinfo as the driver does: when it runs from a source tree (PYTHONPATH),
    not an installed package, the workers get that tree on their PYTHONPATH (same filesystem)."""
    import eqinfo
    pkg_parent = str(Path(eqinfo.__file__).resolve().parent.parent)
    if "site-packages" in pkg_parent or "dist-packages" in pkg_parent:
        return None
    path = os.pathsep.join([pkg_parent] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    return {"env_vars": {"PYTHONPATH": path}}


def connect(address: str | None) -> bool:
    """ray.init on `address` (None: Ray's default, the cluster `ray start` runs on this machine
    or else one started for the run); returns whether this call connected (and should end it)."""
    if ray.is_initialized():
        return False
    local = {} if address else {"include_dashboard": False}  # only for a cluster it starts
    ray.init(address=address, runtime_env=_runtime_env(), log_to_driver=False,
             logging_level="WARNING", **local)
    return True


def default_workers(threads: int) -> int:
    """As many workers as fit: each node's CPUs // threads, summed. Raises ValueError when no
    node has `threads` CPUs (the actors would wait for one for ever)."""
    per_node = [int(n["Resources"].get("CPU", 0)) // threads for n in ray.nodes() if n.get("Alive")]
    if not any(per_node):
        raise ValueError(f"--threads {threads}: no node of the cluster has {threads} CPUs "
                         f"(nodes: {[int(n['Resources'].get('CPU', 0)) for n in ray.nodes() if n.get('Alive')]})")
    return sum(per_node)


def _workers(job: Job, asked: int | None) -> int:
    """The worker count: as asked, at most what the cluster holds now. A unit is handed to one
    actor, so an actor that can never be placed would hold its unit for ever."""
    if asked is not None and asked < 1:
        raise ValueError(f"workers must be >= 1, got {asked}")
    fit = default_workers(job.threads)
    return fit if asked is None else min(asked, fit)


def _pool(prep: Prepared, workers: int) -> list:
    job = prep.job
    return [UnitWorker.options(num_cpus=job.threads, max_restarts=-1, max_task_retries=MAX_TASK_RETRIES)
            .remote(job, prep.plan, prep.models, prep.settings) for _ in range(workers)]


def _run_pool(actors: list, units: list, method: str, on_result) -> None:
    """Hand the units to the actors, one at a time each, in order; on_result(unit, result or
    exception) for each."""
    queue, inflight = deque(units), {}
    for a in actors:
        if queue:
            u = queue.popleft()
            inflight[getattr(a, method).remote(u)] = (a, u)
    while inflight:
        done, _ = ray.wait(list(inflight), num_returns=1)
        actor, unit = inflight.pop(done[0])
        try:
            result = ray.get(done[0])
        except ray.exceptions.RayError as e:  # the worker died MAX_TASK_RETRIES + 1 times
            result = e
        on_result(unit, result)
        if queue:
            u = queue.popleft()
            inflight[getattr(actor, method).remote(u)] = (actor, u)


def run_on_ray(job: Job, address: str | None = None, workers: int | None = None,
               progress: str = "bar") -> dict:
    """Compress the job on a Ray cluster; returns the run's report (eqinfo.cluster.run).
    Raises ValueError for an in-memory Dataset (dataset_units.check_shippable), before connecting."""
    t0 = time.perf_counter()
    check_shippable(job.corpus)
    started = connect(address)
    try:
        prep = prepare(job, scan=_ray_scan)
        from eqinfo.cluster.manifest import unit_records
        records = unit_records(job, prep.plan, prep.settings)  # resume: finished units, sha256 checked
        units = prep.plan.units
        todo = [u for u in units if any(records[m][u.name] is None for m in job.methods)]
        n = _workers(job, workers)
        bar = Progress(len(units), sum(u.raw_bytes for u in units), progress)
        reused = len(units) - len(todo)
        to_do = {u.name for u in todo}
        for u in units:
            if u.name not in to_do:
                bar.advance(u.raw_bytes, *unit_totals([{m: records[m][u.name] for m in job.methods}]), u.name, reused=True)
        failed, computed, nodes = [], 0, set()

        def on_result(unit, result):
            nonlocal computed
            if isinstance(result, Exception):
                failed.append(failure(prep, unit, f"worker lost: {type(result).__name__}: {result}"))
                bar.advance(unit.raw_bytes, 0, 0, unit.name)
            elif not result["ok"]:
                failed.append(failure(prep, unit, result["error"]))
                bar.advance(unit.raw_bytes, 0, 0, unit.name)
            else:
                computed += 1
                nodes.update(r.get("node") for r in result["records"].values())
                bar.advance(unit.raw_bytes, *unit_totals([result["records"]]), unit.name)

        actors = _pool(prep, min(n, len(todo))) if todo else []
        try:
            _run_pool(actors, todo, "compress_unit", on_result)
        finally:
            bar.close()
            for a in actors:
                ray.kill(a)
        info = {"workers": len(actors), "nodes": len(ray.nodes()), "address": address}
        out = report(prep, "ray", computed, reused, failed, t0, True, info)
        out.update(workers=len(actors), nodes_used=sorted(x for x in nodes if x))
        return out
    finally:
        if started:
            ray.shutdown()


def verify_on_ray(job: Job, address: str | None = None, workers: int | None = None) -> dict:
    """Decode every unit on the cluster and compare it with its input."""
    check_shippable(job.corpus)
    started = connect(address)
    try:
        prep = prepare(job, scan=_ray_scan)
        units = prep.plan.units
        actors = _pool(prep, min(_workers(job, workers), len(units))) if units else []
        results = []

        def on_result(unit, result):
            if isinstance(result, Exception):
                result = {"unit": unit.name, "error": f"worker lost: {result}", "mismatched": {}, "missing": []}
            results.append(result)
        try:
            _run_pool(actors, units, "verify_unit", on_result)
        finally:
            for a in actors:
                ray.kill(a)
        return verification_report(results)
    finally:
        if started:
            ray.shutdown()
