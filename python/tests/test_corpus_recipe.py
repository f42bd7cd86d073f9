"""docs/corpus.md's recipe ("Bringing your own corpus"), run as it stands: the console scripts are
the package's own (eqinfo.console, in-tree), in an empty directory."""
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from binding_support import require_binding

require_binding()
pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "corpus.md").read_text()


def recipe() -> str:
    section = DOC[DOC.index("## Recipe"):]
    return re.search(r"```sh\n(.*?)\n```", section, re.S).group(1)


def test_the_recipe_runs(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    import tomllib
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name, target in scripts.items():   # the console scripts of this checkout
        func = target.split(":")[1]
        shim = bin_dir / name
        shim.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'import sys; from eqinfo import console; "
                        f"sys.argv[0] = \"{name}\"; sys.exit(console.{func}())' \"$@\"\n")
        shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", PYTHONPATH=str(ROOT / "python"),
               OMP_NUM_THREADS="1")
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", recipe()], cwd=work, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("exact") == 2                      # both methods round-trip
    assert "examples per epoch:" in r.stdout and "resumed after 1" in r.stdout
    assert "tokens, vocab 65536 from" in r.stdout and "docs.jsonl" in r.stdout
    for split in ("train", "val"):
        assert (work / "mine" / "bin" / f"{split}.bin").exists()
        assert (work / "mine" / "shards" / split / "bytes.shard").exists()
    # nothing was written outside the recipe's directory
    assert sorted(p.name for p in work.iterdir()) == ["mine"]
