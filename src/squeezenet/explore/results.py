"""results.csv: one row per (design point, seed), shared safely by shards of one sweep.

Rows are appended under an exclusive file lock with a read-merge-rewrite, written
atomically, so concurrent shards never lose or duplicate a row, and a killed writer
never leaves a torn file.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..utils.atomic import write_text

COLUMNS = [
    "sr",
    "pct3x3",
    "base_e",
    "incr_e",
    "freq",
    "bypass",
    "params",
    "size_bytes",
    "macs",
    "top1",
    "top5",
    "train_seconds",
    "seed",
]
KEY_COLUMNS = ("sr", "pct3x3", "base_e", "incr_e", "freq", "bypass", "seed")


def row_key(row: dict[str, Any]) -> tuple[str, ...]:
    """Identity of a job; numbers compared as floats so '0.5' from the CSV equals 0.5."""
    return tuple(str(row[c]) if c == "bypass" else repr(float(row[c])) for c in KEY_COLUMNS)


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def append_row(path: Path, row: dict[str, Any]) -> None:
    with _locked(path):
        rows = read_rows(path)
        if row_key(row) in {row_key(r) for r in rows}:
            return
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows([*rows, {c: row[c] for c in COLUMNS}])
        write_text(path, buf.getvalue())
