"""Every tokenization method of the experiment behind one interface.

    tok = get_tokenizer("equalinfo-b16-v65k")      # bundled M1
    ids = tok.encode("Hello, world.")             # np.uint16, EOS appended
    tok.decode(ids).documents                     # [b"Hello, world."]
    tok.encode_batch(texts, threads=2)            # same result for any thread count

The registry `METHODS` names each method as the paper does and maps it to settings of the C++
run-time factory (include/eqinfo/tokenizer_factory.hpp): the factory method, window bits b,
token bits N (v = 2^N) and which model drives the coder. SentencePiece is the one method not in
the C++ core (eqinfo.sentencepiece_method) but has the same interface.

Models (defaults, relative to the repository; see eqinfo.resources):
  M1      models/m1-3m.safetensors       the byte-level transformer; AC and EqualInfoAC
  static  models/static_en_train.json    order-0 byte counts of the train split; StaticAC
Pass `m1=` / `static=` paths to use others; a method ignores the models it does not use.

The C++ extension (`_eqinfo_core`) is imported on first use, not when `eqinfo` is imported, so
the torch-only parts of the package (M1 training) work without a build.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from eqinfo import resources


@dataclass(frozen=True)
class MethodSpec:
    """One method of the experiment: what the C++ factory needs to build it."""
    name: str
    method: str               # factory method: bytes, gzip, ac, staticac, equalinfo; or sentencepiece
    N: int | None = None      # token bits (vocabulary 2^N); None for bytes and sentencepiece
    b: int | None = None      # Equal-Info window bits; None for other methods
    model: str | None = None  # "m1", "static", "sentencepiece" or None (no model)

    @property
    def uses_m1(self) -> bool:
        return self.model == "m1"


def _registry() -> dict[str, MethodSpec]:
    v = {"v256": 8, "v65k": 16}
    specs = [MethodSpec("bytes", "bytes"),
             MethodSpec("sentencepiece", "sentencepiece", model="sentencepiece")]
    for vname, n in v.items():
        specs.append(MethodSpec(f"ac-{vname}", "ac", N=n, model="m1"))
        specs.append(MethodSpec(f"staticac-{vname}", "staticac", N=n, model="static"))
        # The paper's GZip: zlib level 9 with gzip framing, one stream per document.
        specs.append(MethodSpec(f"gzip-{vname}", "gzip", N=n))
    for b in (16, 24, 32, 64, 128):
        for vname, n in v.items():
            specs.append(MethodSpec(f"equalinfo-b{b}-{vname}", "equalinfo", N=n, b=b, model="m1"))
    return {s.name: s for s in specs}


METHODS: dict[str, MethodSpec] = _registry()


def method_spec(name: str) -> MethodSpec:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}") from None


class Issue(enum.IntFlag):
    """How a decoded stream differs from anything an encoder writes (decode_result.hpp)."""
    UNTERMINATED_DOCUMENT = 1 << 0  # the last document has no EOS; its bytes are still returned
    NONZERO_PADDING = 1 << 1        # bits after the last document are not all zero
    EXTRA_TOKENS = 1 << 2           # at least one whole token more than an encoder writes
    INVALID_TOKEN = 1 << 3          # a token outside the vocabulary; decoding stopped before it
    CORRUPT_STREAM = 1 << 4         # the method's own format is broken (deflate error)


@dataclass
class DecodeResult:
    """What every tokenizer's decode returns. decode never raises on token values: M2 may
    generate anything, and what could be recovered is returned with flags saying what was wrong."""
    documents: list[bytes] = field(default_factory=list)  # EOS not included; bytes, not str
    issues: Issue = Issue(0)
    windows: int = 0  # Equal-Info windows decoded (0 for other methods)

    @property
    def ok(self) -> bool:
        return self.issues == 0

    def describe(self) -> str:
        """The issues in words (the same words as the C++ DecodeResult::describe)."""
        return "ok" if self.ok else ", ".join(text for flag, text in _ISSUE_TEXT.items() if flag in self.issues)


_ISSUE_TEXT = {Issue.UNTERMINATED_DOCUMENT: "unterminated final document",
               Issue.NONZERO_PADDING: "non-zero padding bits",
               Issue.EXTRA_TOKENS: "extra tokens after the last document",
               Issue.INVALID_TOKEN: "token value out of range",
               Issue.CORRUPT_STREAM: "corrupt stream"}


def as_bytes(text: str | bytes) -> bytes:
    """A document as the tokenizers see it: UTF-8 bytes."""
    if isinstance(text, str):
        return text.encode("utf-8")
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text)
    raise TypeError(f"a document must be str or bytes, not {type(text).__name__}")


def as_tokens(tokens) -> np.ndarray:
    """Token ids as a contiguous 1-D uint16 array; ValueError for what cannot be token ids.

    Values >= vocab_size but < 2^16 are allowed through: decode reports them as INVALID_TOKEN.
    """
    a = np.asarray(tokens)
    if a.ndim != 1:
        raise ValueError(f"tokens must be one-dimensional, got shape {a.shape}")
    if a.size == 0:
        return np.zeros(0, dtype=np.uint16)
    if a.dtype.kind not in "iu":
        raise ValueError(f"tokens must be integers, got dtype {a.dtype}")
    if a.dtype != np.uint16 and (int(a.min()) < 0 or int(a.max()) > 0xFFFF):
        raise ValueError(f"token values must be in [0, 65535], got [{int(a.min())}, {int(a.max())}]")
    return np.ascontiguousarray(a, dtype=np.uint16)


def _core():
    try:
        import _eqinfo_core
    except ImportError as e:
        raise ImportError("the eqinfo C++ extension (_eqinfo_core) is not installed: run "
                          "`pip install .` in the repository") from e
    return _eqinfo_core


def _from_core(r) -> DecodeResult:
    return DecodeResult(list(r.documents), Issue(r.issues), r.windows)


def split_flat(flat: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    """Per-document views of tokens stored back to back (offsets has n + 1 entries)."""
    return [flat[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


class Tokenizer:
    """A method of the C++ core (every method except SentencePiece).

    threads in the batch calls = documents tokenized in parallel (C++ threads, GIL released);
    the tokens do not depend on it. model_threads splits one M1 forward over threads (also
    token-neutral; useful for decoding a single long stream).
    """

    def __init__(self, spec: MethodSpec | str, *, m1: str | Path | None = None,
                 static: str | Path | None = None, token_bits: int | None = None,
                 kernel: str = "simd", model_threads: int = 1):
        spec = method_spec(spec) if isinstance(spec, str) else spec
        if spec.method == "sentencepiece":
            raise ValueError("sentencepiece is not a C++ method: use get_tokenizer('sentencepiece')")
        self.spec = spec
        self.model_path: Path | None = None
        model = "uniform"
        if spec.model == "m1":
            self.model_path = Path(m1) if m1 is not None else resources.repo_path(resources.DEFAULT_M1)
            model = f"m1:{self.model_path}"
        elif spec.model == "static":
            self.model_path = Path(static) if static is not None else resources.repo_path(resources.DEFAULT_STATIC)
            model = f"static:{self.model_path}"
        # token_bits overrides N: compress encodes the M1 methods once at N = 1 (the bare
        # bitstream) and chunks it for each N (eqinfo.compress).
        n = token_bits if token_bits is not None else (spec.N or 8)
        self._core = _core().CoreTokenizer(spec.method, window_bits=spec.b or 16, token_bits=n,
                                           model=model, kernel=kernel, model_threads=model_threads)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def vocab_size(self) -> int:
        return self._core.vocab_size

    @property
    def token_bits(self) -> int:
        return self._core.token_bits

    @property
    def frequency_bits(self) -> int:
        return self._core.frequency_bits

    @property
    def model_hash(self) -> str | None:
        """The model's fingerprint (FNV-1a 64 of its behaviour, 16 hex digits); None without a
        model. Token streams made with one model decode only with the same fingerprint."""
        return f"{self._core.fingerprint:016x}" if self.spec.model else None

    def encode(self, text: str | bytes) -> np.ndarray:
        """One document -> uint16 tokens, EOS appended."""
        return self._core.encode(as_bytes(text))

    def encode_batch_flat(self, texts: Iterable[str | bytes], threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Documents -> (all tokens back to back, int64 offsets [n + 1])."""
        return self._core.encode_batch([as_bytes(t) for t in texts], threads)

    def encode_batch(self, texts: Iterable[str | bytes], threads: int = 1) -> list[np.ndarray]:
        """Documents -> one token array each, the same as encode() on each."""
        return split_flat(*self.encode_batch_flat(texts, threads))

    def decode(self, tokens) -> DecodeResult:
        return _from_core(self._core.decode(as_tokens(tokens)))

    def decode_batch(self, streams: Sequence, threads: int = 1) -> list[DecodeResult]:
        return [_from_core(r) for r in self._core.decode_batch([as_tokens(s) for s in streams], threads)]

    def __repr__(self) -> str:
        model = f", model={self.model_path}" if self.model_path else ""
        return f"Tokenizer({self.name!r}, vocab_size={self.vocab_size}{model})"


def get_tokenizer(name: str, *, m1: str | Path | None = None, static: str | Path | None = None,
                  sentencepiece: str | Path | None = None, **kwargs):
    """The tokenizer of a registered method, with the default models unless paths are given."""
    spec = method_spec(name)
    if spec.method == "sentencepiece":
        from eqinfo.sentencepiece_method import SentencePieceTokenizer
        return SentencePieceTokenizer(sentencepiece)
    return Tokenizer(spec, m1=m1, static=static, **kwargs)
