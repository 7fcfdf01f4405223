"""``squeezenet update``: the device side. TUF-verified releases into A/B slots, power-loss safe, confirmed by a probe.

State folder (``--state DIR``)::

    root.json        the root metadata shipped with the device: every update starts from it
    tuf/             python-tuf's metadata cache (what lets it refuse rollbacks and replays)
    slots/a.sqz, slots/b.sqz    the two slots; ``state.json`` names the active one
    state.json       active slot, each slot's release and SHA-256, the install in progress, bad releases
    probe.json       the signed probe set of the release on trial
    lock             held by the running update: two runs never interleave

An update (1) refreshes TUF metadata from the shipped root, (2) picks the highest release above
the installed one that is not marked bad and that this device can run (architecture, input
size, classes: the ``profile`` recorded when it was provisioned), (3) downloads the patch when
its base is the active model and it promises the signed full file, else the full file, each
verified by TUF (length and hash) and the result by its SHA-256, (4) writes the inactive slot
(temporary file, fsync, rename, fsync of the folder), (5) records it as pending, (6) swaps: the
new slot is active on trial, the previous one kept. ``--confirm`` (or the next run) runs the
probe set on the active model and commits, or reverts to the previous slot and marks the
release bad. After a power loss at any point the next run finds the old or the new model
active, never a mixture, and finishes what was started. Every refusal leaves the active model
and ``state.json`` as they were.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SqueezeNetError
from ..formats import sqz
from ..formats.sqzpatch import apply_patch
from ..utils.atomic import write_bytes, write_text
from .release import Release, check_model_name, check_release, index_path, probe_agreement, requirements, sha256

STATE_FORMAT = 1
SLOTS = ("a", "b")
CRASH_AFTER = "SQUEEZENET_OTA_CRASH_AFTER"  # fault injection for the power-loss tests: a step's name


class StaleMetadata(SqueezeNetError):
    """The repository's metadata has expired: nothing is installed, the current model keeps serving."""


@dataclass
class State:
    profile: dict[str, Any]
    active: str
    slots: dict[str, dict[str, Any] | None]
    pending: dict[str, Any] | None = None  # written to a slot, not yet active
    trial: dict[str, Any] | None = None  # active, not yet confirmed by its probe set
    bad: list[int] = field(default_factory=list)
    model: str | None = None
    format: int = STATE_FORMAT

    @property
    def release(self) -> int:
        return int(self.slots[self.active]["release"])

    @property
    def inactive(self) -> str:
        return next(s for s in SLOTS if s != self.active)


@dataclass
class UpdateResult:
    status: str  # installed, current, confirmed, reverted, nothing-to-confirm
    release: int  # the active release afterwards
    via: str | None = None  # patch or full
    bytes_fetched: int = 0  # every byte downloaded: metadata and targets
    target_bytes: int = 0
    seconds: float = 0.0
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Device:
    """One state folder."""

    def __init__(self, state_dir: str | Path) -> None:
        self.dir = Path(state_dir)
        self.state_file, self.root_file = self.dir / "state.json", self.dir / "root.json"

    def slot(self, name: str) -> Path:
        return self.dir / "slots" / f"{name}.sqz"

    # --- state ---------------------------------------------------------------------------------
    def read_state(self) -> State:
        if not self.state_file.is_file():
            raise SqueezeNetError(f"{self.dir}: not a provisioned device (squeezenet update --init makes one)")
        try:
            data = json.loads(self.state_file.read_text())
            state = State(**data)
        except (ValueError, TypeError):
            raise SqueezeNetError(f"{self.state_file}: not a device state file") from None
        if state.format != STATE_FORMAT or state.active not in SLOTS:
            raise SqueezeNetError(f"{self.state_file}: not a device state file")
        return state

    def write_state(self, state: State) -> None:
        write_text(self.state_file, json.dumps(asdict(state), indent=1) + "\n")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / "lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SqueezeNetError(f"{self.dir}: another update is running (it holds {self.dir / 'lock'})") from None
            yield

    def active_model(self, state: State | None = None) -> Path:
        return self.slot((state or self.read_state()).active)

    # --- provisioning ----------------------------------------------------------------------------
    def provision(self, root: str | Path, weights: bytes, release: int = 0, fix_classes: bool = False) -> State:
        """A new device: the shipped root metadata, the base model in slot a, and the profile it
        accepts updates for (the base's architecture and input size; its classes with ``fix_classes``)."""
        check_release(release, low=0)
        with self.locked():
            if self.state_file.exists():
                raise SqueezeNetError(f"{self.dir}: already provisioned")
            header = sqz.decode(weights, "the base model").header
            root_bytes = Path(root).read_bytes()
            _check_root(root_bytes, str(root))
            profile = requirements(header)
            if not fix_classes:
                profile["classes"] = None
            write_bytes(self.root_file, root_bytes)
            write_bytes(self.slot("a"), weights)
            state = State(profile, "a", {"a": {"release": release, "sha256": sha256(weights)}, "b": None})
            self.write_state(state)
            return state

    # --- updating -------------------------------------------------------------------------------
    def update(self, repo_url: str, model: str, deadline: float = 60.0, read_timeout: float = 10.0) -> UpdateResult:
        """Finish what a power loss interrupted, confirm a release on trial, then install a newer one."""
        from .fetch import DeadlineFetcher

        check_model_name(model)
        start = time.monotonic()
        with self.locked():
            state = self.read_state()
            if state.model not in (None, model):
                raise SqueezeNetError(f"{self.dir} runs model {state.model}, not {model}")
            state = self._recover(state)
            if state.trial:
                confirmed = self._confirm(state)
                if confirmed.status == "reverted":
                    return confirmed
                state = self.read_state()
            fetcher = DeadlineFetcher(deadline, read_timeout)
            updater = self._updater(repo_url, fetcher)
            chosen = self._choose(updater, state, model)
            if chosen is None:
                return UpdateResult(
                    "current", state.release, bytes_fetched=fetcher.total, seconds=time.monotonic() - start
                )
            data, via, probe = self._download(updater, state, chosen)
            target_bytes = fetcher.total - sum(v for u, v in fetcher.bytes_fetched.items() if "/metadata/" in u)
            self._install(state, chosen, data, probe, model)
            return UpdateResult(
                "installed",
                chosen.release,
                via,
                fetcher.total,
                target_bytes,
                time.monotonic() - start,
                f"release {chosen.release} on trial; confirm with update --confirm",
            )

    def confirm(self) -> UpdateResult:
        with self.locked():
            state = self._recover(self.read_state())
            if not state.trial:
                return UpdateResult("nothing-to-confirm", state.release)
            return self._confirm(state)

    def _updater(self, repo_url: str, fetcher: Any) -> Any:
        from tuf.api import exceptions
        from tuf.ngclient import Updater

        if not self.root_file.is_file():
            raise SqueezeNetError(f"{self.root_file}: the device's shipped root metadata is missing")
        (self.dir / "tuf").mkdir(exist_ok=True)
        (self.dir / "downloads").mkdir(exist_ok=True)
        base = repo_url.rstrip("/")
        try:
            updater = Updater(
                str(self.dir / "tuf"),
                f"{base}/metadata/",
                str(self.dir / "downloads"),
                f"{base}/targets/",
                fetcher,
                bootstrap=self.root_file.read_bytes(),
            )
            updater.refresh()
        except exceptions.ExpiredMetadataError as exc:
            raise StaleMetadata(
                f"the repository's metadata has expired ({exc}); release {self.read_state().release} keeps serving"
            ) from None
        except exceptions.DownloadError as exc:
            raise SqueezeNetError(f"cannot reach {repo_url}: {exc}") from None
        except exceptions.RepositoryError as exc:
            raise SqueezeNetError(f"refused the repository's metadata: {exc.__class__.__name__}: {exc}") from None
        return updater

    def _target(self, updater: Any, path: str) -> tuple[Any, bytes]:
        """A target's verified info and bytes (TUF checks its length and hash against signed metadata)."""
        from tuf.api import exceptions

        try:
            info = updater.get_targetinfo(path)
            if info is None:
                raise SqueezeNetError(f"{path}: not among the signed targets")
            file = updater.download_target(info, str(self.dir / "downloads" / path.replace("/", "_")))
            data = Path(file).read_bytes()
            Path(file).unlink()
            return info, data
        except exceptions.DownloadError as exc:
            raise SqueezeNetError(f"{path}: download failed ({exc.__class__.__name__}: {exc})") from None
        except exceptions.RepositoryError as exc:
            raise SqueezeNetError(f"{path}: refused ({exc.__class__.__name__}: {exc})") from None

    def _choose(self, updater: Any, state: State, model: str) -> Release | None:
        _, data = self._target(updater, index_path(model))
        try:
            releases = [Release.from_dict(r) for r in json.loads(data)["releases"]]
        except (ValueError, KeyError, TypeError):
            raise SqueezeNetError(f"{index_path(model)}: not a release index") from None
        fits = [
            r
            for r in releases
            if r.model == model
            and r.release > state.release
            and r.release not in state.bad
            and _fits(r.requires, state.profile)
        ]
        return max(fits, key=lambda r: r.release) if fits else None

    def _download(self, updater: Any, state: State, release: Release) -> tuple[bytes, str, bytes]:
        """The new model's bytes (by patch where one fits, else whole) and its probe set."""
        active = self.active_model(state).read_bytes()
        base = state.slots[state.active]
        patch_target = release.patches.get(str(base["release"]))
        data = None
        if patch_target:
            info, patch = self._target(updater, patch_target)
            custom = info.custom or {}
            if (
                custom.get("base_sha256") == base["sha256"] == sha256(active)
                and custom.get("result_sha256") == release.sha256
            ):
                with contextlib.suppress(SqueezeNetError):
                    data = apply_patch(active, patch)
            if data is not None and sha256(data) != release.sha256:
                data = None  # the patch does not rebuild the signed file: take the full one
        via = "patch" if data is not None else "full"
        if data is None:
            info, data = self._target(updater, f"{release.model}/{release.release}/model.sqz")
        if sha256(data) != release.sha256:
            raise SqueezeNetError(f"release {release.release}: the file is not the one its record names")
        header = sqz.decode(data, f"release {release.release}").header
        if not _fits(requirements(header), state.profile) or requirements(header) != release.requires:
            raise SqueezeNetError(f"release {release.release}: the model is not what its record says it needs")
        _, probe = self._target(updater, release.probe)
        _crash_point("downloaded")
        return data, via, probe

    def _install(self, state: State, release: Release, data: bytes, probe: bytes, model: str) -> None:
        slot = state.inactive
        write_bytes(self.slot(slot), data)
        write_bytes(self.dir / "probe.json", probe)
        _crash_point("slot-written")
        state.pending = {"slot": slot, "release": release.release, "sha256": release.sha256}
        state.model = model
        self.write_state(state)
        _crash_point("pending-recorded")
        self._swap(state)
        _crash_point("swapped")

    def _swap(self, state: State) -> None:
        pending = state.pending
        state.slots[pending["slot"]] = {"release": pending["release"], "sha256": pending["sha256"]}
        state.trial = {"previous": state.active, "release": pending["release"]}
        state.active, state.pending = pending["slot"], None
        self.write_state(state)

    def _recover(self, state: State) -> State:
        """Finish an install a power loss interrupted: a pending slot whose bytes are whole is swapped in."""
        if state.pending is None:
            return state
        slot = self.slot(state.pending["slot"])
        if slot.is_file() and sha256(slot.read_bytes()) == state.pending["sha256"]:
            self._swap(state)
        else:
            state.pending = None
            self.write_state(state)
        return state

    def _confirm(self, state: State) -> UpdateResult:
        """Run the probe set on the model on trial: commit it, or revert and mark the release bad."""
        from .release import MIN_AGREEMENT

        release = state.trial["release"]
        try:
            probe = json.loads((self.dir / "probe.json").read_text())
            agreement = probe_agreement(sqz.decode(self.active_model(state).read_bytes()), probe)
            needed = float(probe.get("min_agreement", MIN_AGREEMENT))
        except (SqueezeNetError, ValueError, OSError) as exc:
            agreement, needed, reason = 0.0, 1.0, f" ({exc})"
        else:
            reason = ""
        if agreement >= needed:
            state.trial = None
            self.write_state(state)
            _crash_point("confirmed")
            return UpdateResult("confirmed", release, message=f"probe agreement {agreement:.0%}")
        state.active, state.trial = state.trial["previous"], None
        state.bad = sorted({*state.bad, release})
        self.write_state(state)
        message = (
            f"release {release} failed its probe set: agreement {agreement:.0%} < {needed:.0%}{reason}; "
            f"marked bad, release {state.release} serves"
        )
        return UpdateResult("reverted", state.release, message=message)


def _fits(requires: dict[str, Any], profile: dict[str, Any]) -> bool:
    """A release runs on this device: same architecture, input size and channels, and the device's
    classes when its profile fixes them."""
    same = all(requires.get(k) == profile.get(k) for k in ("arch", "input_size", "channels"))
    return same and (profile.get("classes") is None or requires.get("classes") == profile["classes"])


def _crash_point(step: str) -> None:
    """Power-loss tests kill the process here (``SQUEEZENET_OTA_CRASH_AFTER=step``)."""
    if os.environ.get(CRASH_AFTER) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _check_root(data: bytes, what: str) -> None:
    from tuf.api.metadata import Metadata, Root
    from tuf.api.serialization import DeserializationError

    try:
        kind = type(Metadata.from_bytes(data).signed)
    except DeserializationError:
        kind = None
    if kind is not Root:
        raise SqueezeNetError(f"{what}: not TUF root metadata")
