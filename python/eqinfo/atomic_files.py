"""Atomic, durable file writes: the one way this package replaces a file it produces.

The bytes go to a temporary file next to the target (named with the host and pid, so that two
processes, or two machines on a shared file system, never share one), are fsync'ed, renamed
over the target, and the directory is fsync'ed. A reader therefore sees either the old file or
the whole new one, and after a crash of the process or of the machine a file that exists is
complete. A writer that fails or is killed leaves at most its temporary file, never a short
target (zstd's and zlib's rule; the C++ side has the same in include/eqinfo/file_io.hpp).

    with replacing(path) as tmp:        # for writers that want a path: torch.save, save_file
        torch.save(obj, tmp)
    write_atomic(path, chunks)          # bytes from an iterator; returns their sha256
    write_bytes_atomic(path, data)
    write_text_atomic(path, text)
"""
from __future__ import annotations

import hashlib
import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator


def fsync_path(path: str | Path) -> None:
    """fsync of a file (its bytes durable) or of a directory (a rename in it durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


fsync_dir = fsync_path  # the name the cluster files use


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Yields the temporary path to write instead of `path`; when the block ends normally the
    file is fsync'ed and renamed over `path` (its directory created if missing, then fsync'ed);
    when it raises, the temporary file is removed and `path` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp.{socket.gethostname()}.{os.getpid()}")
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_path(path.parent)


def write_atomic(path: str | Path, chunks: Iterable[bytes]) -> str:
    """Writes the chunks to `path` atomically and durably; returns the sha256 (hex) of them."""
    h = hashlib.sha256()
    with replacing(path) as tmp, open(tmp, "wb") as f:
        for chunk in chunks:
            h.update(chunk)
            f.write(chunk)
    return h.hexdigest()


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    write_atomic(path, [data])


def write_text_atomic(path: str | Path, text: str) -> None:
    write_atomic(path, [text.encode("utf-8")])
