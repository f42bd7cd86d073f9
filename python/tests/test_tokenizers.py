"""The package's policy layer (no C++ needed for most of it); the method registry: test_registry.py."""
import json
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
    index = json.loads((resources.repo_root() / "models" / "bundled.json").read_text())
    assert resources.models_dir() == resources.repo_root() / "models"   # in-tree: the repository's
    assert resources.bundled_model("m1").name == index["m1"]
    assert resources.bundled_model("static").suffix == ".json"
    with pytest.raises(KeyError, match="names no bundled model for 'gpt'"):
        resources.bundled_model("gpt")
    with pytest.raises(FileNotFoundError):
        resources.repo_path("models/none.bin")


def test_models_dir_prefers_the_environment_then_the_package(tmp_path, monkeypatch):
    (tmp_path / "bundled.json").write_text(json.dumps({"m1": "mine.safetensors"}))
    (tmp_path / "mine.safetensors").write_bytes(b"x")
    monkeypatch.setenv("EQINFO_MODELS_DIR", str(tmp_path))
    assert resources.bundled_model("m1") == tmp_path / "mine.safetensors"
    # A folder without bundled.json is skipped, not trusted: the next place is used.
    monkeypatch.setenv("EQINFO_MODELS_DIR", str(tmp_path / "empty"))
    assert resources.models_dir() == resources.repo_root() / "models"
