"""Durable files for cluster runs: atomic writes, sha256, and EQSH shards written in pieces.

Every file a unit or a merge produces goes through write_atomic (eqinfo.atomic_files, the
package's one atomic writer): temporary file named with host and pid, fsync, rename, fsync of the
directory. A reader therefore sees either the old file or the whole new one, and after a crash (of
the process or of the machine) a file that exists is complete.

write_shard_pieces writes exactly the bytes of eqinfo.shards.write_shard (same header, tables,
tokens and sidecar JSON), but from an iterator of shard pieces, so that a merge of many units
never holds more than one unit in memory. python/tests/test_cluster_units.py compares the two.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterator

import numpy as np

from eqinfo import shards
from eqinfo import atomic_files

COPY_BLOCK_TOKENS = 1 << 22  # tokens copied per write when merging (8 MB)


# The package's one atomic writer (eqinfo.atomic_files), under the names this module has always had.
fsync_dir = atomic_files.fsync_dir
write_atomic = atomic_files.write_atomic


def write_json_atomic(path: str | Path, obj) -> str:
    return write_atomic(path, [(json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()])


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Piece:
    """A run of documents of a shard: their token offsets (from 0), text bytes and tokens."""

    def __init__(self, offsets: np.ndarray, doc_text_bytes: np.ndarray, tokens: np.ndarray):
        self.offsets = np.asarray(offsets, dtype=np.int64)   # [n + 1], offsets[0] == 0
        self.doc_text_bytes = np.asarray(doc_text_bytes, dtype=np.int64)
        self.tokens = tokens                                 # uint16 [offsets[-1]], may be a memmap

    @classmethod
    def of_documents(cls, documents, doc_text_bytes) -> "Piece":
        lengths = np.fromiter((len(d) for d in documents), dtype=np.int64, count=len(documents))
        offsets = np.zeros(len(documents) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        tokens = (np.concatenate([np.asarray(d, dtype=np.uint16) for d in documents]) if len(documents)
                  else np.zeros(0, dtype=np.uint16))
        return cls(offsets, doc_text_bytes, tokens)

    @classmethod
    def of_shard(cls, path: str | Path) -> "Piece":
        s = shards.read_shard(path, check_tokens=False)
        return cls(s.doc_token_offsets, s.doc_text_bytes, s.tokens)

    @property
    def n_docs(self) -> int:
        return len(self.doc_text_bytes)

    @property
    def n_tokens(self) -> int:
        return int(self.offsets[-1])


def sidecar_meta(meta: dict, vocab_size: int, n_docs: int, bytes_in: int, n_tokens: int) -> dict:
    """The sidecar of eqinfo.shards.write_shard: meta plus the counts it adds from the data."""
    meta = dict(meta)
    meta.update(format="eqinfo-shard", version=shards.VERSION, vocab_size=int(vocab_size),
                documents=int(n_docs), bytes_in=int(bytes_in), tokens_out=int(n_tokens))
    return meta


def write_shard_pieces(path: str | Path, pieces_factory, vocab_size: int, meta: dict,
                       sidecar_sha256: bool = False) -> tuple[dict, str]:
    """Write the shard made of the pieces (in order) and then its sidecar, atomically; returns
    (the sidecar's fields, the shard file's sha256). pieces_factory() yields the pieces afresh:
    called four times (counts, offsets, text bytes, tokens), so only one piece is in memory at a
    time. sidecar_sha256: record the shard's sha256 in its sidecar (unit records do; the merged
    shard's sidecar stays exactly today's, its sha256 is in the manifest)."""
    n_docs = n_tokens = bytes_in = 0
    max_token = -1
    for p in pieces_factory():
        n_docs, n_tokens, bytes_in = n_docs + p.n_docs, n_tokens + p.n_tokens, bytes_in + int(p.doc_text_bytes.sum())
        if p.n_tokens:
            max_token = max(max_token, int(np.asarray(p.tokens).max()))
    if max_token >= vocab_size:
        raise ValueError(f"token {max_token} outside the vocabulary [0, {vocab_size})")
    header = np.zeros((), dtype=shards._HEADER)
    header["magic"], header["version"], header["vocab_size"] = shards.MAGIC, shards.VERSION, vocab_size
    header["n_docs"], header["n_tokens"] = n_docs, n_tokens

    def chunks() -> Iterator[bytes]:
        yield header.tobytes()
        base = 0
        for p in pieces_factory():
            yield (p.offsets[:-1] + base).astype("<u8").tobytes()
            base += p.n_tokens
        yield np.array([base], dtype="<u8").tobytes()
        for p in pieces_factory():
            yield p.doc_text_bytes.astype("<u8").tobytes()
        for p in pieces_factory():
            for lo in range(0, p.n_tokens, COPY_BLOCK_TOKENS):
                yield np.asarray(p.tokens[lo:lo + COPY_BLOCK_TOKENS]).astype("<u2").tobytes()

    sha = write_atomic(path, chunks())
    side = sidecar_meta(meta, vocab_size, n_docs, bytes_in, n_tokens)
    if sidecar_sha256:
        side["sha256"] = sha
    write_json_atomic(shards.sidecar_path(path), side)
    return side, sha
