"""The SentencePiece baseline: lossless on any text, EOS per document, total decode, the model in
the repository is the one this module trains, and training is deterministic."""
import numpy as np
import pytest

from binding_support import SAMPLES, corpus_or_skip

from eqinfo import sentencepiece_method as spm_method
from eqinfo.tokenizers import Issue, get_tokenizer


def _utf8(b):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return None


# SentencePiece tokenizes text: the samples that are valid UTF-8, plus whitespace edge cases.
TEXTS = [t for t in map(_utf8, SAMPLES) if t is not None] + [
    " leading space", "two  spaces\r\nCRLF", "\n\nnewlines\n", "digits 1234567890",
    "tab\there", "\u00a0no-break space",
]


@pytest.fixture(scope="module")
def tok():
    path = spm_method.default_model_path()
    if not path.exists():
        pytest.fail(f"{path} is missing: run `python -m eqinfo.sentencepiece_method`")
    return get_tokenizer("sentencepiece")


def test_round_trip_and_eos(tok):
    for text in TEXTS:
        ids = tok.encode(text)
        assert ids.dtype == np.uint16 and ids[-1] == spm_method.EOS_ID
        assert int(ids.max()) < tok.vocab_size
        r = tok.decode(ids)
        assert r.ok and r.documents == [text.encode()], repr(text)


def test_properties(tok):
    assert tok.name == "sentencepiece" and tok.vocab_size == spm_method.VOCAB_SIZE
    assert len(tok.model_hash) == 16
    # The newline is a piece of its own, not three byte-fallback tokens.
    assert len(tok.encode("\n")) == 2


def test_batches_and_streams_of_documents(tok):
    for threads in (1, 3):
        batch = tok.encode_batch(TEXTS, threads=threads)
        for t, ids in zip(TEXTS, batch):
            np.testing.assert_array_equal(ids, tok.encode(t))
    flat, offsets = tok.encode_batch_flat(TEXTS)
    r = tok.decode(flat)
    assert r.ok and r.documents == [t.encode() for t in TEXTS] and offsets[-1] == flat.size
    assert [d.documents for d in tok.decode_batch(batch)] == [[t.encode()] for t in TEXTS]


def test_decode_is_total(tok):
    ids = tok.encode("hello world")
    r = tok.decode(ids[:-1])
    assert r.issues == Issue.UNTERMINATED_DOCUMENT and r.documents == [b"hello world"]
    r = tok.decode(np.concatenate([ids, [tok.vocab_size + 5], ids]))
    assert Issue.INVALID_TOKEN in r.issues and r.documents == [b"hello world"]
    # Byte-fallback pieces that are not valid UTF-8 come back as those bytes.
    lone = np.array([tok._sp.piece_to_id("<0xC3>"), spm_method.EOS_ID])
    assert tok.decode(lone).documents == [b"\xc3"]
    assert tok.decode([]).documents == [] and tok.decode([]).ok


def test_refuses_files_that_are_not_eqinfo_models(tmp_path):
    bad = tmp_path / "x.model"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a SentencePiece model"):
        get_tokenizer("sentencepiece", sentencepiece=bad)
    with pytest.raises(FileNotFoundError, match="eqinfo-train-sentencepiece"):
        get_tokenizer("sentencepiece", sentencepiece=tmp_path / "missing.model")


def test_training_is_deterministic(tmp_path):
    corpus_or_skip()
    a = spm_method.train(tmp_path / "a.model", vocab_size=600, sample_bytes=150_000)
    b = spm_method.train(tmp_path / "b.model", vocab_size=600, sample_bytes=150_000)
    assert a.read_bytes() == b.read_bytes()
    small = get_tokenizer("sentencepiece", sentencepiece=a)
    assert small.vocab_size == 600
    assert small.decode(small.encode(TEXTS[3])).documents == [TEXTS[3].encode()]
