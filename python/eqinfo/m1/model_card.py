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

This module is the command; the jobs it puts together live in eqinfo.m1.card (one module each:
reading the inputs, measuring the tokenization, plotting, rendering the text), and their names
are importable from here.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..sysinfo import cpu_model
from .card.inputs import (card_stats, corpus_facts, eval_rows, learning_curve, load_log_and_args, mix_facts,
                          parse_log, read_log, row_at_step, sources_sha256)
from .card.measure import measure_tokenization, run_encode, write_val_subset
from .card.plot import plot_curve
from .card.render import build_card, fmt_duration

__all__ = ["build_card", "build_parser", "card_stats", "corpus_facts", "eval_rows",
           "fmt_duration", "learning_curve", "load_log_and_args", "main", "measure_tokenization", "mix_facts",
           "parse_log", "plot_curve", "read_log", "row_at_step", "run_encode", "sources_sha256",
           "write_val_subset"]


def _rel(path: Path, start: Path) -> str:
    return os.path.relpath(Path(path).resolve(), Path(start).resolve())


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


def main(argv=None):
    args = build_parser().parse_args(argv)
    import torch

    from ..data import default_data_path
    from .export import load
    torch.set_num_threads(1)

    _, meta = load(args.model, verify=False)
    rows, log_source, run_args = load_log_and_args(args.run, args.log)
    tr = meta.get("training", {})

    data_path = Path(args.data) if args.data else default_data_path()
    data = corpus_facts(data_path, tr.get("data_sha256"))
    data["mix"] = mix_facts(run_args, data_path)

    hardware = {"cpu": cpu_model(), "cores": os.cpu_count(),
                "threads": (run_args or {}).get("threads", "?"),
                "torch": torch.__version__.split("+")[0]}

    plot_rel = None
    if args.plot and rows:
        plot_curve(rows, args.plot, f"{args.model.stem}: bits/byte vs tokens seen",
                   mark_step=tr.get("step"))
        plot_rel = _rel(args.plot, args.out.parent)
        print(f"[model_card] wrote {args.plot}", flush=True)

    encode, encode_note = measure_tokenization(args.encode_bin, data_path, args.model,
                                               args.static_model, args.val_bytes, args.ac_bytes,
                                               threads=args.threads)

    card = build_card(model_path=args.model, meta=meta, rows=rows, log_source=log_source,
                      data=data, hardware=hardware, run_args=run_args, plot_rel=plot_rel,
                      encode=encode, encode_note=encode_note)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(card)
    print(f"[model_card] wrote {args.out}", flush=True)
    return card


if __name__ == "__main__":
    main()
