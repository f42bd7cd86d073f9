"""Token shards: one split of the corpus tokenized by one method, as M2 reads it.

A shard is a binary file plus a JSON sidecar (`<shard>.json`). The binary holds the token stream
of every document, back to back in corpus order, plus per-document tables, so that both the
stream view (M2 training examples) and the document view (round trips, bits/byte over exactly
the validation text) are cheap. Layout (little-endian; docs/formats.md, "Token shards"):

    offset  size              field
    0       4                 magic b"EQSH"
    4       2                 version (1)
    6       2                 reserved, 0
    8       4                 vocab_size: every token is < vocab_size (2^N, 257 for Bytes, the
                              SentencePiece vocabulary size, ...)
    12      4                 reserved, 0
    16      8                 n_docs
    24      8                 n_tokens
    32      8 * (n_docs + 1)  doc_token_offsets: document j is tokens[off[j]:off[j+1]];
                              off[0] = 0, off[n_docs] = n_tokens, non-decreasing
    ..      8 * n_docs        doc_text_bytes: UTF-8 bytes of document j's text (EOS not counted)
    ..      2 * n_tokens      tokens, uint16

Each document's tokens are exactly what the method's `encode` gives for that document (EOS is
part of every document: the tokenizers append it), so a shard's documents decode one by one.
"Bytes in" for bits/byte is sum(doc_text_bytes): the text, not the EOS symbols, the same number
for every method of a split.

The sidecar carries what the binary does not: method, b, N, model and its hash, split, corpus
file and hash, counts (documents, bytes_in, tokens_out) and how it was made. `read_shard`
checks that the two agree.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .atomic_files import write_atomic, write_text_atomic

MAGIC = b"EQSH"
VERSION = 1
HEADER_SIZE = 32
_HEADER = np.dtype([("magic", "S4"), ("version", "<u2"), ("reserved0", "<u2"),
                    ("vocab_size", "<u4"), ("reserved1", "<u4"),
                    ("n_docs", "<u8"), ("n_tokens", "<u8")])
assert _HEADER.itemsize == HEADER_SIZE


class ShardError(ValueError):
    """A shard file that is damaged, of another version, or inconsistent with its sidecar."""


@dataclass
class Shard:
    """A loaded shard. `tokens` is a read-only memory map of the file (uint16 [n_tokens])."""
    path: Path
    vocab_size: int
    tokens: np.ndarray            # uint16 [n_tokens]
    doc_token_offsets: np.ndarray  # int64 [n_docs + 1]
    doc_text_bytes: np.ndarray     # int64 [n_docs]
    meta: dict = field(default_factory=dict)

    @property
    def n_docs(self) -> int:
        return len(self.doc_text_bytes)

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def text_bytes(self) -> int:
        """Bytes in: the UTF-8 text of every document, EOS not counted."""
        return int(self.doc_text_bytes.sum())

    @property
    def bytes_per_token(self) -> float:
        return self.text_bytes / max(1, self.n_tokens)

    def document(self, j: int) -> np.ndarray:
        return self.tokens[self.doc_token_offsets[j]:self.doc_token_offsets[j + 1]]

    def examples(self, seq_len: int = 512, seed: int = 0, shuffle: bool = True) -> np.ndarray:
        """Start offsets (int64 [n_examples]) of the fixed-length examples, as in the paper.

        The documents' tokens form one stream (documents concatenated in corpus order); it is
        cut into consecutive, non-overlapping examples of `seq_len` tokens, the incomplete tail
        dropped, and the examples are permuted by a generator seeded with `seed`. Same shard,
        seq_len and seed -> same examples in the same order, on every machine.
        """
        if seq_len < 1:
            raise ValueError(f"seq_len must be >= 1, got {seq_len}")
        starts = np.arange(self.n_tokens // seq_len, dtype=np.int64) * seq_len
        if shuffle:
            starts = starts[np.random.default_rng(seed).permutation(len(starts))]
        return starts


def sidecar_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".json")


def write_shard(path: str | Path, documents: Sequence[np.ndarray], doc_text_bytes: Sequence[int],
                vocab_size: int, meta: dict) -> Path:
    """Write a shard and its sidecar atomically and durably (eqinfo.atomic_files).

    documents: one uint16-compatible token array per document, in corpus order.
    meta: the sidecar's fields; the counts (documents, bytes_in, tokens_out, vocab_size) are
    added here from the data so they cannot disagree with it.
    """
    path = Path(path)
    if len(documents) != len(doc_text_bytes):
        raise ValueError(f"{len(documents)} documents but {len(doc_text_bytes)} byte counts")
    if not 1 <= vocab_size <= 1 << 16:
        raise ValueError(f"vocab_size must be in [1, 65536] for uint16 tokens, got {vocab_size}")
    lengths = np.fromiter((len(d) for d in documents), dtype=np.int64, count=len(documents))
    offsets = np.zeros(len(documents) + 1, dtype="<u8")
    np.cumsum(lengths, out=offsets[1:])
    tokens = (np.concatenate([np.asarray(d) for d in documents]) if len(documents)
              else np.zeros(0, dtype=np.int64))
    if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab_size):
        raise ValueError(f"token {int(tokens.max())} outside the vocabulary [0, {vocab_size})")
    header = np.zeros((), dtype=_HEADER)
    header["magic"], header["version"], header["vocab_size"] = MAGIC, VERSION, vocab_size
    header["n_docs"], header["n_tokens"] = len(documents), tokens.size

    meta = dict(meta)
    meta.update(format="eqinfo-shard", version=VERSION, vocab_size=int(vocab_size),
                documents=len(documents), bytes_in=int(np.sum(doc_text_bytes, dtype=np.int64)),
                tokens_out=int(tokens.size))
    # The shard first, then its sidecar: a sidecar never describes a shard that is not there.
    write_atomic(path, [header.tobytes(), offsets.tobytes(), np.asarray(doc_text_bytes, dtype="<u8").tobytes(),
                        tokens.astype("<u2").tobytes()])
    write_text_atomic(sidecar_path(path), json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return path


def read_shard(path: str | Path, check_tokens: bool = True) -> Shard:
    """Open a shard, validating the header, the tables, the file size and the sidecar.

    check_tokens scans every token once for `< vocab_size` (a corrupt token would otherwise
    index out of M2's embedding).
    """
    path = Path(path)
    size = path.stat().st_size
    if size < HEADER_SIZE:
        raise ShardError(f"{path}: {size} bytes, shorter than the {HEADER_SIZE}-byte header")
    header = np.fromfile(path, dtype=_HEADER, count=1)[0]
    if bytes(header["magic"]) != MAGIC:
        raise ShardError(f"{path}: not a token shard (magic {bytes(header['magic'])!r})")
    if int(header["version"]) != VERSION:
        raise ShardError(f"{path}: shard version {int(header['version'])}, this reader knows "
                         f"version {VERSION}")
    n_docs, n_tokens, vocab = int(header["n_docs"]), int(header["n_tokens"]), int(header["vocab_size"])
    expected = HEADER_SIZE + 8 * (n_docs + 1) + 8 * n_docs + 2 * n_tokens
    if size != expected:
        raise ShardError(f"{path}: {size} bytes, the header ({n_docs} documents, {n_tokens} "
                         f"tokens) implies {expected}: truncated or damaged")
    tables = np.fromfile(path, dtype="<u8", count=2 * n_docs + 1, offset=HEADER_SIZE)
    offsets = tables[:n_docs + 1].astype(np.int64)
    doc_bytes = tables[n_docs + 1:].astype(np.int64)
    if offsets[0] != 0 or offsets[-1] != n_tokens or np.any(np.diff(offsets) < 0):
        raise ShardError(f"{path}: document offsets are not a partition of the {n_tokens} tokens")
    tokens = np.memmap(path, dtype="<u2", mode="r", offset=expected - 2 * n_tokens,
                       shape=(n_tokens,)) if n_tokens else np.zeros(0, dtype="<u2")
    if check_tokens and n_tokens and int(tokens.max()) >= vocab:
        raise ShardError(f"{path}: token {int(tokens.max())} >= vocab_size {vocab}")
    side = sidecar_path(path)
    meta = json.loads(side.read_text()) if side.exists() else {}
    for key, actual in (("vocab_size", vocab), ("documents", n_docs), ("tokens_out", n_tokens),
                        ("bytes_in", int(doc_bytes.sum()))):
        if key in meta and meta[key] != actual:
            raise ShardError(f"{path}: sidecar says {key} = {meta[key]}, the shard has {actual}")
    return Shard(path, vocab, tokens, offsets, doc_bytes, meta)
