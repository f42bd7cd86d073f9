"""docs/install.md's "Using from CMake" recipe is exactly tests/consumer/, which ctest's
install_consumer_test builds against an installed prefix and runs from an unrelated directory: a
recipe that drifted from what is tested would fail here."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _blocks(lang: str) -> list[str]:
    text = (ROOT / "docs" / "install.md").read_text()
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_the_cmake_recipe_is_the_tested_consumer():
    assert (ROOT / "tests" / "consumer" / "CMakeLists.txt").read_text() in _blocks("cmake")
    assert (ROOT / "tests" / "consumer" / "main.cpp").read_text() in _blocks("cpp")


def test_the_install_test_is_registered_with_ctest():
    assert "install_consumer_test.sh" in (ROOT / "tests" / "CMakeLists.txt").read_text()
