"""torch datasets over shards (issue 13 item 6): fixed-length examples, seeded shuffling that is
the same on every run, exact resume from a state_dict, DataLoader workers."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from eqinfo import flat_tokens  # noqa: E402
from eqinfo.shards import read_shard, write_shard  # noqa: E402
from eqinfo.torch_data import ResumableSampler, ShardDataset, ShardIterableDataset  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

SEQ = 7


@pytest.fixture
def shards(tmp_path):
    """Two shards whose tokens are their global positions (mod vocab): examples are checkable."""
    paths, start = [], 0
    for k, n_tokens in enumerate((100, 45)):
        toks = (np.arange(start, start + n_tokens) % 257).astype(np.uint16)
        docs = np.split(toks, [10, 33, 60][: 2 + k])
        paths.append(write_shard(tmp_path / f"s{k}.shard", docs, [len(d) for d in docs], 257, {"method": "bytes"}))
        start += n_tokens
    return paths


def _ids(examples):
    return [tuple(int(x) for x in e) for e in examples]


def expected_examples(paths):
    out = []
    for p in paths:
        t = read_shard(p).tokens
        out += [tuple(int(x) for x in t[i:i + SEQ]) for i in range(0, len(t) // SEQ * SEQ, SEQ)]
    return out


def test_examples_are_the_shards_cut_into_seq_len(shards):
    ds = ShardIterableDataset(shards, SEQ, shuffle=False)
    got = list(ds)
    assert all(e.dtype == torch.int64 and e.shape == (SEQ,) for e in got)
    assert _ids(got) == expected_examples(shards) and ds.examples_per_epoch == 14 + 6
    # flat .bin files give the same examples
    bins = [flat_tokens.export_shard(p, p.with_suffix(".bin")) for p in shards]
    assert _ids(ShardIterableDataset(bins, SEQ, shuffle=False)) == expected_examples(shards)


def test_shuffling_is_seeded_and_new_each_epoch(shards):
    a = _ids(ShardIterableDataset(shards, SEQ, seed=3, epochs=2))
    assert a == _ids(ShardIterableDataset(shards, SEQ, seed=3, epochs=2))     # deterministic
    assert a != _ids(ShardIterableDataset(shards, SEQ, seed=4, epochs=2))
    e0, e1 = a[:20], a[20:]
    assert sorted(e0) == sorted(e1) == sorted(expected_examples(shards)) and e0 != e1
    m = ShardDataset(shards, SEQ, seed=3)
    assert _ids(m[i] for i in range(len(m))) == e0
    m.set_epoch(1)
    assert _ids(m[i] for i in range(len(m))) == e1 and _ids([m[(0, 5)]]) == [e0[5]]


@pytest.mark.parametrize("stop", [0, 1, 13, 20, 27])
def test_resume_gives_the_same_remaining_sequence(shards, stop):
    full = _ids(ShardIterableDataset(shards, SEQ, seed=1, epochs=2))
    ds = ShardIterableDataset(shards, SEQ, seed=1, epochs=2)
    it = iter(ds)
    seen = [next(it) for _ in range(stop)]
    state = ds.state_dict()
    assert state["epoch"] == stop // 20 and state["position"] == stop % 20
    fresh = ShardIterableDataset(shards, SEQ, seed=1, epochs=2)
    fresh.load_state_dict(state)
    assert _ids(seen) + _ids(fresh) == full
    # and twice in a row: a resumed run's state is counted from where it resumed
    again = ShardIterableDataset(shards, SEQ, seed=1, epochs=2)
    again.load_state_dict(state)
    it = iter(again)
    more = [next(it) for _ in range(3)] if len(full) - stop >= 3 else []
    if more:
        last = ShardIterableDataset(shards, SEQ, seed=1, epochs=2)
        last.load_state_dict(again.state_dict())
        assert _ids(seen) + _ids(more) + _ids(last) == full


def test_a_state_for_other_data_is_refused(shards):
    state = ShardIterableDataset(shards, SEQ, seed=1).state_dict()
    for other in (ShardIterableDataset(shards, SEQ, seed=2), ShardIterableDataset(shards, SEQ + 1, seed=1),
                  ShardIterableDataset(shards[:1], SEQ, seed=1)):
        with pytest.raises(ValueError, match="state for other data"):
            other.load_state_dict(state)


def test_dataloader_workers_and_resume_by_consumed_count(shards):
    full = _ids(ShardIterableDataset(shards, SEQ, seed=5, epochs=2))
    ds = ShardIterableDataset(shards, SEQ, seed=5, epochs=2)
    loader = DataLoader(ds, batch_size=3, num_workers=2)
    batches = [_ids(b) for b in loader]
    flat = [e for b in batches for e in b]
    assert sorted(flat) == sorted(full)          # every example of both epochs, once
    consumed = 2 * 3 * 2                          # 2 rounds of (batch 3 x 2 workers)
    assert sorted(flat[:consumed]) == sorted(full[:consumed])
    fresh = ShardIterableDataset(shards, SEQ, seed=5, epochs=2)
    fresh.load_state_dict(ds.state_dict(consumed=consumed))
    assert _ids(fresh) == full[consumed:]


def test_map_style_with_the_resumable_sampler(shards):
    ds = ShardDataset(shards, SEQ, seed=9)
    sampler = ResumableSampler(ds, epochs=2)
    full = [e for b in DataLoader(ds, batch_size=4, sampler=sampler) for e in _ids(b)]
    assert len(full) == 40 and sorted(full[:20]) == sorted(expected_examples(shards))
    s2 = ResumableSampler(ShardDataset(shards, SEQ, seed=9), epochs=2)
    s2.load_state_dict(sampler.state_dict(consumed=24))   # 6 batches of 4, into epoch 1
    assert s2.state_dict()["epoch"] == 1 and len(s2) == 16
    rest = [e for b in DataLoader(s2.dataset, batch_size=4, sampler=s2, num_workers=2) for e in _ids(b)]
    assert rest == full[24:]


def test_too_short_for_one_example(shards):
    with pytest.raises(ValueError, match="no example of 1000 tokens"):
        ShardDataset(shards, 1000)
