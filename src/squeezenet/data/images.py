"""Image folders that never crash on a bad file, with an explicit class-index map.

A folder of ``<wnid>/*.JPEG`` classes maps to ImageNet indices through ``synset_words.txt``,
so a folder that holds only some of the 1000 classes still scores against the right logits.
Unreadable files (zero bytes, truncated, not an image, over ``MAX_PIXELS``) are skipped and
counted; CMYK, grayscale and palette images are converted. Folder trees are walked once each
(symlink loops and links back up the tree are not followed twice), and only regular files are
read: a FIFO named ``x.JPEG`` would block the reader forever.
"""

from __future__ import annotations

import functools
import io
import math
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image, UnidentifiedImageError
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import IMG_EXTENSIONS
from torchvision.transforms.v2.functional import pil_to_tensor

from ..errors import SqueezeNetError
from ..formats.preprocess import Preprocess

try:  # libjpeg-turbo straight into a tensor (``decode_image``); without it, or with a build for another torch, Pillow
    from torchcodec.decoders import decode_jpeg
except (ImportError, OSError, RuntimeError):
    decode_jpeg = None

BAD_IMAGE_ERRORS = (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError)
MAX_PIXELS = 40_000_000  # after reduced-scale decoding; a larger image is skipped, not decoded (120 MB as RGB)


def open_image(path: str | Path, mode: str = "RGB", min_side: int | None = None) -> Image.Image:
    """Decode fully (so truncation shows here, not later) and convert to ``mode``.

    ``min_side``: the shorter side preprocessing needs. A JPEG at least four times that is
    decoded at 1/2, 1/4 or 1/8 scale, never below twice ``min_side`` (Pillow's ``draft``: the
    DCT does the shrinking), so a 12-megapixel photo costs ~10x less while the antialiased resize
    that follows still has twice the pixels it keeps; typical ImageNet images (under 1,024 px)
    decode exactly as torchvision's reference protocol decodes them. Other formats decode at full
    size, up to ``MAX_PIXELS``.
    """
    with Image.open(path) as img:
        return _load(img, mode, min_side)


def _load(img: Image.Image, mode: str, min_side: int | None) -> Image.Image:
    if min_side:
        _draft(img, mode, min_side)
    _check_size(img)
    img.load()
    return img.convert(mode)


def _check_size(img: Image.Image) -> None:
    if img.width * img.height > MAX_PIXELS:
        raise Image.DecompressionBombError(f"{img.width}x{img.height} pixels is over the {MAX_PIXELS:,} allowed")


# The source modes libjpeg turns into each target mode with Pillow's pixels (grayscale repeated into RGB).
_LIBJPEG_SOURCES = {"RGB": ("RGB", "L"), "L": ("L",)}


def decode_image(path: str | Path, mode: str = "RGB", min_side: int | None = None) -> torch.Tensor:
    """The image as a uint8 C x H x W tensor in ``mode``: ``open_image``'s pixels, for torchvision's
    tensor transforms (their uint8 resize is several times Pillow's speed).

    A JPEG that decodes at full size goes through TorchCodec's libjpeg-turbo decoder (what
    torchvision's deprecated ``decode_jpeg`` became) rather than Pillow's loader: the same pixels
    (tests/data/test_data.py compares them) in less time (benchmarks/predict.py times both).
    Pillow still reads the header (format, mode, the size ``MAX_PIXELS`` bounds) and decodes
    everything else: reduced-scale JPEGs, CMYK, other formats."""
    data = Path(path).read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        size = img.size
        if min_side:
            _draft(img, mode, min_side)
        direct = img.format == "JPEG" and img.size == size and img.mode in _LIBJPEG_SOURCES.get(mode, ())
        if decode_jpeg is None or not direct:
            return pil_to_tensor(_load(img, mode, None))
        _check_size(img)
    try:
        return decode_jpeg(data, mode="RGB" if mode == "RGB" else "GRAY")
    except RuntimeError as error:  # libjpeg's complaint (a truncated file): the error Pillow would raise
        raise OSError(f"{path}: libjpeg cannot decode it") from error


def _draft(img: Image.Image, mode: str, min_side: int) -> None:
    """Let a JPEG decode at 1/2, 1/4 or 1/8 scale, never below twice ``min_side`` (``open_image``)."""
    scale = 2 * min_side / min(img.size)
    img.draft(mode if mode in ("RGB", "L") else None, (math.ceil(img.width * scale), math.ceil(img.height * scale)))


@dataclass
class Walk:
    """Files found under a tree, and what was passed over (reported to the user, first one named)."""

    files: list[Path] = field(default_factory=list)
    not_regular: list[Path] = field(default_factory=list)  # FIFOs, sockets, devices, dangling links
    revisits: list[Path] = field(default_factory=list)  # directories or files reached a second time through links
    not_images: list[Path] = field(default_factory=list)  # files whose suffix is not an image format's

    def merge(self, other: Walk) -> None:
        """Add what ``other`` passed over (its files are the caller's to use)."""
        self.not_regular += other.not_regular
        self.revisits += other.revisits
        self.not_images += other.not_images

    def skipped_note(self) -> str:
        kinds = (
            ("non-regular file", self.not_regular),
            ("path reached twice through links", self.revisits),
            ("file that is not an image", self.not_images),
        )
        return "; ".join(
            f"{len(paths)} {what}{'s' if len(paths) > 1 else ''} ({paths[0]}{', ...' if len(paths) > 1 else ''})"
            for what, paths in kinds
            if paths
        )


def _identity(path: str | Path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_dev, info.st_ino


def walk_images(
    root: str | Path, avoid: set[tuple[int, int]] | None = None, seen_files: set[tuple[int, int]] | None = None
) -> Walk:
    """Image files under ``root``, sorted, each once: follows links, but never into a folder it
    has seen or must ``avoid`` (so a link loop ends), never onto a file in ``seen_files``, and
    keeps regular files only."""
    walk, seen_dirs = Walk(), set(avoid or ())
    seen_files = set() if seen_files is None else seen_files
    seen_dirs.discard(_identity(root))
    for directory, dirs, names in os.walk(root, followlinks=True):
        info = os.stat(directory)
        if (info.st_dev, info.st_ino) in seen_dirs:
            walk.revisits.append(Path(directory))
            dirs[:] = []
            continue
        seen_dirs.add((info.st_dev, info.st_ino))
        dirs.sort()
        for name in sorted(names):
            path = Path(directory, name)
            if os.path.splitext(name)[1].lower() not in IMG_EXTENSIONS:
                walk.not_images.append(path)
                continue
            try:
                info = path.stat()
            except OSError:
                walk.not_regular.append(path)
                continue
            if not stat.S_ISREG(info.st_mode):
                walk.not_regular.append(path)
            elif (info.st_dev, info.st_ino) in seen_files:
                walk.revisits.append(path)
            else:
                seen_files.add((info.st_dev, info.st_ino))
                walk.files.append(path)
    walk.files.sort()
    return walk


def image_files(root: str | Path) -> list[Path]:
    """Every image file under a folder tree, sorted; folder names (labels) are never read."""
    root = Path(root)
    if not root.is_dir():
        raise SqueezeNetError(f"{root}: calibration folder does not exist")
    files = walk_images(root).files
    if not files:
        raise SqueezeNetError(f"{root}: no images found for calibration")
    return files


def read_unlabelled(
    root: str | Path,
    mode: str,
    transform: Callable[[Image.Image], Any],
    limit: int | None = None,
    min_side: int | None = None,
) -> list[Any]:
    """Transformed images from a folder tree (calibration, distillation); unreadable ones skipped."""
    files = image_files(root)[:limit]
    images = []
    for path in files:
        try:
            images.append(transform(open_image(path, mode, min_side)))
        except BAD_IMAGE_ERRORS:
            continue
    if not images:
        raise SqueezeNetError(f"{root}: none of the {len(files)} calibration images could be read")
    return images


def calibration_tensor(calib: str | Path | torch.Tensor, preprocess: Preprocess, max_images: int = 256) -> torch.Tensor:
    """Up to ``max_images`` eval-preprocessed images (int8 calibration, compensation): from a
    folder tree of unlabelled images, or the first of an already preprocessed batch."""
    if isinstance(calib, torch.Tensor):
        return calib[:max_images]
    return torch.stack(
        read_unlabelled(calib, preprocess.mode, preprocess.eval_transform(), max_images, preprocess.decode_side)
    )


def read_class_file(path: str | Path) -> list[str]:
    """``synset_words.txt``-style lines (``wnid names...``) -> wnids in index order."""
    if not Path(path).is_file():  # a FIFO would block read_text forever
        raise SqueezeNetError(f"class file {path}: {'not a regular file' if Path(path).exists() else 'no such file'}")
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SqueezeNetError(f"cannot read class file {path}: {exc.__class__.__name__}") from None
    wnids = [line.split()[0] for line in lines if line.strip()]
    if not wnids:
        raise SqueezeNetError(f"class file {path} is empty")
    return wnids


class RobustImageFolder(ImageFolder):
    """ImageFolder whose items are ``None`` for files that cannot be decoded; its folders are
    walked by ``walk_images`` (torchvision's walk follows link loops forever and opens FIFOs),
    and ``walk`` tells what was passed over."""

    def __init__(
        self,
        root: str | Path,
        transform: Callable[[Image.Image], torch.Tensor],
        class_order: Sequence[str] | None = None,
        mode: str = "RGB",
        min_side: int | None = None,
        tensors: bool = False,
    ) -> None:
        """``tensors``: items are uint8 C x H x W tensors (``decode_image``), not PIL images."""
        root = Path(root)
        if not root.is_dir():
            raise SqueezeNetError(f"{root}: no such data directory")
        self.mode = mode
        self.walk = Walk()
        decode = decode_image if tensors else open_image
        try:
            super().__init__(
                str(root), transform=transform, loader=functools.partial(decode, mode=mode, min_side=min_side)
            )
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

    def make_dataset(
        self, directory: str, class_to_idx: dict[str, int], *args: Any, **kwargs: Any
    ) -> list[tuple[str, int]]:
        samples: list[tuple[str, int]] = []
        # a link inside one class never leads into the root or another class folder
        avoid = {_identity(directory)} | {_identity(Path(directory, name)) for name in class_to_idx}
        seen_files: set[tuple[int, int]] = set()
        for name, index in sorted(class_to_idx.items()):
            walk = walk_images(Path(directory, name), avoid, seen_files)
            if not walk.files:  # as torchvision's make_dataset: an empty class is a mistake
                raise FileNotFoundError(f"class folder {name!r} holds no image files")
            samples += [(str(p), index) for p in walk.files]
            self.walk.merge(walk)
        return samples

    def __getitem__(self, i: int) -> Any:
        path, target = self.samples[i]
        try:
            image = self.loader(path)
        except BAD_IMAGE_ERRORS:
            return None
        return self.transform(image), target


class DecodedCache(torch.utils.data.Dataset):
    """A folder's items decoded once and kept in memory: every epoch after reads them from there.

    Decoding a JPEG costs more than the augmentation and, on a small CPU, a large share of a
    fine-tuning step; the photos of a user's own data set fit in memory at the size training
    decodes them to (``min_side``, JPEG draft). Filled by ``fill`` in threads (Pillow and
    libjpeg release the GIL); DataLoader processes forked afterwards share the pages."""

    def __init__(self, folder: RobustImageFolder) -> None:
        self.folder = folder
        self.items: list[Any] = []

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, i: int) -> Any:
        return self.items[i] if self.items else self.folder[i]

    def fill(self, workers: int, progress: bool = True) -> int:
        """Decode every item (unreadable ones stay ``None``); the bytes now held."""
        from concurrent.futures import ThreadPoolExecutor

        from ..utils.progress import track

        with ThreadPoolExecutor(max(1, workers)) as pool:
            decoded = pool.map(self.folder.__getitem__, range(len(self.folder)))
            self.items = list(track(decoded, len(self.folder), "decode once", "photo", quiet=not progress))
        return sum(item[0].numel() for item in self.items if item is not None)


def decoded_bytes(folder: RobustImageFolder, min_side: int | None) -> int:
    """What ``DecodedCache`` would hold, from the files' headers (a JPEG drafted as ``open_image`` does)."""
    total = 0
    for path, _ in folder.samples:
        try:
            with Image.open(path) as img:
                if min_side:
                    _draft(img, folder.mode, min_side)
                total += img.width * img.height * (1 if folder.mode == "L" else 3)
        except BAD_IMAGE_ERRORS:
            continue
    return total


def collate_skipping_bad(batch: list[Any]) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Stack the good items; report how many were skipped."""
    good = [item for item in batch if item is not None]
    skipped = len(batch) - len(good)
    if not good:
        return torch.empty(0), torch.empty(0, dtype=torch.long), skipped
    images, targets = zip(*good)
    return torch.stack(images), torch.tensor(targets), skipped
