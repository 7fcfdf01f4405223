"""Write files so that a crash or a kill never leaves a half-written result behind.

The temporary file sits beside its destination as ``.NAME.PID.RANDOM.tmp``, is fsynced, renamed
into place once complete, and the folder is fsynced after the rename: after a power loss the
destination holds the old bytes or the new ones, and the rename itself is on disk. A process
killed with SIGKILL cannot delete its temporary file, so the next write to the same destination
removes those whose writer is no longer running. The finished file gets the permissions an
ordinary write would give it (``0666`` less the umask, or the mode of the file it replaces), not
``mkstemp``'s private ``0600``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import SqueezeNetError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale_temporaries(dest: Path) -> None:
    """Delete ``.NAME.PID.*.tmp`` files (or folders) beside ``dest`` left by writers that were killed."""
    for tmp in dest.parent.glob(f".{dest.name}.*.tmp"):
        pid = tmp.name[len(dest.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)


def _ordinary_mode(dest: Path) -> int:
    try:
        return dest.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)  # reading the umask means setting it; put it straight back
        os.umask(umask)
        return 0o666 & ~umask


def fsync_directory(path: Path) -> None:
    """Make a rename inside ``path`` durable (the folder's entry, not only the file's bytes)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success fsync it and rename it into place."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(dest)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp_path, _ordinary_mode(dest))
        os.replace(tmp_path, dest)
        fsync_directory(dest.parent)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes(dest: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def write_text(dest: str | os.PathLike[str], text: str) -> None:
    write_bytes(dest, text.encode())


def check_replaceable(dest: Path, replaces: str) -> None:
    """``dest`` is absent, or a folder holding ``replaces``: one ``atomic_directory`` may replace."""
    if dest.exists() and not (dest / replaces).is_file():
        raise SqueezeNetError(f"{dest} exists and is not one this command wrote (no {replaces}); not replaced")


@contextlib.contextmanager
def atomic_directory(dest: str | os.PathLike[str], replaces: str) -> Iterator[Path]:
    """Yield an empty folder beside ``dest``; on success it takes ``dest``'s place.

    A folder cannot be renamed over a non-empty one, so an existing ``dest`` is first renamed
    aside and removed after: readers see the old folder or the new one, never a half-written
    one. An existing ``dest`` must hold the file ``replaces`` (it is one of ours): a folder of
    the user's is never removed.
    """
    dest = Path(dest)
    check_replaceable(dest, replaces)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(dest)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=".tmp", dir=dest.parent))
    old = tmp.with_suffix(".old")
    try:
        yield tmp
        if dest.exists():
            os.replace(dest, old)
        os.replace(tmp, dest)
        fsync_directory(dest.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
