"""The collect stage: one results row per method with shards -- the stream's trivial models,
inference FLOPs/byte, the M2 numbers and Fig. 10 curves of its finished run -- and the previous
results.json to reuse from."""
from __future__ import annotations

import csv
import dataclasses
import json
import sys
from pathlib import Path

from ..m1 import get_preset as m1_preset
from ..m2 import get_preset, non_embedding_params
from ..shards import read_shard
from .baselines import shard_baselines
from .flops import inference_flops_per_byte
from ..paper import M1_BPB as PAPER_M1_BPB
from .methods import parse_method
from .run_records import finished_run, identity_mismatch, read_json
from .scales import Scale
from .shard_files import shard_identities, shard_path

# Shard-derived fields of a results row that need the TRAIN shard (reused from the previous
# results.json when only the validation shard is present).
TRAIN_FIELDS = ("unigram_bpb", "train_tokens", "train_text_bytes")


def positions_curve(run_dir: Path) -> list[dict]:
    """positions.csv of a run (Fig. 10: loss and accuracy by window position over training)."""
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
            kept = read_json(results_dir / "runs" / m / "result.json")
            if kept is not None:
                print(f"[experiment] {m}: the result kept in {results_dir} is for other shards "
                      f"({identity_mismatch(kept.get('shard_identity'), ident)}): not used",
                      file=sys.stderr)
        if run_dir is not None:
            r = json.loads((run_dir / "result.json").read_text())
            row.update(m2_bpb=r["val_bpb"], m2_loss_nats=r["val_loss_nats"], m2_acc=r["val_acc"],
                       tokens_seen=r["tokens_seen"], steps=r["steps"], epochs=r["epochs"],
                       elapsed_s=r["elapsed_s"], train_flops=r["train_flops"],
                       positions_curve=positions_curve(run_dir), run_dir=str(run_dir))
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
    found = [r for r in (read_json(p) for p in paths if p is not None) if r]
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
