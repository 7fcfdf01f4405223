"""The input convention a weight file expects, recorded beside the weights.

torchvision's weights want RGB in [0, 1] normalised by ImageNet mean/std on 224 crops; the
authors' Caffe weights want BGR in [0, 255] minus a per-channel mean on 227 crops. eval and
predict read this record and build the matching transform, so the user never has to know.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import SqueezeNetError

if TYPE_CHECKING:
    from torchvision.transforms import v2

MAX_SIDE = 4096  # pixels; far beyond any SqueezeNet input


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Preprocess:
    color: str = "RGB"  # RGB, BGR or L (grayscale)
    scale: float = 1.0  # pixel values span [0, scale] before mean/std
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    resize: int | None = 256  # shorter side before the centre crop; None keeps the size
    crop: int = 224

    def __post_init__(self) -> None:
        """Records also come from files: every field is checked for type and range."""
        if self.color not in ("RGB", "BGR", "L"):
            raise SqueezeNetError(f"preprocess color must be RGB, BGR or L, got {self.color!r}")
        channels = 1 if self.color == "L" else 3
        for name in ("mean", "std"):
            values = getattr(self, name)
            if not isinstance(values, tuple) or len(values) != channels or not all(_finite(v) for v in values):
                raise SqueezeNetError(f"preprocess {name} needs {channels} finite numbers for {self.color}")
        if not all(v != 0 for v in self.std) or not (_finite(self.scale) and self.scale > 0):
            raise SqueezeNetError("preprocess std and scale must be nonzero")
        for name in ("resize", "crop"):
            value = getattr(self, name)
            if (value is not None or name == "crop") and not (_integer(value) and 1 <= value <= MAX_SIDE):
                raise SqueezeNetError(
                    f"preprocess {name} must be a whole number of pixels in [1, {MAX_SIDE}], got {value!r}"
                )

    @property
    def channels(self) -> int:
        return 1 if self.color == "L" else 3

    @property
    def mode(self) -> str:
        """The PIL mode images are decoded to (BGR models get RGB, flipped after normalising)."""
        return "L" if self.color == "L" else "RGB"

    @property
    def decode_side(self) -> int:
        """The shorter side the eval transform needs: decoding may stop there (JPEG draft)."""
        return self.resize or self.crop

    def normalize(self) -> v2.Transform:
        """uint8 image tensor -> normalised float tensor in this convention."""
        import torch  # here, not above: reading a record (a file's header) needs no torch
        from torchvision.transforms import v2

        steps: list[v2.Transform] = [v2.ToDtype(torch.float32, scale=True)]
        if self.color == "BGR":
            steps.append(v2.Lambda(lambda t: t.flip(-3)))
        steps.append(v2.Normalize([m / self.scale for m in self.mean], [s / self.scale for s in self.std]))
        return v2.Compose(steps)

    def eval_transform(self) -> v2.Transform:
        """PIL image -> model input: resize, centre crop, normalise.

        Resizing and cropping run on the PIL image, as torchvision's reference evaluation does:
        Pillow's resize measured 0.6x the time of resizing the decoded tensor, the largest step
        of end-to-end ``predict`` latency after decoding (ImageNet ``val/`` top-1 unchanged)."""
        from torchvision.transforms import v2

        steps: list[v2.Transform] = []
        if self.color == "L":
            steps.append(v2.Grayscale(1))
        if self.resize:
            steps.append(v2.Resize(self.resize, antialias=True))
        steps += [v2.CenterCrop(self.crop), v2.ToImage(), self.normalize()]
        return v2.Compose(steps)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Preprocess:
        try:
            data: Any = json.loads(text)
        except (ValueError, RecursionError):
            raise SqueezeNetError("preprocess metadata is not valid JSON") from None
        if not isinstance(data, dict) or set(data) != {f.name for f in dataclasses.fields(cls)}:
            raise SqueezeNetError("preprocess metadata is malformed: it must name exactly the fields of the record")
        if not all(isinstance(data[k], list) for k in ("mean", "std")):
            raise SqueezeNetError("preprocess mean and std must be lists of numbers")
        return cls(**{**data, "mean": tuple(data["mean"]), "std": tuple(data["std"])})


IMAGENET = Preprocess()
CAFFE = Preprocess(color="BGR", scale=255.0, mean=(104.0, 117.0, 123.0), std=(1.0, 1.0, 1.0), resize=256, crop=227)
FASHION_MNIST = Preprocess(color="L", mean=(0.2860,), std=(0.3530,), resize=None, crop=28)
