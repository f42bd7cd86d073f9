"""The package's policy layer (no C++ needed for most of it); the method registry: test_registry.py."""
import numpy as np
import pytest

from eqinfo import resources
from eqinfo.tokenizers import DecodeResult, Issue, as_bytes, as_tokens


def test_input_conversion():
    assert as_bytes("\u00e9") == b"\xc3\xa9" and as_bytes(bytearray(b"x")) == b"x"
    with pytest.raises(TypeError):
        as_bytes(None)
    assert as_tokens([]).dtype == np.uint16
    assert as_tokens(np.array([1, 65535], dtype=np.int64)).dtype == np.uint16
    with pytest.raises(ValueError):
        as_tokens(np.array([65536]))


def test_decode_result_words():
    assert DecodeResult([b"a"]).describe() == "ok"
    r = DecodeResult([], Issue.NONZERO_PADDING | Issue.EXTRA_TOKENS)
    assert not r.ok and r.describe() == "non-zero padding bits, extra tokens after the last document"


def test_default_models_are_found_in_the_repository():
    assert resources.repo_path(resources.DEFAULT_M1).name == "m1-3m.safetensors"
    assert resources.repo_path(resources.DEFAULT_STATIC).suffix == ".json"
    with pytest.raises(FileNotFoundError):
        resources.repo_path("models/none.bin")
