"""What every tokenizer's interface shares, whatever implements it (the C++ core through
eqinfo.tokenizers, SentencePiece through eqinfo.sentencepiece_method): the interface itself
(MethodTokenizer, for type checkers), the decode result and its issue flags, the conversion of
documents and token ids at the boundary, and the fingerprint check of a rebuilt tokenizer.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Protocol, Sequence, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    from eqinfo.registry import Method


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


TOKEN_LIMIT = 1 << 16  # token ids are uint16 at the boundary: [0, 2^16)


def as_tokens(tokens, vocab_size: int | None = None) -> np.ndarray:
    """Token ids as a contiguous 1-D uint16 array; ValueError for what cannot be token ids.

    Values >= vocab_size but < 2^16 are allowed through: decode reports them as INVALID_TOKEN
    (decode is total, M2 may generate anything). vocab_size only words the error message.
    """
    a = np.asarray(tokens)
    if a.ndim != 1:
        raise ValueError(f"tokens must be a one-dimensional sequence, got shape {a.shape}")
    if a.size == 0:
        return np.zeros(0, dtype=np.uint16)
    # One message for every kind of wrong value (floats, bools, strings, negatives, >= 2^16):
    # the rule, then what was given.
    rule = "tokens must be integers in [0, 2^16)"
    if vocab_size is not None and vocab_size < TOKEN_LIMIT:
        rule += f" (this tokenizer's ids are [0, {vocab_size}); larger ones decode as INVALID_TOKEN)"
    if a.dtype.kind not in "iu":
        raise ValueError(f"{rule}, got dtype {a.dtype}")
    if a.dtype != np.uint16 and (int(a.min()) < 0 or int(a.max()) >= TOKEN_LIMIT):
        raise ValueError(f"{rule}, got values in [{int(a.min())}, {int(a.max())}]")
    return np.ascontiguousarray(a, dtype=np.uint16)


def split_flat(flat: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    """Per-document views of tokens stored back to back (offsets has n + 1 entries)."""
    return [flat[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


@runtime_checkable
class MethodTokenizer(Protocol):
    """What every method's tokenizer offers (eqinfo.tokenizers.Tokenizer, SentencePieceTokenizer):
    the type to annotate with when any method will do."""

    @property
    def spec(self) -> Method: ...
    @property
    def name(self) -> str: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def model_hash(self) -> str | None: ...
    @property
    def eos_token_id(self) -> int | None: ...
    def encode(self, text: str | bytes) -> np.ndarray: ...
    def encode_batch(self, texts: Iterable[str | bytes], threads: int = 1) -> list[np.ndarray]: ...
    def encode_batch_flat(self, texts: Iterable[str | bytes],
                          threads: int = 1) -> tuple[np.ndarray, np.ndarray]: ...
    def decode(self, tokens: npt.ArrayLike) -> DecodeResult: ...
    def decode_batch(self, streams: Sequence[npt.ArrayLike], threads: int = 1) -> list[DecodeResult]: ...


class ModelMismatchError(ValueError):
    """A model file whose fingerprint is not the one recorded (a pickle, a saved HF tokenizer)."""


def check_fingerprint(path: str | Path, actual: str | None, expected: str | None, recorded_by: str) -> None:
    """Refuse a model file that is not the one `recorded_by` was made with, naming both
    fingerprints: tokens made with one model decode to garbage with another."""
    if expected is not None and actual != expected:
        raise ModelMismatchError(f"{path}: model fingerprint {actual}, but {recorded_by} was made with "
                                 f"fingerprint {expected} (another or a retrained model): pass the model "
                                 "file it was made with")
