"""Flat token files for any trainer: a token stream as raw little-endian uint16 (`.bin`), the
nanoGPT layout, plus a JSON sidecar (`<file>.bin.json`) saying what the tokens are.

    eqinfo-export-bin runs/shards/train/bytes.shard -o data/bytes/train.bin
    export_shard("runs/shards/val/bytes.shard", "data/bytes/val.bin")
    tokens = open_flat("data/bytes/train.bin")        # np.memmap, uint16 [n_tokens], read-only
    # what nanoGPT's get_batch does with it:
    #   data = np.memmap("train.bin", dtype=np.uint16, mode="r"); x = data[i:i + block_size]

The `.bin` holds nothing but the tokens (2 * n_tokens bytes, no header), so `np.memmap(path,
dtype=np.uint16, mode="r")` reads it on any little-endian machine; `open_flat` reads it as "<u2"
everywhere and checks the file against its sidecar first. The tokens are the shard's token
stream: every document's tokens back to back in corpus order, each document's EOS included
(eqinfo.shards; for the methods whose EOS is coded inside the stream it is not a separate id).

Sidecar fields: format ("eqinfo-flat-tokens"), version (1), dtype ("uint16"), byteorder
("little"), n_tokens, vocab_size (every token is < vocab_size; nanoGPT's meta.pkl vocab_size),
documents and bytes_in (text bytes, EOS not counted: bits/byte = loss in bits * n_tokens /
bytes_in), sha256 of the .bin, and `source`: the shard's own sidecar (method, model hash, split,
corpus, ...). Document boundaries, when a trainer wants them: `doc_token_offsets_file`, an .npy
of int64 [documents + 1] written next to the .bin (`<file>.offsets.npy`).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .atomic_files import replacing, write_bytes_atomic, write_text_atomic

FORMAT = "eqinfo-flat-tokens"
VERSION = 1
DTYPE = np.dtype("<u2")


class FlatTokensError(ValueError):
    """A flat token file that does not match its sidecar."""


def sidecar_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".json")


def offsets_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.stem + ".offsets.npy")


def write_flat(path: str | Path, documents: Sequence[np.ndarray] | np.ndarray, vocab_size: int,
               meta: dict | None = None, doc_text_bytes: Iterable[int] | None = None) -> Path:
    """Write a token stream as `path` (.bin) + sidecar + document offsets, atomically.

    documents: one token array per document, or a single flat stream (one "document").
    meta: extra sidecar fields (e.g. source=the shard's sidecar).
    """
    path = Path(path)
    if not 1 <= vocab_size <= 1 << 16:
        raise ValueError(f"vocab_size must be in [1, 65536] for uint16 tokens, got {vocab_size}")
    docs = [np.asarray(documents)] if isinstance(documents, np.ndarray) else [np.asarray(d) for d in documents]
    lengths = np.array([len(d) for d in docs], dtype=np.int64)
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    tokens = np.concatenate(docs) if docs else np.zeros(0, dtype=np.int64)
    if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab_size):
        raise ValueError(f"token {int(tokens.max())} outside the vocabulary [0, {vocab_size})")
    raw = tokens.astype(DTYPE).tobytes()
    side = dict(meta or {})
    side.update(format=FORMAT, version=VERSION, dtype="uint16", byteorder="little",
                n_tokens=int(tokens.size), vocab_size=int(vocab_size), documents=len(docs),
                sha256=hashlib.sha256(raw).hexdigest(), doc_token_offsets_file=offsets_path(path).name)
    if doc_text_bytes is not None:
        side["bytes_in"] = int(np.sum(np.fromiter(doc_text_bytes, dtype=np.int64)))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, raw)
    with replacing(offsets_path(path)) as tmp, open(tmp, "wb") as f:
        np.save(f, offsets)
    write_text_atomic(sidecar_path(path), json.dumps(side, indent=2, sort_keys=True) + "\n")
    return path


def export_shard(shard: str | Path, out: str | Path) -> Path:
    """A token shard (eqinfo.shards) as a flat .bin + sidecar; the shard's sidecar is `source`."""
    from eqinfo.shards import read_shard
    sh = read_shard(shard)
    docs = [sh.document(j) for j in range(sh.n_docs)]
    source = dict(sh.meta, shard=str(Path(shard)))
    return write_flat(out, docs, sh.vocab_size, {"source": source}, sh.doc_text_bytes)


def read_meta(path: str | Path) -> dict:
    side = sidecar_path(path)
    if not side.exists():
        raise FlatTokensError(f"{path}: no sidecar {side.name}")
    meta = json.loads(side.read_text())
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise FlatTokensError(f"{side}: not an {FORMAT} v{VERSION} sidecar")
    return meta


def open_flat(path: str | Path, check: bool = False) -> np.memmap | np.ndarray:
    """The tokens of a .bin as a read-only np.memmap (uint16 [n_tokens]), after checking its
    size against the sidecar; check=True also verifies the sha256 and the vocabulary bound."""
    path = Path(path)
    meta = read_meta(path)
    size, n = path.stat().st_size, meta["n_tokens"]
    if size != 2 * n:
        raise FlatTokensError(f"{path}: {size} bytes, the sidecar says {n} uint16 tokens ({2 * n} bytes)")
    if check:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        if h.hexdigest() != meta["sha256"]:
            raise FlatTokensError(f"{path}: sha256 differs from the sidecar's: damaged")
    tokens = np.memmap(path, dtype=DTYPE, mode="r", shape=(n,)) if n else np.zeros(0, dtype=DTYPE)
    if check and n and int(tokens.max()) >= meta["vocab_size"]:
        raise FlatTokensError(f"{path}: token {int(tokens.max())} >= vocab_size {meta['vocab_size']}")
    return tokens


def doc_offsets(path: str | Path) -> np.ndarray:
    """int64 [documents + 1]: document j is open_flat(path)[off[j]:off[j + 1]]."""
    return np.load(offsets_path(path))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="eqinfo-export-bin",
        description="Export token shards as flat little-endian uint16 .bin files (nanoGPT layout) "
        "with a JSON sidecar; np.memmap(path, dtype=np.uint16, mode='r') reads them.")
    ap.add_argument("shards", nargs="+", type=Path, help="token shards (<split>/<method>.shard)")
    ap.add_argument("-o", "--out", type=Path, required=True,
                    help="output .bin (one shard) or directory (several: <dir>/<split>.bin, or "
                         "<dir>/<split>_<method>.bin when methods differ)")
    ap.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    a = ap.parse_args(argv)
    from eqinfo.shards import ShardError, read_shard
    try:
        metas = [read_shard(s, check_tokens=False).meta for s in a.shards]
    except (ShardError, OSError) as e:
        ap.exit(2, f"eqinfo-export-bin: error: {e}\n")
    if len(a.shards) == 1 and a.out.suffix == ".bin":
        targets = [a.out]
    else:
        one_method = len({m.get("method") for m in metas}) == 1
        names = [(f"{m.get('split') or s.stem}" if one_method else f"{m.get('split')}_{m.get('method') or s.stem}")
                 for s, m in zip(a.shards, metas)]
        if len(set(names)) != len(names):
            ap.exit(2, f"eqinfo-export-bin: error: outputs would collide: {names}\n")
        targets = [a.out / f"{n}.bin" for n in names]
    for t in targets:
        if t.exists() and not a.force:
            ap.exit(2, f"eqinfo-export-bin: error: {t} exists (-f overwrites)\n")
    for s, t in zip(a.shards, targets):
        export_shard(s, t)
        m = read_meta(t)
        print(f"{t}: {m['n_tokens']:,} tokens, vocab {m['vocab_size']:,}, {m['documents']:,} documents",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
