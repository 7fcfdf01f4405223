"""Fashion-MNIST (70,000 real 28x28 images, 10 classes) through torchvision's dataset class.

Sources, in order: ``--data-dir`` (the four IDX files, gzipped or not), Debian's package
``dataset-fashion-mnist``, then torchvision's checksummed download when ``download=True``.
Local files are staged (decompressed) into the cache layout torchvision expects.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision.datasets import FashionMNIST

from ..errors import SqueezeNetError
from ..utils.atomic import atomic_path

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass
class TensorSplit:
    images: torch.Tensor  # uint8, N x 1 x H x W
    labels: torch.Tensor  # int64, N


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "squeezenet"


def _find(directory: Path, name: str) -> Path | None:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _staging_root(source_dir: Path) -> Path:
    """One cache folder per source folder, so data from two sources never mixes."""
    tag = hashlib.sha256(str(source_dir.resolve()).encode()).hexdigest()[:12]
    return cache_root() / f"fashion-mnist-{tag}"


def _stage(source_dir: Path) -> Path | None:
    """Copy/decompress the IDX files into the layout torchvision reads; None if any is missing."""
    found = {name: _find(source_dir, name) for name in FILES}
    if not all(found.values()):
        return None
    root = _staging_root(source_dir)
    raw = root / "FashionMNIST" / "raw"
    for name, src in found.items():
        dest = raw / name
        if dest.is_file() and dest.stat().st_mtime >= src.stat().st_mtime:
            continue
        with atomic_path(dest) as tmp, gzip.open(src) if src.suffix == ".gz" else open(src, "rb") as f_in:
            with open(tmp, "wb") as f_out:
                shutil.copyfileobj(f_in, f_out)
    return root


def load_fashion_mnist(
    data_dir: str | Path | None = None, download: bool = False
) -> tuple[TensorSplit, TensorSplit, list[str]]:
    """(train 60,000, test 10,000, class names) as in-memory uint8 tensors."""
    if data_dir is not None:
        root = _stage(Path(data_dir))
        if root is None:
            raise SqueezeNetError(f"{data_dir}: does not hold the four Fashion-MNIST IDX files ({', '.join(FILES)})")
    else:
        root = _stage(DEBIAN_DIR) or cache_root() / "fashion-mnist-download"
        if not download and not all((root / "FashionMNIST" / "raw" / name).is_file() for name in FILES):
            raise SqueezeNetError(
                "Fashion-MNIST not found: install it with 'apt-get install dataset-fashion-mnist', "
                "pass --data-dir DIR holding the IDX files, or add --download (needs internet)"
            )
    try:
        splits = [FashionMNIST(str(root), train=train, download=download) for train in (True, False)]
    except (RuntimeError, OSError) as exc:
        raise SqueezeNetError(f"cannot load Fashion-MNIST: {exc}") from None
    tensors = [TensorSplit(s.data.unsqueeze(1).contiguous(), s.targets.long()) for s in splits]
    return tensors[0], tensors[1], list(splits[0].classes)
