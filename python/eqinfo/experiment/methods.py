"""The method matrix of the experiment and the paper's numbers for each method.

Names follow eqinfo.tokenizers.METHODS: bytes, sentencepiece, ac-v{256,65k}, staticac-v*,
gzip-v*, equalinfo-b{16,24,32,64,128}-v*. v256 = 8-bit tokens, v65k = 16-bit tokens.
A run key may add "@<M2 preset>" (e.g. "bytes@m2-cpu-m"): the same token stream (shard) trained
with another M2 size than the scale's, for the size sweeps of the paper's Fig. 3 (equal-FLOPs
comparisons need more than one M2 size per method).
Paper numbers: ../shared/PAPER.md (C4 validation, M2 25m; "-" where the paper gives none).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

WINDOWS = (16, 24, 32, 64, 128)
METHODS: tuple[str, ...] = (
    "bytes", "sentencepiece", "ac-v256", "ac-v65k", "staticac-v256", "staticac-v65k",
    "gzip-v256", "gzip-v65k",
    *(f"equalinfo-b{b}-v{v}" for b in WINDOWS for v in ("256", "65k")),
)
_NAME = re.compile(r"^(bytes|sentencepiece|ac|staticac|gzip|equalinfo)(?:-b(\d+))?(?:-v(256|65k))?"
                   r"(?:@([a-z0-9-]+))?$")


@dataclass(frozen=True)
class MethodInfo:
    name: str
    family: str            # bytes | sentencepiece | ac | staticac | gzip | equalinfo
    b: int | None          # window bits (equalinfo)
    token_bits: int | None  # N: 8 (v256) or 16 (v65k); None for bytes / sentencepiece
    preset: str | None = None  # M2 preset of a sweep run ("bytes@m2-cpu-m"); None: the scale's

    @property
    def stream(self) -> str:
        """The method whose token stream (shard) this run trains on: the name without "@preset"."""
        return self.name.split("@", 1)[0]

    @property
    def uses_m1(self) -> bool:
        """AC and EqualInfoAC run M1 at inference (their FLOPs/byte include it)."""
        return self.family in ("ac", "equalinfo")

    @property
    def window_tokens(self) -> int | None:
        """Tokens per window when N divides b (Fig. 10's positions), else None."""
        if self.family != "equalinfo" or self.b % self.token_bits:
            return None
        return self.b // self.token_bits

    @property
    def label(self) -> str:
        """The paper's style: EqualInfoAC[b16, v65k], GZip[v256], Bytes."""
        fam = {"bytes": "Bytes", "sentencepiece": "SentencePiece", "ac": "AC",
               "staticac": "StaticAC", "gzip": "GZip", "equalinfo": "EqualInfoAC"}[self.family]
        v = {8: "v256", 16: "v65k"}.get(self.token_bits)
        parts = ([f"b{self.b}"] if self.b else []) + ([v] if v else [])
        base = f"{fam}[{', '.join(parts)}]" if parts else fam
        return f"{base} @{self.preset}" if self.preset else base


def parse_method(name: str) -> MethodInfo:
    m = _NAME.match(name)
    if not m:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    fam, b, v, preset = m.groups()
    if (fam == "equalinfo") != (b is not None) or (fam in ("bytes", "sentencepiece")) == (v is not None):
        raise ValueError(f"malformed method name {name!r}; known: {', '.join(METHODS)}")
    if preset is not None:
        from ..m2.config import PRESETS
        if preset not in PRESETS:
            raise ValueError(f"{name!r}: unknown M2 preset {preset!r}; choose from {sorted(PRESETS)}")
    return MethodInfo(name, fam, int(b) if b else None, {"256": 8, "65k": 16}.get(v), preset)


# The paper's numbers (PAPER.md): bytes/token, uniform / unigram bits/byte of the token stream
# ("Bits/byte of trivial models", given for v256 streams), and M2 25m bits/byte.
PAPER: dict[str, dict] = {
    "bytes": {"bytes_per_token": 1.0, "uniform_bpb": 8.000, "unigram_bpb": 4.602, "m2_25m_bpb": 1.29},
    "sentencepiece": {"bytes_per_token": 4.28, "uniform_bpb": 3.497, "unigram_bpb": 2.443,
                      "m2_25m_bpb": 1.12},
    "ac-v256": {"bytes_per_token": 5.49, "uniform_bpb": 1.457, "unigram_bpb": 1.457, "m2_25m_bpb": 1.46},
    "ac-v65k": {"bytes_per_token": 10.98, "m2_25m_bpb": 1.46},
    "staticac-v256": {"bytes_per_token": 1.73, "uniform_bpb": 4.624, "unigram_bpb": 4.624,
                      "m2_25m_bpb": 4.61},
    "staticac-v65k": {"bytes_per_token": 3.46, "m2_25m_bpb": 4.61},
    "gzip-v256": {"bytes_per_token": 2.23, "uniform_bpb": 3.587, "unigram_bpb": 3.586, "m2_25m_bpb": 2.34},
    "gzip-v65k": {"bytes_per_token": 4.47, "m2_25m_bpb": 2.92},
    "equalinfo-b16-v256": {"bytes_per_token": 2.66, "uniform_bpb": 3.008, "unigram_bpb": 2.976,
                           "m2_25m_bpb": 1.47},
    "equalinfo-b16-v65k": {"bytes_per_token": 5.31, "m2_25m_bpb": 1.25},
    "equalinfo-b32-v256": {"bytes_per_token": 3.49, "uniform_bpb": 2.292, "unigram_bpb": 2.285},
    "equalinfo-b32-v65k": {"bytes_per_token": 6.97, "m2_25m_bpb": 1.95},
    "equalinfo-b64-v256": {"bytes_per_token": 4.16, "uniform_bpb": 1.923, "unigram_bpb": 1.921},
    "equalinfo-b64-v65k": {"bytes_per_token": 8.33, "m2_25m_bpb": 1.82},
    "equalinfo-b128-v256": {"bytes_per_token": 4.61, "uniform_bpb": 1.735, "unigram_bpb": 1.735},
    "equalinfo-b128-v65k": {"bytes_per_token": 9.22, "m2_25m_bpb": 1.70},
}
PAPER_M1_BPB = 1.457            # the paper's M1 ("3m") on C4 validation
PAPER_M1_FLOPS_PER_BYTE = 6.0e6
PAPER_M2_25M_PARAMS = 25_165_824  # 6 x (4*512^2 + 3*512*2048), norms not counted


def paper_flops_per_byte(method: str) -> float | None:
    """The paper's inference FLOPs/byte for M2 25m (2 N / bytes-per-token + 6.0M for AC methods)."""
    p = PAPER.get(method, {})  # sweep runs ("bytes@m2-cpu-m") have no paper point
    if "bytes_per_token" not in p:
        return None
    f = 2.0 * PAPER_M2_25M_PARAMS / p["bytes_per_token"]
    return f + (PAPER_M1_FLOPS_PER_BYTE if parse_method(method).uses_m1 else 0.0)
