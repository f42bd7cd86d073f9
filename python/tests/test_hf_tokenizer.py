"""eqinfo.hf.EqinfoTokenizer as transformers uses a tokenizer: __call__ with padding, truncation,
attention masks and tensors, decode/batch_decode to str, save_pretrained/from_pretrained with the
model file and its fingerprint, vocab_size and the special ids (issue 13, item 4)."""
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from binding_support import require_binding

require_binding()
pytest.importorskip("transformers", reason="transformers not installed (pip install '.[hf]')")

from eqinfo import get_tokenizer  # noqa: E402
from eqinfo.hf import MODEL_FILES, EqinfoTokenizer  # noqa: E402
from eqinfo.registry import METHODS  # noqa: E402
from eqinfo.tokenizer_types import Issue, ModelMismatchError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY_M1 = ROOT / "tests" / "golden" / "m1_tiny_v2.safetensors"
TEXTS = ["Hello, world.", "Gr\u00fc\u00dfe, \u4f60\u597d \U0001F600", "", "The cat sat on the mat. " * 4]
# Every method of the registry: the same transformers usage works for each.
ALL = list(METHODS)


@pytest.fixture(scope="module")
def toks():
    return {m: EqinfoTokenizer(m) for m in ALL}


@pytest.mark.parametrize("method", ALL)
def test_call_pads_masks_and_decodes_back_for_every_method(toks, method):
    tok = toks[method]
    core = get_tokenizer(method)
    assert tok.vocab_size == core.vocab_size and len(tok) == core.vocab_size + 1
    assert tok.pad_token_id == tok.vocab_size                     # one past the method's ids
    assert tok.eos_token_id == core.eos_token_id                  # Bytes/SentencePiece; else None
    batch = tok(TEXTS, padding=True, return_tensors="np")
    ids, mask = batch["input_ids"], batch["attention_mask"]
    lengths = [len(core.encode(t)) for t in TEXTS]
    assert ids.shape == (len(TEXTS), max(lengths)) and mask.sum(axis=1).tolist() == lengths
    for row, m, text in zip(ids, mask, TEXTS):
        n = int(m.sum())
        assert np.array_equal(row[:n], core.encode(text)) and (row[n:] == tok.pad_token_id).all()
    assert tok.batch_decode(ids, skip_special_tokens=True) == TEXTS
    eos = "" if tok.eos_token is None else tok.eos_token
    assert tok.batch_decode(ids) == [t + eos for t in TEXTS]
    assert tok.decode(ids[0], skip_special_tokens=True) == TEXTS[0]


def test_return_tensors_pt_and_a_pair_of_texts(toks):
    torch = pytest.importorskip("torch")
    tok = toks["equalinfo-b16-v65k"]
    batch = tok(TEXTS[:2], padding="max_length", max_length=40, return_tensors="pt")
    assert isinstance(batch["input_ids"], torch.Tensor) and batch["input_ids"].shape == (2, 40)
    assert batch["input_ids"].dtype == torch.int64
    assert tok.batch_decode(batch["input_ids"]) == TEXTS[:2]
    left = tok(TEXTS[:2], padding=True, padding_side="left", return_tensors="pt")
    short = int(left["attention_mask"].sum(dim=1).argmin())
    assert left["input_ids"][short, 0] == tok.pad_token_id and left["attention_mask"][short, 0] == 0
    assert tok.batch_decode(left["input_ids"]) == TEXTS[:2]       # pad ids dropped wherever they are
    # A pair is two streams back to back: two documents (the str joins them).
    pair = tok(TEXTS[0], TEXTS[3])["input_ids"]
    assert tok.decode_result(pair).documents == [TEXTS[0].encode(), TEXTS[3].encode()]


def test_truncation_cuts_tokens_and_equal_info_decodes_whole_windows(toks):
    tok = toks["equalinfo-b16-v256"]                # 2 tokens per 16-bit window
    text = TEXTS[3]
    full = tok(text)["input_ids"]
    for n in (2, 4, 10):
        cut = tok(text, truncation=True, max_length=n)["input_ids"]
        assert cut == full[:n]
        decoded = tok.decode(cut)
        assert text.startswith(decoded) and 0 < len(decoded) < len(text)
        assert tok.decode_result(cut).windows == n // 2
        assert Issue.UNTERMINATED_DOCUMENT in tok.decode_result(cut).issues
    # Bytes: a prefix of the text, no EOS.
    assert toks["bytes"].decode(toks["bytes"]("Hello", truncation=True, max_length=3)["input_ids"]) == "Hel"


def test_invalid_streams_decode_to_what_can_be_recovered(toks):
    b = toks["bytes"]
    assert b.decode([0xC3, 0x28, 256]) == "\ufffd(<eos>"           # invalid UTF-8: errors="replace"
    assert b.decode([72, 105, 256, 72]) == "Hi<eos>H"                # the open last document, no EOS
    e = toks["equalinfo-b16-v256"]
    good = e("Hello, world.")["input_ids"]
    # An id out of the method's range stops decoding there (what M2 may generate).
    r = e.decode_result(good[:4] + [1000])
    assert r.documents and Issue.INVALID_TOKEN in r.issues
    assert isinstance(e.decode(good[:4] + [1000]), str)
    with pytest.raises(ValueError, match=r"tokens must be integers in \[0, 2\^16\)"):
        e.decode([-1, 5])
    strict = EqinfoTokenizer("bytes", errors="strict")
    with pytest.raises(UnicodeDecodeError):
        strict.decode([0xC3, 0x28])


@pytest.mark.parametrize("method", ["bytes", "gzip-v256", "staticac-v256", "equalinfo-b16-v256",
                                    "ac-v65k", "sentencepiece"])
def test_save_and_load_carry_the_model_file_and_its_fingerprint(toks, tmp_path, method):
    tok = toks[method]
    files = tok.save_pretrained(tmp_path)
    kind = tok.eqinfo_tokenizer.spec.model
    if kind is not None:
        assert str(tmp_path / MODEL_FILES[kind]) in files
        assert (tmp_path / MODEL_FILES[kind]).read_bytes() == tok.model_file.read_bytes()
    back = EqinfoTokenizer.from_pretrained(tmp_path)
    assert back.method == method and back.model_hash == tok.model_hash
    assert back.model_file == (tmp_path / MODEL_FILES[kind] if kind else None)
    assert back.pad_token_id == tok.pad_token_id and back.eos_token_id == tok.eos_token_id
    assert back(TEXTS)["input_ids"] == tok(TEXTS)["input_ids"]


def test_a_saved_tokenizer_refuses_a_model_file_with_another_fingerprint(toks, tmp_path):
    tok = toks["equalinfo-b16-v256"]
    tok.save_pretrained(tmp_path)
    shutil.copy(TINY_M1, tmp_path / MODEL_FILES["m1"])       # another M1 under the saved name
    other = get_tokenizer("equalinfo-b16-v256", m1=TINY_M1).model_hash
    with pytest.raises(ModelMismatchError) as e:
        EqinfoTokenizer.from_pretrained(tmp_path)
    assert tok.model_hash in str(e.value) and other in str(e.value)


def test_eos_is_the_method_s_own_or_none():
    with pytest.raises(ValueError, match="inside its stream"):
        EqinfoTokenizer("ac-v256", eos_token="</s>")
    with pytest.raises(ValueError, match="EOS token of bytes is '<eos>' \\(id 256\\)"):
        EqinfoTokenizer("bytes", eos_token="</s>")
    assert EqinfoTokenizer("bytes", eos_token="<eos>").eos_token_id == 256


def test_the_hf_tokenizer_pickles(toks):
    tok = toks["equalinfo-b16-v256"]
    back = pickle.loads(pickle.dumps(tok))
    assert back(TEXTS)["input_ids"] == tok(TEXTS)["input_ids"] and back.eqinfo_tokenizer == tok.eqinfo_tokenizer


def test_token_strings_are_ids_and_round_trip(toks):
    tok = toks["bytes"]
    assert tok.tokenize("Hi") == ["<72>", "<105>", "<eos>"]
    assert tok.convert_tokens_to_ids(["<72>", "<eos>", "<pad>"]) == [72, 256, 257]
    assert tok.convert_tokens_to_string(tok.tokenize("Hi")) == "Hi<eos>"
    # A text holding a special token's string is compressed as it is, not split at it.
    assert tok.decode(tok("a<pad>b<eos>")["input_ids"], skip_special_tokens=True) == "a<pad>b<eos>"
    with pytest.raises(ValueError, match="not a token of bytes"):
        tok.convert_tokens_to_ids("hello")


def test_datasets_fingerprints_the_hf_tokenizer_the_same_in_another_process():
    datasets_fingerprint = pytest.importorskip("datasets.fingerprint", reason="datasets not installed")
    import os
    import subprocess
    import sys
    code = ("from datasets.fingerprint import Hasher; from eqinfo.hf import EqinfoTokenizer; "
            "print(Hasher.hash(EqinfoTokenizer('equalinfo-b16-v256')))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "python"), os.environ.get("PYTHONPATH", "")]))
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env=env).stdout.strip()
    here = datasets_fingerprint.Hasher.hash(EqinfoTokenizer("equalinfo-b16-v256"))
    assert here == there and here != datasets_fingerprint.Hasher.hash(EqinfoTokenizer("bytes"))
