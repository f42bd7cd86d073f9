"""Where the bundled models and the corpus are, for the in-tree and the installed package.

Models. The folder of the bundled models holds bundled.json, which names the file of each role
("m1", "static", "sentencepiece"); it is the one table of the bundled models (C++ reads it in
include/eqinfo/bundled_models.hpp, CMake and the wheel install exactly its files). The folder is
  1. $EQINFO_MODELS_DIR, when set;
  2. the package's own eqinfo/models/ -- an installed wheel carries its models, so it works with
     no checkout anywhere (a stale copy cannot go unnoticed: every token file and shard records
     the model's fingerprint, and decoding refuses another);
  3. the repository's models/ (in-tree, PYTHONPATH=python: the models being retrained).

Repository. The experiment, the M1 training and the corpus default live beside a checkout: in-tree
(PYTHONPATH=python) this file is python/eqinfo/resources.py and the repository is two levels up;
installed, it is the one the extension was built from (`_eqinfo_core.source_dir`, recorded at
build time), or, when that checkout has gone, the current directory or one of its parents.
EQINFO_REPO overrides these.

This module is the only place that knows these rules: eqinfo.data, the tokenizers, the experiment
runner and the CLIs ask it, so an installed package never resolves a path against site-packages
by accident.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

MODELS_INDEX = "bundled.json"
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
    """An existing file of the repository, e.g. repo_path("docs/results.md")."""
    p = repo_root() / relative
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist")
    return p


def _has_index(path: Path) -> bool:
    return (path / MODELS_INDEX).is_file()


def models_dir() -> Path:
    """The folder of the bundled models (see the module docstring); FileNotFoundError naming the
    places looked in if none holds bundled.json."""
    tried = []
    if os.environ.get("EQINFO_MODELS_DIR"):
        env = Path(os.environ["EQINFO_MODELS_DIR"])
        if _has_index(env):
            return env
        tried.append(f"{env} ($EQINFO_MODELS_DIR)")
    packaged = Path(__file__).resolve().parent / "models"
    if _has_index(packaged):
        return packaged
    tried.append(str(packaged))
    try:
        in_repo = repo_root() / "models"
        if _has_index(in_repo):
            return in_repo
        tried.append(str(in_repo))
    except FileNotFoundError:
        tried.append("no eqinfo repository")
    raise FileNotFoundError(f"cannot find the bundled models (a folder with {MODELS_INDEX}; looked in: "
                            + ", ".join(tried) + "); set EQINFO_MODELS_DIR or pass model paths explicitly")


def bundled_models() -> dict[str, str]:
    """bundled.json: role -> file name (and "files": what is installed beside them)."""
    return json.loads((models_dir() / MODELS_INDEX).read_text())


def bundled_model(role: str) -> Path:
    """The file of a bundled model: bundled_model("m1"), "static" or "sentencepiece"."""
    index = bundled_models()
    name = index.get(role)
    if not isinstance(name, str):
        raise KeyError(f"{models_dir() / MODELS_INDEX} names no bundled model for {role!r}")
    path = models_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} (the bundled {role} model) does not exist")
    return path


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
