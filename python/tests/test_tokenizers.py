"""The method registry and the package's policy layer (no C++ needed for most of it)."""
import numpy as np
import pytest

from eqinfo import resources
from eqinfo.tokenizers import METHODS, DecodeResult, Issue, as_bytes, as_tokens, method_spec


def test_registry_names_every_method_of_the_experiment():
    expected = {"bytes", "sentencepiece"}
    for v in ("v256", "v65k"):
        expected |= {f"ac-{v}", f"staticac-{v}", f"gzip-{v}"}
        expected |= {f"equalinfo-b{b}-{v}" for b in (16, 24, 32, 64, 128)}
    assert set(METHODS) == expected


def test_specs():
    s = method_spec("equalinfo-b24-v65k")
    assert (s.method, s.b, s.N, s.model) == ("equalinfo", 24, 16, "m1") and s.uses_m1
    s = method_spec("staticac-v256")
    assert (s.method, s.b, s.N, s.model) == ("staticac", None, 8, "static") and not s.uses_m1
    assert method_spec("gzip-v65k").model is None and method_spec("bytes").N is None
    with pytest.raises(ValueError, match="known: bytes"):
        method_spec("equalinfo-b16")


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
