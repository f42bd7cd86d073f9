"""Sampled tokens -> text: the EOS count, the text shown for a sample, and Generation, the
per-sample report (docs/generation.md, "Odd and undecodable windows")."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eqinfo.registry import lookup
from eqinfo.tokenizers import DecodeResult, Issue

EOS_MARK = "<|eos|>"   # how an EOS (end of a document) is shown in Generation.text

_UNENDED = Issue.UNTERMINATED_DOCUMENT | Issue.CORRUPT_STREAM


def last_unended(result: DecodeResult) -> bool:
    """Whether the last document did not end with EOS: it ran out of tokens (unterminated), or
    the stream broke inside it (corrupt GZip: decode returns what inflated, then stops)."""
    return bool(result.documents) and bool(result.issues & _UNENDED)


def eos_count(result: DecodeResult) -> int:
    """EOS symbols decoded: every document but an unended last one ended with EOS."""
    return len(result.documents) - (1 if last_unended(result) else 0)


@dataclass
class Generation:
    """One sample, decoded."""
    method: str
    seed: int                  # the seed asked for
    sample: int                # which sample of that seed (0-based); see sampling.sample_seed
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

