"""What every tokenizer's interface shares, whatever implements it (the C++ core through
eqinfo.tokenizers, SentencePiece through eqinfo.sentencepiece_method): the decode result and its
issue flags, and the conversion of documents and token ids at the boundary.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


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


def split_flat(flat: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    """Per-document views of tokens stored back to back (offsets has n + 1 entries)."""
    return [flat[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
