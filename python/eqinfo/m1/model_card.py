"""Write a markdown model card for an exported M1 (data, architecture, cost, bits/byte, tokenization).

    PYTHONPATH=python python -m eqinfo.m1.model_card --run runs/m1-3m \
        --model models/m1-3m.safetensors --out models/m1-3m.md \
        --plot docs/m1_learning_curve.png --encode-bin build/bin/eqinfo-encode [--val-bytes 100000]

Sources of every number in the card:
  * the export's metadata (export.py): architecture, "training" (step, tokens seen, data file and
    sha256) and "eval" (float and integer bits/byte, full context and window context);
  * the run's log.csv (train.py): the learning curve, the eval rows, elapsed_s at the exported step;
  * model.py: parameter counts and FLOPs/byte;
  * ../shared/data/SOURCES.md (or the file itself) for the corpus sha256; data.py for the split;
  * eqinfo-encode --stats-json on the first --val-bytes bytes of the validation documents (optional: the
    section is skipped with a note when the binary is not given or missing).
The run directory may be missing (a fresh machine): then a snapshot's log (snapshot.py) can stand in
via --log.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from .. import registry
from ..paper import M1_BPB as PAPER_M1_BPB, M1_FLOPS_PER_BYTE as PAPER_FLOPS_PER_BYTE
from ..sysinfo import cpu_model

# ----------------------------------------------------------------------------- parsing helpers

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


def fmt_duration(seconds: float) -> str:
    h, rem = divmod(int(round(seconds)), 3600)
    m, s = divmod(rem, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s"


# ----------------------------------------------------------------------------- validation subset

def write_val_subset(data_path: Path, n_bytes: int, out_path: Path) -> dict:
    """The first n_bytes UTF-8 bytes of the validation documents (data.is_validation: line i is
    validation iff i % 50 == 0), in file order, as JSONL (field "text"); the last document is cut to
    the budget (at a character boundary, so possibly a few bytes short).
    -> {"documents", "bytes", "cut_last", "sources", "longest_document" (bytes)}."""
    import gzip

    from ..data import is_validation
    total, docs, cut, sources, longest = 0, 0, False, [], 0
    with gzip.open(data_path, "rt", encoding="utf-8") as fin, \
            open(out_path, "w", encoding="utf-8") as f:
        for i, line in enumerate(fin):
            if total >= n_bytes:
                break
            if not line.strip():
                raise ValueError(f"{data_path}: empty line {i}")   # as data.iter_documents
            if not is_validation(i):
                continue
            doc = json.loads(line)
            text = doc["text"]
            b = text.encode("utf-8")
            if total + len(b) > n_bytes:
                text = b[:n_bytes - total].decode("utf-8", errors="ignore")
                b, cut = text.encode("utf-8"), True
            if not b:
                break
            f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
            total += len(b)
            docs += 1
            longest = max(longest, len(b))
            if doc.get("source", "?") not in sources:
                sources.append(doc.get("source", "?"))
            if cut:
                break
    return {"documents": docs, "bytes": total, "cut_last": cut, "sources": sources,
            "longest_document": longest}


def run_encode(binary: Path, jsonl: Path, method: str, token_bits: int, model_spec: str,
               window_bits: int = 16, threads: int = 1) -> dict:
    cmd = [str(binary), "--input-format", "jsonl", "--method", method, "--token-bits",
           str(token_bits), "--model", model_spec, "--stats-json", "-"]
    if method == "equalinfo":
        cmd += ["--window-bits", str(window_bits)]
    if model_spec.startswith("m1:"):
        cmd += ["--threads", str(threads)]
    with tempfile.TemporaryDirectory() as td:
        t0 = time.time()
        p = subprocess.run(cmd + [str(jsonl), str(Path(td) / "out.tok")], capture_output=True,
                           text=True)
        dt = time.time() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    st = card_stats(json.loads(p.stdout))
    st["seconds"] = dt
    st["command"] = " ".join(cmd[1:])
    return st


# ----------------------------------------------------------------------------- plot

def plot_curve(rows: list[dict], path: Path, title: str, mark_step: int | None = None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    c = learning_curve(rows)
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    tr_t, tr_v = c["train"]
    ax.plot([t / 1e6 for t in tr_t], tr_v, "-", color="0.55", lw=1.2,
            label="train (mean over the log interval; includes window resets)")
    for name, style, label in (("val_full", "o-", "val, full context (256-byte chunks)"),
                               ("val_window", "s-", "val, window context (reset every 16)")):
        t, v = c[name]
        ax.plot([x / 1e6 for x in t], v, style, ms=4, lw=1.5, label=label)
    ax.axhline(PAPER_M1_BPB, color="k", ls=":", lw=1, label=f"paper's M1, full context ({PAPER_M1_BPB})")
    if mark_step is not None:
        r = row_at_step(rows, mark_step)
        if r is not None:
            ax.axvline(r["tokens_seen"] / 1e6, color="C3", ls="--", lw=1,
                       label=f"exported (step {mark_step})")
    ax.set_xlabel("tokens (bytes) seen, millions")
    ax.set_ylabel("bits/byte")
    ax.set_title(title)
    vals = [v for name in c for v in c[name][1]]
    if vals:   # the first log interval (~6 bpb) would squash everything else
        ax.set_ylim(min(min(vals), PAPER_M1_BPB) - 0.1, min(max(vals), 4.5) + 0.1)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# ----------------------------------------------------------------------------- the card

def _f(x, nd=4):
    return "–" if x is None else f"{x:.{nd}f}"


def _e(x):
    return "–" if x is None else f"{x:.2e}"


def _dur(x):
    return "–" if x is None else fmt_duration(x)


def _rel(path: Path, start: Path) -> str:
    return os.path.relpath(Path(path).resolve(), Path(start).resolve())


def build_card(*, model_path: Path, meta: dict, rows: list[dict], log_source: str,
               data: dict, hardware: dict, run_args: dict | None, plot_rel: str | None,
               encode: dict | None, encode_note: str | None) -> str:
    from .config import M1Config
    from .model import M1, flops_per_byte, non_embedding_params
    cfg = M1Config.from_dict(meta["architecture"])
    n_total = sum(p.numel() for p in M1(cfg).parameters())
    n_nonemb = non_embedding_params(cfg)
    tr = meta.get("training", {})
    ev = meta.get("eval", {})
    step = tr.get("step")
    row = row_at_step(rows, step) if step is not None else None
    L = []
    a = L.append
    a(f"# Model card: {model_path.stem} (M1, integer fixed point)")
    a("")
    a(f"Generated {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by "
      f"`python -m eqinfo.m1.model_card` from `{model_path.name}` (content hash "
      f"`{meta.get('content_hash', '?')[:16]}…`, format {meta.get('format')} v{meta.get('version')}) "
      f"and the training log `{log_source}`.")
    a("")
    a("M1 is the small byte-level transformer whose next-byte probabilities drive the arithmetic "
      "coder of Equal-Info Windows (docs/m1_training.md). This file is its integer export "
      "(docs/integer_m1.md): every probability is an exact integer computation, identical on every "
      "machine, so encoder and decoder agree bit for bit.")
    a("")
    if step is not None and run_args and run_args.get("steps") and step < run_args["steps"]:
        a(f"> **Interim model:** exported at step {step:,} of a {run_args['steps']:,}-step schedule "
          f"({100 * step / run_args['steps']:.1f}%). The numbers below are for this export, not for "
          "the finished run.")
        a("")

    a("## Data")
    a("")
    a("| | |")
    a("|---|---|")
    a(f"| corpus | `{data['file']}` (../shared/data/; provenance in ../shared/data/SOURCES.md) |")
    sha_note = data.get("sha256_note", "")
    a(f"| sha256 (.gz) | `{data['sha256']}` {sha_note} |")
    a(f"| split | {data['split']} (python/eqinfo/data.py; docs/m1_training.md) |")
    if data.get("train_docs") is not None:
        a(f"| train | {data['train_docs']:,} documents, {data['train_bytes']:,} text bytes |")
        a(f"| validation | {data['val_docs']:,} documents, {data['val_bytes']:,} text bytes |")
    a("| symbols | UTF-8 bytes 0..255, EOS = 256 after every document (doubles as BOS); vocabulary 257 |")
    a("")

    a("## Architecture")
    a("")
    a(f"Decoder-only transformer, pre-norm (RMSNorm), ReLU MLP, no biases, T5 relative-position bias "
      f"(unidirectional, {cfg.rel_num_buckets} buckets, max distance {cfg.rel_max_distance}) in every "
      f"layer, no absolute positions, untied output layer.")
    a("")
    a("| d_model | heads × head dim | layers | MLP | vocabulary | non-embedding params | total params |")
    a("|---|---|---|---|---|---|---|")
    a(f"| {cfg.d_model} | {cfg.n_heads} × {cfg.head_dim} | {cfg.n_layers} | {cfg.mlp_dim} | "
      f"{cfg.vocab_size} | {n_nonemb:,} | {n_total:,} |")
    a("")
    f1024, f16 = flops_per_byte(cfg, 1024), flops_per_byte(cfg, 16)
    a(f"**FLOPs/byte** (inference, Kaplan et al. 2020: 2N + 2·n_layer·n_ctx·d): "
      f"**{f1024 / 1e6:.2f}M** at context 1024 (paper: {PAPER_FLOPS_PER_BYTE / 1e6:.1f}M), "
      f"**{f16 / 1e6:.2f}M** at context 16 (≈ an Equal-Info window).")
    a("")
    q = meta.get("quantization", {})
    a(f"Integer export: frequency precision P = {meta.get('frequency_bits')} bits; "
      f"{q.get('weights', 'int8 weights')}; activation clamp A = {q.get('activation_clamp_A')}, "
      f"residual clamp R = {q.get('residual_clamp_R')}; file size {model_path.stat().st_size:,} bytes.")
    a("")

    a("## Training")
    a("")
    a("| | |")
    a("|---|---|")
    if step is not None:
        a(f"| steps at export | {step:,}" + (f" of {run_args['steps']:,}" if run_args and
                                             run_args.get("steps") else "") + " |")
        a(f"| tokens (bytes) seen | {tr.get('tokens_seen', 0):,} "
          f"({tr.get('tokens_seen', 0) / 1e6:.2f}M) |")
    a(f"| checkpoint | {tr.get('source', '?')} |")
    if run_args:
        a(f"| batch × sequence | {run_args.get('batch')} × {run_args.get('seq_len')} bytes; "
          f"window-start resets in {run_args.get('reset_frac')} of the sequences "
          f"(segments {run_args.get('reset_min')}..{run_args.get('reset_max')}) |")
        a(f"| optimiser | AdamW (0.9, 0.95), lr {run_args.get('lr')}, warmup {run_args.get('warmup')}, "
          f"cosine to 10% at step {run_args.get('steps')}, weight decay {run_args.get('weight_decay')}, "
          f"clip {run_args.get('grad_clip')}, z-loss 1e-4; fp32 |")
    a(f"| hardware | {hardware['cpu']} ({hardware['cores']} cores), "
      f"{hardware['threads']} training thread(s), PyTorch {hardware['torch']} |")
    if row is not None and row.get("elapsed_s") is not None:
        a(f"| wall time to step {step:,} | {row['elapsed_s']:,.0f} s ({fmt_duration(row['elapsed_s'])}, "
          "training and evals; log.csv `elapsed_s`) |")
    a("")

    a("## Bits/byte (validation)")
    a("")
    if ev:
        a(f"On the first {ev.get('symbols', 0):,} symbols of the validation split, computed by the "
          "exporter. Full context: contiguous 256-byte chunks, resets only at documents. Window "
          "context: also a reset every 16 symbols (an Equal-Info window proxy). Integer = the exact "
          f"P={ev.get('frequency_bits')} frequency tables the coder uses. {ev.get('definition', '')}. "
          "(train.py's log below evaluates the fp32 model on a longer prefix, hence slightly "
          "different numbers at the same step.)")
        a("")
        a("| context | float bits/byte | integer bits/byte | integer gap |")
        a("|---|---|---|---|")
        for mode, label in (("full", "full (256)"), ("window", "window (16)")):
            e = ev.get(mode, {})
            if e:
                a(f"| {label} | {_f(e.get('float_bpb'))} | {_f(e.get('integer_bpb'))} | "
                  f"{100 * e.get('relative_gap', float('nan')):+.3f}% |")
        a("")
        a(f"Paper's M1 (C4, full context 1024, 2.5M steps of batch 128 × 1024): "
          f"{PAPER_M1_BPB} bits/byte.")
    else:
        a("_The export carries no `eval` metadata (exported with --eval-symbols 0)._")
    a("")

    a("## Tokenization (eqinfo-encode)")
    a("")
    if encode is None:
        a(f"_Skipped: {encode_note}_")
    else:
        sub, pre = encode["subset"], encode["prefix"]
        srcs = ", ".join(f"`{x}`" for x in sub["sources"])
        a(f"Text: the first {sub['bytes']:,} bytes of the validation documents ({sub['documents']} "
          f"document(s) in file order{', the last cut to the budget' if sub['cut_last'] else ''}; "
          f"`--val-bytes`). The corpus file is ordered by source, so this prefix covers only "
          f"{'source' if len(sub['sources']) == 1 else 'sources'} {srcs}: a small sample, not the "
          "whole validation mix.")
        if pre is not None:
            a(f"AC with M1 has no windows, so the model sees whole documents (up to tens of "
              f"thousands of bytes) and its cost grows with the square of the document length; it is "
              f"run on the first {pre['bytes']:,} of those bytes (`--ac-bytes`; {pre['documents']} "
              "document(s)), with EqualInfoAC on the same prefix beside it for a like-for-like ratio.")
        a("")
        a("| method | model | N (vocabulary) | text bytes | bytes/token | paper (C4) | bits/byte | "
          "windows | time |")
        a("|---|---|---|---|---|---|---|---|---|")
        names = {"equalinfo": "EqualInfoAC b=16", "ac": "AC (no windows)",
                 "staticac": "StaticAC (unigram)"}
        for st in encode["runs"]:
            m = st["method"]
            model = "M1 (this file)" if (st.get("model") or "").startswith("m1:") else \
                Path((st.get("model") or "–").split(":", 1)[-1]).stem
            # The registry row of eqinfo-encode's settings holds the paper's bytes/token.
            row = registry.find(m, st.get("window_bits"), st["token_bits"])
            paper = row.paper.get("bytes_per_token") if row else None
            win = f"{st['windows']:,}" if "windows" in st else "–"
            a(f"| {names.get(m, m)} | {model} | {st['token_bits']} ({st['vocabulary']:,}) | "
              f"{st['bytes']:,} | **{st['bytes_per_token']:.3f}** | {_f(paper, 2)} | "
              f"{st['bits_per_byte']:.3f} | {win} | {st['seconds']:.1f} s |")
        a("")
        eq = [st for st in encode["runs"] if st["method"] == "equalinfo" and "windows" in st
              and st["subset"] == "subset"]
        if eq:
            st = eq[0]
            a(f"Equal-Info windows (b=16): {st['windows']:,} windows, {st['symbols_per_window']:.3f} "
              f"symbols/window (EOS included). **Termination rule's cost vs greedy:** "
              f"{st['fallback_windows']:,} windows ({st['fallback_pct']:.3f}%) closed below the "
              f"greedy maximum; the greedy segmentation would hold {st['greedy_symbols_per_window']:.4f} "
              f"symbols/window, {st['greedy_more_pct']:.3f}% more (docs/design.md).")
            a("")
        full_int = (ev.get("full") or {}).get("integer_bpb")
        win_int = (ev.get("window") or {}).get("integer_bpb")
        ac = [st for st in encode["runs"] if st["method"] == "ac"]
        seq_len = (run_args or {}).get("seq_len")
        if ac and full_int is not None and ac[0]["bits_per_byte"] > full_int + 0.05:
            a(f"AC with M1 codes at {ac[0]['bits_per_byte']:.3f} bits/byte here, worse than M1's "
              f"{full_int:.3f} bits/byte at full context in 256-byte chunks (above): without windows "
              f"the coder's context is the whole document (up to {pre['longest_document']:,} bytes "
              "in this prefix), far beyond the "
              f"{seq_len or '?'}-byte training sequences, and M1 gets worse at lengths it was not "
              f"trained on (relative positions beyond {meta['architecture'].get('rel_max_distance')} "
              "all share one bucket).")
            a("")
        if eq and win_int is not None:
            spw = eq[0]["symbols_per_window"]
            a(f"EqualInfoAC's {eq[0]['bits_per_byte']:.3f} bits/byte vs M1's {win_int:.3f} with "
              f"resets every 16 symbols: a 16-bit window holds only {spw:.1f} symbols here, so M1 "
              f"predicts each from the few bytes before it in its window ({(spw - 1) / 2:.1f} on "
              "average), and the bits a window cannot fill with a whole symbol are padding.")
            a("")
        a("bits/byte here is the size of the token stream (N · tokens / bytes), so it includes each "
          "window's padding to b bits. Paper numbers: ../shared/PAPER.md (C4 validation, M1 at "
          f"{PAPER_M1_BPB} bits/byte); ours come from a weaker M1 on a different corpus, so they are "
          "a sanity check, not a reproduction.")
        a("")
        a("Commands (`eqinfo-encode … SUBSET.jsonl OUT`):")
        a("")
        a("```")
        for st in encode["runs"]:
            a(st["command"])
        a("```")
    a("")

    a("## Learning curve")
    a("")
    if plot_rel:
        a(f"![learning curve]({plot_rel})")
        a("")
    a("Validation bits/byte on the first "
      f"{(run_args or {}).get('eval_bytes', 200000):,} validation symbols (train.py's eval; "
      "fp32 model), every eval of the log:")
    a("")
    a("| step | tokens seen | train bits/byte | val full | val window | lr | elapsed |")
    a("|---|---|---|---|---|---|---|")
    for r in eval_rows(rows):
        mark = " ← exported" if r["step"] == step else ""
        a(f"| {r['step']:,}{mark} | {r['tokens_seen']:,} | {_f(r['train_bpb'])} | "
          f"{_f(r['val_bpb_full'])} | {_f(r['val_bpb_window'])} | "
          f"{_e(r['lr'])} | {_dur(r['elapsed_s'])} |")
    last = rows[-1] if rows else None
    if last is not None:
        a("")
        a(f"Log read up to step {last['step']:,} ({last['tokens_seen'] / 1e6:.1f}M tokens, "
          f"train {_f(last['train_bpb'])} bits/byte).")
    a("")
    return "\n".join(L)


# ----------------------------------------------------------------------------- main

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, default=Path("runs/m1-3m"),
                   help="run directory (log.csv; ckpt.pt for the training arguments)")
    p.add_argument("--log", type=Path, default=None,
                   help="log.csv or snapshot .pt to read the curve from (default: RUN/log.csv, "
                        "else models/checkpoints/<run name>-train.pt)")
    p.add_argument("--model", type=Path, default=Path("models/m1-3m.safetensors"))
    p.add_argument("--out", type=Path, default=Path("models/m1-3m.md"))
    p.add_argument("--plot", type=Path, default=Path("docs/m1_learning_curve.png"))
    p.add_argument("--encode-bin", type=Path, default=None, help="eqinfo-encode (optional)")
    p.add_argument("--val-bytes", type=int, default=100_000,
                   help="text bytes of the validation documents to tokenize")
    p.add_argument("--ac-bytes", type=int, default=20_000,
                   help="prefix of those bytes for AC with M1 (full-document context: quadratic "
                        "cost); 0: skip AC")
    p.add_argument("--static-model", type=Path, default=Path("models/static_en_train.json"))
    p.add_argument("--data", type=Path, default=None, help="corpus .jsonl.gz (default: shared data)")
    p.add_argument("--threads", type=int, default=1, help="eqinfo-encode M1 threads")
    return p


def _load_log_and_args(args) -> tuple[list[dict], str, dict | None]:
    import torch
    run_args = None
    ck = args.run / "ckpt.pt"
    snap_default = Path("models/checkpoints") / f"{args.run.name}-train.pt"
    log_path = args.log
    if log_path is None:
        log_path = args.run / "log.csv" if (args.run / "log.csv").exists() else snap_default
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


def main(argv=None):
    args = build_parser().parse_args(argv)
    import torch

    from ..data import VAL_EVERY, _file_sha256, default_data_path, load_split
    from .export import load
    torch.set_num_threads(1)

    _, meta = load(args.model, verify=False)
    rows, log_source, run_args = _load_log_and_args(args)
    tr = meta.get("training", {})

    data_path = Path(args.data) if args.data else default_data_path()
    sources_md = data_path.parent / "SOURCES.md"
    sha = sources_sha256(sources_md, data_path.name)
    actual = _file_sha256(data_path) if data_path.exists() else None
    if sha is None:
        sha, note = actual, "(computed)"
    else:
        note = "(SOURCES.md" + ("; matches the file)" if actual == sha else
                               "; the file here DIFFERS)" if actual else ")")
    if tr.get("data_sha256") and tr["data_sha256"] != sha:
        note += f"; the export records `{tr['data_sha256'][:16]}…`, a DIFFERENT file"
    data = {"file": data_path.name, "sha256": sha, "sha256_note": note,
            "split": f"document on 0-based line i is validation iff i % {VAL_EVERY} == 0, else train"}
    if data_path.exists():
        tr_sym, tr_st = load_split(data_path, "train", verbose=False)
        va_sym, va_st = load_split(data_path, "val", verbose=False)
        data.update(train_docs=len(tr_st), train_bytes=len(tr_sym) - len(tr_st),
                    val_docs=len(va_st), val_bytes=len(va_sym) - len(va_st))

    hardware = {"cpu": cpu_model(), "cores": os.cpu_count(),
                "threads": (run_args or {}).get("threads", "?"),
                "torch": torch.__version__.split("+")[0]}

    plot_rel = None
    if args.plot and rows:
        plot_curve(rows, args.plot, f"{args.model.stem}: bits/byte vs tokens seen",
                   mark_step=tr.get("step"))
        plot_rel = _rel(args.plot, args.out.parent)
        print(f"[model_card] wrote {args.plot}", flush=True)

    encode, encode_note = None, None
    if args.encode_bin is None:
        encode_note = "no --encode-bin given (build it: see README.md, then pass build/bin/eqinfo-encode)."
    elif not args.encode_bin.exists():
        encode_note = f"`{args.encode_bin}` not found (build the C++ tools first, README.md)."
    else:
        with tempfile.TemporaryDirectory() as td:
            sub_path, ac_path = Path(td) / "val_subset.jsonl", Path(td) / "val_prefix.jsonl"
            sub = write_val_subset(data_path, args.val_bytes, sub_path)
            m1, static = f"m1:{args.model}", f"static:{args.static_model}"
            plan = [(sub_path, "equalinfo", 8, m1), (sub_path, "equalinfo", 16, m1),
                    (sub_path, "staticac", 8, static), (sub_path, "staticac", 16, static)]
            ac_sub = None
            if args.ac_bytes > 0:
                ac_sub = write_val_subset(data_path, min(args.ac_bytes, args.val_bytes), ac_path)
                plan += [(ac_path, "ac", 8, m1), (ac_path, "ac", 16, m1),
                         (ac_path, "equalinfo", 16, m1)]
            runs = []
            for path, method, n, spec in plan:
                st = run_encode(args.encode_bin, path, method, n, spec, threads=args.threads)
                st["subset"] = "prefix" if path == ac_path else "subset"
                print(f"[model_card] {method} N={n} on {st['bytes']:,} bytes: "
                      f"{st['bytes_per_token']:.4f} bytes/token, {st['bits_per_byte']:.4f} bits/byte "
                      f"({st['seconds']:.1f} s)", flush=True)
                runs.append(st)
        encode = {"subset": sub, "prefix": ac_sub, "runs": runs}

    card = build_card(model_path=args.model, meta=meta, rows=rows, log_source=log_source,
                      data=data, hardware=hardware, run_args=run_args, plot_rel=plot_rel,
                      encode=encode, encode_note=encode_note)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(card)
    print(f"[model_card] wrote {args.out}", flush=True)
    return card


if __name__ == "__main__":
    main()
