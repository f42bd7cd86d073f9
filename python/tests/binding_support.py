"""What the binding tests share: the compiled extension (or a skip), the corpus, sample texts.

The extension is built by `pip install .`. Without it these tests skip -- unless
EQINFO_REQUIRE_BINDING=1 (scripts/test.sh sets it), where a missing build is a failure.
"""
import importlib
import os

import pytest

from eqinfo import resources


def require_binding():
    try:
        return importlib.import_module("_eqinfo_core")
    except ImportError as e:
        if os.environ.get("EQINFO_REQUIRE_BINDING") == "1":
            raise
        pytest.skip(f"eqinfo extension not installed (pip install .): {e}", allow_module_level=True)


def corpus_or_skip(name: str = resources.DEFAULT_DATA_FILE):
    """The shared corpus file `name` (default the English one), or a skip naming its path."""
    path = resources.default_data_path(name)
    if not path.exists():
        pytest.skip(f"corpus {path} not present", allow_module_level=True)
    return path


# Documents that exercise every tokenizer's edges: empty, one byte, EOS-like byte values,
# multi-byte UTF-8, invalid UTF-8 (the C++ methods take any bytes), whitespace runs.
SAMPLES = [
    b"",
    b"a",
    b"Hello, world. This is a short English sentence.\n",
    "Gr\u00fc\u00dfe, \u4f60\u597d, \uc548\ub155\ud558\uc138\uc694 \U0001F600".encode(),
    bytes(range(256)),
    b"\x00\xff\xfe  \n\n\t  trailing   ",
    b"The quick brown fox jumps over the lazy dog. " * 20,
]
