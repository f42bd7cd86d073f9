"""The method registry: every tokenization method, one row each, and the families they come from.

Python is the source of truth. Every consumer reads these rows: the tokenizers (which C++ factory
method or Python tokenizer, which model), compression, the experiment (run keys, cost estimate,
report labels and colours, the KL analysis), the M1 model card and generation.

    FAMILIES["equalinfo"]                 # Family: label, C++ factory method, model kind, colour, ...
    METHODS["equalinfo-b16-v65k"]         # Method: family x (b, N); name, label, window geometry
    lookup("equalinfo-b16-v65k").label    # "EqualInfoAC[b16, v65k]"

A method is a family with its window bits b (Equal-Info only) and token bits N (vocabulary 2^N;
none for Bytes and SentencePiece, which have their own vocabulary). Its name and label follow
from those: `equalinfo-b16-v65k`, "EqualInfoAC[b16, v65k]". METHODS is generated from each
family's `windows` x `token_bits`, in the order of the experiment's matrix and report.

Adding a method is one row: `add(Method(FAMILIES["equalinfo"], b=48, N=8))` at run time, or its b
or N in the family's row here. The C++ factory must support it (tokenizer_factory.hpp:
kSupportedWindowBits, N in [1, 16]). Adding a family is one Family row plus its implementation: a
C++ factory method (kMethodNames; python/tests/test_registry.py checks every row's against the
extension) or, without one, a Python tokenizer chosen in eqinfo.tokenizers.get_tokenizer.

The paper's numbers are in eqinfo.paper (one file); each method's row reads them as `paper`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

from eqinfo import paper


@dataclass(frozen=True, eq=False)  # a family is one object; rows compare by identity
class Family:
    name: str                   # its methods' names start with it: "equalinfo"
    label: str                  # the paper's name: "EqualInfoAC"
    factory: str | None         # the C++ make_tokenizer method (kMethodNames); None: a Python tokenizer
    model: str | None           # what drives the coder: "m1", "static", "sentencepiece"; None: no model
    color: str                  # matplotlib colour of its methods in every plot of the report
    # Every window (Equal-Info) or token (Bytes, SentencePiece) decodes on its own, so the tokens
    # of a text's prefix are a prefix of the text's tokens (generation continues a prompt). AC,
    # StaticAC and GZip code a document as one codeword: False.
    self_delimiting: bool
    # Its tokens are bits of a code (Bytes: of the UTF-8 text itself, the reference) that the KL
    # analysis (paper Fig. 11) measures; SentencePiece ids are not a bit stream.
    bit_stream: bool
    windows: tuple[int | None, ...] = (None,)     # b of its methods; (None,): no windows
    token_bits: tuple[int | None, ...] = (None,)  # N of its methods; (None,): its own vocabulary
    # For the cost estimate (eqinfo.experiment.scales.estimate): bytes/token at N = 8 (a 16-bit
    # token holds twice as many bytes) by window bits (None: no windows), measured at the small
    # scale (its validation shards, 99,839 bytes; M1 methods with the bundled m1-v2).
    measured_bytes_per_token: Mapping[int | None, float] = field(default_factory=dict)
    # M1 compression speed per core, bytes/s, for the cost estimate (one pass serves every N);
    # None: negligible next to M2 training (no M1).
    compress_bytes_per_s: float | None = None
    # The id of the token that ends every document, where EOS is a token of its own (Bytes: 256,
    # SentencePiece: 1). None where EOS is coded inside the stream (AC, StaticAC, GZip,
    # EqualInfoAC): no id means "end of document" there (docs/huggingface.md, "EOS and padding").
    eos_token_id: int | None = None

    @property
    def windowed(self) -> bool:
        return self.windows != (None,)


def vocab_name(token_bits: int) -> str:
    """The paper's name of the vocabulary 2^N: v256, v65k (65,536 read as thousands)."""
    v = 1 << token_bits
    return f"v{v}" if v < 1000 else f"v{v // 1000}k"


@dataclass(frozen=True)
class Method:
    """One method: a family with its window bits b and token bits N."""
    family: Family
    b: int | None = None        # Equal-Info window bits; None for other families
    N: int | None = None        # token bits (vocabulary 2^N); None for Bytes and SentencePiece

    def __post_init__(self):
        f = self.family
        if f.windowed != (self.b is not None):
            raise ValueError(f"{f.name}: window bits b {'needed' if f.windowed else 'not used'}, got {self.b}")
        if (f.token_bits != (None,)) != (self.N is not None):
            raise ValueError(f"{f.name}: token bits N {'not used' if self.N else 'needed'}, got {self.N}")
        if self.N is not None and not 1 <= self.N <= 16:
            raise ValueError(f"{f.name}: token bits N must be in [1, 16], got {self.N}")
        if self.b is not None and self.N is not None and self.N > self.b:
            raise ValueError(f"{f.name}: token bits N = {self.N} exceed the window bits b = {self.b}")

    @property
    def name(self) -> str:
        """equalinfo-b16-v65k, gzip-v256, bytes."""
        return "-".join(self._parts(self.family.name))

    @property
    def label(self) -> str:
        """The paper's style: EqualInfoAC[b16, v65k], GZip[v256], Bytes."""
        parts = self._parts()
        return f"{self.family.label}[{', '.join(parts)}]" if parts else self.family.label

    def _parts(self, *head: str) -> list[str]:
        return [*head] + ([f"b{self.b}"] if self.b is not None else []) + \
            ([vocab_name(self.N)] if self.N is not None else [])

    @property
    def factory(self) -> str | None:
        return self.family.factory

    @property
    def model(self) -> str | None:
        return self.family.model

    @property
    def uses_m1(self) -> bool:
        """M1 runs at encode and decode (AC, EqualInfoAC): its FLOPs count at inference."""
        return self.model == "m1"

    @property
    def color(self) -> str:
        return self.family.color

    @property
    def self_delimiting(self) -> bool:
        return self.family.self_delimiting

    @property
    def bit_stream(self) -> bool:
        return self.family.bit_stream

    @property
    def eos_token_id(self) -> int | None:
        return self.family.eos_token_id

    @property
    def window_tokens(self) -> int | None:
        """Tokens per window when N divides b (paper Fig. 10's positions), else None."""
        if self.b is None or self.N is None or self.b % self.N:
            return None
        return self.b // self.N

    @property
    def group_tokens(self) -> int:
        """Tokens of the smallest whole number of windows (1 without windows): lcm(b, N) / N
        tokens hold exactly lcm(b, N) / b windows (b16-v65k 1, b16-v256 2, b24-v65k 3)."""
        return 1 if self.b is None or self.N is None else math.lcm(self.b, self.N) // self.N

    @property
    def measured_bytes_per_token(self) -> float | None:
        """The cost estimate's bytes/token (Family.measured_bytes_per_token); None: not measured."""
        at_8_bits = self.family.measured_bytes_per_token.get(self.b)
        if at_8_bits is None:
            return None
        return at_8_bits * (self.N / 8 if self.N else 1)

    @property
    def paper(self) -> Mapping[str, float]:
        """The paper's numbers for this method (eqinfo.paper.BY_METHOD); {} if it gives none."""
        return paper.BY_METHOD.get(self.name, {})


_BOTH_VOCABULARIES = (8, 16)  # v256 and v65k, the paper's two
FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("bytes", "Bytes", factory="bytes", model=None, color="k", self_delimiting=True,
           bit_stream=True, measured_bytes_per_token={None: 1.0}, eos_token_id=256),
    Family("sentencepiece", "SentencePiece", factory=None, model="sentencepiece", color="tab:gray",
           self_delimiting=True, bit_stream=False, measured_bytes_per_token={None: 3.07},
           eos_token_id=1),  # sentencepiece_method.EOS_ID
    # AC compresses whole documents with M1: quadratic in their length with m1-3m (format v1, ~0.3
    # KB/s on 12 KB documents), linear with the bundled m1-v2 (a 256-position span): 2.3 KB/s per
    # worker on the validation split (benchmarks/cluster_identity.py, docs/cluster.md; loaded
    # 2-core machine), the rate below.
    Family("ac", "AC", factory="ac", model="m1", color="tab:red", self_delimiting=False,
           bit_stream=True, token_bits=_BOTH_VOCABULARIES, measured_bytes_per_token={None: 4.36},
           compress_bytes_per_s=2_300),
    Family("staticac", "StaticAC", factory="staticac", model="static", color="tab:purple",
           self_delimiting=False, bit_stream=True, token_bits=_BOTH_VOCABULARIES,
           measured_bytes_per_token={None: 1.61}),
    # The paper's GZip: zlib level 9 with gzip framing, one stream per document.
    Family("gzip", "GZip", factory="gzip", model=None, color="tab:brown", self_delimiting=False,
           bit_stream=True, token_bits=_BOTH_VOCABULARIES, measured_bytes_per_token={None: 2.48}),
    # Compression: the lockstep corpus encode, ~21 KB/s per core with m1-v2 on the 2-core AVX2
    # machine of docs/performance.md ("The look-ahead schedule"; 47.5 KB/s on the AVX-512 Zen 5
    # of earlier sessions), about 20 KB/s as eqinfo-compress sees it on a shared machine.
    Family("equalinfo", "EqualInfoAC", factory="equalinfo", model="m1", color="tab:blue",
           self_delimiting=True, bit_stream=True, windows=(16, 24, 32, 64, 128),
           token_bits=_BOTH_VOCABULARIES,
           measured_bytes_per_token={16: 1.87, 24: 2.46, 32: 2.77, 64: 3.29, 128: 3.64},
           compress_bytes_per_s=20_000),
)}


def methods_of(family: Family) -> list[Method]:
    """The family's methods: its windows x its token bits, smallest first."""
    return [Method(family, b, n) for b in family.windows for n in family.token_bits]


# Live: a row added with add() is seen by every consumer, which looks names up here on each call
# (a scale's default matrix, experiment.scales.Scale.methods, is the registry as imported).
METHODS: dict[str, Method] = {m.name: m for f in FAMILIES.values() for m in methods_of(f)}


def add(method: Method) -> Method:
    """Register a method at run time (after the generated ones); its name must be new."""
    if method.name in METHODS:
        raise ValueError(f"method {method.name!r} is already registered")
    METHODS[method.name] = method
    return method


def lookup(name: str) -> Method:
    """The registered method of that name; ValueError naming the known ones otherwise."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}") from None


def find(factory: str, b: int | None, N: int | None) -> Method | None:
    """The registered method that the C++ factory's settings (method, b, N) make, if any."""
    return next((m for m in METHODS.values() if (m.factory, m.b, m.N) == (factory, b, N)), None)
