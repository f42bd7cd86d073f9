"""The shards stage: where each run's token shards are, what they are (their identity), and
making them (eqinfo.compress).

Layout: <shards>/{train,val}/<stream>.shard (+ .shard.json sidecar). A run key "bytes@m2-cpu-m"
trains on the stream "bytes", so the runs of an M2 size sweep share one shard.
"""
from __future__ import annotations

from pathlib import Path

from ..shards import read_shard
from .analyses import shard_identity
from .methods import parse_method
from .scales import Scale

SPLITS = ("train", "val")


def shard_path(shards: Path, split: str, run: str) -> Path:
    """<shards>/<split>/<stream>.shard of a run key ("bytes@m2-cpu-m" trains on bytes.shard)."""
    return shards / split / f"{parse_method(run).stream}.shard"


def shard_identities(shards: Path, method: str) -> dict:
    """{"train": identity or None, "val": identity or None} of a method's current shards
    (analyses.shard_identity: method, model hash, tokens out, bytes in)."""
    out = {}
    for split in SPLITS:
        p = shard_path(shards, split, method)
        if p.exists():
            sh = read_shard(p, check_tokens=False)
            out[split] = shard_identity(sh.meta, sh.n_tokens, sh.text_bytes)
        else:
            out[split] = None
    return out


def compress_all(scale: Scale, methods: list[str], shards: Path, threads: int, data=None) -> None:
    """<shards>/{train,val}/<method>.shard for every method (eqinfo.compress; reused if current)."""
    from .. import compress  # needs the C++ extension: imported only when compressing
    methods = list(dict.fromkeys(parse_method(m).stream for m in methods))  # sweeps share shards
    compress.compress_methods(methods, "val", shards, max_bytes=scale.val_bytes,
                              order=scale.doc_order, threads=threads, data_path=data)
    by_bytes: dict = {}
    for m in methods:  # methods with the same train prefix share one call (and M1 passes)
        by_bytes.setdefault(scale.train_bytes_for(m), []).append(m)
    for max_bytes, ms in by_bytes.items():
        compress.compress_methods(ms, "train", shards, max_bytes=max_bytes, order=scale.doc_order,
                                  threads=threads, data_path=data)
