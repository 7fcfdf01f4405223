"""What a release is, as both sides of an update see it: target paths, the signed release
record, what a model needs of the device, and the probe set that confirms an installed model.

A release N of model M is three signed targets: ``M/N/model.sqz`` (the full file), ``M/N/probe.json``
(inputs and the labels the model must give them) and ``M/N/from-K.sqzpatch`` for each earlier
release K whose patch is small enough; ``M/releases.json`` lists them. Every target's custom
metadata carries the release record. numpy and the runtime only: the device runs this too.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..errors import SqueezeNetError
from ..formats.sqz import SqzContents, SqzHeader

MODEL_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
PROBE_COUNT = 16
MAX_RELEASE = 2**31 - 1  # release numbers are JSON integers every TUF client reads exactly
MAX_PROBE_COUNT = 1024  # inputs a device runs to confirm a model: seconds, not hours
MIN_AGREEMENT = 0.9  # share of probe inputs whose top-1 label must match


TUF_ROLES = ("root", "targets", "snapshot", "timestamp")  # their metadata files share the models' namespace


def check_release(release: int, low: int = 1) -> int:
    if not isinstance(release, int) or not low <= release <= MAX_RELEASE:
        raise SqueezeNetError(f"release {release!r}: a whole number from {low} to {MAX_RELEASE}")
    return release


def check_model_name(name: str) -> str:
    if not MODEL_NAME.fullmatch(name):
        raise SqueezeNetError(f"model name {name!r}: lowercase letters, digits, '.', '_', '-'; at most 64")
    if name in TUF_ROLES or name.endswith((".json", ".root")):
        raise SqueezeNetError(f"model name {name!r}: reserved for TUF's own metadata ({', '.join(TUF_ROLES)})")
    return name


def index_path(model: str) -> str:
    return f"{model}/releases.json"


def full_path(model: str, release: int) -> str:
    return f"{model}/{release}/model.sqz"


def patch_path(model: str, release: int, base: int) -> str:
    return f"{model}/{release}/from-{base}.sqzpatch"


def probe_path(model: str, release: int) -> str:
    return f"{model}/{release}/probe.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def requirements(header: SqzHeader) -> dict[str, Any]:
    """What a device must offer to run the model: the architecture (every layer but the head's
    width), the input size and channels, and the classes (a list of names, ``imagenet`` or None)."""
    arch = {k: v for k, v in header.config.to_dict().items() if k != "num_classes"}
    return {
        "arch": arch,
        "input_size": header.preprocess.crop,
        "channels": header.config.in_channels,
        "classes": header.class_spec,
    }


@dataclass
class Release:
    """The signed record of one release (the ``custom`` metadata of its targets)."""

    model: str
    release: int
    sha256: str  # of the full .sqz
    length: int
    requires: dict[str, Any]
    probe: str  # the probe target's path
    patches: dict[str, str] = field(default_factory=dict)  # base release -> patch target path

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def custom(self, kind: str, **extra: Any) -> dict[str, Any]:
        """The record as targets' custom metadata: canonical JSON has no floats, so what the model
        needs travels as a JSON string."""
        record = {**self.to_dict(), "requires": json.dumps(self.requires, sort_keys=True), "kind": kind, **extra}
        del record["patches"]
        return record

    @classmethod
    def from_dict(cls, data: Any) -> Release:
        try:
            release = cls(**data)
        except TypeError:
            raise SqueezeNetError("a release record is malformed") from None
        if not (
            isinstance(release.release, int) and isinstance(release.sha256, str) and isinstance(release.patches, dict)
        ):
            raise SqueezeNetError("a release record is malformed")
        return release


# --- the probe set ------------------------------------------------------------------------------
def probe_inputs(seed: int, count: int, shape: tuple[int, ...]) -> np.ndarray:
    """``count`` inputs of ``shape``, uniform in [-2, 2), from PCG64's raw stream (stable across
    numpy versions and platforms, unlike its distributions), so both sides make the same ones."""
    raw = np.random.PCG64(seed).random_raw(count * int(np.prod(shape)))
    return (
        ((raw >> np.uint64(40)).astype(np.float64) / float(1 << 24) * 4 - 2).astype(np.float32).reshape(count, *shape)
    )


def _labels(contents: SqzContents, inputs: np.ndarray) -> list[int]:
    from ..deploy.sqz_onnx import sqz_runner

    return [int(i) for i in sqz_runner(contents)(inputs).argmax(1)]


def make_probe(contents: SqzContents, seed: int, count: int = PROBE_COUNT) -> dict[str, Any]:
    """The probe set of a model: seeded inputs (only the seed travels) and the labels it gives them."""
    shape = (contents.config.in_channels, contents.preprocess.crop, contents.preprocess.crop)
    labels = _labels(contents, probe_inputs(seed, count, shape))
    return {"seed": seed, "count": count, "shape": list(shape), "labels": labels, "min_agreement": MIN_AGREEMENT}


def probe_agreement(contents: SqzContents, probe: dict[str, Any]) -> float:
    """Share of the probe inputs on which the installed model gives the signed labels."""
    try:
        inputs = probe_inputs(int(probe["seed"]), int(probe["count"]), tuple(int(d) for d in probe["shape"]))
        expected = [int(v) for v in probe["labels"]]
    except (KeyError, TypeError, ValueError):
        raise SqueezeNetError("the probe set is malformed") from None
    if len(expected) != len(inputs) or not len(inputs):
        raise SqueezeNetError("the probe set is malformed")
    got = _labels(contents, inputs)
    return sum(a == b for a, b in zip(got, expected)) / len(expected)
