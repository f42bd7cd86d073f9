"""Flat token export (issue 13 item 6): a shard's token stream as raw little-endian uint16 that
np.memmap reads the nanoGPT way, with a sidecar; damage is refused; the CLI."""
import json

import numpy as np
import pytest

from eqinfo import flat_tokens as F
from eqinfo.shards import read_shard, write_shard


def make_shard(path, n_docs=5, vocab=65536, seed=0, split="train", method="equalinfo-b16-v65k"):
    rng = np.random.default_rng(seed)
    docs = [rng.integers(0, vocab, size=int(rng.integers(1, 50))) for _ in range(n_docs)]
    nbytes = [int(rng.integers(1, 200)) for _ in range(n_docs)]
    return write_shard(path, docs, nbytes, vocab, {"method": method, "split": split, "model_hash": "ab" * 8})


def test_export_is_the_token_stream_as_little_endian_uint16(tmp_path):
    shard = read_shard(make_shard(tmp_path / "train" / "m.shard"))
    out = F.export_shard(shard.path, tmp_path / "data" / "train.bin")
    raw = out.read_bytes()
    assert len(raw) == 2 * shard.n_tokens   # no header
    t0 = int(shard.tokens[0])
    assert raw[:2] == bytes([t0 & 0xFF, t0 >> 8])
    # what a nanoGPT-style trainer does
    data = np.memmap(out, dtype=np.uint16, mode="r")
    np.testing.assert_array_equal(data, shard.tokens)
    np.testing.assert_array_equal(F.open_flat(out, check=True), shard.tokens)
    meta = json.loads((tmp_path / "data" / "train.bin.json").read_text())
    assert (meta["format"], meta["dtype"], meta["byteorder"]) == ("eqinfo-flat-tokens", "uint16", "little")
    assert (meta["n_tokens"], meta["vocab_size"], meta["documents"], meta["bytes_in"]) == \
        (shard.n_tokens, 65536, shard.n_docs, shard.text_bytes)
    assert meta["source"]["method"] == "equalinfo-b16-v65k" and meta["source"]["model_hash"] == "ab" * 8
    off = F.doc_offsets(out)
    np.testing.assert_array_equal(off, shard.doc_token_offsets)
    np.testing.assert_array_equal(data[off[2]:off[3]], shard.document(2))


def test_damage_is_refused(tmp_path):
    out = F.export_shard(make_shard(tmp_path / "m.shard"), tmp_path / "t.bin")
    good = out.read_bytes()
    out.write_bytes(good[:-2])
    with pytest.raises(F.FlatTokensError, match="bytes, the sidecar says"):
        F.open_flat(out)
    out.write_bytes(bytes([good[0] ^ 1]) + good[1:])
    F.open_flat(out)      # the size is right: only check=True reads the content
    with pytest.raises(F.FlatTokensError, match="sha256"):
        F.open_flat(out, check=True)
    F.sidecar_path(out).unlink()
    with pytest.raises(F.FlatTokensError, match="no sidecar"):
        F.open_flat(out)


def test_write_flat_checks_the_vocabulary(tmp_path):
    with pytest.raises(ValueError, match="outside the vocabulary"):
        F.write_flat(tmp_path / "x.bin", [np.array([1, 300])], 257)
    with pytest.raises(ValueError, match="vocab_size"):
        F.write_flat(tmp_path / "x.bin", [np.array([1])], 1 << 17)
    p = F.write_flat(tmp_path / "x.bin", np.arange(10), 257)   # one flat stream
    assert F.read_meta(p)["documents"] == 1 and list(F.open_flat(p)) == list(range(10))


def test_command_line(tmp_path, capsys):
    tr = make_shard(tmp_path / "s" / "train" / "bytes.shard", vocab=257, method="bytes")
    va = make_shard(tmp_path / "s" / "val" / "bytes.shard", vocab=257, split="val", method="bytes", seed=1)
    assert F.main([str(tr), str(va), "-o", str(tmp_path / "out")]) == 0
    for split, src in (("train", tr), ("val", va)):
        np.testing.assert_array_equal(F.open_flat(tmp_path / "out" / f"{split}.bin"), read_shard(src).tokens)
    with pytest.raises(SystemExit) as e:      # no silent overwrite
        F.main([str(tr), "-o", str(tmp_path / "out" / "train.bin")])
    assert e.value.code == 2 and "-f overwrites" in capsys.readouterr().err
    assert F.main([str(tr), "-o", str(tmp_path / "out" / "train.bin"), "-f"]) == 0
    other = make_shard(tmp_path / "s" / "train" / "gzip.shard", vocab=256, method="gzip-v256")
    assert F.main([str(tr), str(other), "-o", str(tmp_path / "two")]) == 0
    assert sorted(p.name for p in (tmp_path / "two").glob("*.bin")) == ["train_bytes.bin", "train_gzip-v256.bin"]
