"""Where the repository's models and corpus are, for the in-tree and the installed package.

In-tree (PYTHONPATH=python) this file is python/eqinfo/resources.py and the repository is two
levels up. Installed (`pip install .`) the package lives in site-packages, so the repository is
the one the extension was built from (`_eqinfo_core.source_dir`, recorded at build time), or,
when that checkout has gone (a wheel built in a temporary clone), the current directory or one of
its parents. The models stay in the repository rather than being copied into the wheel on
purpose: M1 is retrained in place, and a stale copy in site-packages would silently tokenize with
an older model. EQINFO_REPO overrides all of these.

This module is the only place that knows these rules: eqinfo.data, the experiment runner and the
CLIs ask it, so an installed package never resolves a path against site-packages.
"""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_M1 = "models/m1-3m.safetensors"
DEFAULT_STATIC = "models/static_en_train.json"
DEFAULT_DATA_FILE = "en_real_mix.jsonl.gz"
# Korean and Chinese (docs/data.md): M1 v2 trains on a mix of it with the English file.
MULTILINGUAL_DATA_FILE = "multilingual_ko_zh.jsonl.gz"


def _is_repo(path: Path) -> bool:
    return (path / "models").is_dir() and (path / "include" / "eqinfo").is_dir()


def _candidates():
    """Possible repository roots, most specific first, computed lazily: the extension is only
    imported when the in-tree location is not a repository (eqinfo imports it on first use)."""
    if os.environ.get("EQINFO_REPO"):
        yield Path(os.environ["EQINFO_REPO"])
    yield Path(__file__).resolve().parents[2]
    try:
        import _eqinfo_core
        yield Path(_eqinfo_core.source_dir)
    except ImportError:
        pass
    cwd = Path.cwd().resolve()
    yield cwd
    yield from cwd.parents


def repo_root() -> Path:
    """The eqinfo repository this package belongs to (raises FileNotFoundError if none)."""
    tried = []
    for c in _candidates():
        if _is_repo(c):
            return c
        tried.append(str(c))
    raise FileNotFoundError(
        "cannot find the eqinfo repository (looked in: " + ", ".join(tried) +
        "); set EQINFO_REPO or pass explicit model and data paths")


def repo_path(relative: str | Path) -> Path:
    """An existing file of the repository, e.g. repo_path(DEFAULT_M1)."""
    p = repo_root() / relative
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist")
    return p


def default_data_path(name: str = DEFAULT_DATA_FILE) -> Path:
    """A corpus file (default the English one): EQINFO_DATA_DIR/<name>, else
    <repo>/../shared/data/<name>."""
    if os.environ.get("EQINFO_DATA_DIR"):
        return Path(os.environ["EQINFO_DATA_DIR"]) / name
    return (repo_root() / ".." / "shared" / "data" / name).resolve()


def default_cache_dir() -> Path:
    """<repo>/runs/cache, or ./runs/cache outside a repository (never inside site-packages)."""
    try:
        return repo_root() / "runs" / "cache"
    except FileNotFoundError:
        return Path.cwd() / "runs" / "cache"
