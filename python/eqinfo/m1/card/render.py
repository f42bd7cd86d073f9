"""The model card's markdown text, from the export's metadata, the log, the corpus facts and the
tokenization measurements (docs/m1_training.md, "Model card")."""
from __future__ import annotations

import datetime
from pathlib import Path

from ... import registry
from ...paper import M1_BPB as PAPER_M1_BPB, M1_FLOPS_PER_BYTE as PAPER_FLOPS_PER_BYTE
from .inputs import eval_rows, row_at_step


def fmt_duration(seconds: float) -> str:
    h, rem = divmod(int(round(seconds)), 3600)
    m, s = divmod(rem, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s"


def _f(x, nd=4):
    return "–" if x is None else f"{x:.{nd}f}"


def _e(x):
    return "–" if x is None else f"{x:.2e}"


def _dur(x):
    return "–" if x is None else fmt_duration(x)


def build_card(*, model_path: Path, meta: dict, rows: list[dict], log_source: str,
               data: dict, hardware: dict, run_args: dict | None, plot_rel: str | None,
               encode: dict | None, encode_note: str | None) -> str:
    from ..config import M1Config
    from ..model import M1, flops_per_byte, non_embedding_params
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
    mix = data.get("mix")
    if mix:
        a(f"| mixed in | `{mix['file']}`: each training sequence is drawn from it with probability "
          f"{mix['frac']:g}, else from the train split above (python/eqinfo/m1/data_mix.py) |")
        a(f"| sha256 (.gz) | `{mix['sha256']}` {mix.get('sha256_note', '')} |")
        if mix.get("train_docs") is not None:
            a(f"| its train | {mix['train_docs']:,} documents, {mix['train_bytes']:,} text bytes (same split rule) |")
            a(f"| its validation | {mix['val_docs']:,} documents, {mix['val_bytes']:,} text bytes |")
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
