"""One unit's work, the same in every engine: its documents tokenized by each method of the job
into one unit shard per method, and the record that says the unit is done.

Unit files: <out>/<split>/units/<method>/<unit name>.shard, an EQSH shard of the unit's
documents (eqinfo.shards; read_shard opens it), and its sidecar <unit>.shard.json, the unit's
*record*: the method's shard settings (eqinfo.compress.SETTINGS_KEYS, exactly what the merged
shard's sidecar will hold), the unit (source, document range, global ids of its first and last
document), counts (documents, bytes_in, tokens_out) and the unit shard's sha256. The shard is
written first and the record after it, both atomically (eqinfo.cluster.files), so a record that
exists names a complete shard; a unit is *finished* when its record's settings are the job's and
the shard's sha256 is the recorded one (a damaged or foreign file is recomputed, never reused).

Tokens are made as eqinfo.compress makes them (the same batches, one M1 pass per family at N = 1
chunked for every N), so the units' tokens concatenated are the single-process shard's tokens.
UnitCompressor holds its tokenizers for its lifetime: one M1 per worker process, loaded once.
"""
from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from eqinfo import compress, data, shards
from eqinfo.cluster import files
from eqinfo.cluster.units import Plan, Unit, unit_documents
from eqinfo.registry import Method, lookup


@dataclass(frozen=True)
class Job:
    """What to make: the methods' shards of one split of a corpus, under out_dir. corpus: a
    data.Corpus, or a datasets.Dataset / DatasetDict / data.DatasetCorpus (data.as_corpus)."""
    methods: tuple[str, ...]
    split: str
    out_dir: str
    corpus: data.Corpus | data.DatasetCorpus
    unit_bytes: int
    threads: int = 1                       # C++ threads per worker process
    models: dict = field(default_factory=dict)  # m1 / static / sentencepiece paths (None: defaults)

    def __post_init__(self):
        if self.split not in compress.SPLITS:
            raise ValueError(f"split must be one of {compress.SPLITS}, got {self.split!r}")
        if self.unit_bytes < 1:
            raise ValueError(f"unit_bytes must be >= 1, got {self.unit_bytes}")
        if not 1 <= self.threads <= 256:
            raise ValueError(f"threads must be in [1, 256], got {self.threads}")
        object.__setattr__(self, "methods", tuple(lookup(m).name for m in dict.fromkeys(self.methods)))
        object.__setattr__(self, "corpus", data.as_corpus(self.corpus))
        if not self.methods:
            raise ValueError("no methods given")


def unit_dir(out_dir, split: str, method: str) -> Path:
    return Path(out_dir) / split / "units" / method


def unit_path(out_dir, split: str, method: str, unit: Unit) -> Path:
    return unit_dir(out_dir, split, method) / f"{unit.name}.shard"


def resolved_models(job: Job) -> dict:
    """Every model path the job's methods use, absolute, so that each worker (on any node of a
    shared filesystem) loads the same files as the driver."""
    paths = {}
    for name in job.methods:
        tok = compress.get_tokenizer(name, **job.models)
        model = getattr(tok, "model_path", None)
        kind = lookup(name).model
        if model is not None and kind in ("m1", "static", "sentencepiece"):
            paths[kind] = str(Path(model).resolve())
    return paths


def method_settings(job: Job, plan: Plan, models: dict) -> dict[str, dict]:
    """{method: the sidecar settings its merged shard gets} (eqinfo.compress._settings for a
    whole split: no max_bytes/max_docs, file order)."""
    out = {}
    for name in job.methods:
        tok = compress.get_tokenizer(name, **models)
        out[name] = compress._settings(lookup(name), tok, job.split, plan.corpus_sha256, None, None,
                                       "file", job.corpus)
    return out


def finished(path: Path, settings: dict) -> dict | None:
    """The unit's record if it is finished with these settings (its shard's sha256 checked)."""
    side = shards.sidecar_path(path)
    try:
        record = json.loads(side.read_text())
        if record.get("settings") != settings or not path.exists():
            return None
        if files.sha256_file(path) != record.get("sha256"):
            return None
    except (OSError, ValueError):
        return None
    return record


class UnitCompressor:
    """Compresses units of one job; its tokenizers (and so the M1) are made once."""

    def __init__(self, job: Job, plan: Plan, models: dict, settings: dict[str, dict]):
        self.job, self.plan, self.models, self.settings = job, plan, models, settings
        self.groups: list[tuple[list[Method], object]] = []
        for group in compress._groups([lookup(m) for m in job.methods]):
            if len(group) > 1:  # one M1 pass at N = 1, chunked for each N (as compress does)
                encoder = compress.Tokenizer(group[0], token_bits=1, m1=models.get("m1"), static=models.get("static"))
            else:
                encoder = compress.get_tokenizer(group[0].name, **models)
            self.groups.append((group, encoder))
        self.vocab = {m: compress.get_tokenizer(m, **models).vocab_size for m in job.methods}

    def outputs(self, unit: Unit) -> dict[str, Path]:
        return {m: unit_path(self.job.out_dir, self.job.split, m, unit) for m in self.job.methods}

    def compress(self, unit: Unit) -> dict:
        """Make every method's unit shard (those not already finished); returns a summary:
        {"unit", "records": {method: record}, "reused": [methods], "seconds"}.
        Raises units.UnitInputError for an unreadable input."""
        t0 = time.perf_counter()
        records, reused = {}, []
        todo = []
        for m, path in self.outputs(unit).items():
            rec = finished(path, self.settings[m])
            if rec is not None:
                records[m], reused = rec, reused + [m]
            else:
                todo.append(m)
        if todo:
            docs, ids = unit_documents(self.plan, unit, self.job.corpus)
            tokens = self._encode(docs, set(todo))
            for m in todo:
                records[m] = self._write(unit, m, tokens[m], docs, ids, time.perf_counter() - t0)
        return {"unit": unit.name, "records": records, "reused": reused,
                "seconds": time.perf_counter() - t0, "pid": os.getpid(), "host": socket.gethostname()}

    def _encode(self, docs: list[bytes], wanted: set[str]) -> dict[str, list]:
        out: dict[str, list] = {}
        for group, encoder in self.groups:
            names = [s.name for s in group if s.name in wanted]
            if not names:
                continue
            per = {n: [] for n in names}
            one_pass = len(group) > 1
            for lo, hi in compress._batches(docs, self.job.threads):
                flat, offsets = encoder.encode_batch_flat(docs[lo:hi], self.job.threads)
                for j in range(hi - lo):
                    toks = flat[offsets[j]:offsets[j + 1]]
                    for s in group:
                        if s.name in per:
                            per[s.name].append(compress.chunk_bits(toks, s.N) if one_pass else toks.copy())
            out.update(per)
        return out

    def _write(self, unit: Unit, method: str, tokens: list, docs: list[bytes], ids: list[int],
               seconds: float) -> dict:
        src = self.plan.sources[unit.source]
        piece = files.Piece.of_documents(tokens, [len(d) for d in docs])
        meta = {"kind": "eqinfo-cluster-unit", "unit": unit.name, "unit_index": unit.index,
                "method": method, "settings": self.settings[method], "unit_bytes": self.plan.unit_bytes,
                "source": src.path, "source_documents": [unit.lo, unit.hi],
                "global_documents": [src.first_index + unit.lo, src.first_index + unit.hi],
                "first_id": ids[0] if ids else None, "last_id": ids[-1] if ids else None,
                "seconds": round(seconds, 3), "host": socket.gethostname(), "pid": os.getpid(),
                "node": _ray_node()}
        side, _ = files.write_shard_pieces(self.outputs(unit)[method], lambda: [piece], self.vocab[method],
                                           meta, sidecar_sha256=True)
        return side

    def verify(self, unit: Unit) -> dict:
        """Decode every method's unit shard and compare each document with its input text:
        {"unit", "mismatched": {method: [(global id, why)]}, "missing": [methods]}."""
        docs, ids = unit_documents(self.plan, unit, self.job.corpus)
        mismatched, missing = {}, []
        for m, path in self.outputs(unit).items():
            if finished(path, self.settings[m]) is None:
                missing.append(m)
                continue
            shard = shards.read_shard(path)
            tok = compress.get_tokenizer(m, **self.models)
            if shard.n_docs != len(docs):
                mismatched[m] = [(None, f"{shard.n_docs} documents, the input has {len(docs)}")]
                continue
            decoded = tok.decode_batch([shard.document(j) for j in range(shard.n_docs)], threads=self.job.threads)
            bad = [(g, r.describe() if not r.ok else "different bytes")
                   for g, d, r in zip(ids, docs, decoded) if not (r.ok and r.documents == [d])]
            if bad:
                mismatched[m] = bad
        return {"unit": unit.name, "mismatched": mismatched, "missing": missing}


def _ray_node() -> str | None:
    """The Ray node id when running in a Ray worker (for the record: which node made a unit)."""
    import sys
    if "ray" not in sys.modules:
        return None
    try:
        import ray
        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
    except Exception:  # a record must never fail for its provenance
        return None
