"""Throughput of eqinfo-compress --engine ray on this machine: 1 vs 2 worker processes, and the
engine's per-unit overhead (many small units vs few large ones). docs/cluster.md quotes it.

    PYTHONPATH=python python3 benchmarks/cluster_throughput.py            # table
    PYTHONPATH=python python3 benchmarks/cluster_throughput.py --json     # the same as JSON

One local Ray instance (ray.init with --cpus CPUs) serves every measurement, so its start is not
timed; each run writes to a fresh directory (nothing is reused) and is timed end to end: plan,
workers (each loads its M1), units, merge. The corpus: --bytes of the shared corpus's train
documents of at most 4 kB (so that it has many) in --files jsonl files, all of them compressed
(or synthetic text without the shared corpus), in a temp dir.

  throughput   --method (default EqualInfo b16, M1-bound) with --workers-a and --workers-b
               worker processes: KB/s of text each and their ratio. On a machine with fewer free
               cores than workers the ratio says so (it is below the worker ratio).
  overhead     --overhead-method (default Bytes: no model, so the time is the engine's) with
               units of --small-unit and --large-unit bytes: seconds per extra unit =
               (t_small - t_large) / (units_small - units_large).
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path


MAX_DOC_BYTES = 4000  # documents at most this long, so that a small corpus still has many


def make_corpus(directory: Path, nbytes: int, files: int) -> tuple[int, int]:
    from eqinfo import data
    docs, total = [], 0
    try:
        source = data.iter_documents(None, "train")
        for t in source:
            if total >= nbytes:
                break
            if len(t.encode()) <= MAX_DOC_BYTES:
                docs.append(t)
                total += len(t.encode())
    except FileNotFoundError:  # no shared corpus: synthetic English-like text
        rng = random.Random(0)
        words = "the of and to in a is that for it as was with be by on not this are or from at".split()
        while total < nbytes:
            t = " ".join(rng.choice(words) for _ in range(rng.randint(20, 300))) + "."
            docs.append(t)
            total += len(t.encode())
    directory.mkdir(parents=True)
    for f in range(files):
        with open(directory / f"part-{f:03d}.jsonl", "w") as fh:
            for t in docs[f::files]:
                fh.write(json.dumps({"text": t}) + "\n")
    return len(docs), total


def timed_run(corpus_dir: Path, out: Path, method: str, unit_bytes: int, workers: int) -> dict:
    from eqinfo import data
    from eqinfo.cluster import Job, run_on_ray
    # Every document of the files (a train "split" read whole), not the fixed split's 98%.
    job = Job((method,), "train", str(out), data.Corpus(train=corpus_dir, validation=corpus_dir), unit_bytes)
    t0 = time.perf_counter()
    r = run_on_ray(job, workers=workers, progress="none")
    dt = time.perf_counter() - t0
    if not r["complete"]:
        raise SystemExit(f"run incomplete: {r['failed']} {r['missing']}")
    return {"method": method, "workers": r["workers"], "units": r["units"], "unit_bytes": unit_bytes,
            "bytes_in": r["bytes_in"], "seconds": round(dt, 2), "kb_per_s": round(r["bytes_in"] / 1000 / dt, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bytes", type=int, default=120_000, help="text bytes of the corpus (default %(default)s)")
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--method", default="equalinfo-b16-v65k")
    ap.add_argument("--overhead-method", default="bytes")
    ap.add_argument("--workers-a", type=int, default=1)
    ap.add_argument("--workers-b", type=int, default=2)
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance")
    ap.add_argument("--throughput-unit", type=int, default=20_000, help="unit bytes of the throughput runs")
    ap.add_argument("--small-unit", type=int, default=2_000)
    ap.add_argument("--large-unit", type=int, default=1_000_000_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import ray
    tmp = Path(tempfile.mkdtemp(prefix="eqinfo-cluster-bench-"))
    try:
        ndocs, nbytes = make_corpus(tmp / "corpus", args.bytes, args.files)
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
        rows = []
        for w in (args.workers_a, args.workers_b):
            rows.append({"kind": "throughput", **timed_run(tmp / "corpus", tmp / f"t{w}", args.method, args.throughput_unit, w)})
        for ub in (args.small_unit, args.large_unit):
            rows.append({"kind": "overhead", **timed_run(tmp / "corpus", tmp / f"o{ub}", args.overhead_method, ub, args.workers_a)})
        ray.shutdown()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    a, b, small, large = rows
    summary = {"corpus_documents": ndocs, "corpus_bytes": nbytes, "files": args.files, "cpus": args.cpus,
               "speedup": round(b["kb_per_s"] / a["kb_per_s"], 3), "worker_ratio": b["workers"] / a["workers"],
               "seconds_per_unit": (round((small["seconds"] - large["seconds"]) / (small["units"] - large["units"]), 4)
                                    if small["units"] > large["units"] else None),
               "rows": rows}
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"corpus: {ndocs} documents, {nbytes} bytes in {args.files} files; local Ray, {args.cpus} CPUs")
    print(f"{'run':11} {'method':20} {'workers':>7} {'units':>6} {'unit bytes':>11} {'seconds':>8} {'KB/s':>8}")
    for r in rows:
        print(f"{r['kind']:11} {r['method']:20} {r['workers']:7d} {r['units']:6d} {r['unit_bytes']:11d} "
              f"{r['seconds']:8.2f} {r['kb_per_s']:8.2f}")
    print(f"throughput {b['workers']} vs {a['workers']} workers: x{summary['speedup']:.2f} "
          f"(ideal x{summary['worker_ratio']:.0f})")
    per_unit = summary["seconds_per_unit"]
    print("per-unit overhead: " + (f"{per_unit:.4f} s/unit" if per_unit is not None else
                                   "not measurable (as many small units as large: a larger --bytes)")
          + f" ({small['units']} units of {args.small_unit} B vs {large['units']} of <= {args.large_unit} B)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
