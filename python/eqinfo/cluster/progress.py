"""The driver's progress: units, documents, bytes, throughput and ETA.

Three forms: a tqdm bar (stderr) when tqdm is installed, plain lines (stderr, at most one every
PLAIN_EVERY_S seconds and at the end) without it, or JSON lines (stderr; one object per finished
unit) for programs. The ETA is from the planned input bytes of the units still to do at the
throughput so far (input bytes, which every unit has, whatever its split's share of them).
"""
from __future__ import annotations

import json
import sys
import time

PLAIN_EVERY_S = 5.0
MODES = ("bar", "json", "none")


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.1f} TB"


def _eta(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "?"
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Progress:
    def __init__(self, total_units: int, total_raw_bytes: int, mode: str = "bar", desc: str = "units"):
        if mode not in MODES:
            raise ValueError(f"progress must be one of {MODES}, got {mode!r}")
        self.total_units, self.total_raw = total_units, total_raw_bytes
        self.mode, self.units, self.raw, self.docs, self.bytes_in = mode, 0, 0, 0, 0
        self.raw_reused = self.bytes_in_reused = 0  # reused units: done, not part of the throughput
        self.t0 = self._last = time.perf_counter()
        self.bar = None
        if mode == "bar":
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total_units, unit="unit", desc=desc, file=sys.stderr, smoothing=0.1)
            except ModuleNotFoundError:
                pass

    @property
    def bytes_in_made(self) -> int:
        return self.bytes_in - self.bytes_in_reused

    def state(self) -> dict:
        dt = max(time.perf_counter() - self.t0, 1e-9)
        rate = (self.raw - self.raw_reused) / dt
        left = self.total_raw - self.raw
        return {"units_done": self.units, "units": self.total_units, "documents": self.docs,
                "bytes_in": self.bytes_in, "input_bytes_done": self.raw, "input_bytes": self.total_raw,
                "bytes_in_per_s": round(self.bytes_in_made / dt, 1), "seconds": round(dt, 1),
                "eta_s": round(left / rate, 1) if rate > 0 else None}

    def advance(self, raw_bytes: int, documents: int, bytes_in: int, unit: str | None = None,
                reused: bool = False) -> None:
        """One unit done (computed, failed, or reused from an earlier run): its planned input
        bytes and its split's counts. Reused units do not count towards the throughput."""
        self.units += 1
        self.raw += raw_bytes
        self.docs += documents
        self.bytes_in += bytes_in
        if reused:
            self.raw_reused += raw_bytes
            self.bytes_in_reused += bytes_in
        st = self.state()
        if self.mode == "json":
            print(json.dumps({"event": "unit", "unit": unit, **st}), file=sys.stderr, flush=True)
        elif self.bar is not None:
            self.bar.set_postfix_str(f"{self.docs} docs, {_human(self.bytes_in)}, "
                                     f"{_human(st['bytes_in_per_s'])}/s, ETA {_eta(st['eta_s'] or 0)}",
                                     refresh=False)
            self.bar.update(1)
        elif self.mode == "bar" and (time.perf_counter() - self._last >= PLAIN_EVERY_S
                                     or self.units == self.total_units):
            self._last = time.perf_counter()
            print(f"units {self.units}/{self.total_units}, {self.docs} docs, {_human(self.bytes_in)} in, "
                  f"{_human(st['bytes_in_per_s'])}/s, ETA {_eta(st['eta_s'] if st['eta_s'] is not None else float('nan'))}",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
