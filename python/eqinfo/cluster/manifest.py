"""The manifest of a method's units and the merge into today's shard.

When every unit of a method is finished, merge() writes, for that method,

  <out>/<split>/<method>.shard (+ .json)   byte for byte the shard single-process eqinfo-compress
                                           writes (its sidecar too, except the fields that say how
                                           it was made: threads, wall_seconds)
  <out>/<split>/units/<method>/manifest.json

The manifest (JSON, "format": "eqinfo-cluster-manifest") lists every unit in order with its
file, sha256, source and document range, global ids, documents, bytes_in and tokens_out, and the
merged shard's sha256. The merge streams the unit shards one at a time (memory: one unit).
"""
from __future__ import annotations

from pathlib import Path

from eqinfo import compress
from eqinfo.cluster import files
from eqinfo.cluster.units import Plan, Unit
from eqinfo.cluster.work import Job, finished, unit_dir, unit_path
from eqinfo.registry import lookup

MANIFEST_VERSION = 1


def manifest_path(out_dir, split: str, method: str) -> Path:
    return unit_dir(out_dir, split, method) / "manifest.json"


def unit_records(job: Job, plan: Plan, settings: dict[str, dict]) -> dict[str, dict[str, dict | None]]:
    """{method: {unit name: its record, or None if it is not finished}} (sha256 checked)."""
    return {m: {u.name: finished(unit_path(job.out_dir, job.split, m, u), settings[m]) for u in plan.units}
            for m in job.methods}


def missing_units(records: dict[str, dict[str, dict | None]]) -> list[str]:
    """Names of the units some method still lacks, in plan order."""
    names = next(iter(records.values())).keys()
    return [n for n in names if any(records[m][n] is None for m in records)]


def merge(job: Job, plan: Plan, settings: dict[str, dict], records: dict[str, dict[str, dict]],
          run_info: dict) -> dict[str, dict]:
    """Merge every method whose units are all finished; returns {method: manifest}."""
    out = {}
    for method in job.methods:
        recs = records[method]
        if any(r is None for r in recs.values()):
            continue
        out[method] = _merge_method(job, plan, method, settings[method], recs, run_info)
    return out


def _one_pass_with(job: Job, method: str) -> list[str] | None:
    """The methods sharing this method's M1 pass, as single-process compress records them."""
    for group in compress._groups([lookup(m) for m in job.methods]):
        if method in [s.name for s in group]:
            return [s.name for s in group] if len(group) > 1 else None
    return None


def _merge_method(job: Job, plan: Plan, method: str, settings: dict, recs: dict[str, dict],
                  run_info: dict) -> dict:
    units: list[Unit] = plan.units
    paths = [unit_path(job.out_dir, job.split, method, u) for u in units]
    tok = compress.get_tokenizer(method, **job.models)
    model_path = getattr(tok, "model_path", None)
    # The sidecar single-process compress_methods writes, field for field.
    meta = dict(settings, model=str(model_path) if model_path else None,
                corpus=str(job.corpus.source(job.split)),
                eos="appended to every document (part of its tokens)", threads=job.threads,
                wall_seconds=round(sum(recs[u.name]["seconds"] for u in units), 3),
                one_pass_with=_one_pass_with(job, method), tool=compress.TOOL,
                package_version=compress._package_version())
    if not any(recs[u.name]["documents"] for u in units):  # as single-process compress refuses it
        raise ValueError(f"no documents in the {job.split} split of {plan.root}")
    shard = compress.shard_path(job.out_dir, job.split, method)
    side, sha = files.write_shard_pieces(shard, lambda: (files.Piece.of_shard(p) for p in paths),
                                         tok.vocab_size, meta)
    entries, first = [], 0
    for u, p in zip(units, paths):
        r = recs[u.name]
        entries.append({"unit": u.name, "index": u.index, "path": p.relative_to(Path(job.out_dir) / job.split).as_posix(),
                        "sha256": r["sha256"], "source": r["source"], "source_documents": r["source_documents"],
                        "global_documents": r["global_documents"], "first_document": first,
                        "documents": r["documents"], "bytes_in": r["bytes_in"], "tokens_out": r["tokens_out"],
                        "seconds": r["seconds"], "host": r["host"], "node": r["node"]})
        first += r["documents"]
    manifest = {"format": "eqinfo-cluster-manifest", "version": MANIFEST_VERSION, "method": method,
                "split": job.split, "settings": settings, "unit_bytes": plan.unit_bytes,
                "corpus": plan.root, "corpus_sha256": plan.corpus_sha256,
                "shard": {"path": shard.relative_to(Path(job.out_dir) / job.split).as_posix(), "sha256": sha,
                          "documents": side["documents"], "bytes_in": side["bytes_in"],
                          "tokens_out": side["tokens_out"]},
                "run": run_info, "units": entries}
    files.write_json_atomic(manifest_path(job.out_dir, job.split, method), manifest)
    # Every unit is finished, so no writer of this method is left: the temporary files of
    # killed writers (name.tmp.<host>.<pid>) can go.
    for tmp in unit_dir(job.out_dir, job.split, method).glob("*.tmp.*"):
        tmp.unlink(missing_ok=True)
    return manifest
