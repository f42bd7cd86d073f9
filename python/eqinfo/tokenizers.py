"""Every tokenization method of the experiment behind one interface.

    tok = get_tokenizer("equalinfo-b16-v65k")      # bundled M1
    ids = tok.encode("Hello, world.")             # np.uint16, ending the document (EOS)
    tok.decode(ids).documents                     # [b"Hello, world."]
    tok.encode_batch(texts, threads=2)            # same result for any thread count

`METHODS` is the method registry (eqinfo.registry): each method's name as the paper writes it
and the settings of the C++ run-time factory (include/eqinfo/tokenizer_factory.hpp) it maps to:
the factory method, window bits b, token bits N (v = 2^N) and which model drives the coder.
SentencePiece is the one method not in the C++ core (eqinfo.sentencepiece_method) but has the
same interface.

Models (defaults: the bundled models, models/bundled.json; eqinfo.resources finds them in the
installed package or the repository):
  M1      m1-3m.safetensors       the byte-level transformer; AC and EqualInfoAC
  static  static_en_train.json    order-0 byte counts of the train split; StaticAC
Pass `m1=` / `static=` paths to use others; a method ignores the models it does not use.

The C++ extension (`_eqinfo_core`) is imported on first use, not when `eqinfo` is imported, so
the torch-only parts of the package (M1 training) work without a build.

EOS: Bytes and SentencePiece end a document with a token of its own (`eos_token_id`, 256 and 1);
AC, StaticAC, GZip and EqualInfoAC code the end of the document inside the stream (`eos_token_id`
is None): every id in [0, vocab_size) is data, and no id is free to mean padding
(docs/huggingface.md, "EOS and padding").

A Tokenizer pickles as its method and settings with its model's path (a worker rebuilds it and
checks the fingerprint), and tokenizers compare and hash by method, token bits and model
fingerprint, so `datasets` fingerprints a `map` over one stably and keeps its cache.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from eqinfo import resources
from eqinfo.registry import METHODS, Method, lookup  # METHODS: re-exported (README)
from eqinfo.sentencepiece_method import SentencePieceTokenizer
# The interface every tokenizer shares; re-exported, so callers need only this module.
from eqinfo.tokenizer_types import (DecodeResult, Issue, MethodTokenizer, ModelMismatchError,
                                    as_bytes, as_tokens, check_fingerprint, split_flat)


def _core():
    try:
        import _eqinfo_core
    except ImportError as e:
        raise ImportError("the eqinfo C++ extension (_eqinfo_core) is not installed: run "
                          "`pip install .` in the repository") from e
    return _eqinfo_core


def _from_core(r) -> DecodeResult:
    return DecodeResult(list(r.documents), Issue(r.issues), r.windows)


class Tokenizer:
    """A method of the C++ core (every method except SentencePiece).

    threads in the batch calls = documents tokenized in parallel (C++ threads, GIL released);
    the tokens do not depend on it. model_threads splits one M1 forward over threads (also
    token-neutral; useful for decoding a single long stream).
    """

    def __init__(self, spec: Method | str, *, m1: str | Path | None = None,
                 static: str | Path | None = None, token_bits: int | None = None,
                 kernel: str = "simd", model_threads: int = 1):
        spec = lookup(spec) if isinstance(spec, str) else spec
        # What a pickle rebuilds the tokenizer from (__reduce__): model paths absolute, so that a
        # worker in another directory finds the same file.
        self._settings: dict[str, object] = dict(token_bits=token_bits, kernel=kernel, model_threads=model_threads)
        if spec.factory is None:
            raise ValueError(f"{spec.name} is not a C++ method: use get_tokenizer({spec.name!r})")
        self.spec = spec
        self.model_path: Path | None = None
        model = "uniform"
        if spec.model == "m1":
            self.model_path = Path(m1) if m1 is not None else resources.bundled_model("m1")
            model = f"m1:{self.model_path}"
        elif spec.model == "static":
            self.model_path = Path(static) if static is not None else resources.bundled_model("static")
            model = f"static:{self.model_path}"
        # token_bits overrides N: compress encodes the M1 methods once at N = 1 (the bare
        # bitstream) and chunks it for each N (eqinfo.compress).
        n = token_bits if token_bits is not None else (spec.N or 8)
        self._core = _core().CoreTokenizer(spec.factory, window_bits=spec.b or 16, token_bits=n,
                                           model=model, kernel=kernel, model_threads=model_threads)
        if self.model_path is not None and spec.model is not None:
            self._settings[spec.model] = self.model_path.absolute()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def vocab_size(self) -> int:
        return self._core.vocab_size

    @property
    def token_bits(self) -> int:
        return self._core.token_bits

    @property
    def frequency_bits(self) -> int:
        return self._core.frequency_bits

    @property
    def model_hash(self) -> str | None:
        """The model's fingerprint (FNV-1a 64 of its behaviour, 16 hex digits); None without a
        model. Token streams made with one model decode only with the same fingerprint."""
        return f"{self._core.fingerprint:016x}" if self.spec.model else None

    @property
    def eos_token_id(self) -> int | None:
        """The id of the token that ends each document (Bytes: 256); None where EOS is coded
        inside the stream (AC, StaticAC, GZip, EqualInfoAC)."""
        return self.spec.eos_token_id

    def encode(self, text: str | bytes) -> np.ndarray:
        """One document -> uint16 tokens that end it (EOS appended, or coded in the stream)."""
        return self._core.encode(as_bytes(text))

    def encode_batch_flat(self, texts: Iterable[str | bytes], threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Documents -> (all tokens back to back, int64 offsets [n + 1])."""
        return self._core.encode_batch([as_bytes(t) for t in texts], threads)

    def encode_batch(self, texts: Iterable[str | bytes], threads: int = 1) -> list[np.ndarray]:
        """Documents -> one token array each, the same as encode() on each."""
        return split_flat(*self.encode_batch_flat(texts, threads))

    def decode(self, tokens) -> DecodeResult:
        return _from_core(self._core.decode(as_tokens(tokens, self.vocab_size)))

    def decode_batch(self, streams: Sequence, threads: int = 1) -> list[DecodeResult]:
        inputs = [as_tokens(s, self.vocab_size) for s in streams]
        return [_from_core(r) for r in self._core.decode_batch(inputs, threads)]

    def _identity(self) -> tuple:
        # What decides the tokens: method, token bits, model behaviour (not its path, kernel or
        # thread count, which are token-neutral).
        return (self.spec.name, self.token_bits, self.model_hash)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __reduce__(self):
        # The registered name where it names this row (stable across processes); a method added
        # at run time travels as its row.
        spec = self.spec.name if METHODS.get(self.spec.name) == self.spec else self.spec
        return (_rebuild_tokenizer, (spec, self._settings, self.model_hash))

    def __repr__(self) -> str:
        model = f", model={self.model_path}" if self.model_path else ""
        return f"Tokenizer({self.name!r}, vocab_size={self.vocab_size}{model})"


def _rebuild_tokenizer(spec: Method | str, settings: dict, model_hash: str | None) -> Tokenizer:
    """Unpickling: the same tokenizer, refused if the model file now behaves differently."""
    tok = Tokenizer(spec, **settings)
    check_fingerprint(tok.model_path or "", tok.model_hash, model_hash, f"the pickled {tok.name} tokenizer")
    return tok


def get_tokenizer(name: str, *, m1: str | Path | None = None, static: str | Path | None = None,
                  sentencepiece: str | Path | None = None, **kwargs) -> Tokenizer | SentencePieceTokenizer:
    """The tokenizer of a registered method, with the default models unless paths are given.
    Both kinds satisfy eqinfo.tokenizer_types.MethodTokenizer."""
    spec = lookup(name)
    if spec.model == "sentencepiece":
        return SentencePieceTokenizer(sentencepiece)
    return Tokenizer(spec, m1=m1, static=static, **kwargs)
