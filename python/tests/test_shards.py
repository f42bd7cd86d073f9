"""Token shards: round trip, example cutting, and refusal of damaged files."""
import numpy as np
import pytest

from eqinfo.shards import ShardError, read_shard, sidecar_path, write_shard


def _docs(rng, n=7, vocab=300):
    # Includes an empty document: a shard must keep it (offsets equal), not drop it.
    lens = list(rng.integers(0, 50, size=n)) + [0]
    return [rng.integers(0, vocab, size=k).astype(np.uint16) for k in lens]


def test_round_trip_keeps_every_document(tmp_path):
    rng = np.random.default_rng(1)
    docs = _docs(rng)
    text_bytes = [3 * len(d) + 1 for d in docs]
    path = write_shard(tmp_path / "a.shard", docs, text_bytes, 300, {"method": "test"})
    shard = read_shard(path)
    assert shard.n_docs == len(docs) and shard.vocab_size == 300
    assert shard.text_bytes == sum(text_bytes)
    for j, d in enumerate(docs):
        np.testing.assert_array_equal(shard.document(j), d)
    assert shard.meta["method"] == "test" and shard.meta["tokens_out"] == sum(map(len, docs))


def test_examples_are_deterministic_full_length_and_disjoint(tmp_path):
    docs = [np.arange(1000, dtype=np.uint16) % 256, np.arange(37, dtype=np.uint16)]
    shard = read_shard(write_shard(tmp_path / "s", docs, [1000, 37], 256, {}))
    a, b = shard.examples(100, seed=5), shard.examples(100, seed=5)
    np.testing.assert_array_equal(a, b)
    assert len(a) == 1037 // 100 and sorted(a.tolist()) == list(range(0, 1000, 100))
    assert not np.array_equal(a, shard.examples(100, seed=6))
    np.testing.assert_array_equal(shard.examples(100, shuffle=False), np.arange(10) * 100)


def test_refuses_out_of_vocabulary_tokens_on_write(tmp_path):
    with pytest.raises(ValueError, match="outside the vocabulary"):
        write_shard(tmp_path / "x", [np.array([5, 256])], [2], 256, {})


@pytest.mark.parametrize("damage", ["truncate", "magic", "version", "token", "sidecar"])
def test_refuses_damaged_shards(tmp_path, damage):
    path = write_shard(tmp_path / "d", [np.array([1, 2, 3], dtype=np.uint16)], [3], 4, {})
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        raw = raw[:-1]
    elif damage == "magic":
        raw[0:4] = b"NOPE"
    elif damage == "version":
        raw[4] = 9
    elif damage == "token":
        raw[-2:] = (7).to_bytes(2, "little")
    path.write_bytes(bytes(raw))
    if damage == "sidecar":
        sidecar_path(path).write_text('{"tokens_out": 4}')
    with pytest.raises(ShardError):
        read_shard(path)
