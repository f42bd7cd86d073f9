"""Where the repository's models and corpus are, for the in-tree and the installed package.

In-tree (PYTHONPATH=python) this file is python/eqinfo/resources.py and the repository is two
levels up. Installed (`pip install .`) the package lives in site-packages, so the repository is
the one the extension was built from (`_eqinfo_core.source_dir`, recorded at build time). The
models stay in the repository rather than being copied into the wheel on purpose: M1 is retrained
in place, and a stale copy in site-packages would silently tokenize with an older model.
EQINFO_REPO overrides both.
"""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_M1 = "models/m1-3m.safetensors"
DEFAULT_STATIC = "models/static_en_train.json"


def repo_root() -> Path:
    """The eqinfo repository this package belongs to (raises FileNotFoundError if none)."""
    candidates = []
    if os.environ.get("EQINFO_REPO"):
        candidates.append(Path(os.environ["EQINFO_REPO"]))
    candidates.append(Path(__file__).resolve().parents[2])
    try:
        import _eqinfo_core
        candidates.append(Path(_eqinfo_core.source_dir))
    except ImportError:
        pass
    for c in candidates:
        if (c / "models").is_dir() and (c / "include" / "eqinfo").is_dir():
            return c
    raise FileNotFoundError(
        "cannot find the eqinfo repository (looked in: " + ", ".join(map(str, candidates)) +
        "); set EQINFO_REPO or pass explicit model and data paths")


def repo_path(relative: str | Path) -> Path:
    """An existing file of the repository, e.g. repo_path(DEFAULT_M1)."""
    p = repo_root() / relative
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist")
    return p


def default_data_path() -> Path:
    """The corpus: EQINFO_DATA_DIR/en_real_mix.jsonl.gz, else <repo>/../shared/data/...

    Same rule as eqinfo.data.default_data_path, but valid for an installed package too.
    """
    from eqinfo import data
    if os.environ.get("EQINFO_DATA_DIR"):
        return data.default_data_path()
    return (repo_root() / ".." / "shared" / "data" / data.DEFAULT_FILE).resolve()
