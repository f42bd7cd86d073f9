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

OWN CORPORA (issue 13, docs/corpus.md). Besides the project's `.jsonl.gz` a corpus can be
    a plain `.jsonl` file (any name; gzip is recognised by its magic bytes, not its suffix),
    a `.parquet` file (needs pyarrow, which is not a dependency: `pip install pyarrow`),
    a directory of `.txt` files (each file one document, in sorted path order, recursively);
    a directory of `.jsonl`, `.jsonl.gz`, `.json.gz` or `.parquet` files (C4's layout; a "file-dir":
    their documents in sorted path order, indexed and split as one file);
with the text in any field (`text_field`, default "text"). The split is the fixed rule above by
default; `val_ratio=p/q` generalises it (document i is validation iff i == 0 or
floor(i p/q) > floor((i-1) p/q): evenly spread, exact integer arithmetic, and val_ratio=1/50 IS
the fixed rule), or a `Corpus(train=..., validation=...)` names two sources read whole. A
`Corpus` is what the CLIs build from --data / --train / --validation / --text-field /
--val-ratio (add_corpus_arguments, corpus_from_args); every reader here takes one wherever it
takes a path. A Hugging Face `datasets.Dataset` (or a DatasetDict with train and validation) is
a corpus too: DatasetCorpus, the same split rules over its row indices; as_corpus wraps one, so
eqinfo.compress takes a Dataset from Python wherever it takes a path (datasets is not imported),
and eqinfo-compress takes a directory that save_to_disk wrote as --data (load_saved_dataset).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator, Union

import numpy as np

from . import resources
from .atomic_files import replacing

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


FIXED_RATIO = Fraction(1, VAL_EVERY)
GZIP_MAGIC = b"\x1f\x8b"
TEXT_SUFFIXES = (".txt",)
CORPUS_FILE_SUFFIXES = (".jsonl", ".jsonl.gz", ".json.gz", ".parquet")
# What every "corpus not found" error ends with: the flags that fix it (the CLIs share them).
CORPUS_FLAGS = ("pass --data PATH (a .jsonl, .jsonl.gz or .parquet file, or a directory of .txt "
                "files; or --train PATH --validation PATH), or set EQINFO_DATA_DIR to the "
                f"directory holding {DEFAULT_FILE}")


class CorpusNotFoundError(FileNotFoundError):
    """A corpus that is not there; the message names the flags that fix it (CORPUS_FLAGS)."""


def parse_ratio(ratio) -> Fraction:
    """A validation share in (0, 1) as an exact fraction: 0.1, "0.1", "1/10", Fraction(1, 10)."""
    try:
        r = ratio if isinstance(ratio, Fraction) else Fraction(str(ratio).strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"val_ratio must be a number in (0, 1) such as 0.1 or 1/10, got {ratio!r}") from None
    if not 0 < r < 1:
        raise ValueError(f"val_ratio must be in (0, 1), got {ratio!r}")
    return r


def is_validation_at(doc_index: int, ratio: Fraction | None = None) -> bool:
    """Document doc_index is validation under the share `ratio` (None: the fixed 1/50 rule):
    i == 0 or floor(i p/q) > floor((i-1) p/q), evenly spread; ratio 1/50 equals is_validation."""
    if ratio is None:
        return is_validation(doc_index)
    p, q = ratio.numerator, ratio.denominator
    return doc_index == 0 or (doc_index * p) // q > ((doc_index - 1) * p) // q


def corpus_format(path: Path) -> str:
    """"text-dir", "file-dir", "parquet" or "jsonl" (plain or gzip: the reader looks at the
    magic bytes). A directory of .jsonl/.jsonl.gz/.json.gz/.parquet files (C4's layout) is a
    "file-dir": its files' documents in sorted path order, indexed (and split) as one file."""
    if path.is_dir():
        return "file-dir" if corpus_files(path) and not text_files(path) else "text-dir"
    if path.suffix.lower() == ".parquet":
        return "parquet"
    return "jsonl"


def _damaged(path, e):
    return ValueError(f"{path}: truncated or damaged corpus file ({type(e).__name__}: {e})")


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    with open(path, "rb") as raw:
        gz = raw.read(2) == GZIP_MAGIC
    opener = gzip.open if gz else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for i, line in enumerate(f):
                if not line.strip():
                    # An empty line would still shift the indices of every later document;
                    # refuse rather than silently change the split.
                    raise ValueError(f"{path}:{i + 1}: empty line")
                yield i, line
    except (EOFError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError) as e:
        raise _damaged(path, e) from e


def text_files(path: Path) -> list[Path]:
    """The documents of a text directory: every *.txt under it, sorted by relative path."""
    return sorted((p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES),
                  key=lambda p: p.relative_to(path).as_posix())


def corpus_files(path: Path) -> list[Path]:
    """The files of a file-dir corpus: every CORPUS_FILE_SUFFIXES file under it, sorted by
    relative path (so the document order is the same on every machine)."""
    return sorted((p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(CORPUS_FILE_SUFFIXES)),
                  key=lambda p: p.relative_to(path).as_posix())


def _text_dir_records(path: Path, text_field: str) -> Iterator[dict]:
    files = text_files(path)
    if not files:
        raise ValueError(f"{path}: a directory with no .txt files")
    for f in files:
        try:
            text = f.read_bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{f}: not UTF-8 text ({e})") from e
        yield {text_field: text, "path": f.relative_to(path).as_posix()}


def _parquet_records(path: Path, text_field: str) -> Iterator[dict]:
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise ImportError(f"{path}: reading parquet needs pyarrow, which eqinfo does not "
                          "install: pip install pyarrow") from e
    try:
        pf = pq.ParquetFile(path)
        if text_field not in pf.schema_arrow.names:
            raise ValueError(f'{path}: no column "{text_field}" (columns: '
                             f'{", ".join(pf.schema_arrow.names)}): pass --text-field')
        for batch in pf.iter_batches(columns=[text_field]):
            for value in batch.column(0).to_pylist():
                yield {text_field: value}
    except (OSError, EOFError) as e:  # pyarrow's ArrowInvalid is a ValueError
        raise _damaged(path, e) from e


def iter_records(path: "str | Path | Corpus | None" = None, split: str = "all", *,
                 text_field: str = "text", val_ratio=None) -> Iterator[dict]:
    """Yield each document's record (a dict with a string `text_field`) in file order. split:
    "train", "val" or "all"; val_ratio: the split's validation share (None: the fixed rule).
    path may be a Corpus (then its own text field and split apply).

    The whole file is checked as it is read: a line that is not such an object, or a gzip file that
    is truncated (EOFError: no end-of-stream marker) or damaged (bad CRC, length or data), raises
    ValueError naming the file, so a damaged corpus is never read as a shorter one.
    path may also be a DatasetCorpus or a datasets.Dataset (its column "text").
    """
    if isinstance(path, (Corpus, DatasetCorpus)) or is_hf_dataset(path):
        yield from as_corpus(path).iter_records(split)
        return
    if split not in ("train", "val", "all"):
        raise ValueError(f"split must be train/val/all, got {split!r}")
    ratio = None if val_ratio is None else parse_ratio(val_ratio)
    path = Path(path) if path is not None else _default_path()
    if not path.exists():
        raise CorpusNotFoundError(f"corpus {path} does not exist: {CORPUS_FLAGS}")
    fmt = corpus_format(path)
    sources = [(f, corpus_format(f)) for f in corpus_files(path)] if fmt == "file-dir" else [(path, fmt)]
    i = 0  # the document's index in the whole corpus (a file-dir: over all its files)
    for source, source_fmt in sources:
        for _, record in source_documents(source, source_fmt, text_field):
            if split == "all" or (split == "val") == is_validation_at(i, ratio):
                yield record()
            i += 1


def source_documents(path: Path, fmt: str, text_field: str = "text"):
    """(index in the source, record thunk) for every document of one source (a jsonl or
    parquet file, a text-dir) in order. The thunk parses and checks the record: a run over one
    split parses only its own documents, as it always has, and eqinfo.cluster reads a range."""
    if fmt == "jsonl":
        for i, line in _jsonl_lines(path):
            yield i, (lambda i=i, line=line: _record(path, i, line, text_field))
        return
    records = _text_dir_records(path, text_field) if fmt == "text-dir" else _parquet_records(path, text_field)
    for i, record in enumerate(records):
        yield i, (lambda i=i, record=record: _checked(path, i, record, text_field))


def _checked(path: Path, index: int, record: dict, text_field: str) -> dict:
    if not isinstance(record.get(text_field), str):
        raise ValueError(f'{path}: document {index + 1}: field "{text_field}" is not a string')
    return record


def _default_path() -> Path:
    try:
        return default_data_path()
    except FileNotFoundError as e:  # no repository to find ../shared/data from
        raise CorpusNotFoundError(f"no corpus given and none found ({e}): {CORPUS_FLAGS}") from e


def _record(path: Path, index: int, line: str, text_field: str = "text") -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict) or not isinstance(record.get(text_field), str):
        hint = (f" (it has {', '.join(map(str, record))}: --text-field names another field)"
                if isinstance(record, dict) and text_field not in record else "")
        raise ValueError(f'{path}:{index + 1}: not a JSON object with a string field "{text_field}"{hint}')
    return record


def iter_documents(path: "str | Path | Corpus | None" = None, split: str = "all",
                   langs: tuple[str, ...] | None = None, *, text_field: str = "text",
                   val_ratio=None) -> Iterator[str]:
    """Yield the text of each document in file order (iter_records). split: "train", "val" or
    "all". langs: only the documents whose `lang` is one of these (None: all; the split is still
    by the line index in the whole file). path may be a Corpus, DatasetCorpus or datasets.Dataset."""
    if isinstance(path, (Corpus, DatasetCorpus)) or is_hf_dataset(path):
        text_field = as_corpus(path).text_field
    for record in iter_records(path, split, text_field=text_field, val_ratio=val_ratio):
        if langs is None or record.get("lang") in langs:
            yield record[text_field]


@dataclass(frozen=True)
class Corpus:
    """Where each split's documents come from.

    Corpus(path)                             one source, the fixed split (i % 50 == 0: validation)
    Corpus(path, val_ratio=Fraction(1, 10))  one source, 10% validation, evenly spread
    Corpus(train=a, validation=b)            two sources, each read whole for its split
    path None (and no train/validation): the project's corpus (default_data_path).
    """
    path: Path | None = None
    train: Path | None = None
    validation: Path | None = None
    text_field: str = "text"
    val_ratio: Fraction | None = None

    def __post_init__(self):
        for name in ("path", "train", "validation"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, Path):
                object.__setattr__(self, name, Path(v))
        if self.val_ratio is not None:
            object.__setattr__(self, "val_ratio", parse_ratio(self.val_ratio))
        if (self.train is None) != (self.validation is None):
            raise ValueError("--train and --validation go together (one source with a split: "
                             "--data PATH [--val-ratio R])")
        if self.train is not None and self.path is not None:
            raise ValueError("give either --data or --train/--validation, not both")
        if self.train is not None and self.val_ratio is not None:
            raise ValueError("--val-ratio splits one --data source; --train/--validation are read whole")
        if not self.text_field:
            raise ValueError("text_field must not be empty")

    @property
    def explicit(self) -> bool:
        return self.train is not None

    def source(self, split: str) -> Path:
        """The file or directory that split ("train"/"val"/"all") is read from."""
        if self.explicit:
            if split == "all":
                raise ValueError("a --train/--validation corpus has no single source for split 'all'")
            chosen = {"train": self.train, "val": self.validation}[split]
            assert chosen is not None  # __post_init__: train and validation come together
            return chosen
        return self.path if self.path is not None else _default_path()

    @property
    def split_rule(self) -> str | None:
        """How a split is chosen, as the shard sidecars record it: None = the fixed rule,
        "ratio p/q", or "whole" (explicit train/validation sources)."""
        if self.explicit:
            return "whole"
        if self.val_ratio is None or self.val_ratio == FIXED_RATIO:
            return None
        return f"ratio {self.val_ratio.numerator}/{self.val_ratio.denominator}"

    def check(self, splits=("train", "val")) -> None:
        """Raise CorpusNotFoundError (naming the flags) unless every source needed exists."""
        for split in (splits if self.explicit else ("all",)):
            src = self.source(split)
            if not src.exists():
                flag = {"train": "--train", "val": "--validation"}.get(split, "--data") if self.explicit else None
                raise CorpusNotFoundError(f"corpus {src} does not exist: "
                                          + (f"fix {flag}" if flag else CORPUS_FLAGS))

    def iter_records(self, split: str = "all") -> Iterator[dict]:
        if split not in ("train", "val", "all"):
            raise ValueError(f"split must be train/val/all, got {split!r}")
        if self.explicit:
            for s in (("train", "val") if split == "all" else (split,)):
                yield from iter_records(self.source(s), "all", text_field=self.text_field)
            return
        yield from iter_records(self.source("all"), split, text_field=self.text_field,
                                val_ratio=self.val_ratio)

    def iter_documents(self, split: str = "all") -> Iterator[str]:
        for record in self.iter_records(split):
            yield record[self.text_field]

    @classmethod
    def from_sidecar(cls, meta: dict, override: "str | Path | None" = None) -> "Corpus":
        """The corpus a shard was made from (eqinfo.compress sidecar fields corpus, text_field,
        corpus_split); override: read that path instead of the recorded one."""
        src = Path(override) if override is not None else Path(meta["corpus"])
        field = meta.get("text_field") or "text"
        rule = meta.get("corpus_split")
        if rule == "whole":
            return cls(train=src, validation=src, text_field=field)
        ratio = Fraction(rule.split()[1]) if rule else None
        return cls(src, text_field=field, val_ratio=ratio)


def is_hf_dataset(x) -> bool:
    """A Hugging Face datasets.Dataset or DatasetDict, recognised without importing datasets
    (the core does not depend on it)."""
    return type(x).__module__.startswith("datasets.") and type(x).__name__ in ("Dataset", "DatasetDict")


@dataclass(frozen=True)
class DatasetSource:
    """One split's rows of a datasets.Dataset, where a file corpus has a path (Corpus.source):
    what compression hashes (`sha256`) and names in the shard sidecar (str)."""
    dataset: Any
    text_field: str

    def sha256(self) -> str:
        """First 16 hex digits of the sha256 of every row's text (dataset_text_sha256): the
        content, not datasets' fingerprint, which may be random for in-memory data."""
        key = (id(self.dataset), getattr(self.dataset, "_fingerprint", None), self.text_field)
        if key not in _dataset_sha_cache:
            _dataset_sha_cache[key] = dataset_text_sha256(self.texts())
        return _dataset_sha_cache[key]

    def texts(self) -> Iterator[str]:
        for i, text in enumerate(self.dataset[self.text_field]):
            if not isinstance(text, str):
                raise ValueError(f'{self}: row {i}: column "{self.text_field}" is not a string')
            yield text

    def exists(self) -> bool:
        return True

    def __str__(self) -> str:
        return (f"datasets.Dataset(rows={len(self.dataset)}, column={self.text_field!r}, "
                f"fingerprint={getattr(self.dataset, '_fingerprint', None)})")


_dataset_sha_cache: dict[tuple, str] = {}


def dataset_text_sha256(texts, on_row=None) -> str:
    """First 16 hex digits of the sha256 of the texts as length-prefixed UTF-8, in order: a
    Dataset's content hash (DatasetSource.sha256). on_row(n) gets each row's UTF-8 size, so that
    eqinfo.cluster plans its units in the same pass."""
    h = hashlib.sha256()
    for text in texts:
        b = text.encode("utf-8")
        h.update(len(b).to_bytes(8, "little") + b)
        if on_row is not None:
            on_row(len(b))
    return h.hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class DatasetCorpus:
    """A Hugging Face `datasets` corpus, with Corpus's interface (iter_records, iter_documents,
    source, check, split_rule), so compression reads it as it reads files:

    DatasetCorpus(ds)                          a Dataset, the fixed split by row index (i % 50 == 0)
    DatasetCorpus(ds, val_ratio="1/10")        10% validation, evenly spread (as for files)
    DatasetCorpus(DatasetDict(train=a, validation=b))   two splits, each read whole
    text_field: the column of the text (default "text").
    """
    dataset: Any
    text_field: str = "text"
    val_ratio: Fraction | None = None

    def __post_init__(self):
        if not is_hf_dataset(self.dataset):
            raise TypeError(f"DatasetCorpus takes a datasets.Dataset or DatasetDict, not {type(self.dataset).__name__}")
        if self.val_ratio is not None:
            object.__setattr__(self, "val_ratio", parse_ratio(self.val_ratio))
        if self.explicit:
            missing = [k for k in ("train", "validation") if k not in self.dataset]
            if missing:
                raise ValueError(f"a DatasetDict corpus needs the splits train and validation; it has "
                                 f"{', '.join(self.dataset)} (missing {', '.join(missing)})")
            if self.val_ratio is not None:
                raise ValueError("val_ratio splits one Dataset; a DatasetDict's splits are read whole")
        for part in (self.dataset.values() if self.explicit else [self.dataset]):
            if self.text_field not in part.column_names:
                raise ValueError(f'a Dataset with no column "{self.text_field}" (columns: '
                                 f'{", ".join(part.column_names)}): pass text_field=')

    @property
    def explicit(self) -> bool:
        return type(self.dataset).__name__ == "DatasetDict"

    @property
    def split_rule(self) -> str | None:
        """As Corpus.split_rule: None = the fixed rule, "ratio p/q", or "whole"."""
        if self.explicit:
            return "whole"
        if self.val_ratio is None or self.val_ratio == FIXED_RATIO:
            return None
        return f"ratio {self.val_ratio.numerator}/{self.val_ratio.denominator}"

    def source(self, split: str) -> DatasetSource:
        if self.explicit:
            if split == "all":
                raise ValueError("a DatasetDict corpus has no single source for split 'all'")
            return DatasetSource(self.dataset[{"train": "train", "val": "validation"}[split]], self.text_field)
        return DatasetSource(self.dataset, self.text_field)

    def check(self, splits=("train", "val")) -> None:
        """Nothing to find: the rows are in memory (the columns were checked when it was made)."""

    def iter_records(self, split: str = "all") -> Iterator[dict]:
        if split not in ("train", "val", "all"):
            raise ValueError(f"split must be train/val/all, got {split!r}")
        if self.explicit:
            for s in (("train", "val") if split == "all" else (split,)):
                yield from ({self.text_field: t} for t in self.source(s).texts())
            return
        for i, text in enumerate(self.source("all").texts()):
            if split == "all" or (split == "val") == is_validation_at(i, self.val_ratio):
                yield {self.text_field: text}

    def iter_documents(self, split: str = "all") -> Iterator[str]:
        for record in self.iter_records(split):
            yield record[self.text_field]


CorpusLike = Union[str, Path, Corpus, DatasetCorpus, None]


def as_corpus(x) -> Corpus | DatasetCorpus:
    """A corpus from a Corpus or DatasetCorpus, a datasets.Dataset/DatasetDict (DatasetCorpus with
    its text column "text"), a path (the fixed split) or None (the project's corpus)."""
    if isinstance(x, (Corpus, DatasetCorpus)):
        return x
    if is_hf_dataset(x):
        return DatasetCorpus(x)
    return Corpus(None if x is None else Path(x))


def add_corpus_arguments(parser, data_help: str | None = None) -> None:
    """--data, --train, --validation, --text-field, --val-ratio: the corpus flags of every CLI."""
    g = parser.add_argument_group("corpus (docs/corpus.md)")
    g.add_argument("--data", type=Path, default=None, help=data_help or (
        "corpus: .jsonl, .jsonl.gz, .parquet or a directory of .txt files (default: the shared "
        f"{DEFAULT_FILE}); split: document i is validation iff i %% {VAL_EVERY} == 0 unless --val-ratio"))
    g.add_argument("--train", type=Path, default=None, help="train documents, read whole (with --validation)")
    g.add_argument("--validation", type=Path, default=None, help="validation documents, read whole (with --train)")
    g.add_argument("--text-field", default="text", help="JSON field / parquet column of the text (default: %(default)s)")
    g.add_argument("--val-ratio", default=None,
                   help="validation share of --data, evenly spread (e.g. 0.1 or 1/10; 1/50 is the fixed split)")


def corpus_from_args(args, datasets: bool = False) -> "Corpus | DatasetCorpus":
    """The Corpus the flags of add_corpus_arguments describe (ValueError on a bad combination).
    datasets: a --data directory that datasets' save_to_disk wrote is that Dataset (or
    DatasetDict), memory-mapped (load_saved_dataset); the CLIs that read a Dataset pass True."""
    corpus = Corpus(args.data, train=args.train, validation=args.validation,
                    text_field=args.text_field, val_ratio=args.val_ratio)
    if datasets and corpus.path is not None and is_saved_dataset(corpus.path):
        return load_saved_dataset(corpus.path, corpus.text_field, corpus.val_ratio)
    return corpus


def is_saved_dataset(path: Path) -> bool:
    """A directory datasets' save_to_disk wrote: a Dataset (state.json, dataset_info.json and
    its .arrow files) or a DatasetDict (dataset_dict.json and a directory per split)."""
    path = Path(path)
    return path.is_dir() and ((path / "dataset_dict.json").is_file()
                              or ((path / "state.json").is_file() and (path / "dataset_info.json").is_file()))


def load_saved_dataset(path: Path, text_field: str = "text", val_ratio=None) -> DatasetCorpus:
    """The DatasetCorpus of a save_to_disk directory, loaded with datasets.load_from_disk: its
    tables memory-mapped from the directory's files (eqinfo.cluster's workers map them too). A
    DatasetDict needs the splits train and validation, each read whole."""
    try:
        import datasets
    except ImportError as e:
        raise ImportError(f"{path} is a directory datasets' save_to_disk wrote: reading it needs "
                          "datasets, which eqinfo does not install: pip install datasets") from e
    return DatasetCorpus(datasets.load_from_disk(str(path)), text_field=text_field, val_ratio=val_ratio)


def encode_document(text: str) -> np.ndarray:
    """UTF-8 bytes of `text` followed by EOS, as uint16 [n_bytes + 1]."""
    b = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    out = np.empty(len(b) + 1, dtype=np.uint16)
    out[:-1] = b
    out[-1] = EOS
    return out


def file_sha256(path: str | Path) -> str:
    """The sha256 (hex) of one file, read in 1 MiB blocks: the package's one definition of it."""
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
    key = f"{file_sha256(path)[:16]}_{split}" + ("" if langs is None else "_" + "+".join(langs))
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
            with replacing(fn) as tmp, open(tmp, "wb") as f:  # atomic: another process may read it
                np.save(f, arr)
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
