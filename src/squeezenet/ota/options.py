"""The options of ``keys``, ``publish`` and ``update`` as data (no heavy imports: the CLI makes its
flags from these records and checks them before it loads TUF)."""

from __future__ import annotations

from dataclasses import dataclass

from ..utils.options import check_ranges, option
from .keys import MAX_ROOT_KEYS
from .release import MAX_PROBE_COUNT, MAX_RELEASE, PROBE_COUNT

MAX_DEADLINE = 24 * 3600.0  # seconds: a deadline is a bound, never "no deadline"


@dataclass
class KeysOptions:
    root_keys: int = option(1, "root keys to make", low=1, high=MAX_ROOT_KEYS)
    root_threshold: int = option(1, "how many root keys must sign a root", low=1, high=MAX_ROOT_KEYS)

    def check(self) -> None:
        check_ranges(self)


@dataclass
class PublishOptions:
    repo: str | None = option(None, "the repository folder (served as static files)", kind="out_dir")
    keys: str | None = option(None, "the key folder of squeezenet keys init", kind="dir")
    model: str | None = option(None, "the model's name: its delegated role and target folder")
    weights: str | None = option(None, "the release: a .sqz file", kind="file")
    release: int | None = option(
        None, "release number (default: one above the last; never lower)", low=1, high=MAX_RELEASE
    )
    probe_count: int = option(PROBE_COUNT, "inputs in the release's probe set", low=1, high=MAX_PROBE_COUNT)

    def check(self) -> None:
        check_ranges(self)


@dataclass
class UpdateOptions:
    state: str | None = option(None, "the device's state folder", kind="out_dir")
    repo: str | None = option(None, "the repository's URL (its metadata/ and targets/ below it)")
    model: str | None = option(None, "the model this device runs")
    deadline: float = option(60.0, "seconds each download may take in all", low=0.0, high=MAX_DEADLINE, above=True)
    root: str | None = option(None, "init: the root metadata the device ships with", kind="file")
    weights: str | None = option(None, "init: the model the device ships with", kind="file")
    release: int = option(0, "init: the release the shipped model is", low=0, high=MAX_RELEASE)
    fix_classes: bool = option(False, "init: accept only releases with the shipped classes")

    def check(self) -> None:
        check_ranges(self)
