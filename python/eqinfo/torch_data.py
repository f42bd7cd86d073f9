"""torch datasets over token shards (eqinfo.shards) or flat .bin files (eqinfo.flat_tokens), for
any trainer: fixed-length examples, seeded shuffling, exact resume.

    from eqinfo.torch_data import ShardDataset, ShardIterableDataset
    ds = ShardIterableDataset(["runs/shards/train/bytes.shard"], seq_len=513, seed=0)
    for step, batch in enumerate(DataLoader(ds, batch_size=16)):   # int64 [16, 513]
        x, y = batch[:, :-1], batch[:, 1:]
        ...
        state = ds.state_dict(consumed=(step + 1) * 16)             # into the checkpoint
    ds.load_state_dict(state)                                       # after a restart: the same
                                                                    # remaining examples, in order

Examples. Each source's token stream (documents back to back, EOS included, as in the shard) is
cut into consecutive non-overlapping examples of `seq_len` tokens, the incomplete tail dropped --
the examples of Shard.examples, over several sources in the order given. An example is an int64
tensor [seq_len]; pass seq_len = context + 1 for (input, target) pairs as above.

Order. shuffle=False: file order. shuffle=True: epoch e visits every example once in the order of
a permutation drawn by numpy's PCG64 seeded with [seed, e] -- the same on every machine, a new
order each epoch. ShardIterableDataset runs through epochs (`epochs=None`: without end);
ShardDataset is map-style: index i of epoch set_epoch(e) is the i-th example of that order.

Resume. The state is (seed, epoch, position = examples of the epoch already consumed) plus a
fingerprint of the sources and seq_len, so a state is refused on other data. With num_workers=0
the iterable dataset counts what it yields, so state_dict() is exact at any point. With
DataLoader workers the dataset's main-process copy does not see what the workers yielded (and
the loader prefetches), so pass the number of examples the trainer consumed:
state_dict(consumed=n) -- exact when n is a multiple of batch_size x num_workers (each worker
yields every num_workers-th example of the order, and the loader takes their batches in turn).
For the map-style dataset the same state drives ResumableSampler.

torch is needed only here: `pip install 'eqinfo[train]'` (the pinned CPU build). The core package
never imports this module.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

try:
    import torch
    from torch.utils.data import Dataset, IterableDataset, Sampler, get_worker_info
except ModuleNotFoundError as e:  # pragma: no cover - exercised without torch only
    raise ModuleNotFoundError("eqinfo.torch_data needs torch: pip install 'eqinfo[train]'",
                              name=e.name) from e


def _tokens_of(source) -> np.ndarray:
    """uint16 tokens of a shard path, a flat .bin path, a Shard, or an array."""
    if isinstance(source, np.ndarray):
        return source
    if hasattr(source, "tokens"):          # an eqinfo.shards.Shard
        return source.tokens
    path = Path(source)
    if path.suffix == ".bin":
        from eqinfo.flat_tokens import open_flat
        return open_flat(path)
    from eqinfo.shards import read_shard
    return read_shard(path).tokens


class _Examples:
    """The fixed-length examples of some token sources, and their order per epoch."""

    def __init__(self, sources: Sequence, seq_len: int, seed: int, shuffle: bool):
        if seq_len < 1:
            raise ValueError(f"seq_len must be >= 1, got {seq_len}")
        if isinstance(sources, (str, Path)) or hasattr(sources, "tokens") or isinstance(sources, np.ndarray):
            sources = [sources]
        self.streams = [_tokens_of(s) for s in sources]
        self.seq_len, self.seed, self.shuffle = int(seq_len), int(seed), bool(shuffle)
        counts = np.array([len(t) // seq_len for t in self.streams], dtype=np.int64)
        self.first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)  # example id -> stream
        self.n = int(self.first[-1])
        if self.n == 0:
            raise ValueError(f"no example of {seq_len} tokens in the sources "
                             f"({sum(map(len, self.streams))} tokens)")
        h = hashlib.sha256(f"{seq_len}:{[len(t) for t in self.streams]}".encode())
        for t in self.streams:  # cheap but content-sensitive: both ends of every stream
            h.update(np.asarray(t[:4096]).tobytes() + np.asarray(t[-4096:]).tobytes())
        self.fingerprint = h.hexdigest()[:16]

    def order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.n, dtype=np.int64)
        return np.random.default_rng([self.seed, int(epoch)]).permutation(self.n)

    def example(self, k: int) -> torch.Tensor:
        s = int(np.searchsorted(self.first, k, side="right")) - 1
        start = (k - int(self.first[s])) * self.seq_len
        return torch.from_numpy(np.asarray(self.streams[s][start:start + self.seq_len], dtype=np.int64))

    def state(self, epoch: int, position: int) -> dict:
        epoch, position = epoch + position // self.n, position % self.n
        return {"seed": self.seed, "epoch": int(epoch), "position": int(position),
                "shuffle": self.shuffle, "seq_len": self.seq_len, "examples": self.n,
                "fingerprint": self.fingerprint}

    def check(self, state: dict) -> tuple[int, int]:
        for key in ("seed", "shuffle", "seq_len", "examples", "fingerprint"):
            if state.get(key) != self.state(0, 0)[key]:
                raise ValueError(f"state for other data or settings: {key} = {state.get(key)!r}, "
                                 f"this dataset has {self.state(0, 0)[key]!r}")
        if not 0 <= state["position"] < self.n:
            raise ValueError(f"position {state['position']} outside [0, {self.n})")
        return int(state["epoch"]), int(state["position"])


class ShardIterableDataset(IterableDataset):
    """Examples of the sources (shard paths, .bin paths, Shards), epoch after epoch, in the seeded
    order, resumable exactly (module docstring). epochs: how many to yield in all, counted from
    epoch 0 (None: without end)."""

    def __init__(self, sources, seq_len: int, *, seed: int = 0, shuffle: bool = True,
                 epochs: int | None = 1):
        self._ex = _Examples(sources, seq_len, seed, shuffle)
        self.epochs = epochs
        self._epoch, self._position = 0, 0        # where the next iteration starts
        self._yielded = 0                         # examples yielded by the current iteration

    @property
    def examples_per_epoch(self) -> int:
        return self._ex.n

    def __iter__(self) -> Iterator[torch.Tensor]:
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        epoch, position = self._epoch, self._position
        self._yielded = 0
        g = 0  # examples of the remaining sequence so far; worker w takes those with g % nw == w
        while self.epochs is None or epoch < self.epochs:
            order = self._ex.order(epoch)
            for i in range(position, self._ex.n):
                if g % nw == wid:
                    self._yielded += 1
                    yield self._ex.example(int(order[i]))
                g += 1
            position, epoch = 0, epoch + 1

    def state_dict(self, consumed: int | None = None) -> dict:
        """Where the remaining sequence starts: after `consumed` examples counted from the last
        load_state_dict (or the start), default what this process yielded (num_workers=0)."""
        n = self._yielded if consumed is None else int(consumed)
        return self._ex.state(self._epoch, self._position + n)

    def load_state_dict(self, state: dict) -> None:
        self._epoch, self._position = self._ex.check(state)
        self._yielded = 0


class ShardDataset(Dataset):
    """Map-style: dataset[i] = the i-th example of the current epoch's order (set_epoch; file
    order with shuffle=False), dataset[(epoch, i)] = that of any epoch (what ResumableSampler
    asks for, so that DataLoader workers need no shared epoch). len = examples per epoch."""

    def __init__(self, sources, seq_len: int, *, seed: int = 0, shuffle: bool = True):
        self._ex = _Examples(sources, seq_len, seed, shuffle)
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self._order = self._ex.order(self.epoch)

    def __len__(self) -> int:
        return self._ex.n

    def __getitem__(self, i) -> torch.Tensor:
        epoch, i = (int(i[0]), int(i[1])) if isinstance(i, tuple) else (self.epoch, int(i))
        if not -self._ex.n <= i < self._ex.n:
            raise IndexError(f"example {i} outside [0, {self._ex.n})")
        if epoch != self.epoch:
            self.set_epoch(epoch)
        return self._ex.example(int(self._order[i]))


class ResumableSampler(Sampler):
    """(epoch, index) keys of a ShardDataset, epoch after epoch, from a resumable position:
    DataLoader(ds, sampler=ResumableSampler(ds), ...). state_dict / load_state_dict as
    ShardIterableDataset (consumed: examples the trainer consumed; the sampler runs ahead of
    the trainer by the loader's prefetch, so pass it)."""

    def __init__(self, dataset: ShardDataset, epochs: int | None = 1):
        self.dataset, self.epochs = dataset, epochs
        self._epoch, self._position, self._yielded = 0, 0, 0

    def __iter__(self) -> Iterator[int]:
        epoch, position = self._epoch, self._position
        self._yielded = 0
        while self.epochs is None or epoch < self.epochs:
            for i in range(position, len(self.dataset)):
                self._yielded += 1
                yield (epoch, i)
            position, epoch = 0, epoch + 1

    def __len__(self) -> int:
        if self.epochs is None:
            raise TypeError("an endless sampler has no length")
        return max(0, self.epochs * len(self.dataset) - (self._epoch * len(self.dataset) + self._position))

    def state_dict(self, consumed: int | None = None) -> dict:
        n = self._yielded if consumed is None else int(consumed)
        return self.dataset._ex.state(self._epoch, self._position + n)

    def load_state_dict(self, state: dict) -> None:
        self._epoch, self._position = self.dataset._ex.check(state)
        self._yielded = 0
