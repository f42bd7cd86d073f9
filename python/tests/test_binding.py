"""The C++ extension through eqinfo.tokenizers.Tokenizer: every C++ method round-trips, batches
equal single calls for any thread count, bad input raises clear Python errors, the GIL is
released, and the installed package works from any directory."""
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from binding_support import SAMPLES, require_binding

core = require_binding()

from eqinfo import resources  # noqa: E402
from eqinfo.tokenizers import METHODS, Issue, Tokenizer, get_tokenizer  # noqa: E402

CORE_METHODS = [m for m, s in METHODS.items() if s.factory is not None]
# M1 encodes at a few KB/s: keep its texts short here (corpus round trips: test_compress).
FAST = [m for m in CORE_METHODS if not METHODS[m].uses_m1]


@pytest.fixture(scope="module")
def tokenizers():
    return {m: get_tokenizer(m) for m in CORE_METHODS}


def _samples(method):
    return SAMPLES if method in FAST else SAMPLES[:5]


@pytest.mark.parametrize("method", CORE_METHODS)
def test_every_core_method_round_trips(tokenizers, method):
    tok = tokenizers[method]
    for text in _samples(method):
        ids = tok.encode(text)
        assert ids.dtype == np.uint16 and ids.ndim == 1
        assert ids.size == 0 or int(ids.max()) < tok.vocab_size
        back = tok.decode(ids)
        assert back.ok, back.describe()
        assert back.documents == [text]


def test_bytes_appends_eos_and_str_is_utf8(tokenizers):
    tok = tokenizers["bytes"]
    np.testing.assert_array_equal(tok.encode("h\u00e9"), [0x68, 0xC3, 0xA9, 256])
    assert tok.vocab_size == 257


def test_vocabulary_sizes(tokenizers):
    assert tokenizers["gzip-v256"].vocab_size == 256
    assert tokenizers["equalinfo-b16-v65k"].vocab_size == 65536
    assert tokenizers["equalinfo-b24-v256"].token_bits == 8


def test_the_registry_names_the_cxx_factory_methods():
    """Every row's factory method (kMethodNames in tokenizer_factory.hpp) builds through the
    extension and reports itself by that name; names the factory does not know are refused."""
    rows = {m.factory: m for m in METHODS.values() if m.factory is not None}
    assert sorted(rows) == ["ac", "bytes", "equalinfo", "gzip", "staticac"]
    static = f"static:{resources.bundled_model('static')}"   # StaticAC needs its model
    for factory, m in rows.items():
        tok = core.CoreTokenizer(factory, window_bits=m.b or 16, token_bits=m.N or 8,
                                 model=static if m.model == "static" else "uniform")
        assert tok.method == factory
    for name in ("sentencepiece", "equalinfo-b16-v65k", "EqualInfo"):
        with pytest.raises(ValueError, match="unknown method"):
            core.CoreTokenizer(name)
    # The other direction: every C++ method is a registry family, except gzip-raw (the bare
    # deflate stream, a CLI option the paper's experiment does not use).
    assert set(core.method_names()) == set(rows) | {"gzip-raw"}


def test_bitstream_encode_and_chunk_give_the_tokens_and_window_stats(tokenizers):
    """encode_bits + chunk_bits (the binding's bitstream and chunker) == encode_batch, and the
    window statistics of Equal-Info are those of the encode (one window per b bits)."""
    tok = tokenizers["equalinfo-b16-v256"]
    texts = [b"", b"a", b"Hello, world. " * 10]
    flat, offsets, stats = tok._core.encode_bits(texts, 2)
    assert flat.dtype == np.uint8 and set(np.unique(flat)) <= {0, 1}
    tokens = tok.encode_batch(texts)
    for i, t in enumerate(tokens):
        bits = flat[offsets[i]:offsets[i + 1]]
        assert len(bits) % 16 == 0
        assert np.array_equal(core.chunk_bits(np.ascontiguousarray(bits), 8), t)
    assert stats["windows"] == len(flat) // 16
    _, _, with_stats = tok._core.encode_batch_with_stats(texts, 1)
    assert with_stats == stats and stats["window_symbols"] == sum(len(t) + 1 for t in texts)
    with pytest.raises(ValueError, match="0 or 1"):
        core.chunk_bits(np.array([0, 2], dtype=np.uint8), 8)
    with pytest.raises(ValueError, match="no bitstream"):
        tokenizers["bytes"]._core.encode_bits([b"x"], 1)


@pytest.mark.parametrize("method", ["bytes", "gzip-v65k", "staticac-v256", "equalinfo-b24-v65k", "ac-v256"])
def test_batch_equals_single_calls_for_any_thread_count(tokenizers, method):
    tok = tokenizers[method]
    texts = _samples(method)
    single = [tok.encode(t) for t in texts]
    for threads in (1, 2, 5):
        batch = tok.encode_batch(texts, threads=threads)
        assert len(batch) == len(texts)
        for a, b in zip(single, batch):
            np.testing.assert_array_equal(a, b)
        decoded = tok.decode_batch(batch, threads=threads)
        assert [d.documents for d in decoded] == [[t] for t in texts]
    flat, offsets = tok.encode_batch_flat(texts, threads=2)
    np.testing.assert_array_equal(flat, np.concatenate(single))
    assert offsets[0] == 0 and offsets[-1] == flat.size and len(offsets) == len(texts) + 1


def test_empty_batch(tokenizers):
    assert tokenizers["gzip-v256"].encode_batch([], threads=3) == []
    assert tokenizers["gzip-v256"].decode_batch([], threads=3) == []


def test_a_stream_of_several_documents_decodes_to_all_of_them(tokenizers):
    for method in ("bytes", "staticac-v65k", "gzip-v256", "equalinfo-b16-v256"):
        tok = tokenizers[method]
        texts = [b"first", b"", b"third one"]
        r = tok.decode(np.concatenate([tok.encode(t) for t in texts]))
        assert r.ok and r.documents == texts, method


def test_garbage_tokens_are_flagged_not_raised(tokenizers):
    tok = tokenizers["equalinfo-b16-v256"]
    r = tok.decode(np.array([1, 2, 300, 4], dtype=np.uint16))  # 300 >= 2^8
    assert Issue.INVALID_TOKEN in r.issues and not r.ok
    assert "token value out of range" in r.describe()
    truncated = tok.encode(b"some text that makes several windows")[:-2]
    assert Issue.UNTERMINATED_DOCUMENT in tok.decode(truncated).issues
    assert Issue.CORRUPT_STREAM in tokenizers["gzip-v256"].decode(np.arange(40) % 256).issues
    assert Issue.INVALID_TOKEN in tokenizers["bytes"].decode([65, 257]).issues


def test_issue_flags_match_the_core():
    assert Issue.UNTERMINATED_DOCUMENT == core.ISSUE_UNTERMINATED_DOCUMENT
    assert Issue.NONZERO_PADDING == core.ISSUE_NONZERO_PADDING
    assert Issue.EXTRA_TOKENS == core.ISSUE_EXTRA_TOKENS
    assert Issue.INVALID_TOKEN == core.ISSUE_INVALID_TOKEN
    assert Issue.CORRUPT_STREAM == core.ISSUE_CORRUPT_STREAM


def test_bad_token_arrays_raise_value_error(tokenizers):
    tok = tokenizers["gzip-v65k"]
    rule = r"tokens must be integers in \[0, 2\^16\)"
    with pytest.raises(ValueError, match=rule + ", got dtype float64"):
        tok.decode(np.array([1.5, 2.0]))
    with pytest.raises(ValueError, match=rule + ", got dtype bool"):
        tok.decode([True, False])
    with pytest.raises(ValueError, match="one-dimensional"):
        tok.decode(np.zeros((2, 2), dtype=np.uint16))
    with pytest.raises(ValueError, match=rule + r", got values in \[-1, 5\]"):
        tok.decode(np.array([-1, 5]))
    with pytest.raises(ValueError, match=rule + r", got values in \[70000, 70000\]"):
        tok.decode([70000])
    # Below 2^16 the message names the tokenizer's own range too (larger ids decode as invalid).
    with pytest.raises(ValueError, match=r"ids are \[0, 257\).*got values in \[-2, -2\]"):
        tokenizers["bytes"].decode([-2])
    # Other integer dtypes in range are accepted.
    assert tok.decode(tok.encode(b"x").astype(np.int64)).documents == [b"x"]
    with pytest.raises(TypeError, match="str or bytes"):
        tok.encode(12)
    with pytest.raises(TypeError, match="uint16"):
        tok._core.decode(np.zeros(3, dtype=np.int32))  # the core itself only takes uint16
    with pytest.raises(TypeError, match="bytes"):
        tok._core.encode_batch(["not bytes"], 1)


def test_bad_specs_and_models_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match="window bits"):
        core.CoreTokenizer("equalinfo", window_bits=20, token_bits=16)
    with pytest.raises(ValueError, match="token bits"):
        core.CoreTokenizer("gzip", token_bits=17)
    with pytest.raises(ValueError, match="unknown method"):
        core.CoreTokenizer("zstd")
    with pytest.raises(ValueError, match="unknown method"):
        get_tokenizer("equalinfo-b17-v256")
    with pytest.raises(ValueError, match="threads"):
        get_tokenizer("bytes").encode_batch([b"a"], threads=0)
    with pytest.raises(ValueError, match="cannot open"):
        get_tokenizer("ac-v256", m1=tmp_path / "missing.safetensors")
    static = Tokenizer("staticac-v256").model_path
    with pytest.raises(ValueError):  # a JSON file is not an M1 export
        get_tokenizer("equalinfo-b16-v256", m1=static)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    with pytest.raises(ValueError):
        get_tokenizer("ac-v65k", m1=broken)


def test_model_hashes_identify_models(tokenizers):
    m1 = tokenizers["ac-v256"].model_hash
    assert m1 == tokenizers["equalinfo-b64-v65k"].model_hash and len(m1) == 16
    assert tokenizers["staticac-v256"].model_hash not in (None, m1)
    assert tokenizers["gzip-v256"].model_hash is None and tokenizers["bytes"].model_hash is None


def test_the_gil_is_released_during_encode(tokenizers):
    tok = tokenizers["equalinfo-b16-v256"]
    text = b"A sentence long enough to keep M1 busy for a while. " * 40  # ~2 KB: a fraction of a second
    started, done = threading.Event(), threading.Event()

    def work():
        started.set()
        tok.encode_batch([text] * 2, threads=1)
        done.set()

    t = threading.Thread(target=work)
    t.start()
    started.wait()
    spins = 0
    while not done.is_set():  # a held GIL would starve this loop for the whole call
        spins += 1
        time.sleep(0)
    t.join()
    assert spins > 100


def test_installed_package_works_from_any_directory(tmp_path):
    # Without PYTHONPATH the installed package is used; it finds the repository's models.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = ("import eqinfo, eqinfo.tokenizers as t; tok = t.get_tokenizer('equalinfo-b16-v65k');"
            "assert tok.decode(tok.encode('Hi there')).documents == [b'Hi there'];"
            "print(eqinfo.__file__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "site-packages" in out.stdout


def test_describe_matches_the_core(tokenizers):
    tok = tokenizers["equalinfo-b16-v256"]
    for garbage in ([1, 2, 300, 4], [7, 7, 7], [255] * 5, list(range(0, 256, 3))):
        ids = np.array(garbage, dtype=np.uint16)
        assert tok.decode(ids).describe() == tok._core.decode(ids).describe()


def test_a_file_of_another_kind_given_as_m1_is_named_as_not_an_m1_file():
    static = resources.bundled_model("static")   # JSON
    with pytest.raises(ValueError, match=r"this is not an M1 safetensors file: it begins with '\{' as JSON"):
        get_tokenizer("ac-v256", m1=static)
