"""The package is typed (issue 13, item 3): py.typed, a stub of the extension that names what the
module has (and matches nanobind's stubgen where nanobind is installed), a return type on
get_tokenizer that a type checker sees through the lazy top level, and the README's Python
examples type-check with mypy (skipped, visibly, without mypy: CI installs it)."""
import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from binding_support import require_binding

ROOT = Path(__file__).resolve().parents[2]
STUB = ROOT / "python" / "bindings" / "_eqinfo_core.pyi"


def test_the_package_is_marked_typed_and_the_stub_is_installed():
    assert (ROOT / "python" / "eqinfo" / "py.typed").is_file()
    cmake = (ROOT / "python" / "bindings" / "CMakeLists.txt").read_text()
    assert re.search(r"install\(FILES _eqinfo_core\.pyi DESTINATION \. COMPONENT python\)", cmake)


def _stub_names(text: str) -> dict[str, set[str]]:
    """{"": module-level names, class name: its members} of a stub."""
    names: dict[str, set[str]] = {"": set()}
    for node in ast.parse(text).body:
        if isinstance(node, ast.ClassDef):
            names[""].add(node.name)
            names[node.name] = {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[""].add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names[""].add(node.target.id)
    return names


def _public(obj) -> set[str]:
    return {n for n in vars(obj) if not n.startswith("_") or n in ("__init__", "__repr__")}


def test_the_stub_names_what_the_module_has():
    core = require_binding()
    stub = _stub_names(STUB.read_text())
    assert stub[""] == _public(core) - {"__init__", "__repr__"}, "module-level names differ"
    for cls in ("DecodeResult", "CoreTokenizer"):
        members = _public(getattr(core, cls)) - {"__init__"} if cls == "DecodeResult" else _public(getattr(core, cls))
        assert stub[cls] == members, f"{cls} members differ"


def _signatures(text: str) -> str:
    """The stub's declarations without values, docstrings or comments (what stubgen would
    write differently for another build: source_dir, simd_kernel, the flag values)."""
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign):
            node.value = None
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            node.body = body[1:] or [ast.Expr(ast.Constant(...))]
    return ast.dump(tree)


def test_the_stub_matches_a_fresh_stubgen(tmp_path):
    require_binding()
    if importlib.util.find_spec("nanobind") is None:
        pytest.skip("nanobind not installed: cannot regenerate the stub")
    out = tmp_path / "_eqinfo_core.pyi"
    subprocess.run([sys.executable, "-m", "nanobind.stubgen", "-q", "-m", "_eqinfo_core", "-o", str(out)],
                   check=True, cwd=tmp_path)
    assert _signatures(STUB.read_text()) == _signatures(out.read_text()), \
        "python/bindings/_eqinfo_core.pyi is stale: regenerate it with nanobind.stubgen"


# ---- mypy ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("mypy_cache")  # shared: the second run reuses the first's analysis


def _mypy(tmp_path: Path, code: str, cache: Path) -> subprocess.CompletedProcess:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy not installed (pip install mypy; python/requirements.txt lists it)")
    f = tmp_path / "example.py"
    f.write_text(code)
    env = dict(os.environ, MYPYPATH=os.pathsep.join([str(ROOT / "python"), str(ROOT / "python" / "bindings")]))
    # Errors are reported in the example only: the package's own untyped corners are not its subject.
    return subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-error-summary",
                           "--cache-dir", str(cache), str(f)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)


def _readme_python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_the_readme_python_examples_type_check(tmp_path, mypy_cache):
    blocks = _readme_python_blocks()
    assert blocks, "README.md has no ```python block"
    r = _mypy(tmp_path, "\n".join(blocks), mypy_cache)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_sees_the_types_through_the_lazy_top_level(tmp_path, mypy_cache):
    # A wrong argument must be an error: the return type is not Any.
    r = _mypy(tmp_path, "import eqinfo\nimport numpy as np\n"
              "tok = eqinfo.get_tokenizer('bytes')\n"
              "ids: np.ndarray = tok.encode('x')\n"
              "eos: int | None = tok.eos_token_id\n"
              "tok.encode(3)\n", mypy_cache)
    errors = [line for line in r.stdout.splitlines() if "error:" in line]
    assert r.returncode == 1 and errors and 'Argument 1 to "encode"' in r.stdout, r.stdout
    assert all(line.startswith("example.py:6:") for line in errors), r.stdout  # that line only
