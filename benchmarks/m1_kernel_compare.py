#!/usr/bin/env python3
"""Two (or more) builds of eqinfo_m1_benchmarks side by side, in one run: a kernel change is
judged by the ratio of rates measured in the same minutes on the same core, not by numbers from
different days (or machines: docs/performance.md, "Peak").

The binaries run in turn, round after round (`--rounds`), so that load on the machine falls on
all of them alike; each benchmark's counter is the median over rounds. Every benchmark of the
filter reports its rate counters (GMAC/s, of_peak, bytes_per_second as KB/s per core); the last
column is the ratio of each build to the first.

    python3 benchmarks/m1_kernel_compare.py before=/tmp/before/bin/eqinfo_m1_benchmarks \\
        after=build-test/bin/eqinfo_m1_benchmarks --filter 'M1/(matmul/simd|encode|decode)' --json cmp.json

Counters are Google Benchmark's (m1_bench_common.hpp says what each means). Output: a table for
people; --json the same numbers for programs.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

COUNTERS = ("of_peak", "GMAC/s", "bytes_per_second")


def run_once(binary: str, pattern: str) -> dict[str, dict[str, float]]:
    """One run of `binary` over the benchmarks matching `pattern`: {benchmark: {counter: value}}."""
    proc = subprocess.run([binary, f"--benchmark_filter={pattern}", "--benchmark_format=json"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"m1_kernel_compare: {binary} failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    rows: dict[str, dict[str, float]] = {}
    for b in json.loads(proc.stdout)["benchmarks"]:
        if b.get("error_occurred"):
            sys.exit(f"m1_kernel_compare: {binary}: {b['name']}: {b.get('error_message', 'error')}")
        rows[b["name"]] = {c: float(b[c]) for c in COUNTERS if c in b}
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("builds", nargs="+", metavar="LABEL=BINARY", help="the first is the baseline")
    p.add_argument("--filter", default="M1/(matmul/simd|encode/simd/lookahead/threads:1/min|decode/simd/threads:1/batch:(1|64)/min)",
                   help="Google Benchmark filter (regex)")
    p.add_argument("--rounds", type=int, default=3, help="runs of every binary, interleaved (median taken)")
    p.add_argument("--json", type=Path, help="write {label: {benchmark: {counter: median}}} here")
    a = p.parse_args(argv)
    builds = []
    for spec in a.builds:
        label, sep, binary = spec.partition("=")
        if not sep or not Path(binary).is_file():
            p.error(f"{spec!r}: expected LABEL=BINARY with an existing file")
        builds.append((label, binary))

    samples: dict[str, dict[str, dict[str, list[float]]]] = {label: {} for label, _ in builds}
    for _ in range(a.rounds):
        for label, binary in builds:
            for name, counters in run_once(binary, a.filter).items():
                for c, v in counters.items():
                    samples[label].setdefault(name, {}).setdefault(c, []).append(v)
    medians = {label: {name: {c: statistics.median(v) for c, v in cs.items()} for name, cs in rows.items()}
               for label, rows in samples.items()}

    base = builds[0][0]
    names = list(medians[base])
    print(f"medians of {a.rounds} interleaved rounds; ratio = rate / {base}'s")
    header = f"{'benchmark':62s} {'counter':10s} " + " ".join(f"{label:>10s}" for label, _ in builds) + "  ratio"
    print(header)
    for name in names:
        for c in COUNTERS:
            if c not in medians[base][name]:
                continue
            values = [medians[label].get(name, {}).get(c) for label, _ in builds]
            shown = [f"{(v / 1000 if c == 'bytes_per_second' else v):10.3f}" if v is not None else f"{'-':>10s}" for v in values]
            ratios = " ".join(f"x{v / values[0]:.2f}" for v in values[1:] if v is not None and values[0])
            print(f"{name.replace('/min_time:0.200', '').replace('/min_time:0.300', ''):62s} "
                  f"{'KB/s' if c == 'bytes_per_second' else c:10s} " + " ".join(shown) + f"  {ratios}")
    if a.json:
        a.json.write_text(json.dumps({"rounds": a.rounds, "filter": a.filter, "medians": medians}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
