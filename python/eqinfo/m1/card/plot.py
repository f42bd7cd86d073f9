"""The model card's learning-curve plot: train and validation bits/byte against tokens seen."""
from __future__ import annotations

from pathlib import Path

from ...paper import M1_BPB as PAPER_M1_BPB
from .inputs import learning_curve, row_at_step


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
