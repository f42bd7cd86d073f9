"""A trained M2 run directory -> the model and the tokenizer of the tokens it was trained on.

The weights and config are read from ckpt.pt (the only weights file training writes;
result.json marks a finished run). The method -- and so the tokenizer -- is what the run
recorded, and the M1 that made the training tokens must be the one that decodes them
(docs/generation.md, "Which model and which tokenizer").
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from eqinfo import resources
from eqinfo.registry import METHODS, lookup
from eqinfo.tokenizers import get_tokenizer

from .errors import PROG, GenerateError


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

