"""Which runs are finished, on which shards, and the copy of each finished run that is kept
across sessions.

runs/ is not kept between sessions, committed files are. Every run directory records the
identity of the shards it was started on (shard_identity.json); --results-dir (committed) keeps,
for every finished run, the small files collect() needs -- runs/<method>/{result.json, log.csv,
positions.csv, config.json}, result.json with `shard_identity` added. A method counts as
finished when runs/<method> or the results dir holds its result.json and the recorded identity
equals the current shards'; otherwise it is (re)trained, the mismatch is reported, and a stale
local run directory is moved to runs/<method>.stale.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from ..atomic_files import write_text_atomic

from .shard_files import SPLITS, shard_identities

RUN_FILES = ("log.csv", "positions.csv", "config.json")  # + result.json, written last
IDENTITY_FILE = "shard_identity.json"


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_atomic(path: Path, text: str) -> None:
    write_text_atomic(path, text)


def identity_mismatch(recorded: dict | None, current: dict) -> str:
    """"" if `recorded` (a run's) agrees with `current` on every split present now, else what
    differs. A run without a recorded identity never matches."""
    if not recorded:
        return "no recorded shard identity"
    diffs = []
    for split in SPLITS:
        cur, rec = current.get(split), (recorded.get(split) or {})
        if cur is None:
            continue
        diffs += [f"{split}.{k} {rec.get(k)} -> {v}" for k, v in cur.items() if rec.get(k) != v]
    return "; ".join(diffs)


def finished_run(method: str, current: dict, runs: Path, results_dir: Path | None) -> Path | None:
    """The directory holding `method`'s finished run on the current shards: runs/<method> (if
    its recorded identity matches, or it has none: a run from before identities were recorded),
    else <results_dir>/runs/<method> (identity must match); None if neither."""
    local = runs / method
    if (local / "result.json").exists():
        rec = read_json(local / IDENTITY_FILE)
        if rec is None or not identity_mismatch(rec, current):
            return local
    if results_dir is not None:
        kept = results_dir / "runs" / method
        res = read_json(kept / "result.json")
        if res is not None and not identity_mismatch(res.get("shard_identity"), current):
            return kept
    return None


def retire_stale(method: str, current: dict, runs: Path, results_dir: Path | None) -> None:
    """Before (re)training: report runs made on other shards; move a stale local directory
    (result or checkpoint of other shards) to runs/<method>.stale so training starts afresh."""
    local = runs / method
    rec = read_json(local / IDENTITY_FILE)
    if rec is not None and (why := identity_mismatch(rec, current)):
        stale = runs / f"{method}.stale"
        print(f"[experiment] {method}: {local} was trained on other shards ({why}); moved to "
              f"{stale}, retraining", file=sys.stderr)
        shutil.rmtree(stale, ignore_errors=True)
        local.rename(stale)
    if results_dir is not None:
        res = read_json(results_dir / "runs" / method / "result.json")
        if res is not None and (why := identity_mismatch(res.get("shard_identity"), current)):
            print(f"[experiment] {method}: the result kept in {results_dir} is for other shards "
                  f"({why}); retraining", file=sys.stderr)


def start_run(method: str, current: dict, runs: Path) -> Path:
    """runs/<method>, with the identity of the shards it starts on recorded. -> the directory."""
    run_dir = runs / method
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / IDENTITY_FILE).write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    return run_dir


def persist_run(method: str, shards: Path, runs: Path, results_dir: Path) -> bool:
    """Copy runs/<method>'s finished run (small files only) into <results_dir>/runs/<method>,
    result.json last and with `shard_identity`. -> whether it was copied."""
    src = runs / method
    res = read_json(src / "result.json")
    if res is None:
        return False
    current = shard_identities(shards, method)
    rec = read_json(src / IDENTITY_FILE) or current   # no identity file: made on these shards
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
    write_atomic(dst / "result.json", text)
    return True
