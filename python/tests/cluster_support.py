"""What the cluster tests share: small multi-file corpora and Dataset rows, the CLI as a real
process, the single-process reference, and a real local Ray cluster (a head node and a second
node process on 127.0.0.1).

Each node is a `ray start --block` process in its own session (process group), started with this
interpreter (so its workers import the same eqinfo and _eqinfo_core) and a temp dir of its own;
stop() ends exactly those process groups (SIGTERM, then SIGKILL) and then any process still
naming the temp dir, so no Ray process outlives the tests. Small object stores: units return
summaries, never tokens.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OBJECT_STORE_BYTES = 100_000_000
START_TIMEOUT_S = 120
STOP_GRACE_S = 5  # then SIGKILL: the tests' clusters hold nothing worth a clean shutdown


WORDS = ("the of and to in a is that for it as was with be by on not he this are or his from at "
         "which but have an they you were her she there caf\u00e9 na\u00efve \u4f60\u597d").split()


def make_corpus(directory: Path, files: int = 3, docs: int = 40, max_words: int = 40, seed: int = 0,
                gz: tuple[int, ...] = ()) -> Path:
    """A file-dir corpus: `files` jsonl files (those in gz gzip-compressed) of `docs` documents."""
    import gzip
    import json
    import random
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        lines = "".join(json.dumps({"text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, max_words)))
                                    + f" [{f}/{i}]"}) + "\n" for i in range(docs))
        if f in gz:
            (directory / f"part-{f:02d}.jsonl.gz").write_bytes(gzip.compress(lines.encode(), mtime=0))
        else:
            (directory / f"part-{f:02d}.jsonl").write_text(lines)
    return directory


def dataset_texts(rows: int, max_words: int = 30, seed: int = 0) -> list[str]:
    """Texts for a datasets.Dataset corpus (row i ends with its index: a misplaced row shows)."""
    import random
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, max_words))) + f" <{i}>" for i in range(rows)]


def compress_cli(*args, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    """eqinfo-compress in a process of its own (the real command line)."""
    r = subprocess.run([sys.executable, "-m", "eqinfo.compress", *map(str, args)], env=env_for_ray(),
                       capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"eqinfo-compress {' '.join(map(str, args))} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def same_shards(reference: Path, made: Path, methods) -> None:
    """The shards are byte-identical and the sidecars equal except how they were made."""
    import json
    for m in methods:
        a, b = reference / f"{m}.shard", made / f"{m}.shard"
        assert a.read_bytes() == b.read_bytes(), f"{m}: {b} differs from {a}"
        ma, mb = (json.loads(Path(f"{x}.json").read_text()) for x in (a, b))
        for k in ("threads", "wall_seconds"):
            ma.pop(k), mb.pop(k)
        assert ma == mb, m


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def env_for_ray() -> dict:
    """This process's environment with eqinfo's source tree on PYTHONPATH (absolute)."""
    env = dict(os.environ)
    parts = [str(ROOT / "python")] + [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    # A cluster of this machine only, on 127.0.0.1: no token authentication. Without this a
    # token that an earlier ray.init() left in ~/.ray/auth_token turns it on for the head, and
    # the second node (and the driver) are refused.
    env["RAY_AUTH_MODE"] = "disabled"
    return env


class LocalRayCluster:
    def __init__(self, cpus_per_node=(1, 1)):
        self.cpus_per_node = cpus_per_node
        self.temp_dir = tempfile.mkdtemp(prefix="eqr", dir="/tmp")  # short: socket paths < 108 chars
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[subprocess.Popen] = []

    def _start_node(self, cpus: int, head: bool) -> None:
        log = Path(self.temp_dir) / f"node{len(self.nodes)}.log"
        cmd = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", "--node-ip-address=127.0.0.1",
               f"--num-cpus={cpus}", f"--object-store-memory={OBJECT_STORE_BYTES}", "--disable-usage-stats"]
        cmd += ([ "--head", f"--port={self.port}", f"--temp-dir={self.temp_dir}", "--include-dashboard=false"]
                if head else [f"--address={self.address}"])
        f = open(log, "w")
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env_for_ray(), start_new_session=True)
        self.nodes.append(p)
        t0 = time.monotonic()
        while "Ray runtime started" not in log.read_text():
            if p.poll() is not None or time.monotonic() - t0 > START_TIMEOUT_S:
                raise RuntimeError(f"ray start failed (exit {p.poll()}): {log.read_text()[-3000:]}")
            time.sleep(0.3)

    def start(self) -> "LocalRayCluster":
        try:
            self._start_node(self.cpus_per_node[0], head=True)
            for cpus in self.cpus_per_node[1:]:
                self._start_node(cpus, head=False)
        except BaseException:
            self.stop()
            raise
        return self

    def processes(self) -> list[int]:
        """Every live process whose command line names this cluster's temp dir or address."""
        pids = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    cmd = (d / "cmdline").read_bytes().decode(errors="replace")
                    state = (d / "stat").read_text().split(")")[-1].split()[0]
                except OSError:
                    continue
                if state != "Z" and (self.temp_dir in cmd or self.address in cmd):
                    pids.append(int(d.name))
        return pids

    def worker_pids(self, title: str) -> list[int]:
        """Ray worker processes whose title (Ray sets it to ray::Class.method while running a
        method) starts with `title`, on any node of this cluster (all on this machine)."""
        out = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    cmd = (d / "cmdline").read_bytes().decode(errors="replace")
                except OSError:
                    continue
                if cmd.startswith(title):
                    out.append(int(d.name))
        return out

    def stop(self) -> None:
        for p in reversed(self.nodes):  # the second node first, the head last
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in reversed(self.nodes):
            try:
                p.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(p.pid, signal.SIGKILL)  # whatever of its group is left
            except ProcessLookupError:
                pass
            p.wait()
        t0 = time.monotonic()
        while (left := self.processes()) and time.monotonic() - t0 < 10:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.5)
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
