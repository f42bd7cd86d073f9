"""Typed configs: the dict round trip every config shares, and the options every trainer shares.

Model configs (M1Config, M2Config) and training configs (M1TrainConfig, M2TrainConfig) are frozen
dataclasses. They travel as plain dicts: in checkpoints ("config", "args"), config.json and the
experiment's train_config.json, so `to_dict`/`from_dict` are the one serialisation, and
`from_dict` ignores keys it does not know (checkpoints written by older code keep loading).

TrainConfig holds what M1 and M2 training have in common: optimiser, schedule, cadence, seed and
runtime. Each trainer's config subclasses it, adds its own data/model/evaluation fields and may
redeclare a shared field to give it another default (a dataclass field keeps its place and takes
the new default). Field names are the command-line flags (`--weight-decay` = weight_decay:
eqinfo.training.cli), and checkpoints keep them under "args" as before the configs were typed.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

C = TypeVar("C", bound="DictConfig")


def option(default: Any = dataclasses.MISSING, help: str = "") -> Any:  # noqa: A002
    """A config field with a default (or none: required) and the help its command-line flag
    shows."""
    return field(default=default, metadata={"help": help})


class DictConfig:
    """to_dict / from_dict / with_ for a frozen dataclass."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[C], d: dict) -> C:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in d.items() if k in names})

    def with_(self: C, **changes) -> C:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True, kw_only=True)
class TrainConfig(DictConfig):
    """The options shared by M1 and M2 training (their defaults differ: see each subclass)."""
    out: str = option(help="run directory")
    stop_at: int | None = option(None, "stop (and checkpoint) at this step")
    lr: float = option(1e-3, "peak learning rate")
    warmup: int = option(100, "linear warmup steps, then cosine decay to 10%% of the peak")
    weight_decay: float = option(0.1, "AdamW weight decay of the weight matrices")
    grad_clip: float = option(1.0, "clip the gradient norm to this")
    eval_every: int = option(500, "steps between evaluations; 0 = only at the end")
    ckpt_every: int = option(200, "steps between checkpoints (also at the end and on SIGTERM)")
    log_every: int = option(20, "steps between log.csv rows")
    seed: int = option(0, "model initialisation and batch order")
    threads: int = option(1, "torch threads")
    device: str = option("auto", "auto | cpu | cuda")
    resume: bool = option(True, "continue from <out>/ckpt.pt if it exists")
    quiet: bool = option(False, "print only the evaluation rows")

    @classmethod
    def redefault(cls, name: str, default: Any) -> Any:
        """A subclass's field that keeps this class's help for `name` with another default."""
        base = next(f for f in dataclasses.fields(cls) if f.name == name)
        return field(default=default, metadata=base.metadata)

    def __post_init__(self):
        for name in ("ckpt_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("warmup", "eval_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
