"""Sample text from a trained M2: M2 samples tokens, the tokenizer (M1 + arithmetic decoder for
EqualInfoAC) turns them back into text.

    eqinfo-generate runs/m2/equalinfo-b16-v65k --prompt "The history of" --tokens 64 --samples 2
    gens = generate("runs/m2/equalinfo-b16-v65k", prompt="The history of", n_tokens=64)
    print(gens[0].text, gens[0].summary())

The run directory is eqinfo-train-m2's `--out`: the weights and config are read from ckpt.pt (the
only weights file training writes; result.json marks a finished run). The method -- and so the
tokenizer -- is what the run recorded (result.json "method", else the train shard's sidecar named
by the checkpoint's args); the M1 that made the training tokens is the one the sidecar names, and
its fingerprint must match. docs/generation.md has the prompt rule, the stopping rule and what
odd or undecodable output looks like.

This module is the tool's two entry points, generate() and the eqinfo-generate command; the jobs
they put together live in eqinfo.generation (one module each: loading the run, the prompt rule,
sampling, decoding), and their names are importable from here.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from eqinfo.generation.decoding import EOS_MARK, Generation, decode_text, eos_count, last_unended
from eqinfo.generation.errors import PROG, GenerateError
from eqinfo.generation.prompt import prompt_tokens
from eqinfo.generation.run import Run, load_run
from eqinfo.generation.sampling import sample_seed, sample_tokens

__all__ = ["EOS_MARK", "PROG", "GenerateError", "Generation", "Run", "build_parser",
           "decode_text", "eos_count", "generate", "last_unended", "load_run", "main",
           "prompt_tokens", "sample_seed", "sample_tokens"]


def generate(run_dir: str | Path | Run, prompt: str | bytes = "", n_tokens: int = 64,
             temperature: float = 1.0, top_k: int | None = None, seed: int = 0,
             samples: int = 1, m1: str | Path | None = None, device: str = "cpu", *,
             method: str | None = None, until_eos: bool = False) -> list[Generation]:
    """Sample `samples` continuations of `prompt` from the run's M2 and decode them.

    n_tokens new tokens are generated, rounded up to whole windows (Method.group_tokens); with
    until_eos a sample also ends after the first whole group that decodes to an EOS.
    Deterministic: the same run, arguments and seed give the same tokens (on one device).
    """
    if n_tokens < 0:
        raise GenerateError(f"n_tokens must be >= 0, got {n_tokens}")
    if samples < 1:
        raise GenerateError(f"samples must be >= 1, got {samples}")
    if not temperature >= 0:
        raise GenerateError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise GenerateError(f"top_k must be >= 1, got {top_k}")
    run = run_dir if isinstance(run_dir, Run) else load_run(run_dir, method=method, m1=m1,
                                                            device=device)
    tok, g = run.tokenizer, run.group
    prefix = prompt_tokens(tok, prompt)
    kept = b"".join(tok.decode(prefix).documents) if len(prefix) else b""
    n_new = -(-n_tokens // g) * g

    stop = None
    if until_eos:
        if tok.spec.self_delimiting:
            def stop(ctx):  # the last group decodes on its own
                return eos_count(tok.decode(ctx[-g:])) > 0
        else:
            def stop(ctx):  # one codeword per document: decode the whole stream (slower)
                return eos_count(tok.decode(ctx)) > 0

    out = []
    for i in range(samples):
        s = sample_seed(seed, i)
        gen = torch.Generator().manual_seed(s)
        new, stopped = sample_tokens(run.model, prefix, n_new, group=g, temperature=temperature,
                                     top_k=top_k, generator=gen, stop=stop, device=run.device)
        tokens = np.concatenate([prefix, new]).astype(np.uint16)
        r, text, bad = decode_text(tok, tokens)
        out.append(Generation(method=run.method, seed=seed, sample=i, tokens=tokens,
                              prompt_tokens=len(prefix), prompt_bytes=kept,
                              documents=list(r.documents), issues=r.issues, windows=r.windows,
                              eos=eos_count(r), replacement_chars=bad, text=text,
                              stopped_at_eos=stopped))
    return out


# ----------------------------------------------------------------------------- CLI

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run_dir", help="an eqinfo-train-m2 run directory (holds ckpt.pt)")
    p.add_argument("--prompt", default="", help="text to continue (docs/generation.md: the "
                   "tail of the prompt, up to one window, is regenerated)")
    p.add_argument("--tokens", type=int, default=64,
                   help="tokens to generate (rounded up to whole windows)")
    p.add_argument("--temperature", type=float, default=1.0, help="0 = greedy")
    p.add_argument("--top-k", type=int, default=None, help="sample from the k likeliest tokens")
    p.add_argument("--seed", type=int, default=0,
                   help="sample i draws from its own generator, seeded from (seed, i)")
    p.add_argument("--samples", type=int, default=1)
    p.add_argument("--until-eos", action="store_true",
                   help="also stop a sample after the window that ends a document")
    p.add_argument("--m1", default=None, help="M1 to decode with; when not given, the one the "
                   "run's train shard was made with, else the bundled one")
    p.add_argument("--method", default=None, help="the run's method, if the run does not "
                   "record it (checked against the model's vocabulary)")
    p.add_argument("--device", default="cpu", help="cpu | cuda")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    return p


def main(argv=None) -> None:
    a = build_parser().parse_args(argv)
    torch.set_num_threads(max(1, a.threads))
    try:
        sys.stdout.reconfigure(errors="backslashreplace")  # a terminal that is not UTF-8
    except (AttributeError, ValueError):
        pass
    try:
        if a.tokens < 1:
            raise GenerateError(f"--tokens must be >= 1, got {a.tokens}")
        run = load_run(a.run_dir, method=a.method, m1=a.m1, device=a.device)
        state = ("finished" if run.finished else
                 f"NOT finished: checkpoint at step {run.step} of {run.total_steps}")
        print(f"[{PROG}] {run.path}: {run.method} (from {run.method_source}), step {run.step}, "
              f"{state}; tokenizer {run.tokenizer!r}", file=sys.stderr)
        gens = generate(run, prompt=a.prompt, n_tokens=a.tokens, temperature=a.temperature,
                        top_k=a.top_k, seed=a.seed, samples=a.samples, until_eos=a.until_eos)
    except GenerateError as e:
        raise SystemExit(f"{PROG}: error: {e}") from None
    if a.prompt:
        kept, n = len(gens[0].prompt_bytes), len(a.prompt.encode("utf-8"))
        rest = ("all of it" if kept == n else
                f"its first {kept} bytes; the model regenerates the last {n - kept}")
        print(f"[{PROG}] prompt: {n} bytes; continuing from {rest} ({gens[0].prompt_tokens} "
              f"tokens)", file=sys.stderr)
    for i, gen in enumerate(gens):
        print(f"--- sample {i + 1}/{len(gens)} ---")
        print(gen.text)
        print(gen.summary())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
