"""The exit-code contract of every command, and the one line each failure prints.

| code | meaning |
|---|---|
| 0 | done |
| 1 | done, and the answer is no: only where a command documents it (``update``: reverted) |
| 2 | refused: a bad flag or file, a damaged input, a missing extra, a file that cannot be written |
| 3 | ``update``: the repository's metadata has expired (nothing installed) |
| 4 | failed inside squeezenet or a library: a bug to report (``SQUEEZENET_DEBUG=1`` shows where) |
| 130 | interrupted (Ctrl-C) |
| 143 | terminated (SIGTERM) |

``main`` sends every exception through ``failure``; none reaches the user as a traceback or an
exception's class name, and temporary files (``utils.atomic``) are named as the file the user asked for.
"""

from __future__ import annotations

import errno
import re
import signal
from pathlib import Path
from types import FrameType
from typing import Any

from ..errors import OptionError, SqueezeNetError

OK, NO, REFUSED, STALE, BUG, INTERRUPTED, TERMINATED = 0, 1, 2, 3, 4, 130, 143
CONTRACT = (OK, NO, REFUSED, STALE, BUG, INTERRUPTED, TERMINATED)
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.\d+\.[^./]+\.tmp(?:\.old)?$")  # utils.atomic's names


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that ``finally`` blocks remove temporary files."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def on_sigterm_unwind() -> Any:
    """Turn SIGTERM into ``Terminated`` (a stopped command cleans up as after Ctrl-C); the handler
    it replaces, for the caller to put back (``main`` called from an app leaves the app's own)."""
    return signal.signal(signal.SIGTERM, _terminate)


def user_path(name: str | bytes | int | None) -> str:
    """The file the user named, for a path an error reports (a temporary file becomes its destination)."""
    if name is None or isinstance(name, int):
        return "a file"
    path = Path(name.decode(errors="replace") if isinstance(name, bytes) else name)
    found = _TEMPORARY.match(path.name)
    return str(path.with_name(found["name"])) if found else str(path)


def _os_error(exc: OSError) -> str:
    reason = (exc.strerror or errno.errorcode.get(exc.errno or 0, "cannot be used")).lower()
    return f"{user_path(exc.filename)}: {reason}"


def failure(exc: BaseException, flag_of: object) -> tuple[int, str]:
    """The exit code and the one line for ``exc``; ``flag_of`` maps an options field to its flag."""
    if isinstance(exc, OptionError):
        return REFUSED, exc.render(flag_of)  # type: ignore[arg-type]
    if isinstance(exc, SqueezeNetError):
        return REFUSED, str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED, "interrupted"
    if isinstance(exc, Terminated):
        return TERMINATED, "terminated"
    if isinstance(exc, OSError):
        return REFUSED, _os_error(exc)
    if isinstance(exc, MemoryError):
        return REFUSED, "not enough memory for what was asked; use smaller batches, images or counts"
    first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else "no message"
    return BUG, f"failed unexpectedly: {first} (a bug: please report it; SQUEEZENET_DEBUG=1 shows the traceback)"
