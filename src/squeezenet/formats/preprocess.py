"""The input convention a weight file expects, recorded beside the weights.

torchvision's weights want RGB in [0, 1] normalised by ImageNet mean/std on 224 crops; the
authors' Caffe weights want BGR in [0, 255] minus a per-channel mean on 227 crops. eval and
predict read this record and build the matching transform, so the user never has to know.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import SqueezeNetError

if TYPE_CHECKING:
    import torch
    from PIL import Image
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

    def pixel_affine(self) -> tuple[list[float], list[float]]:
        """Per input channel (in the model's order), the ``mean`` and ``std`` that turn a uint8 pixel
        into the model's input as ``(p - mean) / std``: what an engine's graph computes in-graph."""
        return [m * 255 / self.scale for m in self.mean], [s * 255 / self.scale for s in self.std]

    def pixels(self, image: Image.Image | torch.Tensor) -> torch.Tensor:
        """A decoded image (PIL, or a uint8 C x H x W tensor in ``mode``) -> the model's input
        pixels: channels x ``crop`` x ``crop``, uint8 (the layout the network takes).

        torchvision's antialiased resize and centre crop on the image as a uint8 tensor: its
        vectorised uint8 kernel, where Pillow's resize of the same image took four times as long;
        its pixels differ from Pillow's by at most one level in a few in a thousand, and ImageNet
        v1.1 made the same prediction on all 500 of ``val/`` and ``calib/`` either way.
        Normalisation is left to the engine's graph (``pixel_affine``) or to ``normalize_pixels``."""
        import torch
        from torchvision.transforms.v2 import functional as F

        if not isinstance(image, torch.Tensor):
            image = F.pil_to_tensor(image if image.mode == self.mode else image.convert(self.mode))
        tensor = image
        if self.resize:
            tensor = F.resize(tensor, [self.resize], antialias=True)
        return F.center_crop(tensor, [self.crop])

    def normalize_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 N x C x H x W pixels -> the model's float input, on the host (for the
        engines whose graph does not take pixels)."""
        import torch

        mean, std = (torch.tensor(v, dtype=torch.float32)[:, None, None] for v in self.pixel_affine())
        x = pixels.float()
        x = x.flip(1) if self.color == "BGR" else x
        return ((x - mean) / std).contiguous()

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """The model's float input -> the uint8 pixels ``normalize_pixels`` makes it from (rounded,
        clamped): how a float batch reaches a graph that takes pixels."""
        import torch

        mean, std = (torch.tensor(v, dtype=torch.float32)[:, None, None] for v in self.pixel_affine())
        pixels = x.float() * std + mean
        pixels = pixels.flip(1) if self.color == "BGR" else pixels
        return pixels.round().clamp(0, 255).to(torch.uint8).contiguous()

    def eval_tensor(self, image: Image.Image) -> torch.Tensor:
        """PIL image -> the model's float input (C x H x W): ``pixels`` normalised."""
        return self.normalize_pixels(self.pixels(image)[None])[0]

    def eval_transform(self) -> Callable[[Image.Image], torch.Tensor]:
        """PIL image -> model input: resize, centre crop, normalise (a picklable bound method, so
        loader processes can take it)."""
        return self.eval_tensor

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
