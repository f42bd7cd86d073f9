"""Corpus compression: a split of the corpus, tokenized by each method, as token shards.

    eqinfo-compress --split val --methods bytes,equalinfo-b16-v65k --out runs/shards --threads 2
    compress_split("equalinfo-b16-v65k", "val", Path("runs/shards"))  # -> runs/shards/val/equalinfo-b16-v65k.shard

Input: a corpus (eqinfo.data.Corpus; default: the shared en_real_mix) -- a .jsonl, .jsonl.gz or
.parquet file or a directory of .txt files, the text in --text-field -- and its split: the fixed
split (document i is validation iff i % 50 == 0) unless --val-ratio gives another share, or
explicit --train/--validation sources read whole (docs/corpus.md); optionally cut to a prefix of the split
(--max-docs, --max-bytes: whole documents within the limits, either the longest prefix in file
order or, with --order shuffled, a fixed random sample over all sources), so every method sees
exactly the same text. Each document is tokenized on its own, EOS appended (the
tokenizers do this), and written with eqinfo.shards.write_shard (EQSH v1 + JSON sidecar).

Output is byte-identical for any thread count: documents are tokenized independently in C++
threads and stored in corpus order; the sidecar's `threads` and `wall_seconds` say how it was
made but are not compared when deciding whether an existing shard is up to date.

One M1 pass per method family: AC and EqualInfoAC at v256 and v65k share their bitstream (only
the chunking into N-bit tokens differs), so compress_methods encodes each document once at N = 1
-- one token per bit, no padding -- and cuts those bits into 8- and 16-bit tokens, zero-padding
each document's last token exactly as the C++ chunker does. The tests check this against direct
encoding at each N.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from eqinfo.shards import ShardError, read_shard, sidecar_path, write_shard
from eqinfo.registry import METHODS, Method, lookup
from eqinfo.tokenizers import Tokenizer, get_tokenizer

TOOL = "eqinfo-compress"
# Bump when the tokens written for the same settings change (forces existing shards to be rebuilt).
TOOL_VERSION = 1
SPLITS = ("train", "val")
# Sidecar fields that define a shard's content; an existing shard with the same values is reused.
# text_field and corpus_split are None for the project's defaults ("text", the fixed split), so
# the sidecars written before they existed still compare equal.
SETTINGS_KEYS = ("method", "factory_method", "b", "N", "vocab_size", "model_hash", "frequency_bits",
                 "split", "corpus_sha256", "max_bytes", "max_docs", "order", "tool_version",
                 "text_field", "corpus_split")
BATCH_BYTES_PER_THREAD = 128 * 1024


def shard_path(out_dir: str | Path, split: str, method: str) -> Path:
    return Path(out_dir) / split / f"{method}.shard"


_sha_cache: dict[tuple, str] = {}


def corpus_sha256(path: Path) -> str:
    """First 16 hex digits of the corpus file's sha256 (cached per path, size and mtime). A
    directory of text files: the sha256 of each document's relative path and content, in order."""
    from eqinfo import data
    if isinstance(path, data.DatasetSource):  # a datasets.Dataset: its rows' text
        return path.sha256()
    path = Path(path)
    if path.is_dir() and data.corpus_format(path) == "file-dir":
        return directory_sha256([(f.relative_to(path).as_posix(), f.stat().st_size, file_sha256(f))
                                 for f in data.corpus_files(path)])
    if path.is_dir():
        files = data.text_files(path)
        key = (str(path.resolve()),) + tuple((f.relative_to(path).as_posix(), f.stat().st_size,
                                              f.stat().st_mtime_ns) for f in files)
        if key not in _sha_cache:
            h = hashlib.sha256()
            for f in files:
                rel = f.relative_to(path).as_posix().encode()
                h.update(len(rel).to_bytes(8, "little") + rel)
                h.update(f.stat().st_size.to_bytes(8, "little") + f.read_bytes())
            _sha_cache[key] = h.hexdigest()[:16]
        return _sha_cache[key]
    return file_sha256(path)[:16]


def file_sha256(path: Path) -> str:
    """The full sha256 of one file (hex), cached per path, size and mtime."""
    st = Path(path).stat()
    key = ("file", str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _sha_cache:
        from eqinfo import data
        _sha_cache[key] = data.file_sha256(path)
    return _sha_cache[key]


def directory_sha256(entries) -> str:
    """corpus_sha256 of a file-dir from (relative path, size, file sha256) of each file, in
    order: composed from per-file hashes so that eqinfo.cluster can hash the files in parallel."""
    h = hashlib.sha256()
    for rel, size, sha in entries:
        h.update(len(rel.encode()).to_bytes(8, "little") + rel.encode())
        h.update(int(size).to_bytes(8, "little") + bytes.fromhex(sha))
    return h.hexdigest()[:16]


ORDERS = ("file", "shuffled")
SHUFFLE_SEED = 0


def select_documents(split: str, data_path, max_bytes: int | None = None,
                     max_docs: int | None = None, order: str = "file") -> list[bytes]:
    """Whole documents of the split as UTF-8, at most max_docs of them and max_bytes of text.

    order="file": the longest prefix of the split in file order within the limits.
    order="shuffled": the split's documents in a fixed pseudo-random order (numpy PCG64 seeded with
    SHUFFLE_SEED), each taken if it still fits in max_bytes, skipped otherwise. Why: the corpus file
    is ordered by source, so a prefix of a few hundred kB is a single source (the first 1.5 MB of
    the train split is all State of the Union speeches); a shuffled selection of the same size
    samples every source, and the same seed gives every method the same text.
    data_path: a path (the fixed split) or an eqinfo.data.Corpus.
    """
    from eqinfo import data
    corpus = data.as_corpus(data_path)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    for name, v in (("max_bytes", max_bytes), ("max_docs", max_docs)):
        if v is not None and v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    docs, total = [], 0
    if order == "file":
        for text in corpus.iter_documents(split):
            if max_docs is not None and len(docs) >= max_docs:
                break
            b = text.encode("utf-8")
            if max_bytes is not None and total + len(b) > max_bytes:
                break
            docs.append(b)
            total += len(b)
    else:
        every = [t.encode("utf-8") for t in corpus.iter_documents(split)]
        for i in np.random.default_rng(SHUFFLE_SEED).permutation(len(every)):
            if max_docs is not None and len(docs) >= max_docs:
                break
            if max_bytes is not None and total + len(every[i]) > max_bytes:
                continue
            docs.append(every[i])
            total += len(every[i])
    if not docs:
        raise ValueError(f"no documents selected from {corpus.source(split)} ({split}, max_bytes={max_bytes}, "
                         f"max_docs={max_docs}, order={order}): is every document longer than max_bytes?")
    return docs


def chunk_bits(bits: np.ndarray, n: int) -> np.ndarray:
    """One document's bits (uint16 0/1, from a tokenizer at N = 1) as N-bit tokens, most
    significant bit first, the last token zero-padded: what the C++ chunker writes at N."""
    padded = np.zeros(-(-len(bits) // n) * n, dtype=np.uint32)
    padded[:len(bits)] = bits
    weights = (np.uint32(1) << np.arange(n - 1, -1, -1, dtype=np.uint32))
    return (padded.reshape(-1, n) @ weights).astype(np.uint16)


def _batches(docs: Sequence[bytes], threads: int):
    """Consecutive slices of docs, about BATCH_BYTES_PER_THREAD of text per thread each."""
    start, size = 0, 0
    for i, d in enumerate(docs):
        size += len(d)
        if size >= BATCH_BYTES_PER_THREAD * threads or i + 1 - start >= 1024:
            yield start, i + 1
            start, size = i + 1, 0
    if start < len(docs):
        yield start, len(docs)


@dataclass
class _Output:
    """One shard to make: the method, its tokenizer (for vocab and model hash) and its sidecar."""
    spec: Method
    tokenizer: object
    path: Path
    settings: dict

    def up_to_date(self) -> bool:
        side = sidecar_path(self.path)
        if not (self.path.exists() and side.exists()):
            return False
        try:
            meta = json.loads(side.read_text())
            read_shard(self.path, check_tokens=False)  # intact and consistent with its sidecar
        except (ShardError, ValueError, OSError):
            return False
        return all(meta.get(k) == self.settings[k] for k in SETTINGS_KEYS)


def _settings(spec: Method, tok, split: str, corpus_hash: str, max_bytes, max_docs, order,
              corpus=None) -> dict:
    # SentencePiece has no C++ factory method; its sidecars name its family there.
    return {"method": spec.name, "factory_method": spec.factory or spec.family.name, "b": spec.b, "N": spec.N,
            "vocab_size": tok.vocab_size, "model_hash": tok.model_hash,
            "frequency_bits": tok.frequency_bits if spec.model in ("m1", "static") else None,
            "split": split, "corpus_sha256": corpus_hash, "max_bytes": max_bytes, "max_docs": max_docs,
            "order": order, "tool_version": TOOL_VERSION,
            "text_field": None if corpus is None or corpus.text_field == "text" else corpus.text_field,
            "corpus_split": None if corpus is None else corpus.split_rule}


def _groups(specs: list[Method]) -> list[list[Method]]:
    """Methods that share one encoding pass: M1 methods equal up to N; every other method alone."""
    groups: dict[tuple, list[Method]] = {}
    for s in specs:
        key = (s.factory, s.b, s.model) if s.uses_m1 else (s.name,)
        groups.setdefault(key, []).append(s)
    return list(groups.values())


class _NoBar:
    """tqdm's interface, doing nothing: the core install has no tqdm (it is an extra)."""

    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n=1):
        pass


def _progress_bar():
    try:
        from tqdm import tqdm
    except ModuleNotFoundError:
        return _NoBar
    return tqdm


def _encode_group(outputs: list[_Output], docs: list[bytes], threads: int, progress: bool,
                  models: dict) -> tuple[list[list[np.ndarray]], bool]:
    """Tokens of every document for each output; one pass over the text for the whole group."""
    tqdm = _progress_bar()
    one_pass = len(outputs) > 1
    if one_pass:
        encoder = Tokenizer(outputs[0].spec, token_bits=1, m1=models.get("m1"), static=models.get("static"))
    else:
        encoder = outputs[0].tokenizer
    per_output: list[list[np.ndarray]] = [[] for _ in outputs]
    desc = "+".join(o.spec.name for o in outputs)
    with tqdm(total=sum(map(len, docs)), unit="B", unit_scale=True, unit_divisor=1000, desc=desc,
              disable=not progress, file=sys.stderr, smoothing=0.1) as bar:
        for lo, hi in _batches(docs, threads):
            flat, offsets = encoder.encode_batch_flat(docs[lo:hi], threads)
            for j in range(hi - lo):
                toks = flat[offsets[j]:offsets[j + 1]]
                for k, o in enumerate(outputs):
                    per_output[k].append(chunk_bits(toks, o.spec.N) if one_pass else toks.copy())
            bar.update(sum(len(d) for d in docs[lo:hi]))
    return per_output, one_pass


def compress_methods(methods: Sequence[str], split: str, out_dir: str | Path, *,
                     max_bytes: int | None = None, max_docs: int | None = None, order: str = "file",
                     threads: int = 1, data_path: str | Path | None = None, progress: bool = True, force: bool = False,
                     m1: str | Path | None = None, static: str | Path | None = None,
                     sentencepiece: str | Path | None = None) -> dict[str, Path]:
    """Make `<out_dir>/<split>/<method>.shard` for every method; returns {method: shard path}.

    Shards whose sidecar already records the same settings (SETTINGS_KEYS) are kept unless
    `force`. M1 methods that differ only in N are encoded in one M1 pass. data_path: a corpus
    path (the fixed split), an eqinfo.data.Corpus (own format, text field, split), or a
    datasets.Dataset / eqinfo.data.DatasetCorpus (its text column; the same split rules).
    """
    from eqinfo import data
    if not 1 <= threads <= 256:
        raise ValueError(f"threads must be in [1, 256], got {threads}")
    specs = [lookup(m) for m in dict.fromkeys(methods)]
    corpus = data.as_corpus(data_path)
    corpus.check((split,))
    data_path = corpus.source(split)
    corpus_hash = corpus_sha256(data_path)
    models = {"m1": m1, "static": static, "sentencepiece": sentencepiece}
    result: dict[str, Path] = {}
    docs = None
    for group in _groups(specs):
        outputs = []
        for spec in group:
            tok = get_tokenizer(spec.name, **models)
            path = shard_path(out_dir, split, spec.name)
            outputs.append(_Output(spec, tok, path, _settings(spec, tok, split, corpus_hash, max_bytes, max_docs, order, corpus)))
            result[spec.name] = path
        todo = [o for o in outputs if force or not o.up_to_date()]
        if not todo:
            continue
        if docs is None:  # read the corpus only if something is to be made
            docs = select_documents(split, corpus, max_bytes, max_docs, order)
        t0 = time.perf_counter()
        tokens, one_pass = _encode_group(todo, docs, threads, progress, models)
        wall = time.perf_counter() - t0
        for o, toks in zip(todo, tokens):
            model_path = getattr(o.tokenizer, "model_path", None)
            meta = dict(o.settings, model=str(model_path) if model_path else None, corpus=str(data_path),
                        eos="appended to every document (part of its tokens)", threads=threads,
                        wall_seconds=round(wall, 3), one_pass_with=[x.spec.name for x in todo] if one_pass else None,
                        tool=TOOL, package_version=_package_version())
            write_shard(o.path, toks, [len(d) for d in docs], o.tokenizer.vocab_size, meta)
    return result


def compress_split(method: str, split: str, out: Path, *, max_bytes: int | None = None, threads: int = 1,
                   data_path=None, progress: bool = True, **kwargs) -> Path:
    """Make (or reuse) `<out>/<split>/<method>.shard` and return its path.

    kwargs: max_docs, order, force, and model paths m1 / static / sentencepiece (see compress_methods).
    """
    return compress_methods([method], split, out, max_bytes=max_bytes, threads=threads,
                            data_path=data_path, progress=progress, **kwargs)[method]


@dataclass
class Verification:
    """What verify_shard found: documents whose decoded tokens differ from their text."""
    method: str
    documents: int
    text_bytes: int
    tokens: int
    mismatched: list[tuple[int, str]]   # (document index, what went wrong)
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.mismatched


def verify_shard(path: str | Path, *, threads: int = 1, data_path: str | Path | None = None,
                 m1: str | Path | None = None, static: str | Path | None = None,
                 sentencepiece: str | Path | None = None, _documents: dict | None = None) -> Verification:
    """Decode every document of a shard and compare it, byte for byte, with the corpus text its
    sidecar says it was made from (same corpus file, split, selection and tokenizer model).

    Raises ValueError when that comparison is impossible (another corpus, another model);
    mismatching documents are returned, not raised. _documents: a cache shared across calls.
    data_path: read this file (or eqinfo.data.Corpus) instead of the one the sidecar names; the
    text field and split rule are the sidecar's.
    """
    from eqinfo import data
    t0 = time.perf_counter()
    shard = read_shard(path)
    meta = shard.meta
    if isinstance(data_path, (data.Corpus, data.DatasetCorpus)) or data.is_hf_dataset(data_path):
        corpus = data.as_corpus(data_path)
    else:
        corpus = data.Corpus.from_sidecar(meta, data_path)
    source = corpus.source(meta["split"])
    if corpus_sha256(source) != meta["corpus_sha256"]:
        raise ValueError(f"{path}: made from corpus {meta['corpus_sha256']}, {source} is "
                         f"{corpus_sha256(source)}")
    key = (meta["split"], corpus, meta["max_bytes"], meta["max_docs"], meta.get("order", "file"))
    cache = _documents if _documents is not None else {}
    if key not in cache:
        cache[key] = select_documents(meta["split"], corpus, meta["max_bytes"], meta["max_docs"],
                                      meta.get("order", "file"))
    docs = cache[key]
    tok = get_tokenizer(meta["method"], m1=m1, static=static, sentencepiece=sentencepiece)
    if tok.model_hash != meta["model_hash"]:
        raise ValueError(f"{path}: made with model {meta['model_hash']}, the tokenizer's is "
                         f"{tok.model_hash}: pass the model that made it")
    if shard.n_docs != len(docs) or shard.text_bytes != sum(map(len, docs)):
        raise ValueError(f"{path}: {shard.n_docs} documents / {shard.text_bytes} bytes, the "
                         f"selection has {len(docs)} / {sum(map(len, docs))}")
    decoded = tok.decode_batch([shard.document(j) for j in range(shard.n_docs)], threads=threads)
    bad = [(j, r.describe() if not r.ok else "different bytes")
           for j, (d, r) in enumerate(zip(docs, decoded)) if not (r.ok and r.documents == [d])]
    return Verification(meta["method"], shard.n_docs, shard.text_bytes, shard.n_tokens, bad,
                        time.perf_counter() - t0)


def _package_version() -> str | None:
    try:
        from importlib.metadata import version
        return version("eqinfo")
    except Exception:  # running in-tree without an installed package
        return None


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(
        prog=TOOL, description="Tokenize a split of the corpus with each method into token shards "
        "(<out>/<split>/<method>.shard + .json). Methods: " + ", ".join(METHODS))
    ap.add_argument("--methods", default="all", help="comma-separated method names, or 'all' (default)")
    ap.add_argument("--split", choices=SPLITS, default="val")
    ap.add_argument("--out", type=Path, default=Path("runs/shards"))
    ap.add_argument("--max-bytes", type=int, default=None, help="text bytes: longest prefix of whole documents")
    ap.add_argument("--max-docs", type=int, default=None)
    ap.add_argument("--order", choices=ORDERS, default="file",
                    help="file: a prefix of the split; shuffled: a fixed random sample of its documents")
    ap.add_argument("--threads", type=int, default=1, help="documents tokenized in parallel (same output)")
    ap.add_argument("--m1", type=Path, default=None, help="M1 safetensors (default: models/m1-3m.safetensors)")
    ap.add_argument("--static", type=Path, default=None, help="order-0 model (default: models/static_en_train.json)")
    ap.add_argument("--sentencepiece", type=Path, default=None, help="SentencePiece model (default: models/...)")
    ap.add_argument("--force", action="store_true", help="rebuild shards even if up to date")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--verify", action="store_true",
                    help="make nothing: decode the existing shards of --split in --out and compare "
                    "them with the corpus text (exit status 1 on any difference)")
    from eqinfo import data
    from eqinfo.cluster import cli as cluster_cli
    data.add_corpus_arguments(ap)
    cluster_cli.add_arguments(ap)
    args = ap.parse_args(argv)
    try:
        corpus = data.corpus_from_args(args, datasets=True)  # --data DIR of save_to_disk: that Dataset
    except (ValueError, ImportError) as e:
        ap.error(str(e))
    methods = list(METHODS) if args.methods == "all" else [m.strip() for m in args.methods.split(",") if m.strip()]
    if cluster_cli.wanted(args):  # units: --engine ray, batch shards, --merge (docs/cluster.md)
        sys.exit(cluster_cli.main(ap, args, corpus, methods))
    if args.verify:
        sys.exit(_verify_main(ap, args, methods, corpus))
    try:
        paths = compress_methods(methods, args.split, args.out, max_bytes=args.max_bytes, max_docs=args.max_docs,
                                 order=args.order, threads=args.threads, data_path=corpus, progress=not args.no_progress,
                                 force=args.force, m1=args.m1, static=args.static, sentencepiece=args.sentencepiece)
    except (ValueError, FileNotFoundError, ImportError) as e:
        ap.exit(2, f"{TOOL}: error: {e}\n")
    print(f"{'method':24} {'docs':>6} {'bytes in':>10} {'tokens':>10} {'bytes/token':>11} {'KB/s':>8}")
    for name, path in paths.items():
        m = read_shard(path, check_tokens=False).meta
        speed = m["bytes_in"] / 1000 / m["wall_seconds"] if m.get("wall_seconds") else float("nan")
        print(f"{name:24} {m['documents']:6d} {m['bytes_in']:10d} {m['tokens_out']:10d} "
              f"{m['bytes_in'] / max(1, m['tokens_out']):11.3f} {speed:8.1f}")


def _verify_main(ap, args, methods, corpus) -> int:
    from eqinfo import data
    paths = [shard_path(args.out, args.split, m) for m in methods]
    if args.methods == "all":
        paths = [p for p in paths if p.exists()]
    if not paths:
        ap.exit(2, f"{TOOL}: error: no shards in {Path(args.out) / args.split}\n")
    print(f"{'method':24} {'docs':>6} {'bytes':>10} {'tokens':>10} {'seconds':>8}  round trip")
    cache, failed = {}, 0
    for path in paths:
        try:
            # --data / --train / --validation: read there (the sidecar's text field and split rule)
            if isinstance(corpus, data.DatasetCorpus):  # --data DIR of save_to_disk: read that Dataset
                given = corpus
            else:
                given = corpus.source(args.split) if (corpus.explicit or corpus.path is not None) else None
            v = verify_shard(path, threads=args.threads, data_path=given, m1=args.m1,
                             static=args.static, sentencepiece=args.sentencepiece, _documents=cache)
        except (ValueError, FileNotFoundError, ShardError) as e:
            print(f"{path.stem:24} cannot verify: {e}")
            failed += 1
            continue
        failed += not v.ok
        what = "exact" if v.ok else f"{len(v.mismatched)} documents differ: " + "; ".join(
            f"#{j} {why}" for j, why in v.mismatched[:5])
        print(f"{v.method:24} {v.documents:6d} {v.text_bytes:10d} {v.tokens:10d} {v.seconds:8.1f}  {what}")
    return 1 if failed else 0


if __name__ == "__main__":
    main()
