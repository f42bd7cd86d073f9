"""One command for the whole matrix at a named scale: compress, train M2 per method, evaluate,
report.

    eqinfo-experiment --scale small --jobs 2                 # everything (resumable)
    eqinfo-experiment --scale tiny --methods bytes,equalinfo-b16-v256
    eqinfo-experiment --scale small --shards DIR             # use existing <DIR>/{train,val}/*.shard
    eqinfo-experiment --scale small --report-only            # re-collect results, re-render docs

Layout under --out (default runs/experiment/<scale>/): shards/{train,val}/<method>.shard (unless
--shards), runs/<method>/ (eqinfo.m2.train's run directory, train.out = its stdout,
train_config.json = its typed config, shard_identity.json = the shards it was started on),
results.json (machine-readable: everything docs/results.md is rendered from, analyses included:
eqinfo.experiment.analyses).

The stages, one module each: shard_files (compress), train_runs (one M2 run per method),
run_records (which runs are finished, the copy kept across sessions), collect (results rows),
analyses, report. This module is the command that runs them in order.

Resumable: compression reuses shards whose sidecar records the same settings; a run with a
result.json is finished and skipped; an interrupted run resumes from its ckpt.pt. SIGTERM/SIGINT
are forwarded to the training processes, which checkpoint and exit.

Across sessions (runs/ is not kept, committed files are): --results-dir (default
docs/results/<scale>/ in the repository, "" to disable) receives every finished run's small
files and a copy of results.json (run_records).

Where it writes. A published scale (Scale.publish: small, paper-25m) renders into the
repository's docs/ and keeps its runs in docs/results/<scale>/ by default: those are the
committed results. The smoke-test scale `tiny` writes ONLY under --out: its report goes to
<out>/docs and its kept runs to <out>/results unless --docs / --results-dir name other places, so
`eqinfo-experiment --scale tiny` never overwrites the committed docs/results.md.

The corpus: --data (any format eqinfo.data reads: .jsonl, .jsonl.gz, .parquet, a directory of
.txt files), --text-field, --val-ratio, or --train/--validation (eqinfo.data.add_corpus_arguments;
docs/corpus.md). A missing corpus is one line naming the flag, not a traceback. With no validation shard at all (fresh machine),
--report-only re-renders <results-dir>/results.json as it is, with a note saying so.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .analyses import KL_MAX_BITS, run_analyses
from .collect import collect, load_previous
from .methods import parse_method
from .report import write_report
from .run_records import persist_run, write_atomic
from .scales import SCALES, Scale, get_scale
from .shard_files import SPLITS, compress_all, shard_path
from .train_runs import run_all


def _find_repo_root() -> Path:
    """The repository (eqinfo.resources.repo_root: in-tree, the extension's source checkout, or
    the current directory); outside any repository, the current directory, so that runs/ and
    docs/ are never written into site-packages."""
    from ..resources import repo_root
    try:
        return repo_root()
    except FileNotFoundError:
        return Path.cwd()


REPO_ROOT = _find_repo_root()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--scale", required=True, choices=sorted(SCALES))
    p.add_argument("--methods", default="all", help="comma-separated, or 'all'")
    p.add_argument("--jobs", type=int, default=1, help="training runs in parallel (0: in this process, one by one)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per training run")
    p.add_argument("--compress-threads", type=int, default=None, help="default: --jobs (at least 1)")
    p.add_argument("--out", default=None, help="default: runs/experiment/<scale>")
    p.add_argument("--shards", default=None, help="existing shard directory (skips compression)")
    p.add_argument("--docs", default=None,
                   help="where results.md and the plots go; default: the repository's docs/ for a "
                        "published scale, <out>/docs for tiny (which writes only under --out)")
    p.add_argument("--results-name", default="results.md")
    p.add_argument("--device", default=None, help="override the scale's device (auto/cpu/cuda)")
    p.add_argument("--report-only", action="store_true", help="collect and render, train nothing")
    p.add_argument("--results-dir", default=None,
                   help="kept results (finished runs' small files + results.json), committed so "
                        "they survive the session; default: docs/results/<scale> for a published "
                        "scale, <out>/results for tiny; '' disables")
    p.add_argument("--kl-max-bits", type=int, default=KL_MAX_BITS,
                   help="KL analysis: bits of each validation stream used")
    p.add_argument("--stability-sentences", type=int, default=None,
                   help="stability analysis: sentences measured (default: by scale; 0 skips it)")
    p.add_argument("--stability-prefixes", type=int, default=None,
                   help="stability analysis: contexts per sentence (default: by scale)")
    from .. import data
    data.add_corpus_arguments(p)
    return p


def output_dirs(a: argparse.Namespace, scale: Scale) -> tuple[Path, Path, Path | None]:
    """(out, docs, results_dir) of a run: the flags, else the scale's defaults (module
    docstring, "Where it writes"): a smoke-test scale keeps everything under out."""
    out = Path(a.out) if a.out else REPO_ROOT / "runs" / "experiment" / scale.name
    docs = Path(a.docs) if a.docs else (REPO_ROOT / "docs" if scale.publish else out / "docs")
    if a.results_dir == "":
        results_dir = None
    elif a.results_dir:
        results_dir = Path(a.results_dir)
    else:
        results_dir = (REPO_ROOT / "docs" / "results" / scale.name if scale.publish
                       else out / "results")
    return out, docs, results_dir


def train_stage(a: argparse.Namespace, scale: Scale, methods: list[str], shards: Path,
                runs: Path, results_dir: Path | None, corpus=None) -> list[str]:
    """Shards (unless --shards) and every unfinished run. -> the methods whose run failed."""
    if not a.shards:
        compress_all(scale, methods, shards, a.compress_threads or max(a.jobs, 1), corpus)
    missing = [m for m in methods for s in SPLITS if not shard_path(shards, s, m).exists()]
    if missing:
        raise SystemExit(f"missing shards in {shards}: {sorted(set(missing))}")
    return run_all(scale, methods, shards, runs, a.jobs, a.threads, results_dir)


def results_stage(a: argparse.Namespace, scale: Scale, methods: list[str], shards: Path,
                  out: Path, results_dir: Path | None, corpus=None) -> dict:
    """results.json's content: collected and analysed from the shards present, or, with no
    validation shard at all (a fresh machine), the kept results.json as it is, with a note."""
    kept = results_dir / "results.json" if results_dir is not None else None
    previous = load_previous(out / "results.json", kept)
    if results_dir is not None:   # runs finished before --results-dir existed, or elsewhere
        for m in methods:
            if all(shard_path(shards, s, m).exists() for s in SPLITS):
                persist_run(m, shards, out / "runs", results_dir)
    if not any(shard_path(shards, "val", m).exists() for m in methods):
        if not (kept is not None and kept.exists()):
            raise SystemExit(f"no validation shards in {shards} and no kept results "
                             f"({kept}): nothing to report")
        results = json.loads(kept.read_text())
        results["note"] = (f"Re-rendered from {kept} as it was: no validation shards in "
                           f"{shards} on this machine, so nothing was recomputed (trivial "
                           "baselines, analyses and run matching are as of the last full run).")
        print(f"[experiment] {results['note']}", file=sys.stderr)
        return results
    results = collect(scale, methods, shards, out / "runs", results_dir, previous)
    run_analyses(results, shards, previous.get("analyses"), kl_max_bits=a.kl_max_bits,
                 stability_sentences=a.stability_sentences,
                 stability_prefixes=a.stability_prefixes, data_path=corpus)
    return results


def main(argv=None) -> int:
    from .. import data
    parser = build_parser()
    a = parser.parse_args(argv)
    try:
        corpus = data.corpus_from_args(a)
    except ValueError as e:
        parser.error(str(e))
    scale = get_scale(a.scale, **({"device": a.device} if a.device else {}))
    methods = (list(scale.methods) + list(scale.sweeps) if a.methods == "all"
               else [m.strip() for m in a.methods.split(",") if m.strip()])
    for m in methods:
        parse_method(m)  # clear error on a bad name before any work
    out, docs, results_dir = output_dirs(a, scale)
    shards = Path(a.shards) if a.shards else out / "shards"
    try:
        failed = ([] if a.report_only else
                  train_stage(a, scale, methods, shards, out / "runs", results_dir, corpus))
    except data.CorpusNotFoundError as e:
        raise SystemExit(f"eqinfo-experiment: error: {e}") from None
    results = results_stage(a, scale, methods, shards, out, results_dir, corpus)
    text = json.dumps(results, indent=1) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "results.json", text)
    if results_dir is not None and "note" not in results:
        results_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(results_dir / "results.json", text)
    md = write_report(results, docs, a.results_name)
    print(f"[experiment] {out / 'results.json'} -> {md}"
          + (f" (kept in {results_dir})" if results_dir is not None else ""))
    if failed:
        print(f"[experiment] FAILED runs (see runs/<method>/train.out): {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
