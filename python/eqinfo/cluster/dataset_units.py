"""A datasets.Dataset as the corpus of a unit run (eqinfo.data.DatasetCorpus): its source, its
scan, the rows of a unit, and which Datasets worker processes can be given.

One split of a DatasetCorpus (the Dataset, or the train / validation Dataset of a DatasetDict)
is one source of fmt "dataset". Its documents are its rows in order, and a document's global id
is its row index: the index single-process compression reads it at, so the split rule (fixed,
ratio, whole) picks the same rows and the units' tokens concatenate to the single-process shard.
Scanning reads the text column once, for the rows' UTF-8 sizes (cut into units as a file's
lines are) and for the content hash data.DatasetSource.sha256 is (data.dataset_text_sha256), so
the shard settings and the merged sidecar are the single-process ones.

Identity. The source records the Dataset's fingerprint (datasets' hash of its data and of the
transforms that made it: from_dict derives it from the data, load_from_disk from the one
save_to_disk recorded, so every process that loads a directory gets the same) and its row count. A cached plan is reused for the same fingerprint without
reading the rows again. A plan made from a Dataset with another fingerprint is refused
(DatasetChangedError), not replaced: its finished units were made from other rows, and what a
resume is for -- keeping them -- would be wrong. Pass the Dataset the run began with, or start
afresh (another output directory, or delete <out>/<split>/units).

Workers. A worker reads its unit's rows itself, from the Dataset that came with its job (a unit
carries no text). A Dataset whose tables are memory-mapped Arrow files (load_from_disk,
load_dataset, and what map / select / shuffle make of them) pickles as the paths of its files,
so each Ray worker maps them and reads only rows [lo, hi): memory per worker is one unit, as for
files, and the files must be on the filesystem every node sees. An in-memory Dataset
(from_dict, from_pandas, from_list) pickles whole, so every worker would hold the whole corpus:
the Ray engine refuses it (check_shippable) and names the fix, save_to_disk then load_from_disk
(eqinfo-compress: --data DIR). The batch engine runs in the process that holds the Dataset and
takes either kind. (Shipping each unit's rows from the driver instead would send every byte of
the corpus through the driver and the object store; docs/cluster.md.)
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from eqinfo import data

# eqinfo.cluster.units imports this module; its names are imported where they are used.


class DatasetChangedError(ValueError):
    """A run resumed (or a batch shard run) against a Dataset other than the one it was planned from."""


def fingerprint(ds) -> str:
    return str(getattr(ds, "_fingerprint", None) or "")


def dataset_source(corpus: data.DatasetCorpus, split: str):
    """The split's one source, not yet scanned: its description (what the shard sidecar's
    `corpus` says), row count and fingerprint."""
    from eqinfo.cluster.units import Source
    src = corpus.source(split)
    fp = fingerprint(src.dataset)
    if not fp:
        raise ValueError(f"{src}: a Dataset without a fingerprint: a unit run cannot tell on resume "
                         "whether it is the Dataset it was planned from")
    return Source(str(src), "", "dataset", len(src.dataset), 0, fingerprint=fp)


def scan_dataset(source, corpus: data.DatasetCorpus, split: str, unit_bytes: int):
    """The source with its row count, cuts and content hash, read from the Dataset (in this
    process). A row whose text is not a string is reported as the source's error, as a file
    that cannot be read is: it has no units, the run names it."""
    from eqinfo.cluster.units import cut
    src = corpus.source(split)
    sizes: list[int] = []
    try:
        sha = data.dataset_text_sha256(src.texts(), on_row=sizes.append)
    except ValueError as e:
        return replace(source, error=str(e))
    cuts, raw = cut(sizes, unit_bytes)
    return replace(source, sha256=sha, documents=len(sizes), cuts=cuts, unit_raw_bytes=raw)


def check_same_dataset(plan_path: Path, plan, sources) -> None:
    """Raise DatasetChangedError when the cached plan at plan_path was made from a Dataset and
    `sources` (this run's, unscanned) are a Dataset with another fingerprint or row count."""
    was = [s for s in plan.sources if s.fmt == "dataset"]
    now = [s for s in sources if s.fmt == "dataset"]
    if not (was and now) or (was[0].fingerprint, was[0].size) == (now[0].fingerprint, now[0].size):
        return
    raise DatasetChangedError(
        f"{plan_path}: this run was planned from a datasets.Dataset with fingerprint {was[0].fingerprint} "
        f"({was[0].size} rows); the Dataset given has fingerprint {now[0].fingerprint} ({now[0].size} rows). "
        f"It changed since the run began, or it is another dataset, and the finished units were made from "
        f"the other rows. Pass the Dataset the run began with, or start afresh: another output directory, "
        f"or delete {plan_path.parent}")


def unit_rows(corpus, plan, unit) -> list[str]:
    """The texts of the unit's rows [lo, hi) (both splits), read from the job's Dataset: only
    those rows, from its memory map. Raises UnitInputError when the Dataset is not the one
    planned or a row's text is not a string."""
    from eqinfo.cluster.units import UnitInputError
    src = plan.sources[unit.source]
    if not isinstance(corpus, data.DatasetCorpus):
        raise UnitInputError(f"unit {unit.name}: planned from a Dataset, but the job's corpus is {corpus!r}")
    ds = corpus.source(plan.split).dataset
    if (fingerprint(ds), len(ds)) != (src.fingerprint, src.documents):
        raise UnitInputError(f"unit {unit.name}: the Dataset has fingerprint {fingerprint(ds)} ({len(ds)} rows), "
                             f"the plan's {src.fingerprint} ({src.documents} rows): not the Dataset planned")
    texts = ds.with_format(None).select_columns([plan.text_field])[unit.lo:unit.hi][plan.text_field]
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise UnitInputError(f'unit {unit.name}: {src.path}: row {unit.lo + i}: column '
                                 f'"{plan.text_field}" is not a string')
    return texts


def memory_mapped(ds) -> bool:
    """Whether every table of the Dataset (its data and its indices mapping) is a memory-mapped
    Arrow file, so that it pickles as file paths, not as its rows."""
    from datasets.table import ConcatenationTable, MemoryMappedTable

    def mapped(table) -> bool:
        if table is None or isinstance(table, MemoryMappedTable):
            return True
        if isinstance(table, ConcatenationTable):
            return all(isinstance(b, MemoryMappedTable) for row in table.blocks for b in row)
        return False
    return mapped(ds._data) and mapped(getattr(ds, "_indices", None))


def check_shippable(corpus) -> None:
    """Raise ValueError for a DatasetCorpus that Ray workers cannot be given without a copy of
    the whole Dataset each (an in-memory Dataset); nothing for files or memory-mapped Datasets."""
    if not isinstance(corpus, data.DatasetCorpus):
        return
    parts = dict(corpus.dataset) if corpus.explicit else {None: corpus.dataset}
    for name, ds in parts.items():
        if not memory_mapped(ds):
            what = f"the {name!r} split of the DatasetDict" if name is not None else "the Dataset"
            raise ValueError(
                f"{what} (rows={len(ds)}, fingerprint={fingerprint(ds)}) is held in memory (from_dict, "
                "from_pandas, from_list, ...): every Ray worker would get a copy of all of it. Save it where "
                "every node sees it and pass it memory-mapped: ds.save_to_disk(DIR), then "
                "datasets.load_from_disk(DIR) (eqinfo-compress: --data DIR); the workers then read only "
                "their units' rows. The batch engine (run_batch, --num-shards) takes it as it is")
