"""eqinfo.resources: where the repository, the corpus and the cache are, in-tree and installed.

The installed case is simulated by copying the package out of the tree (as pip does) and running
it in a subprocess: the paths it reports must come from the repository found through the current
directory (or EQINFO_REPO), never from the directory the package was copied to.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eqinfo import resources

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json
from eqinfo import data, resources
from eqinfo.experiment import run
out = {"run_root": str(run.REPO_ROOT), "cache": str(data.DEFAULT_CACHE_DIR)}
try:
    out["root"] = str(resources.repo_root())
    out["data"] = str(data.default_data_path())
except FileNotFoundError as e:
    out["error"] = str(e)
print(json.dumps(out))
"""


def test_in_tree_root_is_this_checkout():
    assert resources.repo_root() == REPO
    assert resources.default_cache_dir() == REPO / "runs" / "cache"


def test_data_dir_env_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("EQINFO_DATA_DIR", str(tmp_path))
    assert resources.default_data_path() == tmp_path / resources.DEFAULT_DATA_FILE


@pytest.fixture
def copied_package(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(REPO / "python" / "eqinfo", site / "eqinfo",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return site


def _probe(site: Path, cwd: Path, **env) -> dict:
    e = {k: v for k, v in os.environ.items() if k not in ("EQINFO_REPO", "EQINFO_DATA_DIR")}
    # The extension (if installed) may name a checkout that exists; hide it so only cwd and
    # EQINFO_REPO can find the repository.
    e.update(PYTHONPATH=str(site), PYTHONNOUSERSITE="1", **env)
    code = "import sys; sys.modules['_eqinfo_core'] = None\n" + PROBE
    r = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=e, capture_output=True,
                       text=True, check=True)
    return json.loads(r.stdout)


def test_installed_package_finds_repo_from_cwd(copied_package):
    out = _probe(copied_package, REPO / "docs")
    assert out["root"] == str(REPO)
    assert out["run_root"] == str(REPO)
    assert out["cache"] == str(REPO / "runs" / "cache")
    assert out["data"] == str((REPO / ".." / "shared" / "data" / resources.DEFAULT_DATA_FILE).resolve())


def test_installed_package_with_eqinfo_repo(copied_package, tmp_path):
    out = _probe(copied_package, tmp_path, EQINFO_REPO=str(REPO))
    assert out["root"] == str(REPO)


def test_installed_package_outside_any_repo_says_so(copied_package, tmp_path):
    work = tmp_path / "elsewhere"
    work.mkdir()
    out = _probe(copied_package, work)
    assert "EQINFO_REPO" in out["error"]
    # Nothing is ever resolved into the package's own directory.
    assert not out["cache"].startswith(str(copied_package))
    assert out["run_root"] == str(work)
