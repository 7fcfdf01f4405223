"""Options records as data: each field's help, range and choices beside its default.

The CLI makes a record's flags from this metadata (``cli/args.add_record``: a flag's type refuses
what the range refuses while parsing), and the record checks the same ranges for Python callers
(``check_ranges``): one decision, one place. A field without ``help`` has no flag.
"""

from __future__ import annotations

import math
from dataclasses import field, fields
from typing import Any

from ..errors import OptionError

MAX_BATCH = 4096  # images in one batch, wherever a batch size is set
MAX_WORKERS = 64  # image-decoding processes
MAX_SIDE = 4096  # an image side in pixels


def option(
    default: Any,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    above: bool = False,
    choices: tuple[str, ...] | None = None,
    kind: str | None = None,
) -> Any:
    """A field with its flag's help, its range (``low``..``high``, ``above``: low excluded), its
    choices, and ``kind`` for strings the CLI checks as paths (``dir``, ``data``) or sizes (``bytes``)."""
    meta = {"help": help, "low": low, "high": high, "above": above, "choices": choices, "kind": kind}
    return field(default=default, metadata={k: v for k, v in meta.items() if v is not None and v is not False})


def check_ranges(record: Any) -> None:
    """Every field of ``record`` with a range: finite and inside it, else an ``OptionError`` naming the field."""
    for f in fields(record):
        low, high, value = f.metadata.get("low"), f.metadata.get("high"), getattr(record, f.name)
        if value is None or (low is None and high is None):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise OptionError(f.name, f"must be a finite number, got {value}")
        if low is not None and (value < low or (f.metadata.get("above") and value == low)):
            raise OptionError(
                f.name, f"must be {'above' if f.metadata.get('above') else 'at least'} {low:g}, got {value}"
            )
        if high is not None and value > high:
            raise OptionError(f.name, f"must be at most {high:g}, got {value}")
