"""eqinfo: neural tokenization with Equal-Info Windows.

    import eqinfo
    tok = eqinfo.get_tokenizer("equalinfo-b16-v65k")   # any name of eqinfo.METHODS
    tok.decode(tok.encode("Hello, world.")).documents  # [b"Hello, world."]

The names below are loaded on first use (PEP 562 __getattr__), so `import eqinfo` stays light:
it imports neither the C++ extension nor torch, and the torch-only parts of the package (M1
training) work without a build.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers see; at run time __getattr__ imports the same names
    from eqinfo.registry import METHODS, Method
    from eqinfo.sentencepiece_method import SentencePieceTokenizer
    from eqinfo.tokenizer_types import DecodeResult, Issue, MethodTokenizer
    from eqinfo.tokenizers import Tokenizer, get_tokenizer

# name -> the module that defines it
_LAZY = {
    "get_tokenizer": "eqinfo.tokenizers",
    "Tokenizer": "eqinfo.tokenizers",
    "SentencePieceTokenizer": "eqinfo.sentencepiece_method",
    "METHODS": "eqinfo.registry",
    "Method": "eqinfo.registry",
    "DecodeResult": "eqinfo.tokenizer_types",
    "Issue": "eqinfo.tokenizer_types",
    "MethodTokenizer": "eqinfo.tokenizer_types",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'eqinfo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
