"""SIGTERM/SIGINT as a request to checkpoint and stop, not an abrupt exit."""
from __future__ import annotations

import signal
from typing import Callable


class StopOnSignal:
    """SIGTERM/SIGINT ask a loop to stop after its current step (`while ... and not
    stop.requested`): a training loop checkpoints first, the experiment runner also calls
    `on_stop` (it forwards the signal to its training processes). restore() puts the previous
    handlers back."""

    def __init__(self, tag: str, on_stop: Callable[[], None] | None = None,
                 action: str = "checkpointing after this step"):
        self.requested = False
        self._tag, self._on_stop, self._action = tag, on_stop, action
        self._old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}

    def _on_signal(self, signum, _frame):
        print(f"[{self._tag}] signal {signum}: {self._action}", flush=True)
        self.requested = True
        if self._on_stop is not None:
            self._on_stop()

    def restore(self) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)
