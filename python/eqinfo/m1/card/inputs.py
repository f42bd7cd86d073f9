"""What the model card is read from: train.py's log.csv (or the copy in a snapshot), the training
arguments, ../shared/data/SOURCES.md and the corpus, and eqinfo-encode --stats-json objects."""
from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path


def card_stats(stats: dict) -> dict:
    """The card's view of one `eqinfo-encode --stats-json` object (docs/formats.md).

    -> {"method", "window_bits" (None unless equalinfo), "token_bits", "vocabulary",
        "frequency_bits" and "model" (None for model-free methods), "documents", "bytes",
        "tokens", "bytes_per_token", "bits_per_byte", and for Equal-Info windows also "windows",
        "symbols_per_window", "fallback_windows", "fallback_pct", "greedy_symbols_per_window",
        "greedy_more_pct"}; ValueError naming the first field that is missing.
    """
    required = ("method", "window_bits", "token_bits", "vocabulary_size", "frequency_bits", "model",
                "documents", "bytes", "tokens", "bytes_per_token", "bits_per_byte", "windows",
                "window_symbols", "greedy_symbols", "fallback_windows")
    for key in required:
        if key not in stats:
            raise ValueError(f"eqinfo-encode --stats-json: no {key!r} in {stats}")
    out = {"method": stats["method"], "window_bits": stats["window_bits"] or None,
           "token_bits": stats["token_bits"], "vocabulary": stats["vocabulary_size"],
           "frequency_bits": stats["frequency_bits"] or None, "model": stats["model"],
           "documents": stats["documents"], "bytes": stats["bytes"], "tokens": stats["tokens"],
           "bytes_per_token": stats["bytes_per_token"], "bits_per_byte": stats["bits_per_byte"]}
    if stats["windows"]:
        w = stats["windows"]
        out["windows"] = w
        out["symbols_per_window"] = stats["window_symbols"] / w
        out["fallback_windows"] = stats["fallback_windows"]
        out["fallback_pct"] = 100.0 * stats["fallback_windows"] / w
        out["greedy_symbols_per_window"] = stats["greedy_symbols"] / w
        out["greedy_more_pct"] = 100.0 * (stats["greedy_symbols"] / stats["window_symbols"] - 1.0)
    return out


def _opt_float(s):
    s = (s or "").strip()
    return float(s) if s else None


def parse_log(text: str) -> list[dict]:
    """The text of train.py's log.csv -> rows with typed values (blank cells -> None), sorted by
    step; a repeated step (possible only in a hand-concatenated log) keeps the last row."""
    by_step = {}
    for r in csv.DictReader(io.StringIO(text)):
        if not (r.get("step") or "").strip():
            continue
        row = {"step": int(r["step"]), "tokens_seen": int(r["tokens_seen"])}
        for k in ("train_loss_nats", "train_bpb", "lr", "val_bpb_full", "val_bpb_window",
                  "elapsed_s", "tokens_per_s"):
            row[k] = _opt_float(r.get(k))
        by_step[row["step"]] = row
    return [by_step[s] for s in sorted(by_step)]


def read_log(path: str | os.PathLike) -> list[dict]:
    return parse_log(Path(path).read_text())


def learning_curve(rows: list[dict]) -> dict:
    """-> {"train": (tokens, bpb), "val_full": (tokens, bpb), "val_window": (tokens, bpb)}, each a
    pair of lists over the rows that have that value."""
    curve = {}
    for name, key in (("train", "train_bpb"), ("val_full", "val_bpb_full"),
                      ("val_window", "val_bpb_window")):
        pts = [(r["tokens_seen"], r[key]) for r in rows if r[key] is not None]
        curve[name] = ([t for t, _ in pts], [v for _, v in pts])
    return curve


def eval_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["val_bpb_full"] is not None or r["val_bpb_window"] is not None]


def row_at_step(rows: list[dict], step: int) -> dict | None:
    for r in rows:
        if r["step"] == step:
            return r
    return None


def sources_sha256(sources_md: Path, file_name: str) -> str | None:
    """The sha256 of the .gz file `file_name` from the SOURCES.md table row (first hash in the row)."""
    if not sources_md.exists():
        return None
    for line in sources_md.read_text().splitlines():
        if line.startswith("|") and f"`{file_name}`" in line.split("|")[1]:
            m = re.search(r"`([0-9a-f]{64})`", line)
            if m:
                return m.group(1)
    return None


def corpus_facts(data_path: Path, export_sha256: str | None) -> dict:
    """The card's Data section: the corpus file, its sha256 (SOURCES.md's, checked against the
    file when it is here, else computed; `export_sha256` is what the export recorded), the split
    rule and, when the file is here, the train and validation sizes."""
    from ...data import VAL_EVERY, file_sha256, load_split
    sources_md = data_path.parent / "SOURCES.md"
    sha = sources_sha256(sources_md, data_path.name)
    actual = file_sha256(data_path) if data_path.exists() else None
    if sha is None:
        sha, note = actual, "(computed)"
    else:
        note = "(SOURCES.md" + ("; matches the file)" if actual == sha else
                               "; the file here DIFFERS)" if actual else ")")
    if export_sha256 and export_sha256 != sha:
        note += f"; the export records `{export_sha256[:16]}…`, a DIFFERENT file"
    data = {"file": data_path.name, "sha256": sha, "sha256_note": note,
            "split": f"document on 0-based line i is validation iff i % {VAL_EVERY} == 0, else train"}
    if data_path.exists():
        tr_sym, tr_st = load_split(data_path, "train", verbose=False)
        va_sym, va_st = load_split(data_path, "val", verbose=False)
        data.update(train_docs=len(tr_st), train_bytes=len(tr_sym) - len(tr_st),
                    val_docs=len(va_st), val_bytes=len(va_sym) - len(va_st))
    return data


def mix_facts(run_args: dict | None, data_path: Path) -> dict | None:
    """The second training corpus of an M1 v2 run (--mix-frac > 0, data_mix.py), for the card's
    Data section: its file, sha256, the fraction of training sequences drawn from it and, when
    the file is here, its split sizes. None for an English-only run (or unknown arguments)."""
    frac = float((run_args or {}).get("mix_frac") or 0.0)
    if frac <= 0.0:
        return None
    from ...data import MULTILINGUAL_FILE
    mix_path = Path(run_args["mix_data"]) if run_args.get("mix_data") else data_path.parent / MULTILINGUAL_FILE
    facts = corpus_facts(mix_path, None)
    facts["frac"] = frac
    return facts


def load_log_and_args(run_dir: Path, log_path: Path | None) -> tuple[list[dict], str, dict | None]:
    """-> (log rows, where they were read from, the run's training arguments or None).

    The log is `log_path` (a log.csv, or a snapshot .pt that carries one), by default
    RUN/log.csv, else the run's snapshot models/checkpoints/<run name>-train.pt. The arguments
    come from RUN/ckpt.pt, else from the snapshot the log was read from, else from the run's
    snapshot: a fresh machine has no run directory."""
    import torch
    run_args = None
    ck = run_dir / "ckpt.pt"
    snap_default = Path("models/checkpoints") / f"{run_dir.name}-train.pt"
    if log_path is None:
        log_path = run_dir / "log.csv" if (run_dir / "log.csv").exists() else snap_default
    snap = None
    if log_path.suffix == ".pt":
        snap = torch.load(log_path, map_location="cpu", weights_only=False)
        rows, source = parse_log(snap["log_csv"]), f"{log_path} (snapshot)"
    else:
        rows, source = read_log(log_path), str(log_path)
    if ck.exists():
        run_args = torch.load(ck, map_location="cpu", weights_only=False).get("args")
    elif snap is not None:
        run_args = snap.get("args")
    elif snap_default.exists():
        run_args = torch.load(snap_default, map_location="cpu", weights_only=False).get("args")
    return rows, source, run_args
