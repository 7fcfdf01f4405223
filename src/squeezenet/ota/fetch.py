"""Downloads for the device's TUF client, each bounded as a whole, and counted.

python-tuf's ``Urllib3Fetcher`` times out only between reads, so a server that drip-feeds one
byte a second never trips it. This fetcher gives every file a deadline: before each read the
socket's timeout is set to what is left of it (and at most ``read_timeout``), and a read that
returns after the deadline ends the download, so a stalled or drip-fed file ends within it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import urllib3
from tuf.api import exceptions
from tuf.ngclient.fetcher import FetcherInterface

CHUNK = 64 * 1024


class DeadlineFetcher(FetcherInterface):
    def __init__(self, deadline: float = 60.0, read_timeout: float = 10.0) -> None:
        self.deadline, self.read_timeout = deadline, read_timeout
        self.pool = urllib3.PoolManager(retries=False)
        self.bytes_fetched: dict[str, int] = {}

    def _fetch(self, url: str) -> Iterator[bytes]:
        end = time.monotonic() + self.deadline
        timeout = min(self.read_timeout, self.deadline)
        try:
            response = self.pool.request("GET", url, preload_content=False, timeout=urllib3.Timeout(timeout, timeout))
        except urllib3.exceptions.TimeoutError as exc:
            raise exceptions.SlowRetrievalError(f"{url}: no answer within {timeout:g} s") from exc
        if response.status >= 400:
            response.release_conn()
            raise exceptions.DownloadHTTPError(f"{url}: HTTP {response.status}", response.status)
        return self._chunks(url, response, end)

    def _chunks(self, url: str, response: urllib3.BaseHTTPResponse, end: float) -> Iterator[bytes]:
        try:
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    raise exceptions.SlowRetrievalError(f"{url}: not complete within {self.deadline:g} s")
                sock = getattr(getattr(response, "connection", None), "sock", None)
                if sock is not None:
                    sock.settimeout(min(self.read_timeout, left))
                chunk = response.read1(CHUNK)
                if not chunk:
                    return
                self.bytes_fetched[url] = self.bytes_fetched.get(url, 0) + len(chunk)
                yield chunk
        except (urllib3.exceptions.TimeoutError, TimeoutError) as exc:
            raise exceptions.SlowRetrievalError(f"{url}: not complete within {self.deadline:g} s") from exc
        finally:
            response.release_conn()

    @property
    def total(self) -> int:
        return sum(self.bytes_fetched.values())
