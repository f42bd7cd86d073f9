"""docs/design.md §1 is the layout map: every header of the C++ library and every module of the
Python package is named there, and everything it names exists (a file added, moved or removed
without updating the map fails here)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DESIGN = (ROOT / "docs" / "design.md").read_text()
LAYOUT = DESIGN[DESIGN.index("## 1. Pipeline and layout"):DESIGN.index("## 2. ")]


def _named(section: str) -> set[str]:
    """Every `file.ext` or `dir/` written in backticks in the section."""
    return {m for m in re.findall(r"`([\w./]+(?:\.hpp|\.py|/))`", section)}


def test_every_library_header_is_on_the_map():
    headers = {p.relative_to(ROOT / "include" / "eqinfo").as_posix()
               for p in (ROOT / "include" / "eqinfo").rglob("*.hpp")}
    missing = headers - _named(LAYOUT)
    assert not missing, f"headers not in docs/design.md §1.1: {sorted(missing)}"


def test_every_python_module_is_on_the_map():
    pkg = ROOT / "python" / "eqinfo"
    named = _named(LAYOUT)
    missing = []
    for p in pkg.rglob("*.py"):
        rel = p.relative_to(pkg)
        if p.name == "__init__.py" and rel.parent.as_posix() != ".":
            if f"{rel.parent.as_posix()}/" not in named:
                missing.append(f"{rel.parent.as_posix()}/")
            continue
        if p.name == "__init__.py":
            continue
        # Modules of a subpackage may be named with or without their folder.
        if rel.as_posix() not in named and p.name not in named:
            missing.append(rel.as_posix())
    assert not missing, f"modules not in docs/design.md §1.3: {sorted(set(missing))}"


def test_everything_the_map_names_exists():
    # Sources only: build trees and runs hold thousands of outputs and no file the map may name.
    files = {p.name for p in ROOT.rglob("*")
             if p.is_file() and not any(part == ".git" or part.startswith(("build", "runs"))
                                        for part in p.relative_to(ROOT).parts)}
    gone = sorted(n for n in _named(LAYOUT) if not n.endswith("/") and Path(n).name not in files)
    assert not gone, f"docs/design.md §1 names files that do not exist: {gone}"
