"""One command for the whole matrix at a named scale: compress, train M2 per method, evaluate,
report.

    eqinfo-experiment --scale small --jobs 2                 # everything (resumable)
    eqinfo-experiment --scale tiny --methods bytes,equalinfo-b16-v256
    eqinfo-experiment --scale small --shards DIR             # use existing <DIR>/{train,val}/*.shard
    eqinfo-experiment --scale small --report-only            # re-collect results, re-render docs

Layout under --out (default runs/experiment/<scale>/): shards/{train,val}/<method>.shard (unless
--shards), runs/<method>/ (eqinfo.m2.train's run directory, train.out = its stdout,
shard_identity.json = the shards it was started on), results.json (machine-readable: everything
docs/results.md is rendered from, analyses included: eqinfo.experiment.analyses).

Resumable: compression reuses shards whose sidecar records the same settings; a run with a
result.json is finished and skipped; an interrupted run resumes from its ckpt.pt. SIGTERM/SIGINT
are forwarded to the training processes, which checkpoint and exit.

Across sessions (runs/ is not kept, committed files are): --results-dir (default
docs/results/<scale>/ in the repository, "" to disable) receives, for every finished run, the small
files collect() needs -- runs/<method>/{result.json, log.csv, positions.csv, config.json},
result.json with `shard_identity` added -- and a copy of results.json. A method counts as
finished when runs/<method> or --results-dir holds its result.json and the recorded shard
identity (method, model_hash, tokens_out, bytes_in of its train and val shards) equals the
current shards'; otherwise it is (re)trained, a mismatch is reported, and a stale local run
directory is moved to runs/<method>.stale. With no validation shard at all (fresh machine),
--report-only re-renders <results-dir>/results.json as it is, with a note saying so.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..m1 import get_preset as m1_preset
from ..m2 import get_preset, non_embedding_params
from ..shards import read_shard
from .analyses import KL_MAX_BITS, run_analyses, shard_identity
from .baselines import shard_baselines
from .flops import inference_flops_per_byte
from .methods import METHODS, PAPER_M1_BPB, parse_method
from .report import write_report
from .scales import SCALES, Scale, get_scale



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
RUN_FILES = ("log.csv", "positions.csv", "config.json")  # + result.json, written last
IDENTITY_FILE = "shard_identity.json"
# Shard-derived fields of a results row that need the TRAIN shard (reused from the previous
# results.json when only the validation shard is present).
TRAIN_FIELDS = ("unigram_bpb", "train_tokens", "train_text_bytes")


# ----------------------------------------------------------------------------- shard identity

def shard_path(shards: Path, split: str, run: str) -> Path:
    """<shards>/<split>/<stream>.shard of a run key ("bytes@m2-cpu-m" trains on bytes.shard)."""
    return shards / split / f"{parse_method(run).stream}.shard"


def shard_identities(shards: Path, method: str) -> dict:
    """{"train": identity or None, "val": identity or None} of a method's current shards."""
    out = {}
    for split in ("train", "val"):
        p = shard_path(shards, split, method)
        if p.exists():
            sh = read_shard(p, check_tokens=False)
            out[split] = shard_identity(sh.meta, sh.n_tokens, sh.text_bytes)
        else:
            out[split] = None
    return out


def identity_mismatch(recorded: dict | None, current: dict) -> str:
    """"" if `recorded` (a run's) agrees with `current` on every split present now, else what
    differs. A run without a recorded identity never matches."""
    if not recorded:
        return "no recorded shard identity"
    diffs = []
    for split in ("train", "val"):
        cur, rec = current.get(split), (recorded.get(split) or {})
        if cur is None:
            continue
        diffs += [f"{split}.{k} {rec.get(k)} -> {v}" for k, v in cur.items() if rec.get(k) != v]
    return "; ".join(diffs)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def finished_run(method: str, current: dict, runs: Path, results_dir: Path | None) -> Path | None:
    """The directory holding `method`'s finished run on the current shards: runs/<method> (if
    its recorded identity matches, or it has none: a run from before identities were recorded),
    else <results_dir>/runs/<method> (identity must match); None if neither."""
    local = runs / method
    if (local / "result.json").exists():
        rec = _read_json(local / IDENTITY_FILE)
        if rec is None or not identity_mismatch(rec, current):
            return local
    if results_dir is not None:
        kept = results_dir / "runs" / method
        res = _read_json(kept / "result.json")
        if res is not None and not identity_mismatch(res.get("shard_identity"), current):
            return kept
    return None


def _retire_stale(method: str, current: dict, runs: Path, results_dir: Path | None) -> None:
    """Before (re)training: report runs made on other shards; move a stale local directory
    (result or checkpoint of other shards) to runs/<method>.stale so training starts afresh."""
    local = runs / method
    rec = _read_json(local / IDENTITY_FILE)
    if rec is not None and (why := identity_mismatch(rec, current)):
        stale = runs / f"{method}.stale"
        print(f"[experiment] {method}: {local} was trained on other shards ({why}); moved to "
              f"{stale}, retraining", file=sys.stderr)
        shutil.rmtree(stale, ignore_errors=True)
        local.rename(stale)
    if results_dir is not None:
        res = _read_json(results_dir / "runs" / method / "result.json")
        if res is not None and (why := identity_mismatch(res.get("shard_identity"), current)):
            print(f"[experiment] {method}: the result kept in {results_dir} is for other shards "
                  f"({why}); retraining", file=sys.stderr)


def _start_run(method: str, current: dict, runs: Path) -> None:
    (runs / method).mkdir(parents=True, exist_ok=True)
    (runs / method / IDENTITY_FILE).write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def persist_run(method: str, shards: Path, runs: Path, results_dir: Path) -> bool:
    """Copy runs/<method>'s finished run (small files only) into <results_dir>/runs/<method>,
    result.json last and with `shard_identity`. -> whether it was copied."""
    src = runs / method
    res = _read_json(src / "result.json")
    if res is None:
        return False
    current = shard_identities(shards, method)
    rec = _read_json(src / IDENTITY_FILE) or current   # no identity file: made on these shards
    if identity_mismatch(rec, current):
        return False
    dst = results_dir / "runs" / method
    text = json.dumps(dict(res, shard_identity=rec), indent=1, sort_keys=True) + "\n"
    if (dst / "result.json").exists() and (dst / "result.json").read_text() == text:
        return False
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "result.json").unlink(missing_ok=True)   # an incomplete copy is never "finished"
    for name in RUN_FILES:
        if (src / name).exists():
            shutil.copyfile(src / name, dst / name)
    _write_atomic(dst / "result.json", text)
    return True


def compress_all(scale: Scale, methods: list[str], shards: Path, threads: int, data=None) -> None:
    """<shards>/{train,val}/<method>.shard for every method (eqinfo.compress; reused if current)."""
    from .. import compress  # needs the C++ extension: imported only when compressing
    methods = list(dict.fromkeys(parse_method(m).stream for m in methods))  # sweeps share shards
    compress.compress_methods(methods, "val", shards, max_bytes=scale.val_bytes, order=scale.doc_order,
                              threads=threads,
                              data_path=data)
    by_bytes: dict = {}
    for m in methods:  # methods with the same train prefix share one call (and M1 passes)
        by_bytes.setdefault(scale.train_bytes_for(m), []).append(m)
    for max_bytes, ms in by_bytes.items():
        compress.compress_methods(ms, "train", shards, max_bytes=max_bytes, order=scale.doc_order,
                                  threads=threads,
                                  data_path=data)


def train_command(scale: Scale, method: str, shards: Path, run_dir: Path, threads: int) -> list[str]:
    tr = read_shard(shard_path(shards, "train", method), check_tokens=False)
    tokens = scale.run_tokens(tr.n_tokens)
    steps = max(1, math.ceil(tokens / (scale.batch * scale.seq_len)))
    return [sys.executable, "-m", "eqinfo.m2.train",
            "--train", str(shard_path(shards, "train", method)),
            "--val", str(shard_path(shards, "val", method)), "--out", str(run_dir),
            "--preset", parse_method(method).preset or scale.preset,
            "--steps", str(steps), "--seq-len", str(scale.seq_len),
            "--batch", str(scale.batch), "--micro-batch", str(scale.micro_batch),
            "--lr", str(scale.lr), "--warmup", str(max(1, int(scale.warmup_frac * steps))),
            "--eval-every", str(max(1, steps // scale.n_evals)),
            "--eval-batch", str(scale.eval_batch), "--ckpt-every", str(max(1, steps // 20)),
            "--log-every", str(max(1, steps // 100)), "--threads", str(threads),
            "--device", scale.device, "--quiet"]


def run_all(scale: Scale, methods: list[str], shards: Path, runs: Path, jobs: int,
            threads: int, results_dir: Path | None = None) -> list[str]:
    """Train every unfinished method (finished_run), `jobs` processes at a time (0: one by one
    in this process, for tests); copy each finished run to results_dir. -> methods that failed."""
    from tqdm import tqdm
    ident = {m: shard_identities(shards, m) for m in methods}
    todo = [m for m in methods if finished_run(m, ident[m], runs, results_dir) is None]
    for m in todo:
        _retire_stale(m, ident[m], runs, results_dir)

    def finish(m) -> bool:
        ok = (runs / m / "result.json").exists()
        if ok and results_dir is not None:
            persist_run(m, shards, runs, results_dir)
        return ok
    if jobs == 0:
        from ..m2 import train as m2_train
        failed = []
        for m in todo:
            _start_run(m, ident[m], runs)
            argv = train_command(scale, m, shards, runs / m, threads)[3:]
            m2_train.train(m2_train.parse_args(argv))
            if not finish(m):
                failed.append(m)
        return failed
    # Longest first (v65k softmax, then SentencePiece) so the last job is a short one.
    todo.sort(key=lambda m: -read_shard(shard_path(shards, "val", m), check_tokens=False).vocab_size)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO_ROOT / "python")] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    running: dict[str, subprocess.Popen] = {}
    failed: list[str] = []
    stop = {"flag": False}

    def on_signal(signum, _frame):
        stop["flag"] = True
        for p in running.values():
            p.send_signal(signal.SIGTERM)   # each run checkpoints and exits
    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    bar = tqdm(total=len(methods), initial=len(methods) - len(todo), desc=f"M2 runs ({scale.name})",
               unit="run", disable=not sys.stderr.isatty())
    try:
        while (todo and not stop["flag"]) or running:
            while todo and len(running) < jobs and not stop["flag"]:
                m = todo.pop(0)
                _start_run(m, ident[m], runs)
                log = open(runs / m / "train.out", "a")
                running[m] = subprocess.Popen(train_command(scale, m, shards, runs / m, threads),
                                              stdout=log, stderr=subprocess.STDOUT, env=env)
                log.close()
                bar.write(f"[experiment] started {m} (pid {running[m].pid})")
            time.sleep(0.2)
            for m, p in list(running.items()):
                if p.poll() is not None:
                    del running[m]
                    ok = p.returncode == 0 and finish(m)
                    if not ok and not stop["flag"]:
                        failed.append(m)
                    bar.write(f"[experiment] {m}: {'done' if ok else f'exit {p.returncode}'}")
                    bar.update(1 if ok else 0)
    finally:
        bar.close()
        for s, h in old.items():
            signal.signal(s, h)
    return failed


def _positions_curve(run_dir: Path) -> list[dict]:
    f = run_dir / "positions.csv"
    if not f.exists():
        return []
    with open(f, newline="") as fh:
        return [{"step": int(r["step"]), "tokens_seen": int(r["tokens_seen"]),
                 "position": int(r["position"]), "n_tokens": int(r["n_tokens"]),
                 "loss_nats": float(r["loss_nats"]), "accuracy": float(r["accuracy"])}
                for r in csv.DictReader(fh)]


def collect(scale: Scale, methods: list[str], shards: Path, runs: Path,
            results_dir: Path | None = None, previous: dict | None = None) -> dict:
    """The machine-readable results of every method with a validation shard (M2 fields None if
    not run). A finished run is taken from runs/ or results_dir (finished_run); a method whose
    train shard is absent reuses the train-derived fields of `previous` (the last results.json)
    when that row was made on the same validation shard, else it is left out."""
    m2_cfg = get_preset(scale.preset)
    n_ne = non_embedding_params(m2_cfg)
    m1_cfg = m1_preset("m1-3m")
    out = {"scale": dataclasses.asdict(scale), "m2_non_embedding_params": n_ne,
           "m1_config": m1_cfg.to_dict(), "runs_dir": str(runs), "shards_dir": str(shards),
           "results_dir": str(results_dir) if results_dir is not None else None,
           "methods": {}}
    prev_rows = (previous or {}).get("methods") or {}
    val_bytes = set()
    for m in methods:
        tr_p, va_p = shard_path(shards, "train", m), shard_path(shards, "val", m)
        if not va_p.exists():
            continue
        ident = shard_identities(shards, m)
        info = parse_method(m)
        va = read_shard(va_p)
        if tr_p.exists():
            base = shard_baselines(read_shard(tr_p), va)
        else:
            prev = prev_rows.get(m)
            if not prev or identity_mismatch(prev.get("shard_identity"), ident):
                print(f"[experiment] {m}: no train shard and no earlier results for this "
                      "validation shard: left out", file=sys.stderr)
                continue
            base = shard_baselines(va, va)   # val-only fields; the train ones from `prev`
            base.update({k: prev[k] for k in TRAIN_FIELDS})
            ident["train"] = prev["shard_identity"]["train"]
        val_bytes.add(base["val_text_bytes"])
        run_ne = non_embedding_params(get_preset(info.preset)) if info.preset else n_ne
        fl = inference_flops_per_byte(m, run_ne, va.bytes_per_token, m1_cfg)
        row = {"label": info.label, "family": info.family, "b": info.b,
               "stream": info.stream, "m2_preset": info.preset or scale.preset,
               "m2_non_embedding_params": run_ne,
               "token_bits": info.token_bits, "window_tokens": info.window_tokens,
               "bytes_per_token": va.bytes_per_token, **base, **fl, "m2_bpb": None,
               "shard_identity": ident}
        run_dir = finished_run(m, ident, runs, results_dir)
        if run_dir is None and results_dir is not None:
            kept = _read_json(results_dir / "runs" / m / "result.json")
            if kept is not None:
                print(f"[experiment] {m}: the result kept in {results_dir} is for other shards "
                      f"({identity_mismatch(kept.get('shard_identity'), ident)}): not used",
                      file=sys.stderr)
        if run_dir is not None:
            r = json.loads((run_dir / "result.json").read_text())
            row.update(m2_bpb=r["val_bpb"], m2_loss_nats=r["val_loss_nats"], m2_acc=r["val_acc"],
                       tokens_seen=r["tokens_seen"], steps=r["steps"], epochs=r["epochs"],
                       elapsed_s=r["elapsed_s"], train_flops=r["train_flops"],
                       positions_curve=_positions_curve(run_dir), run_dir=str(run_dir))
            if r["val_text_bytes"] != base["val_text_bytes"]:
                raise ValueError(f"{m}: run evaluated {r['val_text_bytes']} text bytes, the "
                                 f"shard has {base['val_text_bytes']}: stale run directory?")
        out["methods"][m] = row
    if len(val_bytes) > 1:
        raise ValueError(f"validation shards cover different text ({sorted(val_bytes)} bytes): "
                         "bits/byte would not be comparable")
    out["val_text_bytes"] = val_bytes.pop() if val_bytes else None
    # M1 alone: what AC with M1 (no windows) codes the validation text at, on this very text.
    ac = out["methods"].get("ac-v256") or out["methods"].get("ac-v65k")
    out["m1"] = ({"bpb": ac["uniform_bpb"], "source": "AC with our M1 on this validation text"}
                 if ac else {"bpb": PAPER_M1_BPB, "source": "the paper's M1 (no AC shard here)"})
    return out


def load_previous(*paths: Path) -> dict:
    """The previous results.json to reuse from: the first readable of `paths`, its analyses
    merged with those of the others (each cached entry carries its own key, checked on reuse)."""
    found = [r for r in (_read_json(p) for p in paths if p is not None) if r]
    if not found:
        return {}
    prev = dict(found[0])
    analyses: dict = {}
    for r in reversed(found):  # the first path wins
        for name, block in (r.get("analyses") or {}).items():
            mine = analyses.setdefault(name, {"methods": {}})
            mine["methods"].update((block or {}).get("methods") or {})
    prev["analyses"] = analyses
    return prev


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--scale", required=True, choices=sorted(SCALES))
    p.add_argument("--methods", default="all", help="comma-separated, or 'all'")
    p.add_argument("--jobs", type=int, default=1, help="training runs in parallel (0: in this process, one by one)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per training run")
    p.add_argument("--compress-threads", type=int, default=None, help="default: --jobs")
    p.add_argument("--out", default=None, help="default: runs/experiment/<scale>")
    p.add_argument("--shards", default=None, help="existing shard directory (skips compression)")
    p.add_argument("--data", default=None, help="corpus .jsonl.gz (default: shared data)")
    p.add_argument("--docs", default=str(REPO_ROOT / "docs"), help="where results.md goes")
    p.add_argument("--results-name", default="results.md")
    p.add_argument("--device", default=None, help="override the scale's device (auto/cpu/cuda)")
    p.add_argument("--report-only", action="store_true", help="collect and render, train nothing")
    p.add_argument("--results-dir", default=None,
                   help="kept results (finished runs' small files + results.json), committed so "
                        "they survive the session; default: docs/results/<scale>; '' disables")
    p.add_argument("--kl-max-bits", type=int, default=KL_MAX_BITS,
                   help="KL analysis: bits of each validation stream used")
    p.add_argument("--stability-sentences", type=int, default=None,
                   help="stability analysis: sentences measured (default: by scale; 0 skips it)")
    p.add_argument("--stability-prefixes", type=int, default=None,
                   help="stability analysis: contexts per sentence (default: by scale)")
    return p


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    scale = get_scale(a.scale, **({"device": a.device} if a.device else {}))
    methods = (list(scale.methods) + list(scale.sweeps) if a.methods == "all"
               else [m.strip() for m in a.methods.split(",") if m.strip()])
    for m in methods:
        parse_method(m)  # clear error on a bad name before any work
    out = Path(a.out) if a.out else REPO_ROOT / "runs" / "experiment" / scale.name
    shards = Path(a.shards) if a.shards else out / "shards"
    runs = out / "runs"
    results_dir = (None if a.results_dir == "" else
                   Path(a.results_dir) if a.results_dir else REPO_ROOT / "docs" / "results" / scale.name)
    failed = []
    if not a.report_only:
        if not a.shards:
            compress_all(scale, methods, shards, a.compress_threads or a.jobs, a.data)
        missing = [m for m in methods for s in ("train", "val")
                   if not shard_path(shards, s, m).exists()]
        if missing:
            raise SystemExit(f"missing shards in {shards}: {sorted(set(missing))}")
        failed = run_all(scale, methods, shards, runs, a.jobs, a.threads, results_dir)
    kept = results_dir / "results.json" if results_dir is not None else None
    previous = load_previous(out / "results.json", kept)
    if results_dir is not None:   # runs finished before --results-dir existed, or elsewhere
        for m in methods:
            if shard_path(shards, "train", m).exists() and shard_path(shards, "val", m).exists():
                persist_run(m, shards, runs, results_dir)
    if not any(shard_path(shards, "val", m).exists() for m in methods):
        if not (kept is not None and kept.exists()):
            raise SystemExit(f"no validation shards in {shards} and no kept results "
                             f"({kept}): nothing to report")
        results = json.loads(kept.read_text())
        results["note"] = (f"Re-rendered from {kept} as it was: no validation shards in "
                           f"{shards} on this machine, so nothing was recomputed (trivial "
                           "baselines, analyses and run matching are as of the last full run).")
        print(f"[experiment] {results['note']}", file=sys.stderr)
    else:
        results = collect(scale, methods, shards, runs, results_dir, previous)
        run_analyses(results, shards, previous.get("analyses"), kl_max_bits=a.kl_max_bits,
                     stability_sentences=a.stability_sentences,
                     stability_prefixes=a.stability_prefixes, data_path=a.data)
    text = json.dumps(results, indent=1) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / "results.json", text)
    if results_dir is not None and "note" not in results:
        results_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(results_dir / "results.json", text)
    md = write_report(results, Path(a.docs), a.results_name)
    print(f"[experiment] {out / 'results.json'} -> {md}"
          + (f" (kept in {results_dir})" if results_dir is not None else ""))
    if failed:
        print(f"[experiment] FAILED runs (see runs/<method>/train.out): {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
