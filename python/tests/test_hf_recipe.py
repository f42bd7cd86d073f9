"""docs/huggingface.md's recipe runs as written (issue 13, item 9: a copy-paste recipe that a
test runs): the ```python block of its section "The recipe", in an empty directory."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from binding_support import require_binding

require_binding()
for module in ("torch", "transformers", "datasets", "accelerate"):
    pytest.importorskip(module, reason=f"{module} not installed (the recipe needs '.[hf]', torch, accelerate)")

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "huggingface.md").read_text()


def _recipe() -> str:
    section = DOC[DOC.index("## The recipe"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the recipe is one ```python block"
    return blocks[0]


def test_the_recipe_runs_in_an_empty_directory(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "python"), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", _recipe()], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (tmp_path / "hf_tokenizer" / "m1.safetensors").is_file()
    assert (tmp_path / "hf_shards" / "train" / "equalinfo-b16-v65k.shard").is_file()
    decoded = [line for line in r.stdout.splitlines() if line.startswith("['")]
    assert decoded, r.stdout  # the batch_decode print: a list of one str
