"""A light core with named extras (issue 13 item 2): the core depends on numpy only and imports no
optional module; [train] pins the CPU torch exactly as scripts/setup_python.sh does; every console
script goes through eqinfo.console, and one whose extra is missing says which extra, in one line;
the license is an SPDX expression matching LICENSE."""
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from eqinfo import console

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
OPTIONAL = sorted(console.EXTRAS)
CORE_MODULES = ["eqinfo", "eqinfo.tokenizers", "eqinfo.registry", "eqinfo.data", "eqinfo.shards",
                "eqinfo.flat_tokens", "eqinfo.compress", "eqinfo.resources", "eqinfo.console",
                "eqinfo.sentencepiece_method", "eqinfo.tokenizer_types", "eqinfo.tools"]


def _python(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)


def _block(modules) -> str:
    """Python that makes importing each of `modules` fail as if it were not installed."""
    return "import sys\nfor m in %r: sys.modules[m] = None\n" % (list(modules),)


def test_the_core_depends_on_numpy_only():
    assert PROJECT["dependencies"] == ["numpy"]
    extras = PROJECT["optional-dependencies"]
    assert {"train", "experiment", "hf", "cluster"} <= set(extras)
    assert {"matplotlib", "rapidfuzz", "tqdm"} <= set(extras["experiment"])
    assert {"transformers", "datasets"} <= set(extras["hf"]) and extras["cluster"] == ["ray"]
    # every optional module's extra installs it
    for module, extra in console.EXTRAS.items():
        assert any(re.match(rf"{module}\b", req) for req in extras[extra]), (module, extra)


def test_train_pins_torch_exactly_as_the_setup_script():
    torch_reqs = [r for reqs in PROJECT["optional-dependencies"].values() for r in reqs if r.startswith("torch")]
    pin = re.search(r"pip install -q (torch==[0-9.]+)", (ROOT / "scripts" / "setup_python.sh").read_text()).group(1)
    assert torch_reqs == [pin] == ["torch==2.13.0"]   # in [train] only, never unpinned
    assert pin in PROJECT["optional-dependencies"]["train"]


def test_license_is_an_spdx_expression_matching_the_license_file():
    assert PROJECT["license"] == "Apache-2.0" and PROJECT["license-files"] == ["LICENSE"]
    head = (ROOT / "LICENSE").read_text()[:300]
    assert "Apache License" in head and "Version 2.0" in head
    requires = PYPROJECT["build-system"]["requires"]
    assert any(re.fullmatch(r"scikit-build-core>=0\.(1[1-9]|[2-9]\d)|scikit-build-core>=[1-9].*", r) for r in requires)


def test_metadata_has_the_expression_not_the_text():
    pm = pytest.importorskip("pyproject_metadata")
    data = dict(PYPROJECT, project=dict(PROJECT, version="0.0.0", dynamic=[]))
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        msg = str(pm.StandardMetadata.from_pyproject(data).as_rfc822())
    finally:
        os.chdir(cwd)
    assert "License-Expression: Apache-2.0" in msg and "License-File: LICENSE" in msg
    assert "TERMS AND CONDITIONS" not in msg          # `pip show eqinfo` no longer prints the text
    assert "Requires-Dist: numpy\n" in msg and 'Requires-Dist: torch==2.13.0; extra == "train"' in msg


def test_every_console_script_goes_through_the_wrapper():
    scripts = PROJECT["scripts"]
    assert set(scripts) == set(console.SCRIPTS)
    for name, target in scripts.items():
        module, func = target.split(":")
        assert module == "eqinfo.console" and callable(getattr(console, func)), name
        assert getattr(console, func).__name__ == name.replace("-", "_")


def test_core_modules_import_no_optional_module():
    r = _python("import importlib, sys\n"
                f"for m in {CORE_MODULES!r}: importlib.import_module(m)\n"
                f"print(sorted(m for m in {OPTIONAL + ['_eqinfo_core', 'pyarrow']!r} if m in sys.modules))")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
    # and they import with every optional module missing
    r = _python(_block(OPTIONAL) + f"import importlib\nfor m in {CORE_MODULES!r}: importlib.import_module(m)")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("name", sorted(console.SCRIPTS))
def test_help_without_extras_is_usage_or_one_line_naming_the_extra(name):
    func = PROJECT["scripts"][name].split(":")[1]
    r = _python(_block(OPTIONAL) + f"sys.argv = [{name!r}, '--help']\n"
                f"from eqinfo import console\nsys.exit(console.{func}())")
    needs = console.SCRIPTS[name][1]
    if not needs or needs == ("sentencepiece",):   # --help needs nothing optional
        assert r.returncode == 0 and "usage:" in r.stdout, r.stderr
        return
    assert r.returncode == 1 and r.stdout == "", r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    extras = ",".join(needs)
    assert re.fullmatch(rf"{name}: \w+ is not installed: pip install 'eqinfo\[{extras}\]'", lines[0]), lines


def test_a_missing_module_that_is_not_an_extra_still_raises(monkeypatch):
    import types
    mod = types.ModuleType("eqinfo_fake_cli")

    def main():
        import eqinfo_no_such_module  # noqa: F401
    mod.main = main
    monkeypatch.setitem(sys.modules, "eqinfo_fake_cli", mod)
    monkeypatch.setitem(console.SCRIPTS, "eqinfo-fake", ("eqinfo_fake_cli:main", ()))
    with pytest.raises(ModuleNotFoundError, match="eqinfo_no_such_module"):
        console.run("eqinfo-fake")()


def test_require_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentencepiece", None)
    with pytest.raises(ModuleNotFoundError, match=r"^the sentencepiece method needs sentencepiece: "
                                                  r"pip install 'eqinfo\[sentencepiece\]'$"):
        console.require("sentencepiece", "the sentencepiece method")


def test_compress_runs_without_tqdm(monkeypatch):
    from eqinfo import compress
    monkeypatch.setitem(sys.modules, "tqdm", None)
    bar = compress._progress_bar()
    with bar(total=3, disable=False) as b:
        b.update(3)
    assert bar is compress._NoBar
