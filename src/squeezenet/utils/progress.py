"""Progress of long work: a bar on a terminal, a line every half minute in a log.

tqdm's bar redraws with carriage returns, which in a log file become hundreds of lines; where
stderr is not a terminal the same calls print one plain line every ``LOG_EVERY`` seconds and
one at the end instead.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

LOG_EVERY = 30.0  # seconds between progress lines in a log
T = TypeVar("T")


class LogProgress:
    """tqdm's ``update`` / ``set_postfix`` / ``close``, as periodic lines on stderr."""

    def __init__(self, total: int | None, desc: str, unit: str, initial: int = 0, every: float = LOG_EVERY) -> None:
        self.total, self.desc, self.unit, self.n, self.every = total, desc, unit, initial, every
        self.start = self.last = time.monotonic()
        self.postfix = ""

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.monotonic() - self.last >= self.every:
            self._line()

    def set_postfix(self, refresh: bool = False, **values: Any) -> None:
        self.postfix = ", ".join(f"{k} {v}" for k, v in values.items())

    def close(self) -> None:
        """A last line for work long enough to have shown progress; short work stays silent."""
        if self.n and (self.last > self.start or time.monotonic() - self.start >= self.every):
            self._line()

    def _line(self) -> None:
        self.last = time.monotonic()
        of = f"/{self.total}" if self.total else ""
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        extra = f", {self.postfix}" if self.postfix else ""
        elapsed = self.last - self.start
        units = self.unit + ("es" if self.unit.endswith(("ch", "sh", "s", "x")) else "s")
        print(f"{self.desc}: {self.n}{of} {units}{share}, {elapsed:.0f} s{extra}", file=sys.stderr, flush=True)


def progress(total: int | None, desc: str, unit: str = "step", quiet: bool = False, initial: int = 0) -> Any:
    """A progress display for ``total`` units of work: nothing when ``quiet``."""
    if not quiet and not sys.stderr.isatty():
        return LogProgress(total, desc, unit, initial)
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, initial=initial, disable=quiet, dynamic_ncols=True, leave=False)


def track(items: Iterable[T], total: int | None, desc: str, unit: str = "step", quiet: bool = False) -> Iterator[T]:
    """``items``, showing progress as they are consumed."""
    bar = progress(total, desc, unit, quiet)
    try:
        for item in items:
            yield item
            bar.update()
    finally:
        bar.close()
