"""Byte-identity of the Ray engine with single-process eqinfo-compress, method by method, on one
split of a corpus (default: the validation split of the shared en_real_mix). docs/cluster.md
quotes its table.

    PYTHONPATH=python python3 benchmarks/cluster_identity.py                        # every method
    PYTHONPATH=python python3 benchmarks/cluster_identity.py --methods ac-v256,ac-v65k --json

For each method: the shard single-process compression writes (eqinfo.compress.compress_methods,
this process, --threads) and the merged shard of a Ray run (eqinfo.cluster.run_on_ray with
--workers worker processes and --unit-bytes units, on a local Ray instance of --cpus CPUs or
the cluster at --address), their sha256, and whether they are identical: the same bytes, and
sidecars equal in every field but the two that say how a shard was made (threads,
wall_seconds). Both runs get every method at once, as a user would run them, so the methods
of one M1 family share their pass in both. Exit status 1 if any method differs.

Not in the test suite: one M1 pass over the 1.47 MB validation split takes minutes per family
on one core (AC, with no windows, ~8 minutes), twice (single and Ray). The suite's Ray test
(python/tests/test_cluster_ray.py) checks a small corpus on a two-node cluster.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

HOW_MADE = ("threads", "wall_seconds")  # sidecar fields that differ by construction


def sidecar(path: Path) -> dict:
    meta = json.loads(Path(f"{path}.json").read_text())
    for k in HOW_MADE:
        meta.pop(k, None)
    return meta


def compare(single_dir: Path, ray_dir: Path, methods, units: int) -> list[dict]:
    from eqinfo.data import file_sha256
    rows = []
    for m in methods:
        a, b = single_dir / f"{m}.shard", ray_dir / f"{m}.shard"
        sa, sb = file_sha256(a), file_sha256(b)
        meta = json.loads(Path(f"{a}.json").read_text())
        same_sidecar = sidecar(a) == sidecar(b)
        rows.append({"method": m, "units": units, "documents": meta["documents"], "bytes_in": meta["bytes_in"],
                     "tokens_out": meta["tokens_out"], "single_sha256": sa, "ray_sha256": sb,
                     "same_bytes": sa == sb, "same_sidecar": same_sidecar, "identical": sa == sb and same_sidecar})
    return rows


def main(argv=None) -> int:
    from eqinfo import data
    from eqinfo.registry import METHODS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--methods", default="all", help="comma-separated method names, or 'all' (default)")
    ap.add_argument("--split", choices=("train", "val"), default="val")
    ap.add_argument("--workers", type=int, default=2, help="Ray worker processes (default %(default)s)")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance (default %(default)s)")
    ap.add_argument("--address", default=None, help="an existing Ray cluster instead of a local instance")
    ap.add_argument("--unit-bytes", type=int, default=4_000_000,
                    help="input bytes per unit (default %(default)s: ~20 units over en_real_mix)")
    ap.add_argument("--threads", type=int, default=1, help="C++ threads: the single process and each worker")
    ap.add_argument("--out", type=Path, default=None, help="keep both outputs here (default: a temp dir, removed)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    data.add_corpus_arguments(ap)
    args = ap.parse_args(argv)
    methods = list(METHODS) if args.methods == "all" else [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        ap.error(f"unknown methods {', '.join(unknown)} (methods: {', '.join(METHODS)})")
    try:
        corpus = data.corpus_from_args(args)
    except ValueError as e:
        ap.error(str(e))

    import ray
    from eqinfo import compress
    from eqinfo.cluster import Job, run_on_ray
    out = args.out or Path(tempfile.mkdtemp(prefix="eqinfo-cluster-identity-"))
    try:
        t0 = time.perf_counter()
        compress.compress_methods(methods, args.split, out / "single", threads=args.threads, data_path=corpus,
                                  progress=False, force=True)
        t_single = time.perf_counter() - t0
        if args.address:
            ray.init(address=args.address, log_to_driver=False, logging_level="WARNING")
        else:
            ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
        try:
            shutil.rmtree(out / "ray", ignore_errors=True)  # nothing reused: every unit computed
            job = Job(tuple(methods), args.split, str(out / "ray"), corpus, args.unit_bytes, args.threads)
            t0 = time.perf_counter()
            r = run_on_ray(job, workers=args.workers, progress="none")
            t_ray = time.perf_counter() - t0
        finally:
            ray.shutdown()
        if not r["complete"]:
            raise SystemExit(f"the Ray run is incomplete: failed {r['failed']}, missing {r['missing']}")
        rows = compare(out / "single" / args.split, out / "ray" / args.split, methods, r["units"])
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    summary = {"corpus": str(corpus.source(args.split)), "split": args.split, "unit_bytes": args.unit_bytes,
               "units": r["units"], "workers": r["workers"], "threads": args.threads,
               "single_seconds": round(t_single, 1), "ray_seconds": round(t_ray, 1),
               "all_identical": all(x["identical"] for x in rows), "rows": rows}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        first = rows[0]
        print(f"corpus: {summary['corpus']} split {args.split}: {first['documents']} documents, "
              f"{first['bytes_in']} bytes; {r['units']} units of {args.unit_bytes} B, {r['workers']} Ray workers; "
              f"single {summary['single_seconds']} s, ray {summary['ray_seconds']} s")
        print(f"{'method':20} {'units':>5} {'tokens':>9}  {'single sha256':16}  {'ray sha256':16}  identical")
        for x in rows:
            what = "yes" if x["identical"] else ("no (bytes)" if not x["same_bytes"] else "no (sidecar)")
            print(f"{x['method']:20} {x['units']:5d} {x['tokens_out']:9d}  {x['single_sha256'][:16]}  "
                  f"{x['ray_sha256'][:16]}  {what}")
    return 0 if summary["all_identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
