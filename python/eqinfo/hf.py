"""Hugging Face `transformers` tokenizers for every eqinfo method (docs/huggingface.md).

    from eqinfo.hf import EqinfoTokenizer
    tok = EqinfoTokenizer("equalinfo-b16-v256")            # bundled M1; m1_file= another
    batch = tok(["Hello.", "Hi."], padding=True, return_tensors="pt")
    tok.batch_decode(batch["input_ids"])                  # ["Hello.", "Hi."]
    tok.save_pretrained("my_tokenizer")                   # + the model file and its fingerprint
    EqinfoTokenizer.from_pretrained("my_tokenizer")       # refuses a model file that differs

A PreTrainedTokenizer (transformers' Python backend) over eqinfo.get_tokenizer. What is unlike a
subword tokenizer, and how this class maps transformers' notions onto it:

* Tokens are not pieces of the text. A document's tokens are the document's code (Equal-Info:
  a run of windows; AC, StaticAC, GZip: one codeword), so the whole text is encoded at once
  (`_tokenize`) and a token's "string" is only its id written as `<id>`.
* EOS. Bytes (256) and SentencePiece (1) end a document with a token of its own: `eos_token`
  "<eos>" is that id. AC, StaticAC, GZip and EqualInfoAC code the end inside the stream, so
  `eos_token` is None: no id ends a document, and every id in [0, vocab_size) is data.
* Padding. No id of a codeword alphabet is free, so pad is one id past it: `pad_token_id ==
  vocab_size` (len(tok) == vocab_size + 1; size a model's embedding with len(tok)). A pad id is
  never part of a stream: decode drops it, and the attention mask marks it.
* Truncation cuts tokens (transformers' rule), not text. A truncated Equal-Info stream decodes to a
  prefix of the text in whole windows; a truncated AC/StaticAC codeword decodes to a prefix
  followed by what the missing bits decode to, and a truncated GZip stream to nothing; decode
  never raises: `decode_result` gives the flags (UNTERMINATED_DOCUMENT and others).
* decode returns str: each document's bytes as UTF-8 with `errors` ("replace" by default: a
  generated stream may decode to invalid UTF-8), the documents one after another, each terminated
  one followed by `eos_token` where the method has one and skip_special_tokens is False. A stream
  that is not what an encoder writes (extra tokens, an id out of range) decodes to what could be
  recovered; `decode_result` returns eqinfo's DecodeResult with its issue flags.
* save_pretrained writes the model file beside tokenizer_config.json (M1: m1.safetensors, the
  order-0 model: static_model.json, SentencePiece: sentencepiece.model), and the config records
  the method and the model's fingerprint; from_pretrained refuses a model file whose fingerprint
  differs, naming both.

transformers is imported here only (the [hf] extra), never by the rest of the package.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eqinfo.console import require
from eqinfo.registry import lookup
from eqinfo.tokenizer_types import DecodeResult, Issue, check_fingerprint
from eqinfo.sentencepiece_method import SentencePieceTokenizer
from eqinfo.tokenizers import Tokenizer, get_tokenizer

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizer
else:  # without the [hf] extra: one line naming it, not a bare ModuleNotFoundError
    PreTrainedTokenizer = require("transformers", "eqinfo.hf (Hugging Face tokenizers)").PreTrainedTokenizer

PAD_TOKEN = "<pad>"
EOS_TOKEN = "<eos>"
# The model file of each model kind in a saved tokenizer's directory (vocab_files_names).
MODEL_FILES = {"m1": "m1.safetensors", "static": "static_model.json", "sentencepiece": "sentencepiece.model"}


class EqinfoTokenizer(PreTrainedTokenizer):
    """A transformers tokenizer for one eqinfo method (any name of eqinfo.METHODS)."""

    vocab_files_names = {f"{kind}_file": name for kind, name in MODEL_FILES.items()}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, method: str = "equalinfo-b16-v65k", m1_file: str | Path | None = None,
                 static_file: str | Path | None = None,
                 sentencepiece_file: str | Path | None = None, model_hash: str | None = None,
                 errors: str = "replace", pad_token: str = PAD_TOKEN, eos_token: str | None = None,
                 **kwargs: Any):
        spec = lookup(method)
        self.method = spec.name
        self.errors = errors
        self._tok = get_tokenizer(spec.name, m1=m1_file, static=static_file, sentencepiece=sentencepiece_file)
        # model_hash is what a saved tokenizer recorded (from_pretrained): the file must match it.
        check_fingerprint(self.model_file or "", self._tok.model_hash, model_hash,
                          f"the saved {spec.name} tokenizer")
        self.model_hash = self._tok.model_hash
        eos_id = self._tok.eos_token_id
        if eos_id is None and eos_token is not None:
            raise ValueError(f"{spec.name} codes the end of a document inside its stream: it has no EOS "
                             "token (docs/huggingface.md, 'EOS and padding')")
        if eos_id is not None and eos_token is not None and str(eos_token) != EOS_TOKEN:
            raise ValueError(f"the EOS token of {spec.name} is {EOS_TOKEN!r} (id {eos_id}), not {str(eos_token)!r}")
        self._eos_id = eos_id
        self._eos_string = EOS_TOKEN if eos_id is not None else None
        self._vocab = {self._token_string(i): i for i in range(self._tok.vocab_size)}
        # A text is compressed as it is: an added token's string inside it is not split out.
        kwargs["split_special_tokens"] = True
        super().__init__(method=spec.name, model_hash=self.model_hash, errors=errors, pad_token=pad_token,
                         eos_token=self._eos_string, **kwargs)

    # ---- the vocabulary ------------------------------------------------------------------

    @property
    def eqinfo_tokenizer(self) -> Tokenizer | SentencePieceTokenizer:
        """The eqinfo tokenizer underneath (eqinfo.tokenizers.Tokenizer or SentencePieceTokenizer)."""
        return self._tok

    @property
    def model_file(self) -> Path | None:
        """The model file the tokenizer runs (None for GZip and Bytes)."""
        return getattr(self._tok, "model_path", None)

    @property
    def vocab_size(self) -> int:
        """The method's ids, [0, vocab_size): 2^N, Bytes 257, SentencePiece its pieces. len(self)
        adds the added tokens (pad)."""
        return self._tok.vocab_size

    def get_vocab(self) -> dict[str, int]:
        vocab = dict(self._vocab)
        vocab.update(self._added_tokens_encoder)
        return vocab

    def _token_string(self, index: int) -> str:
        return EOS_TOKEN if index == self._eos_id else f"<{index}>"

    def _convert_id_to_token(self, index: int) -> str:
        return self._token_string(index)

    def _convert_token_to_id(self, token: str) -> int:
        try:
            return self._vocab[token]
        except KeyError:
            raise ValueError(f"{token!r} is not a token of {self.method} (token strings are '<id>' "
                             f"for ids in [0, {self.vocab_size}))") from None

    # ---- encoding --------------------------------------------------------------------------

    def _tokenize(self, text: str, **kwargs: Any) -> list[str]:
        # The whole text at once: its tokens are its code, not pieces of it.
        return [self._token_string(i) for i in self._tok.encode(text).tolist()]

    def prompt_ids(self, prompt: str | bytes) -> list[int]:
        """The ids a generation continues `prompt` from (eqinfo.generation.prompt's rule): the
        whole windows before the one that codes EOS (Equal-Info), every token but EOS (Bytes,
        SentencePiece); AC, StaticAC and GZip refuse a prompt (one codeword per document)."""
        from eqinfo.generation.prompt import prompt_tokens
        return prompt_tokens(self._tok, prompt).tolist()

    # ---- decoding --------------------------------------------------------------------------

    def _stream(self, token_ids) -> np.ndarray:
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        # Ids added past the method's own (pad, tokens a user added) are never part of a stream;
        # Bytes' EOS is an added token too, but one of the method's ids, and stays.
        base, added = self.vocab_size, self._added_tokens_decoder
        return np.array([i for i in map(int, token_ids) if i < base or i not in added], dtype=np.int64)

    def decode_result(self, token_ids) -> DecodeResult:
        """eqinfo's decode of the ids (pad and other added tokens dropped): the documents as
        bytes and the issue flags that say how the stream differs from what an encoder writes."""
        from transformers.utils import to_py_obj
        return self._tok.decode(self._stream(to_py_obj(token_ids)))

    def _decode(self, token_ids, skip_special_tokens: bool = False,
                clean_up_tokenization_spaces: bool | None = None, **kwargs: Any) -> str:
        result = self._tok.decode(self._stream(token_ids))
        texts = [d.decode("utf-8", errors=self.errors) for d in result.documents]
        if self._eos_string is None or skip_special_tokens:
            return "".join(texts)
        open_last = Issue.UNTERMINATED_DOCUMENT in result.issues
        return "".join(t + ("" if open_last and j == len(texts) - 1 else self._eos_string)
                       for j, t in enumerate(texts))

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return self._decode(self.convert_tokens_to_ids(tokens))

    # ---- saving ----------------------------------------------------------------------------

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        """Copy the model file beside the config (whose model_hash is its fingerprint)."""
        kind = self._tok.spec.model
        if kind is None:
            return ()
        source = self.model_file
        assert source is not None  # every method with a model kind runs a model file
        target = Path(save_directory) / ((f"{filename_prefix}-" if filename_prefix else "") + MODEL_FILES[kind])
        if not (target.exists() and target.samefile(source)):  # saving into its own directory
            shutil.copyfile(source, target)
        return (str(target),)

    def __repr__(self) -> str:
        return (f"EqinfoTokenizer({self.method!r}, vocab_size={self.vocab_size}, pad_token_id="
                f"{self.pad_token_id}, eos_token_id={self.eos_token_id}, model={self.model_file})")
