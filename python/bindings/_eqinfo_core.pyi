# Type stub of the extension module _eqinfo_core (python/bindings/module.cpp), installed beside
# it (python/bindings/CMakeLists.txt). Written from nanobind's stubgen
# (`python -m nanobind.stubgen -m _eqinfo_core`) with the build-specific values left out;
# python/tests/test_typing.py checks it names what the module has and matches a fresh stubgen.
"""
eqinfo C++ core (tokenizers). Use the `eqinfo` package; this module is its engine.
"""

from collections.abc import Sequence
from typing import Annotated

import numpy
from numpy.typing import NDArray


source_dir: str

simd_kernel: str

version: str

def tool_names() -> list[str]:
    """the command-line tools run_tool can run"""

def run_tool(name: str, args: Sequence[str]) -> int:
    """
    Runs a command-line tool (eqinfo-encode, ...) in this process with these arguments (argv[1:]); returns its exit status. It reads stdin and writes stdout/stderr through the C++ streams.
    """

ISSUE_UNTERMINATED_DOCUMENT: int

ISSUE_NONZERO_PADDING: int

ISSUE_EXTRA_TOKENS: int

ISSUE_INVALID_TOKEN: int

ISSUE_CORRUPT_STREAM: int

class DecodeResult:
    """
    What decode returns: the documents recovered and issue flags (never raises on input).
    """

    @property
    def documents(self) -> list:
        """list[bytes], EOS not included"""

    @property
    def issues(self) -> int:
        """bit set of ISSUE_* flags; 0 = exactly what an encoder writes"""

    @property
    def windows(self) -> int:
        """Equal-Info windows decoded (0 for other methods)"""

    @property
    def ok(self) -> bool: ...

    def describe(self) -> str: ...

    def __repr__(self) -> str: ...

def method_names() -> list[str]:
    """
    the C++ factory's method names (the Python registry is checked against them)
    """

def chunk_bits(bits: Annotated[NDArray[numpy.uint8], dict(shape=(None,), order='C', device='cpu', writable=False)], token_bits: int) -> Annotated[NDArray[numpy.uint16], dict(shape=(None,))]:
    """
    uint8 0/1 bits -> uint16 tokens of N bits, MSB first, the last zero-padded (BitChunker)
    """

class CoreTokenizer:
    """One tokenizer from run-time settings (TokenizerSpec)."""

    def __init__(self, method: str, window_bits: int = 16, token_bits: int = 16, model: str = 'uniform', frequency_bits: int | None = None, kernel: str = 'simd', model_threads: int = 1) -> None: ...

    def encode(self, document: bytes) -> Annotated[NDArray[numpy.uint16], dict(shape=(None,))]:
        """bytes -> uint16 tokens (EOS appended)"""

    def encode_batch(self, documents: list, threads: int = 1) -> tuple:
        """
        list[bytes] -> (uint16 tokens of all documents back to back, int64 offsets [n + 1])
        """

    def encode_batch_with_stats(self, documents: list, threads: int = 1) -> tuple:
        """
        list[bytes] -> (tokens, offsets, window stats dict: windows, window_symbols, greedy_symbols, fallback_windows)
        """

    def encode_bits(self, documents: list, threads: int = 1) -> tuple:
        """
        list[bytes] -> (uint8 0/1 bits of all documents back to back, int64 offsets [n + 1], window stats dict)
        """

    def decode(self, tokens: object) -> DecodeResult: ...

    def decode_batch(self, streams: list, threads: int = 1) -> list[DecodeResult]: ...

    @property
    def method(self) -> str: ...

    @property
    def window_bits(self) -> int: ...

    @property
    def token_bits(self) -> int: ...

    @property
    def frequency_bits(self) -> int: ...

    @property
    def model(self) -> str: ...

    @property
    def fingerprint(self) -> int:
        """FNV-1a 64 of the model's behaviour; 0 for methods without a model"""

    @property
    def vocab_size(self) -> int: ...
