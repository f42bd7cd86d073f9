"""The run's CSV logs (log.csv, M2's positions.csv), flushed after every row."""
from __future__ import annotations

import csv
from pathlib import Path


class CsvLog:
    """A CSV file of `fields`. Resuming at `resume_step` keeps the rows up to that step and drops
    those written after the checkpoint (they will be redone); None starts the file afresh."""

    def __init__(self, path: Path, fields: list[str], resume_step: int | None):
        self.fields = fields
        rows = []
        if resume_step is not None and path.exists():
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
        self._file = open(path, "w", newline="")
        # A row's missing fields (no evaluation at this step) are written empty.
        self._writer = csv.DictWriter(self._file, fieldnames=fields, restval="")
        self._writer.writeheader()
        self._writer.writerows(rows)
        self._file.flush()

    def write(self, row: dict) -> None:
        self._writer.writerow(row)
        self._file.flush()

    def close(self) -> None:
        self._file.close()
