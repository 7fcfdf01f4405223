"""Image folders that never crash on a bad file, with an explicit class-index map.

A folder of ``<wnid>/*.JPEG`` classes maps to ImageNet indices through ``synset_words.txt``,
so a folder that holds only some of the 1000 classes still scores against the right logits.
Unreadable files (zero bytes, truncated, not an image) are skipped and counted; CMYK,
grayscale and palette images are converted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image, UnidentifiedImageError
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import IMG_EXTENSIONS

from ..errors import SqueezeNetError

BAD_IMAGE_ERRORS = (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError)


def open_image(path: str | Path, mode: str = "RGB") -> Image.Image:
    """Decode fully (so truncation shows here, not later) and convert to ``mode``."""
    with Image.open(path) as img:
        img.load()
        return img.convert(mode)


def image_files(root: str | Path) -> list[Path]:
    """Every image file under a folder tree, sorted; folder names (labels) are never read."""
    root = Path(root)
    if not root.is_dir():
        raise SqueezeNetError(f"{root}: calibration folder does not exist")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMG_EXTENSIONS and p.is_file())
    if not files:
        raise SqueezeNetError(f"{root}: no images found for calibration")
    return files


def read_unlabelled(root: str | Path, mode: str, transform: Callable[[Image.Image], Any], limit: int | None = None) -> list[Any]:
    """Transformed images from a folder tree (calibration, distillation); unreadable ones skipped."""
    files = image_files(root)[:limit]
    images = []
    for path in files:
        try:
            images.append(transform(open_image(path, mode)))
        except BAD_IMAGE_ERRORS:
            continue
    if not images:
        raise SqueezeNetError(f"{root}: none of the {len(files)} calibration images could be read")
    return images


def read_class_file(path: str | Path) -> list[str]:
    """``synset_words.txt``-style lines (``wnid names...``) -> wnids in index order."""
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SqueezeNetError(f"cannot read class file {path}: {exc.__class__.__name__}") from None
    wnids = [line.split()[0] for line in lines if line.strip()]
    if not wnids:
        raise SqueezeNetError(f"class file {path} is empty")
    return wnids


class RobustImageFolder(ImageFolder):
    """ImageFolder whose items are ``None`` for files that cannot be decoded."""

    def __init__(
        self,
        root: str | Path,
        transform: Callable[[Image.Image], torch.Tensor],
        class_order: Sequence[str] | None = None,
        mode: str = "RGB",
    ) -> None:
        root = Path(root)
        if not root.is_dir():
            raise SqueezeNetError(f"{root}: no such data directory")
        self.mode = mode
        try:
            super().__init__(str(root), transform=transform, loader=functools.partial(open_image, mode=mode))
        except FileNotFoundError as exc:
            raise SqueezeNetError(f"{root}: {exc}") from None
        if class_order is not None:
            index = {wnid: i for i, wnid in enumerate(class_order)}
            unknown = [c for c in self.classes if c not in index]
            if unknown:
                raise SqueezeNetError(
                    f"the class map does not cover the data: folder {unknown[0]!r} is not among its "
                    f"{len(index)} classes ({len(unknown)} folders unmapped)"
                )
            remap = [index[c] for c in self.classes]
            self.samples = [(p, remap[t]) for p, t in self.samples]
            self.targets = [t for _, t in self.samples]

    def __getitem__(self, i: int) -> Any:
        path, target = self.samples[i]
        try:
            image = self.loader(path)
        except BAD_IMAGE_ERRORS:
            return None
        return self.transform(image), target


def collate_skipping_bad(batch: list[Any]) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Stack the good items; report how many were skipped."""
    good = [item for item in batch if item is not None]
    skipped = len(batch) - len(good)
    if not good:
        return torch.empty(0), torch.empty(0, dtype=torch.long), skipped
    images, targets = zip(*good)
    return torch.stack(images), torch.tensor(targets), skipped
