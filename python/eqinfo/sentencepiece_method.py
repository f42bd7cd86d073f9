"""The SentencePiece baseline: a unigram model trained on the TRAIN split, same interface as
eqinfo.tokenizers.Tokenizer (encode/decode/encode_batch/decode_batch, vocab_size, name,
model_hash).

Vocabulary size: VOCAB_SIZE (see its comment for the measurement). The paper uses 32k with a
25m-parameter M2 (d = 512): 32k x 512 = 16.4M parameters of embedding alone, and again in the
softmax. Our M2s are a few million parameters at most; at 32k the embedding and softmax would
dominate the model and most pieces would be seen too rarely on our 70 MB training split to be
learned. We take 8,192: past it bytes/token grows slowly (measurements at VOCAB_SIZE).

Training (deterministic): a fixed sample of the train split -- every SAMPLE_STRIDE-th training
document, in file order (the file is ordered by source, so striding covers every source), up to
SAMPLE_BYTES of text -- split into lines; one thread (the unigram EM sums per-thread partial
counts, so the thread count would change the floating-point result); no shuffling.

Lossless by construction: identity normalisation, no dummy prefix, whitespace kept as is, digits
split, and byte fallback, so any UTF-8 text round-trips; the newline is a piece of its own
(user-defined symbol) since SentencePiece never sees it inside a training line. One exception:
SentencePiece writes spaces as U+2581 internally, so a literal U+2581 in the text decodes as a
space (the corpus has none; the C++ methods have no such case). Each document is
encoded as its pieces followed by EOS (id EOS_ID), like the C++ tokenizers.

The trained model is small (about 0.2-0.5 MB) and lives in the repository at
models/sentencepiece-unigram-<V>.model; `eqinfo-train-sentencepiece` rebuilds it.
"""
from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

import numpy as np

from eqinfo import resources
from eqinfo.registry import Method, lookup
from eqinfo.tokenizer_types import DecodeResult, Issue, as_bytes, as_tokens, check_fingerprint

if TYPE_CHECKING:  # data is imported where it is used (it pulls in the corpus readers)
    from eqinfo import data

# Bytes/token on the whole validation split (1.47 MB, 207 documents; EOS counted as a token), for
# models trained as below, and the model file size:
#     1,024 pieces: 2.16 (15 kB)     4,096: 2.94 (65 kB)     8,192: 3.24 (135 kB)     16,384: 3.45 (274 kB)
# (the paper: 4.28 on C4 at 32k). 4k -> 8k gains 10 %, 8k -> 16k only 6 % while doubling the
# embedding and softmax; at d = 256 an 8k vocabulary is 2.1M parameters per matrix, about the share
# the paper's 32k had in its smallest (25m, d = 512) M2. Every piece of 8k still occurs thousands of
# times in the 70 MB train split.
VOCAB_SIZE = 8192
SAMPLE_BYTES = 4_000_000
SAMPLE_STRIDE = 16
UNK_ID, EOS_ID = 0, 1
TRAINER_OPTIONS = dict(
    model_type="unigram", normalization_rule_name="identity", add_dummy_prefix=False,
    remove_extra_whitespaces=False, byte_fallback=True, split_digits=True,
    allow_whitespace_only_pieces=True, user_defined_symbols=["\n"], num_threads=1,
    shuffle_input_sentence=False, max_sentence_length=1 << 16,
    unk_id=UNK_ID, eos_id=EOS_ID, bos_id=-1, pad_id=-1, minloglevel=2)


def default_model_path(vocab_size: int = VOCAB_SIZE) -> Path:
    """The bundled model at the default vocabulary (models/bundled.json); another vocabulary is
    trained into the repository's models/ (eqinfo-train-sentencepiece)."""
    if vocab_size == VOCAB_SIZE:
        return resources.bundled_model("sentencepiece")
    return trained_model_path(vocab_size)


def trained_model_path(vocab_size: int = VOCAB_SIZE) -> Path:
    """Where eqinfo-train-sentencepiece writes by default: the repository's models/ (never an
    installed package's own copy)."""
    return resources.repo_root() / "models" / f"sentencepiece-unigram-{vocab_size}.model"


def training_sample(data_path: data.CorpusLike = None, sample_bytes: int = SAMPLE_BYTES,
                    stride: int = SAMPLE_STRIDE) -> list[str]:
    """The training documents SentencePiece learns from (a deterministic subset of TRAIN)."""
    from eqinfo import data
    path = data_path if data_path is not None else resources.default_data_path()
    docs, total = [], 0
    for j, text in enumerate(data.iter_documents(path, "train")):
        if j % stride:
            continue
        docs.append(text)
        total += len(text.encode("utf-8"))
        if total >= sample_bytes:
            break
    return docs


def _lines(docs: Iterable[str]) -> Iterator[str]:
    for d in docs:
        yield from (line for line in d.split("\n") if line)


def train(out: str | Path, vocab_size: int = VOCAB_SIZE, data_path: data.CorpusLike = None,
          sample_bytes: int = SAMPLE_BYTES) -> Path:
    """Train the model on the training sample and write it to `out` (atomically)."""
    from eqinfo.console import require
    spm = require("sentencepiece", "training the sentencepiece method")
    import io
    out = Path(out)
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=_lines(training_sample(data_path, sample_bytes)),
                                   model_writer=proto, vocab_size=vocab_size, **TRAINER_OPTIONS)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(proto.getvalue())
    tmp.replace(out)
    return out


class SentencePieceTokenizer:
    """SentencePiece with the eqinfo tokenizer interface. Token ids < vocab_size; EOS = EOS_ID."""

    spec: Method = lookup("sentencepiece")

    def __init__(self, model_path: str | Path | None = None):
        from eqinfo.console import require
        spm = require("sentencepiece", "the sentencepiece method")
        self.model_path = Path(model_path) if model_path is not None else default_model_path()
        if not self.model_path.exists():
            raise FileNotFoundError(f"{self.model_path} does not exist: build it with "
                                    f"`eqinfo-train-sentencepiece` (python -m eqinfo.sentencepiece_method)")
        blob = self.model_path.read_bytes()
        self._sp = spm.SentencePieceProcessor()
        try:
            self._sp.LoadFromSerializedProto(blob)
        except RuntimeError as e:
            raise ValueError(f"{self.model_path}: not a SentencePiece model ({e})") from None
        if self._sp.eos_id() != EOS_ID or self._sp.piece_to_id("<0x00>") == self._sp.unk_id():
            raise ValueError(f"{self.model_path}: not an eqinfo SentencePiece model (needs EOS id "
                             f"{EOS_ID} and byte fallback; train it with this module)")
        self._hash = hashlib.sha256(blob).hexdigest()[:16]
        self._piece_bytes = self._piece_table()

    name = spec.name

    @property
    def vocab_size(self) -> int:
        return self._sp.get_piece_size()

    @property
    def model_hash(self) -> str:
        """sha256 prefix of the model file."""
        return self._hash

    @property
    def eos_token_id(self) -> int:
        return EOS_ID

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SentencePieceTokenizer) and self._hash == other._hash

    def __hash__(self) -> int:
        return hash((self.name, self._hash))

    def __reduce__(self):
        # Rebuilt from the model file (absolute: a worker may run elsewhere), fingerprint checked.
        return (_rebuild_sentencepiece, (self.model_path.absolute(), self._hash))

    def encode(self, text: str | bytes) -> np.ndarray:
        return self.encode_batch([text])[0]

    def encode_batch(self, texts: Iterable[str | bytes], threads: int = 1) -> list[np.ndarray]:
        # SentencePiece works on str; bytes are taken as UTF-8 (invalid UTF-8 raises ValueError).
        strs = [as_bytes(t).decode("utf-8") for t in texts]
        ids = self._sp.encode(strs, num_threads=threads) if strs else []
        return [np.array(i + [EOS_ID], dtype=np.uint16) for i in ids]

    def encode_batch_flat(self, texts: Iterable[str | bytes], threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
        parts = self.encode_batch(texts, threads)
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=offsets[1:])
        flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint16)
        return flat, offsets

    def decode(self, tokens) -> DecodeResult:
        """Pieces up to each EOS are one document. Total: an id >= vocab_size stops decoding
        (INVALID_TOKEN); ids after the last EOS are an unterminated document."""
        t = as_tokens(tokens, self.vocab_size)
        result = DecodeResult()
        bad = np.flatnonzero(t >= self.vocab_size)
        if bad.size:
            t = t[:bad[0]]
            result.issues |= Issue.INVALID_TOKEN
        segments = np.split(t, np.flatnonzero(t == EOS_ID) + 1)  # each but the last ends in EOS
        result.documents = [self._bytes_of(seg[:-1]) for seg in segments[:-1]]
        if segments[-1].size:
            result.documents.append(self._bytes_of(segments[-1]))
            result.issues |= Issue.UNTERMINATED_DOCUMENT
        return result

    def decode_batch(self, streams: Sequence, threads: int = 1) -> list[DecodeResult]:
        return [self.decode(s) for s in streams]

    def _bytes_of(self, ids: np.ndarray) -> bytes:
        return b"".join(self._piece_bytes[i] for i in ids.tolist())

    def _piece_table(self) -> list[bytes]:
        # The bytes of each piece, so that byte-fallback pieces that do not form valid UTF-8
        # (possible in generated streams) come back as the bytes they are, not as U+FFFD.
        sp, table = self._sp, []
        for i in range(sp.get_piece_size()):
            piece = sp.id_to_piece(i)
            if sp.is_byte(i):
                table.append(bytes([int(piece[3:5], 16)]))  # "<0xAB>"
            elif sp.is_control(i) or sp.is_unknown(i):
                table.append(b"")
            else:
                table.append(piece.replace("\u2581", " ").encode("utf-8"))
        return table

    def __repr__(self) -> str:
        return f"SentencePieceTokenizer(vocab_size={self.vocab_size}, model={self.model_path})"


def _rebuild_sentencepiece(model_path: Path, model_hash: str) -> SentencePieceTokenizer:
    tok = SentencePieceTokenizer(model_path)
    check_fingerprint(model_path, tok.model_hash, model_hash, "the pickled sentencepiece tokenizer")
    return tok


def main(argv=None) -> None:
    from eqinfo import data
    ap = argparse.ArgumentParser(description="Train the SentencePiece baseline on the train split.")
    ap.add_argument("--vocab-size", type=int, default=VOCAB_SIZE)
    ap.add_argument("--sample-bytes", type=int, default=SAMPLE_BYTES)
    ap.add_argument("--out", type=Path, default=None, help="default: models/sentencepiece-unigram-<V>.model")
    data.add_corpus_arguments(ap)   # --data, --text-field, --val-ratio, --train/--validation
    args = ap.parse_args(argv)
    try:
        corpus = data.corpus_from_args(args)
    except ValueError as e:
        ap.error(str(e))
    out = args.out or trained_model_path(args.vocab_size)
    t0 = time.time()
    try:
        train(out, args.vocab_size, corpus, args.sample_bytes)
    except data.CorpusNotFoundError as e:
        ap.exit(2, f"eqinfo-train-sentencepiece: error: {e}\n")
    tok = SentencePieceTokenizer(out)
    print(f"wrote {out} ({out.stat().st_size} bytes, vocab {tok.vocab_size}, sha256 {tok.model_hash}) "
          f"in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
