"""Sizes as people write them."""

from __future__ import annotations

from ..errors import SqueezeNetError


def parse_bytes(text: str) -> int:
    """'10MB', '512KiB', '2e6' -> bytes (MB = 10^6, MiB = 2^20)."""
    units = {"kib": 2**10, "mib": 2**20, "gib": 2**30, "kb": 10**3, "mb": 10**6, "gb": 10**9, "b": 1}
    t = text.strip().lower()
    for unit, factor in units.items():
        if t.endswith(unit):
            try:
                return int(float(t[: -len(unit)]) * factor)
            except ValueError:
                break
    try:
        return int(float(t))
    except ValueError:
        raise SqueezeNetError(f"cannot read a size from {text!r}; use e.g. 10MB or 512KiB") from None
