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
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from eqinfo import resources
from eqinfo.registry import FAMILIES, METHODS, lookup, methods_of
from eqinfo.tokenizers import DecodeResult, Issue, get_tokenizer

EOS_MARK = "<|eos|>"   # how an EOS (end of a document) is shown in Generation.text
PROG = "eqinfo-generate"


class GenerateError(ValueError):
    """A run directory, method or model that cannot be generated from (the CLI prints it)."""


# ----------------------------------------------------------------------------- the run

@dataclass
class Run:
    """A trained M2 and the tokenizer of the tokens it was trained on."""
    path: Path
    model: torch.nn.Module
    tokenizer: object
    method: str
    method_source: str          # where the method came from (result.json, shard sidecar, --method)
    step: int
    total_steps: int | None
    finished: bool              # result.json exists: the training budget was done
    shard_meta: dict = field(default_factory=dict)  # the train shard's sidecar, if it was found
    device: torch.device = torch.device("cpu")

    @property
    def group(self) -> int:
        return self.tokenizer.spec.group_tokens


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise GenerateError(f"{path}: unreadable ({e})") from None


def _find_sidecar(shard: str | None) -> tuple[Path | None, dict | None]:
    """The train shard's sidecar: the recorded path as given (a relative one is relative to the
    directory training was started from), else relative to the repository root."""
    if not shard:
        return None, None
    p = Path(shard)
    tries = [p]
    if not p.is_absolute():
        try:
            tries.append(resources.repo_root() / p)
        except FileNotFoundError:
            pass
    for cand in tries:
        side = cand.with_name(cand.name + ".json")
        if side.exists():
            return cand, _read_json(side)
    return p, None


def _model_kwargs(spec, meta: dict, m1: str | Path | None) -> dict:
    """Model paths for get_tokenizer: --m1 if given, else the model the train shard was made with
    (its sidecar's `model`) when that file exists, else the defaults."""
    kind = spec.model
    if kind is None:
        return {}
    if kind == "m1" and m1 is not None:
        return {"m1": m1}
    recorded = meta.get("model")
    if recorded and Path(recorded).exists():
        return {kind: recorded}
    return {}


def load_run(run_dir: str | Path, *, method: str | None = None, m1: str | Path | None = None,
             device: str = "cpu") -> Run:
    """Load ckpt.pt of an eqinfo-train-m2 run directory and the tokenizer of its tokens.

    Raises GenerateError (with a message meant for the user) for a missing directory or
    checkpoint, an unknown or disagreeing method, a vocabulary that is not the method's, or an
    M1 whose fingerprint is not the one that made the training tokens.
    """
    from eqinfo.m2 import M2, M2Config

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise GenerateError(f"no such run directory: {run_dir}")
    ckpt_path = run_dir / "ckpt.pt"
    if not ckpt_path.exists():
        raise GenerateError(f"{run_dir} has no checkpoint (ckpt.pt): is it an eqinfo-train-m2 "
                            f"--out directory, and has training saved at least once?")
    try:
        # weights_only=False: the checkpoint also holds the run's args and RNG states (numpy);
        # it is a file this project wrote, not untrusted input.
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        cfg = M2Config.from_dict(ckpt["config"])
        state = ckpt["model"]
    except Exception as e:  # noqa: BLE001 -- any unreadable checkpoint is the user's to fix
        raise GenerateError(f"{ckpt_path}: not a readable M2 checkpoint ({type(e).__name__}: {e})"
                            ) from None
    result = _read_json(run_dir / "result.json")
    args = ckpt.get("args") or {}

    # Which method made the tokens: result.json, else the train shard's sidecar, else the
    # experiment's shard_identity.json, else the shard's file name (docs/generation.md).
    shard = (result or {}).get("train_shard") or args.get("train")
    shard_path, meta = _find_sidecar(shard)
    meta = meta or {}
    # eqinfo-experiment also records the train shard's identity (method, model_hash, counts) in
    # the run directory: used when the shard itself is gone.
    ident = ((_read_json(run_dir / "shard_identity.json") or {}).get("train")
             or ((result or {}).get("shard_identity") or {}).get("train") or {})
    recorded, source = None, None
    if result and result.get("method"):
        recorded, source = result["method"], "result.json"
    elif meta.get("method"):
        recorded, source = meta["method"], f"shard sidecar {shard_path}.json"
    elif ident.get("method"):
        recorded, source = ident["method"], "shard_identity.json"
    elif shard_path is not None and Path(shard_path).stem in METHODS:
        recorded, source = Path(shard_path).stem, f"shard name {shard_path}"
    if method is not None:
        if method not in METHODS:
            raise GenerateError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
        if recorded is not None and recorded != method:
            raise GenerateError(f"the run was trained on {recorded} tokens ({source}), not "
                                f"{method}: drop --method or pick the run of that method")
        recorded, source = method, "--method"
    if recorded is None:
        raise GenerateError(f"{run_dir}: cannot tell which method's tokens the run was trained "
                            f"on (no result.json, and the train shard {shard!r} and its sidecar "
                            f"are not found): pass --method")
    if recorded not in METHODS:
        raise GenerateError(f"the run was trained on {recorded!r} tokens ({source}), which is "
                            f"not a method this tokenizer registry knows")

    spec = lookup(recorded)
    if not spec.uses_m1 and m1 is not None:
        print(f"[{PROG}] note: {recorded} does not use M1; --m1 ignored", file=sys.stderr)
    try:
        tok = get_tokenizer(recorded, **_model_kwargs(spec, meta, m1))
    except (OSError, ValueError, RuntimeError) as e:
        raise GenerateError(f"cannot build the {recorded} tokenizer: {e}") from None
    if cfg.vocab_size != tok.vocab_size:
        raise GenerateError(f"vocab mismatch: the model predicts {cfg.vocab_size} token ids but "
                            f"{recorded} has a vocabulary of {tok.vocab_size}")
    want = meta.get("model_hash") or ident.get("model_hash")
    have = getattr(tok, "model_hash", None)
    if want and have and want != have:
        made_by = f", {meta['model']}" if meta.get("model") else ""
        fix = "pass the right one with --m1" if spec.uses_m1 else "restore that model file"
        raise GenerateError(f"the {recorded} tokenizer's model {getattr(tok, 'model_path', '?')} "
                            f"(fingerprint {have}) is not the model that made the training "
                            f"tokens (fingerprint {want}{made_by}): they would decode to the "
                            f"wrong text; {fix}")

    model = M2(cfg)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise GenerateError(f"{ckpt_path}: weights do not fit its config ({e})") from None
    try:
        dev = torch.device(device)
        model.to(dev).eval()
    except (RuntimeError, AssertionError) as e:  # unknown device, or CUDA not available
        raise GenerateError(f"device {device!r}: {e}") from None
    return Run(path=run_dir, model=model, tokenizer=tok, method=recorded, method_source=source,
               step=int(ckpt.get("step", 0)), total_steps=ckpt.get("total_steps"),
               finished=result is not None, shard_meta=meta, device=dev)


# ----------------------------------------------------------------------------- token groups

_UNENDED = Issue.UNTERMINATED_DOCUMENT | Issue.CORRUPT_STREAM


def last_unended(result: DecodeResult) -> bool:
    """Whether the last document did not end with EOS: it ran out of tokens (unterminated), or
    the stream broke inside it (corrupt GZip: decode returns what inflated, then stops)."""
    return bool(result.documents) and bool(result.issues & _UNENDED)


def eos_count(result: DecodeResult) -> int:
    """EOS symbols decoded: every document but an unended last one ended with EOS."""
    return len(result.documents) - (1 if last_unended(result) else 0)


def _self_delimiting_methods() -> list[str]:
    """The self-delimiting families as method names: bytes, sentencepiece, equalinfo-*."""
    return [f.name if len(methods_of(f)) == 1 else f"{f.name}-*"
            for f in FAMILIES.values() if f.self_delimiting]


def prompt_tokens(tok, prompt: str | bytes) -> np.ndarray:
    """The tokens of `prompt` that a generation continues from (docs/generation.md).

    The encoder closes a document's last window with EOS, so those tokens are no prefix of any
    continuation. Equal-Info: keep the whole windows before the last one (cut further down to a
    whole token group when tokens straddle windows); the dropped tail, at most one window's
    bytes (plus one more window when b/N is not whole), is regenerated by M2. Bytes and
    SentencePiece: every token but the final EOS. AC, StaticAC and GZip code a document as one
    codeword, whose prefix is not the code of a text prefix: a non-empty prompt is refused.
    """
    data = prompt.encode("utf-8") if isinstance(prompt, str) else bytes(prompt)
    if not data:
        return np.zeros(0, dtype=np.uint16)
    if not tok.spec.self_delimiting:
        raise GenerateError(f"{tok.spec.name} codes each document as one codeword, so a prompt's "
                            f"tokens are not a prefix of its continuation's: prompts work with "
                            f"{', '.join(_self_delimiting_methods())} (generate without --prompt)")
    ids = np.asarray(tok.encode(data), dtype=np.uint16)
    spec = tok.spec
    if spec.b is not None:
        n, g = tok.token_bits, spec.group_tokens
        windows = len(ids) * n // spec.b                  # exact for N <= b (docs/design.md §3.5)
        keep = (windows - 1) * spec.b // (n * g) * g       # whole groups inside windows[:-1]
    else:
        keep = len(ids) - 1                                # drop the EOS
    kept = ids[:max(0, keep)]
    # The kept tokens hold no EOS, by construction; check it, as the rule is the whole contract.
    if len(kept) and eos_count(tok.decode(kept)) != 0:
        raise AssertionError(f"{spec.name}: the kept prompt tokens decode to an EOS")
    return kept


# ----------------------------------------------------------------------------- sampling

def _pick(logits: torch.Tensor, temperature: float, top_k: int | None,
          gen: torch.Generator) -> int:
    """One token from logits [V] (float, CPU)."""
    if temperature == 0:
        return int(torch.argmax(logits))
    x = logits.double() / temperature                     # temperature=inf -> uniform
    if top_k is not None and top_k < x.numel():
        v, idx = torch.topk(x, top_k)
        x = torch.full_like(x, -math.inf).scatter_(0, idx, v)
    p = torch.softmax(x, dim=0)
    if not torch.isfinite(p).all():
        raise GenerateError("the model produced non-finite logits")
    return int(torch.multinomial(p, 1, generator=gen))


@torch.no_grad()
def sample_tokens(model, prefix: np.ndarray, n_new: int, *, group: int = 1,
                  temperature: float = 1.0, top_k: int | None = None,
                  generator: torch.Generator | None = None,
                  stop: Callable[[np.ndarray], bool] | None = None,
                  device: torch.device | str = "cpu") -> tuple[np.ndarray, bool]:
    """Continue `prefix` by up to n_new tokens (n_new a multiple of `group`).

    No KV cache: each step re-runs the model on [BOS] + the last tokens that fit in
    max_seq_len. M2 here is small and generations are short, so the quadratic cost is
    irrelevant and the loop stays obviously correct. The context window slides by whole groups,
    so, as in training (examples start at window boundaries), the token after BOS starts a
    window. `stop(tokens so far)` is asked after each whole group; True ends the sample.
    -> (the new tokens uint16, whether `stop` ended it)
    """
    cfg = model.cfg
    room = cfg.max_seq_len - 1                              # BOS takes one position
    ctx = [int(t) for t in prefix]
    new: list[int] = []
    for _ in range(n_new):
        start = max(0, len(ctx) - room)
        start = min(len(ctx), -(-start // group) * group)   # slide by whole groups
        inp = torch.tensor([[cfg.bos] + ctx[start:]], dtype=torch.long, device=device)
        logits = model(inp)[0, -1].float().cpu()            # [V]
        t = _pick(logits, temperature, top_k, generator)
        ctx.append(t)
        new.append(t)
        if stop is not None and len(new) % group == 0 and stop(np.asarray(ctx, dtype=np.uint16)):
            return np.asarray(new, dtype=np.uint16), True
    return np.asarray(new, dtype=np.uint16), False


# ----------------------------------------------------------------------------- results

@dataclass
class Generation:
    """One sample, decoded."""
    method: str
    seed: int                  # the seed asked for
    sample: int                # which sample of that seed (0-based); see sample_seed
    tokens: np.ndarray         # uint16: the kept prompt tokens, then the generated ones
    prompt_tokens: int         # how many of `tokens` come from the prompt
    prompt_bytes: bytes        # what those decode to: a prefix of the prompt
    documents: list[bytes]     # DecodeResult.documents of `tokens` (EOS not included)
    issues: Issue              # DecodeResult.issues
    windows: int               # Equal-Info windows decoded (0 for other methods)
    eos: int                   # documents ended by EOS
    replacement_chars: int     # U+FFFD put in `text` for invalid UTF-8
    text: str                  # documents as UTF-8 (errors="replace"), each EOS shown as EOS_MARK
    stopped_at_eos: bool = False

    @property
    def new_tokens(self) -> int:
        return len(self.tokens) - self.prompt_tokens

    @property
    def n_bytes(self) -> int:
        return sum(map(len, self.documents))

    @property
    def issues_text(self) -> str:
        return DecodeResult(issues=self.issues).describe()

    def summary(self) -> str:
        w = f", windows {self.windows}" if self.windows or lookup(self.method).b is not None else ""
        stop = ", stopped at EOS" if self.stopped_at_eos else ""
        return (f"[{self.method} seed {self.seed} #{self.sample + 1}] tokens {len(self.tokens)} "
                f"(prompt {self.prompt_tokens} + generated {self.new_tokens}){w}, "
                f"bytes {self.n_bytes}, "
                f"EOS {self.eos}{stop}, issues: {self.issues_text}, replacement chars "
                f"{self.replacement_chars}")


def decode_text(tok, tokens: np.ndarray) -> tuple[DecodeResult, str, int]:
    """Decode tokens -> (DecodeResult, text, replacement characters added).

    Each document's bytes are decoded as UTF-8 with errors="replace" on their own (a document
    boundary is a text boundary), and every EOS is shown as EOS_MARK. Only the U+FFFD that
    decoding put in are counted, not ones the bytes spell out validly."""
    r = tok.decode(tokens)
    parts, bad = [], 0
    fffd = "\ufffd".encode("utf-8")
    for i, doc in enumerate(r.documents):
        s = doc.decode("utf-8", errors="replace")
        bad += s.count("\ufffd") - doc.count(fffd)
        terminated = i < len(r.documents) - 1 or not last_unended(r)
        parts.append(s + (EOS_MARK if terminated else ""))
    return r, "".join(parts), bad


def sample_seed(seed: int, i: int) -> int:
    """Sample i's own generator seed: sample i is the same whatever --samples is."""
    return (seed * 1_000_003 + i) % (1 << 63)


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
