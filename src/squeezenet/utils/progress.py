"""Progress bars on a terminal only: in a log, tqdm's carriage returns become hundreds of lines."""

from __future__ import annotations


def progress_off(quiet: bool) -> bool | None:
    """tqdm's ``disable``: True when asked to be quiet, else None (tqdm then disables itself
    when its output is not a terminal)."""
    return True if quiet else None
