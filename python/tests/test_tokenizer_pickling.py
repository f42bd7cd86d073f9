"""Tokenizers travel: pickling (multiprocessing, clusters), equality and hashing by method and
model fingerprint, `datasets` fingerprints that are the same in every process (so `map` keeps its
cache), the named EOS ids, and the package's top level (issue 13, item 3)."""
import multiprocessing
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from binding_support import SAMPLES, require_binding

require_binding()

import eqinfo  # noqa: E402
from eqinfo import resources  # noqa: E402
from eqinfo.tokenizer_types import MethodTokenizer, ModelMismatchError  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY_M1 = ROOT / "tests" / "golden" / "m1_tiny_v2.safetensors"
# One method of each family (AC and Equal-Info on the small test model: fast to build).
METHODS = ["bytes", "gzip-v256", "staticac-v65k", "ac-v256", "equalinfo-b16-v256", "equalinfo-b24-v65k",
           "sentencepiece"]


def _tokenizer(name):
    return eqinfo.get_tokenizer(name, m1=TINY_M1)


@pytest.mark.parametrize("name", METHODS)
def test_a_pickled_tokenizer_is_equal_and_tokenizes_the_same(name):
    tok = _tokenizer(name)
    back = pickle.loads(pickle.dumps(tok))
    assert back is not tok and back == tok and hash(back) == hash(tok)
    assert isinstance(back, MethodTokenizer)
    for text in SAMPLES[2:4]:
        ids = tok.encode(text)
        assert np.array_equal(back.encode(text), ids)
        assert back.decode(ids).documents == [text]


def test_equality_is_by_method_token_bits_and_model():
    a, b = _tokenizer("equalinfo-b16-v256"), _tokenizer("equalinfo-b16-v256")
    assert a == b and len({a, b}) == 1
    assert a != _tokenizer("equalinfo-b16-v65k")                 # another N
    assert a != eqinfo.get_tokenizer("equalinfo-b16-v256")       # another model (the bundled M1)
    assert a != eqinfo.Tokenizer("equalinfo-b16-v256", m1=TINY_M1, token_bits=1)
    # Token-neutral settings do not make another tokenizer.
    assert a == eqinfo.Tokenizer("equalinfo-b16-v256", m1=TINY_M1, kernel="scalar", model_threads=2)
    assert _tokenizer("bytes") != _tokenizer("gzip-v256") and _tokenizer("bytes") != "bytes"


def test_unpickling_refuses_a_model_file_that_changed(tmp_path):
    m1 = tmp_path / "m1.safetensors"
    shutil.copy(TINY_M1, m1)
    tok = eqinfo.get_tokenizer("equalinfo-b16-v256", m1=m1)
    blob = pickle.dumps(tok)
    shutil.copy(resources.bundled_model("m1"), m1)  # retrained in place, say
    bundled = eqinfo.get_tokenizer("equalinfo-b16-v256").model_hash
    with pytest.raises(ModelMismatchError) as e:
        pickle.loads(blob)
    assert tok.model_hash in str(e.value) and bundled in str(e.value) and str(m1) in str(e.value)


def test_a_relative_model_path_is_pickled_absolute(tmp_path, monkeypatch):
    shutil.copy(TINY_M1, tmp_path / "m1.safetensors")
    monkeypatch.chdir(tmp_path)
    blob = pickle.dumps(eqinfo.get_tokenizer("ac-v256", m1="m1.safetensors"))
    monkeypatch.chdir(ROOT)
    assert pickle.loads(blob).model_path == tmp_path / "m1.safetensors"


def _encode_in_worker(tok):
    return tok.encode(SAMPLES[2]).tolist()


def test_a_tokenizer_crosses_to_a_worker_process():
    tok = _tokenizer("equalinfo-b16-v256")
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.map(_encode_in_worker, [tok]) == [tok.encode(SAMPLES[2]).tolist()]


def test_named_eos_ids_match_what_the_tokenizers_write():
    assert _tokenizer("bytes").eos_token_id == 256
    assert _tokenizer("bytes").encode(b"").tolist() == [256]
    sp = _tokenizer("sentencepiece")
    assert sp.eos_token_id == 1 and sp.encode("").tolist() == [1]
    # EOS coded inside the stream: no id of its own.
    for name in ("gzip-v256", "staticac-v65k", "ac-v256", "equalinfo-b16-v256"):
        assert _tokenizer(name).eos_token_id is None, name


def test_the_package_top_level_is_lazy_and_complete():
    # A fresh interpreter: `import eqinfo` loads neither the extension nor torch.
    code = ("import sys, eqinfo; heavy = [m for m in ('_eqinfo_core', 'torch', 'transformers', 'datasets') "
            "if m in sys.modules]; print(heavy); print(eqinfo.get_tokenizer('bytes').name, "
            "'equalinfo-b16-v65k' in eqinfo.METHODS, '_eqinfo_core' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=_env()).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "bytes True True"
    assert eqinfo.get_tokenizer is eqinfo.tokenizers.get_tokenizer
    assert set(eqinfo.__all__) <= set(dir(eqinfo))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        eqinfo.nope  # noqa: B018


def _env():
    import os
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "python"), env.get("PYTHONPATH", "")])
    return env


# ---- datasets: fingerprints across processes, map's cache ---------------------------------

datasets = pytest.importorskip("datasets", reason="datasets not installed (pip install '.[hf]')")


def test_datasets_fingerprints_a_tokenizer_the_same_in_two_processes():
    code = ("from datasets.fingerprint import Hasher; import eqinfo, sys; "
            f"print(' '.join(Hasher.hash(eqinfo.get_tokenizer(n, m1=sys.argv[1])) for n in {METHODS!r}))")
    runs = [subprocess.run([sys.executable, "-c", code, str(TINY_M1)], capture_output=True, text=True,
                           check=True, env=_env()).stdout.split() for _ in range(2)]
    assert runs[0] == runs[1] and len(set(runs[0])) == len(METHODS)
    # and in this process, for a tokenizer built again
    from datasets.fingerprint import Hasher
    assert Hasher.hash(_tokenizer("bytes")) == runs[0][0]


def _tokens_column(batch, tok):
    return {"ids": [ids.tolist() for ids in tok.encode_batch(batch["text"])]}


def test_datasets_map_with_a_tokenizer_keeps_its_cache(tmp_path, caplog):
    texts = [s.decode("utf-8") for s in SAMPLES[1:4]] * 3
    datasets.Dataset.from_dict({"text": texts}).save_to_disk(tmp_path / "corpus")
    ds = datasets.load_from_disk(str(tmp_path / "corpus"))  # on disk: map caches its results
    first = ds.map(_tokens_column, batched=True, fn_kwargs={"tok": _tokenizer("equalinfo-b16-v256")})
    # Another tokenizer object of the same method and model: the same fingerprint, the cached file.
    again = ds.map(_tokens_column, batched=True, fn_kwargs={"tok": _tokenizer("equalinfo-b16-v256")})
    assert "couldn't be hashed" not in caplog.text
    assert first._fingerprint == again._fingerprint
    assert [f["filename"] for f in again.cache_files] == [f["filename"] for f in first.cache_files]
    assert again["ids"] == first["ids"]
    # Another model is another fingerprint: not served from that cache.
    other = ds.map(_tokens_column, batched=True, fn_kwargs={"tok": eqinfo.get_tokenizer("equalinfo-b16-v256")})
    assert other._fingerprint != first._fingerprint
