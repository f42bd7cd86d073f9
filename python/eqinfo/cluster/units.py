"""Work units: a corpus cut into deterministic (source, document range) pieces, and the plan.

A *source* is one file of the corpus (a .jsonl/.jsonl.gz/.parquet file, each file of a
file-dir), a whole directory of .txt files, or the rows of a datasets.Dataset (one split of an
eqinfo.data.DatasetCorpus: eqinfo.cluster.dataset_units). Scanning a source counts its
documents and cuts them into units of about `unit_bytes` of input (JSON lines, or text, or a
row's text): a unit ends after the document that brings it to unit_bytes or more, so the cut
depends only on the source's content and unit_bytes -- the same units on every machine, in
every run. A unit is the documents [lo, hi) of its source (both splits: which of them a run
compresses is the split rule applied to their *global* index, source.first_index + i, the index
a single-process run reads them at; a Dataset's row index).

The plan (sources in corpus order, their units) is cached as JSON in the run's unit directory,
keyed by each source's size and mtime (a Dataset: its row count and fingerprint) and by
unit_bytes and the text field, so a resumed run (or every shard of a batch run) need not scan
the corpus again.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from eqinfo import data
from eqinfo.cluster import dataset_units, files
from eqinfo.compress import directory_sha256

PLAN_VERSION = 1
DEFAULT_UNIT_BYTES = 8_000_000


@dataclass(frozen=True)
class Source:
    path: str            # absolute
    rel: str             # its path in a file-dir corpus ("" for a single source)
    fmt: str             # "jsonl", "parquet", "text-dir" (data.source_documents) or "dataset"
    size: int            # bytes (a Dataset: its rows)
    mtime_ns: int        # (a Dataset: 0)
    sha256: str = ""     # full hex digest of the file ("" for a text-dir: hashed as today; a
                         # Dataset: data.DatasetSource.sha256 of its rows, 16 hex digits)
    documents: int = 0   # all its documents, both splits
    first_index: int = 0  # global index of its document 0
    cuts: tuple = ()     # unit boundaries: (0, c1, ..., documents)
    unit_raw_bytes: tuple = ()  # input bytes of each unit
    error: str = ""      # why it could not be scanned (unreadable, damaged): it has no units
    fingerprint: str = ""  # a Dataset's datasets fingerprint (its identity for resume); "" for files


@dataclass(frozen=True)
class Unit:
    index: int    # position in the plan (batch shard i runs the units with index % K == i)
    source: int   # index into Plan.sources
    lo: int       # documents [lo, hi) of the source
    hi: int
    raw_bytes: int

    @property
    def name(self) -> str:
        return f"u{self.source:05d}-{self.lo:010d}-{self.hi:010d}"


@dataclass(frozen=True)
class Plan:
    root: str            # the corpus path of the split (file, file-dir or text-dir)
    split: str
    split_rule: str | None   # data.Corpus.split_rule: None (fixed), "ratio p/q", "whole"
    text_field: str
    unit_bytes: int
    sources: tuple[Source, ...]

    @property
    def units(self) -> list[Unit]:
        out = []
        for k, s in enumerate(self.sources):
            for j in range(len(s.cuts) - 1):
                out.append(Unit(len(out), k, s.cuts[j], s.cuts[j + 1], s.unit_raw_bytes[j]))
        return out

    @property
    def corpus_sha256(self) -> str:
        """eqinfo.compress.corpus_sha256 of the split's source, composed from the scans."""
        if len(self.sources) == 1 and not self.sources[0].rel:
            s = self.sources[0]
            if s.fmt == "text-dir":
                from eqinfo.compress import corpus_sha256
                return corpus_sha256(Path(s.path))
            return s.sha256[:16]
        return directory_sha256([(s.rel, s.size, s.sha256) for s in self.sources])

    def selector(self):
        """A function: global index -> whether that document belongs to the run's split."""
        if self.split_rule == "whole":
            return lambda i: True
        ratio = None if self.split_rule is None else data.parse_ratio(self.split_rule.split()[1])
        want_val = self.split == "val"
        return lambda i: want_val == data.is_validation_at(i, ratio)

    def to_json(self) -> dict:
        return {"format": "eqinfo-cluster-plan", "version": PLAN_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, d: dict) -> "Plan":
        sources = tuple(Source(**{**s, "cuts": tuple(s["cuts"]), "unit_raw_bytes": tuple(s["unit_raw_bytes"])})
                        for s in d["sources"])
        return cls(d["root"], d["split"], d["split_rule"], d["text_field"], d["unit_bytes"], sources)


def list_sources(corpus: data.Corpus | data.DatasetCorpus, split: str) -> list[Source]:
    """The sources of a split, in corpus order, not yet scanned."""
    if isinstance(corpus, data.DatasetCorpus):
        return [dataset_units.dataset_source(corpus, split)]
    root = corpus.source(split).resolve()
    fmt = data.corpus_format(root)
    paths = [(f, f.relative_to(root).as_posix()) for f in data.corpus_files(root)] if fmt == "file-dir" else [(root, "")]
    out = []
    for p, rel in paths:
        st = p.stat()
        out.append(Source(str(p), rel, data.corpus_format(p), st.st_size, st.st_mtime_ns))
    return out


def scan_source(source: Source, text_field: str, unit_bytes: int) -> Source:
    """Read a source to its end (checking it as every reader does: gzip integrity, UTF-8, empty
    lines) and cut it into units; returns the source with its counts, cuts and sha256."""
    path = Path(source.path)
    try:
        sizes = _document_sizes(path, source.fmt, text_field)
    except (ValueError, OSError, ImportError) as e:
        # Reported with the run's failures; the other sources' units still run.
        return Source(source.path, source.rel, source.fmt, source.size, source.mtime_ns, error=str(e))
    cuts, raw = cut(sizes, unit_bytes)
    sha = "" if source.fmt == "text-dir" else files.sha256_file(path)
    return Source(source.path, source.rel, source.fmt, source.size, source.mtime_ns, sha,
                  len(sizes), 0, cuts, raw)


def cut(sizes: list[int], unit_bytes: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(unit boundaries (0, c1, ..., len(sizes)), input bytes of each unit) of documents of these
    sizes: a unit ends after the document that brings it to unit_bytes or more."""
    cuts, raw, acc = [0], [], 0
    for i, n in enumerate(sizes):
        acc += n
        if acc >= unit_bytes:
            cuts.append(i + 1)
            raw.append(acc)
            acc = 0
    if cuts[-1] != len(sizes):
        cuts.append(len(sizes))
        raw.append(acc)
    return tuple(cuts), tuple(raw)


def _document_sizes(path: Path, fmt: str, text_field: str) -> list[int]:
    if fmt == "jsonl":  # the line as stored: what a unit reads (JSON is parsed by the unit)
        return [len(line.encode("utf-8")) for _, line in data._jsonl_lines(path)]
    if fmt == "text-dir":
        return [f.stat().st_size for f in data.text_files(path)]
    return [len(rec()[text_field].encode("utf-8")) for _, rec in data.source_documents(path, fmt, text_field)]


def make_plan(corpus: data.Corpus | data.DatasetCorpus, split: str, unit_bytes: int, scanned: list[Source]) -> Plan:
    """The plan from scanned sources (in corpus order): their global first indices."""
    out, first = [], 0
    for s in scanned:
        out.append(Source(**{**asdict(s), "first_index": first}))
        first += s.documents
    return Plan(_root(corpus, split), split, corpus.split_rule, corpus.text_field, unit_bytes, tuple(out))


def _root(corpus, split: str) -> str:
    source = corpus.source(split)
    return str(source) if isinstance(corpus, data.DatasetCorpus) else str(source.resolve())


def plan_path(out_dir: str | Path, split: str) -> Path:
    return Path(out_dir) / split / "units" / "plan.json"


def cached_plan(out_dir, corpus: data.Corpus | data.DatasetCorpus, split: str, unit_bytes: int) -> Plan | None:
    """The cached plan if it was made from these sources (same size and mtime each), unit_bytes,
    split rule and text field; else None. A plan made from a Dataset with another fingerprint
    is refused (dataset_units.DatasetChangedError), not replaced."""
    path = plan_path(out_dir, split)
    if not path.exists():
        return None
    import json
    try:
        plan = Plan.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError):
        return None
    sources = list_sources(corpus, split)
    dataset_units.check_same_dataset(path, plan, sources)
    now = [(s.path, s.size, s.mtime_ns, s.fingerprint) for s in sources]
    was = [(s.path, s.size, s.mtime_ns, s.fingerprint) for s in plan.sources]
    same = (now == was and plan.unit_bytes == unit_bytes and plan.split == split
            and plan.split_rule == corpus.split_rule and plan.text_field == corpus.text_field)
    return plan if same else None


def save_plan(out_dir, plan: Plan) -> None:
    """Cache the plan, unless a source failed to scan (a rerun scans it again)."""
    if not any(s.error for s in plan.sources):
        files.write_json_atomic(plan_path(out_dir, plan.split), plan.to_json())


class UnitInputError(ValueError):
    """A unit whose input cannot be read (unreadable file, invalid JSON line): file and line."""


def unit_documents(plan: Plan, unit: Unit, corpus=None) -> tuple[list[bytes], list[int]]:
    """The split's documents of the unit as UTF-8 (and their global indices), in order.

    Only these documents are held in memory: about unit_bytes. A source that cannot be read,
    or a line that is not a JSON object with the text field, raises UnitInputError naming the
    file and line. corpus: the job's corpus, which a Dataset source reads its rows from (a file
    source is read at its path)."""
    src = plan.sources[unit.source]
    selected = plan.selector()
    if src.fmt == "dataset":
        texts = dataset_units.unit_rows(corpus, plan, unit)
        ids = [src.first_index + i for i in range(unit.lo, unit.hi)]
        keep = [(t, g) for t, g in zip(texts, ids) if selected(g)]
        return [t.encode("utf-8") for t, _ in keep], [g for _, g in keep]
    docs, ids, seen = [], [], 0
    try:
        for i, record in data.source_documents(Path(src.path), src.fmt, plan.text_field):
            if i < unit.lo:
                continue
            if i >= unit.hi:
                break
            seen += 1
            g = src.first_index + i
            if selected(g):
                docs.append(record()[plan.text_field].encode("utf-8"))
                ids.append(g)
    except (ValueError, OSError, ImportError) as e:
        raise UnitInputError(f"unit {unit.name}: {e}") from e
    if seen != unit.hi - unit.lo:
        raise UnitInputError(f"unit {unit.name}: {src.path} has {unit.lo + seen} documents, the plan "
                             f"{src.documents}: the file changed since it was planned")
    return docs, ids
