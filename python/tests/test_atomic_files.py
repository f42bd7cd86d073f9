"""eqinfo.atomic_files, the package's one atomic writer: the target holds the old file or the
whole new one, a failed writer leaves neither a short target nor its temporary file, and the
writers built on it (shards, flat tokens, checkpoints, run records) go through it."""
import hashlib
from pathlib import Path

import numpy as np
import pytest

from eqinfo import atomic_files


def test_write_atomic_writes_all_and_returns_the_sha256(tmp_path):
    target = tmp_path / "sub" / "out.bin"           # its directory is made
    chunks = [b"abc", b"", b"def" * 1000]
    digest = atomic_files.write_atomic(target, chunks)
    assert target.read_bytes() == b"".join(chunks)
    assert digest == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.bin"]


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    atomic_files.write_text_atomic(target, "old\n")

    def chunks():
        yield b"new, half"
        raise OSError("disk full (simulated)")
    with pytest.raises(OSError, match="disk full"):
        atomic_files.write_atomic(target, chunks())
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    with pytest.raises(KeyboardInterrupt):           # a kill-like exception too
        with atomic_files.replacing(target) as tmp:
            tmp.write_text("partial")
            raise KeyboardInterrupt
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_replacing_gives_writers_a_path_next_to_the_target(tmp_path):
    target = tmp_path / "arr.npy"
    with atomic_files.replacing(target) as tmp, open(tmp, "wb") as f:
        assert tmp.parent == target.parent and tmp != target
        np.save(f, np.arange(5))
    assert np.load(target).tolist() == [0, 1, 2, 3, 4]


def test_the_package_writers_use_it(monkeypatch, tmp_path):
    """shards.write_shard and flat_tokens.write_flat write through atomic_files (so they fsync):
    every file they leave was renamed in by it."""
    from eqinfo import flat_tokens, shards
    renamed: list[str] = []
    real_replace = atomic_files.os.replace

    def spy(src, dst):
        renamed.append(Path(dst).name)
        return real_replace(src, dst)
    monkeypatch.setattr(atomic_files.os, "replace", spy)
    docs = [np.array([1, 2, 3], dtype=np.uint16), np.array([4], dtype=np.uint16)]
    shards.write_shard(tmp_path / "a.shard", docs, vocab_size=256, meta={"method": "bytes"}, doc_text_bytes=[3, 1])
    flat_tokens.write_flat(tmp_path / "a.bin", docs, vocab_size=256)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert sorted(renamed) == left, (renamed, left)
