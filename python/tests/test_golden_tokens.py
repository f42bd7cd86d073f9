"""Golden tokens: every method's tokens for tests/golden/documents.jsonl equal the committed ones.

tests/golden/tokens.json was written before the redesign (issue 10) by tests/golden/golden_tokens.py;
here the current code is compared with it through the Python API (get_tokenizer(name)), the
binding's factory settings, and the CLI's token files (eqinfo-encode --input-format jsonl over all
documents: one stream). tests/golden_tokens_test.cpp checks the same file through the C++ factory.
"""
import importlib.util
import os
from pathlib import Path

import pytest

from binding_support import require_binding

require_binding()

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("golden_tokens", ROOT / "tests" / "golden" / "golden_tokens.py")
golden_tokens = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden_tokens)


def _bin_dir() -> Path | None:
    for d in (os.environ.get("EQINFO_BIN_DIR"), ROOT / "build-test" / "bin", ROOT / "build" / "bin"):
        if d and (Path(d) / "eqinfo-encode").exists():
            return Path(d)
    return None


def test_every_method_and_setting_gives_the_golden_tokens_per_document():
    bad, n = golden_tokens.differences(None)
    assert n >= 27
    assert bad == [], f"tokens changed for {bad}"


@pytest.mark.skipif(_bin_dir() is None, reason="eqinfo-encode not built (build-test/bin, build/bin or EQINFO_BIN_DIR)")
def test_cli_token_files_hold_the_golden_streams():
    bad, _ = golden_tokens.differences(_bin_dir())
    assert bad == [], f"CLI streams changed for {bad}"


def test_golden_file_covers_every_registered_method():
    from eqinfo.tokenizers import METHODS
    named = {c["name"] for c in golden_tokens.load()["cases"] if "name" in c}
    assert set(METHODS) <= named


def test_a_changed_token_is_detected(tmp_path, monkeypatch):
    """The comparison can fail: one token of one case altered in a copy of the file."""
    import json
    golden = golden_tokens.load()
    case = golden["cases"][0]
    first = case["per_document"][1]
    case["per_document"][1] = f"{(int(first[:4], 16) ^ 1):04x}" + first[4:]
    copy = tmp_path / "tokens.json"
    copy.write_text(json.dumps(golden))
    monkeypatch.setattr(golden_tokens, "GOLDEN", copy)
    bad, _ = golden_tokens.differences(None)
    assert bad == [case["id"]]
