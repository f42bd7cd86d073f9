"""eqinfo-compress's cluster flags: --engine ray, the batch shards and --merge (docs/cluster.md).

    eqinfo-compress --engine ray --address HEAD:6379 --data c4/en --split train --methods ... --out S
    eqinfo-compress --num-shards 3 --shard-index $SLURM_ARRAY_TASK_ID --data ... --out S   # each
    eqinfo-compress --merge --data ... --out S                                              # then

Exit status: 0 when the run (a shard: its own units) is complete, 1 when units are missing or
failed (each named, with its file and line), 2 for bad arguments.
"""
from __future__ import annotations

import contextlib
import json
import sys

from eqinfo.cluster.units import DEFAULT_UNIT_BYTES

ENGINES = ("local", "ray")


def add_arguments(ap) -> None:
    g = ap.add_argument_group("cluster (docs/cluster.md): units, a manifest, resume")
    g.add_argument("--engine", choices=ENGINES, default="local",
                   help="ray: units on a Ray cluster (one M1 per worker process; --threads per worker)")
    g.add_argument("--address", default=None, help="Ray cluster address (default: this machine's, or one started for the run)")
    g.add_argument("--workers", type=int, default=None, help="Ray worker processes (default: CPUs // --threads)")
    g.add_argument("--unit-bytes", type=int, default=None,
                   help=f"input bytes per work unit (default {DEFAULT_UNIT_BYTES}); memory per worker is about this")
    g.add_argument("--num-shards", type=int, default=None, help="batch mode without Ray: this many shard processes")
    g.add_argument("--shard-index", type=int, default=None, help="batch mode: this process's index in [0, K)")
    g.add_argument("--merge", action="store_true", help="batch mode: check every unit, write the manifests and shards")
    g.add_argument("--json", action="store_true", help="print the run's report as JSON (progress: JSON lines on stderr)")


def wanted(args) -> bool:
    return (args.engine != "local" or args.num_shards is not None or args.shard_index is not None
            or args.merge or args.unit_bytes is not None)


def _job(ap, args, corpus, methods):
    from eqinfo.cluster.work import Job
    for flag, bad in (("--max-bytes", args.max_bytes is not None), ("--max-docs", args.max_docs is not None),
                      ("--order shuffled", args.order != "file"), ("--force", args.force)):
        if bad:
            ap.error(f"{flag} does not go with units (--engine ray, --num-shards, --merge): a unit run "
                     "compresses the whole split" + ("; delete <out>/<split>/units to recompute" if flag == "--force" else ""))
    if (args.num_shards is None) != (args.shard_index is None):
        ap.error("--num-shards and --shard-index go together")
    if args.engine == "ray" and args.num_shards is not None:
        ap.error("--num-shards/--shard-index are the batch mode without Ray; not with --engine ray")
    if args.merge and args.num_shards is not None:
        ap.error("--merge runs once, after every shard: without --num-shards/--shard-index")
    try:
        return Job(tuple(methods), args.split, str(args.out), corpus,
                   args.unit_bytes if args.unit_bytes is not None else DEFAULT_UNIT_BYTES, args.threads,
                   {"m1": args.m1, "static": args.static, "sentencepiece": args.sentencepiece})
    except (ValueError, KeyError) as e:
        ap.error(str(e))


def main(ap, args, corpus, methods) -> int:
    """Run what the flags ask for; returns the exit status."""
    from eqinfo.compress import TOOL
    job = _job(ap, args, corpus, methods)
    progress = "none" if args.no_progress else ("json" if args.json else "bar")
    try:
        # Ray prints its own notices (a worker died, ...) on stdout; they belong on stderr, so
        # that stdout is the report alone (--json).
        with contextlib.redirect_stdout(sys.stderr):
            result = _run(args, job, progress)
    except (ValueError, FileNotFoundError, ImportError) as e:
        ap.exit(2, f"{TOOL}: error: {e}\n")
    return (_print_verification if args.verify else _print_run)(result, args.json)


def _run(args, job, progress) -> dict:
    if args.engine == "ray":
        from eqinfo.console import require
        require("ray", "--engine ray")  # a missing extra: one line naming it
    if args.verify and args.engine == "ray":
        from eqinfo.cluster.ray_engine import verify_on_ray
        return verify_on_ray(job, args.address, args.workers)
    if args.verify:
        from eqinfo.cluster.run import verify_units
        return verify_units(job, args.num_shards or 1, args.shard_index or 0)
    if args.engine == "ray":
        from eqinfo.cluster.ray_engine import run_on_ray
        return run_on_ray(job, args.address, args.workers, progress)
    if args.merge:
        from eqinfo.cluster.run import merge_units
        return merge_units(job)
    from eqinfo.cluster.run import run_batch
    return run_batch(job, args.num_shards or 1, args.shard_index or 0, progress)


def _print_run(r: dict, as_json: bool) -> int:
    shard_run = r["engine"] == "batch"
    ok = (not r["shard_missing"]) if shard_run else r["complete"]
    if as_json:
        print(json.dumps(r, indent=2, sort_keys=True))
        return 0 if ok else 1
    print(f"units: {r['units']} planned, {r['computed']} computed, {r['reused']} reused (sha256 checked), "
          f"{len(r['failed'])} failed" + (f"; this shard: {r['shard_units']}" if shard_run else ""))
    for f in r["failed"]:
        print(f"  failed {f['unit'] or ''} {f['source']}: {f['error']}")
    if r["shards"]:
        from eqinfo.shards import read_shard
        print(f"{'method':24} {'docs':>6} {'bytes in':>10} {'tokens':>10} {'bytes/token':>11}  shard")
        for m, path in r["shards"].items():
            meta = read_shard(path, check_tokens=False).meta
            print(f"{m:24} {meta['documents']:6d} {meta['bytes_in']:10d} {meta['tokens_out']:10d} "
                  f"{meta['bytes_in'] / max(1, meta['tokens_out']):11.3f}  {path}")
    missing = r["shard_missing"] if shard_run else r["missing"]
    if missing:
        print(f"incomplete: {len(missing)} units missing: {', '.join(missing[:10])}"
              + (" ..." if len(missing) > 10 else "") + "; rerun the same command to complete them",
              file=sys.stderr)
    elif shard_run:
        print("this shard is complete" + ("" if r["complete"] else
                                          f"; {len(r['missing'])} units of other shards missing before --merge"))
    return 0 if ok else 1


def _print_verification(v: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps(v, indent=2, sort_keys=True))
    else:
        print(f"units: {v['units']}, exact: {v['exact']}")
        for p in v["problems"]:
            what = p.get("error") or "; ".join(
                [f"{m}: not finished" for m in p["missing"]]
                + [f"{m}: {len(bad)} documents differ (first: #{bad[0][0]} {bad[0][1]})" for m, bad in p["mismatched"].items()])
            print(f"  {p['unit']}: {what}")
    return 0 if v["ok"] else 1
