"""What native libraries print on the process's own file descriptors, captured.

TFLite Micro reports its arena only by printing it from C++; LiteRT's and ExecuTorch's runtimes
print start-up banners (absl's, cpuinfo's, the XNNPACK delegate's) on file descriptor 2 that a
Python redirect cannot catch. One command, one line of output: these are read or dropped here.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def captured_fd(fd: int) -> Iterator[list[str]]:
    """Lines written to ``fd`` (1: stdout, 2: stderr) inside the block, kept off the terminal."""
    lines: list[str] = []
    (sys.stdout if fd == 1 else sys.stderr).flush()
    with tempfile.TemporaryFile(mode="w+") as sink:
        saved = os.dup(fd)
        os.dup2(sink.fileno(), fd)
        try:
            yield lines
        finally:
            _flush_c_streams()
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().splitlines())


def _flush_c_streams() -> None:
    """C's stdio buffers what native code prints; flushed here, it lands in the captured file."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).fflush(None)
