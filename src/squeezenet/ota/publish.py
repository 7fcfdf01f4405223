"""``squeezenet publish``: a TUF repository of model releases, as static files any web server or CDN serves.

Layout (consistent snapshots: every file but ``timestamp.json`` is named by version or hash and
never changes once written, so it may be cached forever; ``timestamp.json`` must not be cached
longer than the refresh period, nor a missing ``N.root.json`` remembered)::

    metadata/N.root.json        root of each version (root.json: the newest, to ship on devices)
    metadata/N.targets.json     top-level targets: one delegation per model, nothing else
    metadata/N.MODEL.json       the model's delegated role: its releases' targets
    metadata/N.snapshot.json    the version of every targets file
    metadata/timestamp.json     the version and hash of the newest snapshot
    targets/MODEL/R/HASH.model.sqz, HASH.probe.json, HASH.from-K.sqzpatch, MODEL/HASH.releases.json

One delegated role per model (its own key, ``models/MODEL.pem``) keeps a device's update to the
patch and a few kilobytes of metadata, not a catalogue. Written with python-tuf's metadata API;
every file is written atomically, targets before the metadata that names them, the timestamp last.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from ..errors import OptionError, SqueezeNetError
from ..formats import sqz
from ..formats.sqzpatch import make_patch
from ..utils.atomic import write_bytes
from .keys import KeyStore
from .release import (
    PROBE_COUNT,
    Release,
    check_model_name,
    check_release,
    full_path,
    index_path,
    make_probe,
    patch_path,
    probe_path,
    requirements,
    sha256,
)

EXPIRY = {
    "root": timedelta(days=365),
    "targets": timedelta(days=365),
    "snapshot": timedelta(days=7),
    "timestamp": timedelta(days=1),
}
RENEW_SNAPSHOT_WITHIN = timedelta(days=2)  # refresh re-signs the snapshot too when it expires sooner
KEEP_RELEASES = 3  # releases listed (and patched from) per model
PATCH_SHARE = 0.5  # a patch larger than this share of the full file is not published
SERIALIZER = JSONSerializer(compact=True)
ROOT_FILE = re.compile(r"(\d+)\.root\.json")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class Published:
    release: int
    full_bytes: int
    patches: dict[int, int]  # base release -> bytes
    metadata_versions: dict[str, int]


class Repository:
    """The repository folder: its newest metadata, read and written with python-tuf."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise SqueezeNetError(f"{root}: is a file; a repository is a folder")
        self.metadata, self.targets_dir = self.root / "metadata", self.root / "targets"
        self._staged: list[tuple[Path, bytes]] = []  # what the running publish will write, in order

    # --- reading ------------------------------------------------------------------------------
    def exists(self) -> bool:
        return (self.metadata / "timestamp.json").is_file()

    def _read(self, name: str) -> Metadata:
        path = self.metadata / name
        if not path.is_file():
            raise SqueezeNetError(f"{path}: missing from the repository")
        return Metadata.from_file(str(path))

    def newest_root(self) -> Metadata[Root]:
        versions = sorted(int(m[1]) for p in self.metadata.glob("*.root.json") if (m := ROOT_FILE.fullmatch(p.name)))
        if not versions:
            raise SqueezeNetError(f"{self.metadata}: holds no N.root.json (not a repository publish made)")
        return self._read(f"{versions[-1]}.root.json")

    def timestamp(self) -> Metadata[Timestamp]:
        return self._read("timestamp.json")

    def snapshot(self) -> Metadata[Snapshot]:
        return self._read(f"{self.timestamp().signed.snapshot_meta.version}.snapshot.json")

    def role(self, name: str) -> Metadata[Targets] | None:
        meta = self.snapshot().signed.meta.get(f"{name}.json")
        return None if meta is None else self._read(f"{meta.version}.{name}.json")

    def target_bytes(self, info: TargetFile) -> bytes:
        directory, _, base = info.path.rpartition("/")
        return self._inside(self.targets_dir, f"{directory}/{info.hashes['sha256']}.{base}").read_bytes()

    def releases(self, model: str) -> list[Release]:
        role = self.role(model)
        index = role.signed.targets.get(index_path(model)) if role else None
        if index is None:
            return []
        return [Release.from_dict(r) for r in json.loads(self.target_bytes(index))["releases"]]

    # --- checks before anything is written ---------------------------------------------------
    def check_keys(self, keys: KeyStore, roles: tuple[str, ...], model: str | None = None) -> None:
        """Each key in ``keys`` this change signs with must be the one the repository's root (or, for
        a model, its delegation) names: keys of another repository would sign metadata that every
        device refuses, and no refresh could mend it."""
        if not self.exists():
            return
        root = self.newest_root().signed
        for role in roles:
            if keys.signer(role).public_key.keyid not in root.roles[role].keyids:
                raise SqueezeNetError(
                    f"{keys.directory}: its {role} key is not the one {self.root}'s root names "
                    "(keys of another repository?); nothing was written"
                )
        if model is None:
            return
        top = self._read(f"{self.snapshot().signed.meta['targets.json'].version}.targets.json").signed
        delegated = (top.delegations.roles or {}).get(model) if top.delegations else None
        if delegated is None:  # a new model: the top-level targets key signs its delegation
            self.check_keys(keys, ("targets",))
        elif keys.model(model).public_key.keyid not in delegated.keyids:
            raise SqueezeNetError(
                f"{keys.directory}: its key for {model} is not the one {self.root} delegates {model} to; "
                "nothing was written"
            )

    def _inside(self, base: Path, relative: str) -> Path:
        """``base / relative``, refused unless it stays inside ``base`` (no ``..``, no absolute path, no link out)."""
        if not relative or Path(relative).is_absolute() or ".." in Path(relative).parts:
            raise SqueezeNetError(f"{relative!r}: not a path inside the repository")
        dest = base / relative
        if not dest.resolve().is_relative_to(base.resolve()):
            raise SqueezeNetError(f"{relative!r}: leads outside the repository")
        return dest

    # --- writing: staged in memory, then committed, the timestamp last --------------------------
    def _stage(self, dest: Path, data: bytes) -> None:
        self._staged.append((dest, data))

    def _commit(self) -> None:
        """Write what was staged, each file atomically, in order: targets, then the metadata naming
        them, ``timestamp.json`` last. Until that last rename every reader, the publisher's next run
        included, sees the repository as it was; a run stopped earlier leaves only files nothing
        names (versioned or content-addressed), which the next publish writes again."""
        staged, self._staged = self._staged, []
        for dest, data in sorted(staged, key=lambda item: item[0].name == "timestamp.json"):
            write_bytes(dest, data)

    def _write(self, meta: Metadata, name: str) -> None:
        self._stage(self._inside(self.metadata, name), meta.to_bytes(SERIALIZER))

    def _sign(self, meta: Metadata, *signers: Any) -> Metadata:
        meta.signatures.clear()
        for signer in signers:
            meta.sign(signer, append=True)
        return meta

    def _add_target(self, path: str, data: bytes, custom: dict[str, Any]) -> TargetFile:
        self._inside(self.targets_dir, path)  # the signed name too, not only where its bytes go
        info = TargetFile.from_data(path, data, ["sha256"])
        info.unrecognized_fields["custom"] = custom
        directory, _, base = path.rpartition("/")
        self._stage(self._inside(self.targets_dir, f"{directory}/{info.hashes['sha256']}.{base}"), data)
        return info

    def create(self, keys: KeyStore, now: datetime) -> None:
        """Root, targets, snapshot and timestamp version 1, signed by their keys."""
        roots, threshold = keys.root()
        root = Root(expires=now + EXPIRY["root"], consistent_snapshot=True)
        for signer in roots:
            root.add_key(signer.public_key, "root")
        root.roles["root"].threshold = threshold
        for role in ("targets", "snapshot", "timestamp"):
            root.add_key(keys.signer(role).public_key, role)
        root_meta = self._sign(Metadata(root), *roots)
        self._write(root_meta, "1.root.json")
        self._write(root_meta, "root.json")
        targets = Metadata(Targets(expires=now + EXPIRY["targets"], delegations=Delegations(keys={}, roles={})))
        self._write(self._sign(targets, keys.signer("targets")), "1.targets.json")
        self._publish_snapshot(keys, now, {"targets.json": MetaFile(1)}, version=1)

    def _publish_snapshot(self, keys: KeyStore, now: datetime, meta: dict[str, MetaFile], version: int) -> None:
        snapshot = Metadata(Snapshot(version=version, expires=now + EXPIRY["snapshot"], meta=meta))
        data = self._sign(snapshot, keys.signer("snapshot")).to_bytes(SERIALIZER)
        self._stage(self.metadata / f"{version}.snapshot.json", data)
        self._publish_timestamp(keys, now, MetaFile.from_data(version, data, ["sha256"]))

    def _publish_timestamp(self, keys: KeyStore, now: datetime, snapshot: MetaFile) -> None:
        version = self.timestamp().signed.version + 1 if self.exists() else 1
        timestamp = Metadata(Timestamp(version=version, expires=now + EXPIRY["timestamp"], snapshot_meta=snapshot))
        self._write(self._sign(timestamp, keys.signer("timestamp")), "timestamp.json")
        self._commit()

    def refresh(self, keys: KeyStore, now: datetime | None = None) -> dict[str, int]:
        """A new timestamp (and, when it expires within ``RENEW_SNAPSHOT_WITHIN``, a new snapshot):
        the job that keeps devices from treating the repository as frozen. Run it well inside the
        timestamp's lifetime (the README's cron line runs it hourly)."""
        now = now or _now()
        snapshot = self.snapshot()
        renew = snapshot.signed.expires - now < RENEW_SNAPSHOT_WITHIN
        self.check_keys(keys, ("timestamp", "snapshot") if renew else ("timestamp",))
        if renew:
            self._publish_snapshot(keys, now, snapshot.signed.meta, snapshot.signed.version + 1)
        else:
            self._publish_timestamp(keys, now, self.timestamp().signed.snapshot_meta)
        return {"timestamp": self.timestamp().signed.version, "snapshot": self.snapshot().signed.version}

    def publish(
        self,
        keys: KeyStore,
        model: str,
        data: bytes,
        release: int | None = None,
        probe_count: int = PROBE_COUNT,
        now: datetime | None = None,
    ) -> Published:
        """Release ``data`` (a .sqz file) as the next release of ``model``, with patches from the last
        ``KEEP_RELEASES`` releases where they are small, its probe set, and new metadata."""
        check_model_name(model)
        now = now or _now()
        contents = sqz.decode(data, "the model to publish")
        self.check_keys(keys, ("snapshot", "timestamp"), model)
        if not self.exists():
            self.create(keys, now)
        earlier = self.releases(model)
        last = max((r.release for r in earlier), default=0)
        release = last + 1 if release is None else check_release(release)
        if release <= last:
            raise OptionError("release", f"{release} is not above the last published release of {model} ({last})")
        previous = {
            r.release: self.target_bytes(self.role(model).signed.targets[full_path(model, r.release)])
            for r in earlier[-KEEP_RELEASES:]
        }
        patches = {base: make_patch(old, data) for base, old in previous.items()}
        patches = {base: p for base, p in patches.items() if len(p) <= PATCH_SHARE * len(data)}
        record = Release(
            model,
            release,
            sha256(data),
            len(data),
            requirements(contents.header),
            probe_path(model, release),
            {str(base): patch_path(model, release, base) for base in patches},
        )
        probe = json.dumps(make_probe(contents, seed=release, count=probe_count)).encode()
        files = {
            full_path(model, release): (data, record.custom("full")),
            record.probe: (probe, record.custom("probe")),
        }
        for base, patch in patches.items():
            meta = record.custom(
                "patch", base_release=base, base_sha256=sha256(previous[base]), result_sha256=record.sha256
            )
            files[patch_path(model, release, base)] = (patch, meta)
        kept = [*earlier[-(KEEP_RELEASES - 1) :], record]
        index = json.dumps({"model": model, "releases": [r.to_dict() for r in kept]}).encode()
        files[index_path(model)] = (index, {"kind": "index", "model": model, "latest": release})
        self._write_role(keys, model, files, kept, now)
        versions = {name.removesuffix(".json"): meta.version for name, meta in self.snapshot().signed.meta.items()}
        return Published(release, len(data), {base: len(p) for base, p in patches.items()}, versions)

    def _write_role(
        self, keys: KeyStore, model: str, files: dict[str, tuple[bytes, dict]], kept: list[Release], now: datetime
    ) -> None:
        """The model's role listing ``kept`` releases (old entries dropped), the delegation if new,
        then snapshot and timestamp."""
        role = self.role(model)
        listed = {} if role is None else role.signed.targets
        keep = {r.release for r in kept}
        targets = {
            path: info
            for path, info in listed.items()
            if info.custom and info.custom.get("release") in keep and path != index_path(model)
        }
        targets.update({path: self._add_target(path, data, custom) for path, (data, custom) in files.items()})
        version = 1 if role is None else role.signed.version + 1
        signer = keys.model(model, create=role is None)
        meta = Metadata(Targets(version=version, expires=now + EXPIRY["targets"], targets=targets))
        self._write(self._sign(meta, signer), f"{version}.{model}.json")
        snapshot = self.snapshot().signed
        versions = dict(snapshot.meta)
        versions[f"{model}.json"] = MetaFile(version)
        top = self._read(f"{versions['targets.json'].version}.targets.json")
        delegations = top.signed.delegations
        if model not in delegations.roles:  # a new model: a delegation with its own key
            top.signed.version += 1
            top.signed.expires = now + EXPIRY["targets"]
            # TUF's "*" stops at "/": the index, and each release's files one folder down
            delegations.roles[model] = DelegatedRole(model, [], 1, True, paths=[f"{model}/*", f"{model}/*/*"])
            top.signed.add_key(signer.public_key, model)
            self._write(self._sign(top, keys.signer("targets")), f"{top.signed.version}.targets.json")
            versions["targets.json"] = MetaFile(top.signed.version)
        self._publish_snapshot(keys, now, versions, snapshot.version + 1)
