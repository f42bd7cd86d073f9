"""The experiment's run keys: a registered method (eqinfo.registry), optionally with another M2 size.

A run key is a method name (eqinfo.registry.METHODS: bytes, sentencepiece, ac-v{256,65k},
staticac-v*, gzip-v*, equalinfo-b{16,24,32,64,128}-v*) that may add "@<M2 preset>" (e.g.
"bytes@m2-cpu-m"): the same token stream (shard) trained with another M2 size than the scale's,
for the size sweeps of the paper's Fig. 3 (equal-FLOPs comparisons need more than one M2 size per
method). Everything about the method itself comes from its registry row.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .. import paper
from ..registry import Method, lookup


@dataclass(frozen=True)
class RunKey:
    name: str                  # "equalinfo-b16-v65k", "bytes@m2-cpu-m"
    method: Method             # the registry row of its stream
    preset: str | None = None  # M2 preset of a sweep run; None: the scale's

    @property
    def stream(self) -> str:
        """The method whose token stream (shard) this run trains on: the name without "@preset"."""
        return self.method.name

    @property
    def family(self) -> str:
        return self.method.family.name

    @property
    def b(self) -> int | None:
        return self.method.b

    @property
    def token_bits(self) -> int | None:
        return self.method.N

    @property
    def uses_m1(self) -> bool:
        return self.method.uses_m1

    @property
    def window_tokens(self) -> int | None:
        return self.method.window_tokens

    @property
    def label(self) -> str:
        """The method's label (EqualInfoAC[b16, v65k]), with " @<preset>" for a sweep run."""
        return f"{self.method.label} @{self.preset}" if self.preset else self.method.label

    @property
    def paper(self) -> Mapping[str, float]:
        """The paper's numbers for this run; none for a sweep run (the paper's point is 25m)."""
        return {} if self.preset else self.method.paper


def parse_method(name: str) -> RunKey:
    """The run key `name`; ValueError for an unregistered method or an unknown M2 preset."""
    stream, at, preset = name.partition("@")
    method = lookup(stream)
    if at:
        from ..m2.config import PRESETS
        if preset not in PRESETS:
            raise ValueError(f"{name!r}: unknown M2 preset {preset!r}; choose from {sorted(PRESETS)}")
    return RunKey(name, method, preset if at else None)


def paper_flops_per_byte(run: str) -> float | None:
    """The paper's inference FLOPs/byte for M2 25m (2 N / bytes-per-token + M1's for AC methods)."""
    key = parse_method(run)
    if "bytes_per_token" not in key.paper:
        return None
    f = 2.0 * paper.M2_25M_PARAMS / key.paper["bytes_per_token"]
    return f + (paper.M1_FLOPS_PER_BYTE if key.uses_m1 else 0.0)
