"""Which models a sweep trains: design points as plain dicts of metaparameters."""

from __future__ import annotations

import itertools
from typing import Any

from ..errors import SqueezeNetError

KINDS = ("sr", "pct3x3", "bypass", "grid")
# The paper's Figure 2b holds SR at 0.5 while sweeping pct3x3.
PCT3X3_SWEEP_SR = 0.5


def _numbers(values: list[str], flag: str) -> list[float]:
    try:
        return [float(v) for v in values]
    except ValueError:
        raise SqueezeNetError(f"{flag} takes numbers, got {' '.join(values)!r}") from None


def design_points(kind: str, values: list[str], sr_values: list[str], pct_values: list[str]) -> list[dict[str, Any]]:
    if kind == "sr":
        return [{"sr": v} for v in _numbers(values, "--values")]
    if kind == "pct3x3":
        return [{"pct3x3": v, "sr": PCT3X3_SWEEP_SR} for v in _numbers(values, "--values")]
    if kind == "bypass":
        bad = [v for v in values if v not in ("none", "simple", "complex")]
        if bad:
            raise SqueezeNetError(f"bypass values are none, simple, complex; got {bad[0]!r}")
        return [{"bypass": v} for v in values]
    if kind == "grid":
        if not sr_values or not pct_values:
            raise SqueezeNetError("grid needs --sr-values and --pct3x3-values")
        grid = itertools.product(_numbers(sr_values, "--sr-values"), _numbers(pct_values, "--pct3x3-values"))
        return [{"sr": s, "pct3x3": p} for s, p in grid]
    raise SqueezeNetError(f"unknown sweep {kind!r}; choose from {', '.join(KINDS)}")


def parse_shard(text: str | None) -> tuple[int, int]:
    """'I/N' -> (I, N) with 0 <= I < N; None -> the whole sweep."""
    if text is None:
        return 0, 1
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise SqueezeNetError(f"--shard takes I/N (e.g. 0/2), got {text!r}") from None
    if not 0 <= i < n:
        raise SqueezeNetError(f"--shard {text}: need 0 <= I < N")
    return i, n
