"""Corpus access for every eqinfo experiment: documents, symbols, and THE FIXED SPLIT.

Corpus: `../shared/data/en_real_mix.jsonl.gz` relative to the repository root (override with the
env var EQINFO_DATA_DIR = the data directory, or pass a path). One JSON document per line; the
field `text` holds UTF-8 text. The data is never copied into the repository.

Symbols: the UTF-8 bytes 0..255 of each document's text, then EOS = 256 after every document.
Vocabulary 257. EOS doubles as BOS: the EOS that ends document i is the first input of document
i+1, and a context reset (e.g. at an Equal-Info window) starts from an EOS input too.

THE FIXED SPLIT (reused by every later experiment, do not change):
    the document on 0-based line index i of the file is VALIDATION iff i % 50 == 0, else TRAIN.
That is 2% of the documents, spread evenly over the file (which is ordered by source), so the
validation set covers every source. The same rule, per file, splits the Korean/Chinese file
`multilingual_ko_zh.jsonl.gz` (MULTILINGUAL_FILE; ordered by source too, Korean then Chinese:
22 Korean and 76 Chinese validation documents, docs/data.md). Its records carry a `lang`
(ko, zh, zh-Hant, zh-classical); `langs=` selects by it, after the split (the indices i are
those of the whole file, so a language's validation documents are the same whether selected or
not).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np

from . import resources

EOS = 256
VAL_EVERY = 50  # document i is validation iff i % VAL_EVERY == 0
DEFAULT_FILE = resources.DEFAULT_DATA_FILE
MULTILINGUAL_FILE = resources.MULTILINGUAL_DATA_FILE
# The multilingual file's languages, as M1 v2 evaluates them (lang field values).
KOREAN = ("ko",)
CHINESE = ("zh", "zh-Hant", "zh-classical")
DEFAULT_CACHE_DIR = resources.default_cache_dir()
default_data_path = resources.default_data_path  # EQINFO_DATA_DIR, else <repo>/../shared/data


def is_validation(doc_index: int) -> bool:
    return doc_index % VAL_EVERY == 0


def iter_records(path: str | Path | None = None, split: str = "all") -> Iterator[dict]:
    """Yield each document's JSON object (with a string `text`) in file order. split: "train",
    "val" or "all".

    The whole file is checked as it is read: a line that is not such an object, or a gzip file that
    is truncated (EOFError: no end-of-stream marker) or damaged (bad CRC, length or data), raises
    ValueError naming the file, so a damaged corpus is never read as a shorter one.
    """
    if split not in ("train", "val", "all"):
        raise ValueError(f"split must be train/val/all, got {split!r}")
    path = Path(path) if path is not None else default_data_path()
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for i, line in enumerate(f):
                if not line.strip():
                    # An empty line would still shift the indices of every later document;
                    # refuse rather than silently change the split.
                    raise ValueError(f"{path}:{i + 1}: empty line")
                if split == "all" or (split == "val") == is_validation(i):
                    yield _record(path, i, line)
    except (EOFError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: truncated or damaged corpus file ({type(e).__name__}: {e})") from e


def _record(path: Path, index: int, line: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError(f'{path}:{index + 1}: not a JSON object with a string field "text"')
    return record


def iter_documents(path: str | Path | None = None, split: str = "all",
                   langs: tuple[str, ...] | None = None) -> Iterator[str]:
    """Yield the `text` of each document in file order (iter_records). split: "train", "val" or
    "all". langs: only the documents whose `lang` is one of these (None: all; the split is still
    by the line index in the whole file)."""
    for record in iter_records(path, split):
        if langs is None or record.get("lang") in langs:
            yield record["text"]


def encode_document(text: str) -> np.ndarray:
    """UTF-8 bytes of `text` followed by EOS, as uint16 [n_bytes + 1]."""
    b = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    out = np.empty(len(b) + 1, dtype=np.uint16)
    out[:-1] = b
    out[-1] = EOS
    return out


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_split(path: str | Path | None = None, split: str = "train",
               cache_dir: str | Path | None = DEFAULT_CACHE_DIR, verbose: bool = True,
               langs: tuple[str, ...] | None = None):
    """Load a split as (symbols uint16 [S], doc_starts int64 [n_docs]).

    symbols is the concatenation of encode_document(text) over the split's documents;
    doc_starts[j] is the offset of document j's first byte. Cached as .npy under cache_dir keyed by
    the file's sha256 prefix, the split and `langs` (decompressing 72 MB of JSON takes ~10 s each
    run). cache_dir=None disables the cache. langs: as in iter_documents.
    """
    path = Path(path) if path is not None else default_data_path()
    key = f"{_file_sha256(path)[:16]}_{split}" + ("" if langs is None else "_" + "+".join(langs))
    if cache_dir is not None:
        cache_dir = Path(cache_dir)
        f_sym, f_off = cache_dir / f"{key}_symbols.npy", cache_dir / f"{key}_starts.npy"
        if f_sym.exists() and f_off.exists():
            # Memory-mapped: training only reads random windows, no need to hold 141 MB.
            symbols, starts = np.load(f_sym, mmap_mode="r"), np.load(f_off)
            if verbose:
                _report(path, split, symbols, starts, langs)
            return symbols, starts

    parts = [encode_document(t) for t in iter_documents(path, split, langs)]
    lengths = np.array([len(p) for p in parts], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    symbols = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint16)
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        for fn, arr in ((f_sym, symbols), (f_off, starts)):
            tmp = fn.with_name(fn.name + ".tmp.npy")  # atomic: another process may read it
            np.save(tmp, arr)
            os.replace(tmp, fn)
    if verbose:
        _report(path, split, symbols, starts, langs)
    return symbols, starts


def _report(path, split, symbols, starts, langs=None):
    n_docs = len(starts)
    which = "" if langs is None else f" langs={','.join(langs)}"
    print(f"[data] {Path(path).name} split={split}{which}: {n_docs} docs, "
          f"{len(symbols) - n_docs} text bytes, {len(symbols)} symbols (incl. EOS)", flush=True)


def split_summary(path: str | Path | None = None, cache_dir=DEFAULT_CACHE_DIR) -> dict:
    """Counts for both splits and the validation share of documents (expected ~2%)."""
    tr_sym, tr_st = load_split(path, "train", cache_dir)
    va_sym, va_st = load_split(path, "val", cache_dir)
    frac = len(va_st) / max(1, len(va_st) + len(tr_st))
    print(f"[data] validation share: {frac:.4f} of docs (rule i % {VAL_EVERY} == 0 -> ~0.02)")
    return {"train_docs": len(tr_st), "train_bytes": len(tr_sym) - len(tr_st),
            "val_docs": len(va_st), "val_bytes": len(va_sym) - len(va_st), "val_doc_frac": frac}


if __name__ == "__main__":
    import sys
    split_summary(sys.argv[1] if len(sys.argv) > 1 else None)
