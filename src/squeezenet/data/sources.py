"""Training data as resumable, shardable batch streams.

Every random choice (epoch order, augmentation) is a pure function of (seed, epoch, step or
sample), never of how far a shared RNG has advanced. That is what lets a run killed at any
step resume with bitwise-identical results, and a 2-process run see the same global batches
as a 1-process one: each rank takes its slice of the global batch.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from ..errors import OptionError, SqueezeNetError
from ..formats.preprocess import FASHION_MNIST, IMAGENET, Preprocess
from . import FASHION_MNIST_DATA
from .fashion_mnist import TensorSplit, load_fashion_mnist
from .images import DecodedCache, RobustImageFolder, collate_skipping_bad, decoded_bytes
from .split import DEFAULT_VAL_SPLIT, Split


def mix_seed(*parts: int) -> int:
    """A 63-bit seed from integers (splitmix-style), stable across runs and processes."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h ^ (p + 0x9E3779B97F4A7C15 + (h << 6) + (h >> 2))) & 0xFFFFFFFFFFFFFFFF
        h = (h * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    return h >> 1


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(mix_seed(seed, epoch)))


@dataclass
class Batch:
    images: torch.Tensor
    targets: torch.Tensor
    skipped: int = 0


class TrainSource(Protocol):
    num_classes: int
    in_channels: int
    input_size: int
    preprocess: Preprocess
    classes: list[str]
    train_size: int

    def steps_per_epoch(self, global_batch: int) -> int: ...

    def limit(self, train: int | None, val: int | None, seed: int) -> None: ...

    def train_batches(
        self, epoch: int, start_step: int, global_batch: int, rank: int, world: int, seed: int
    ) -> Iterator[Batch]: ...

    def val_batches(self, batch_size: int, rank: int, world: int) -> Iterator[Batch]: ...


def _steps(n: int, global_batch: int) -> int:
    steps = n // global_batch
    if steps == 0:
        raise SqueezeNetError(f"batch size {global_batch} exceeds the {n} training images")
    return steps


@dataclass
class TensorSource:
    """An in-memory uint8 dataset (Fashion-MNIST) with batch-level augmentation."""

    train: TensorSplit
    val: TensorSplit
    classes: list[str]
    preprocess: Preprocess = FASHION_MNIST
    augment: bool = True
    pad: int = 2
    num_classes: int = field(init=False)
    in_channels: int = field(init=False)
    input_size: int = field(init=False)
    train_size: int = field(init=False)

    def __post_init__(self) -> None:
        self.num_classes = len(self.classes)
        self.in_channels = self.train.images.shape[1]
        self.input_size = self.train.images.shape[-1]
        self.train_size = len(self.train.labels)
        self._mean = torch.tensor(self.preprocess.mean).view(1, -1, 1, 1)
        self._std = torch.tensor(self.preprocess.std).view(1, -1, 1, 1)

    def limit(self, train: int | None, val: int | None, seed: int) -> None:
        """Keep the first ``train`` / ``val`` images (the files are already shuffled)."""
        if train:
            self.train = TensorSplit(self.train.images[:train], self.train.labels[:train])
            self.train_size = len(self.train.labels)
        if val:
            self.val = TensorSplit(self.val.images[:val], self.val.labels[:val])

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() / 255.0 - self._mean) / self._std

    def _augment(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Random translation by up to ``pad`` pixels (zero fill) and horizontal flip."""
        b, _, h, w = x.shape
        p = self.pad
        padded = F.pad(x, (p, p, p, p))
        oy = torch.randint(0, 2 * p + 1, (b,), generator=gen)
        ox = torch.randint(0, 2 * p + 1, (b,), generator=gen)
        flip = torch.rand(b, generator=gen) < 0.5
        rows = (oy[:, None] + torch.arange(h))[:, None, :, None]
        cols = ox[:, None] + torch.arange(w)
        cols = torch.where(flip[:, None], cols.flip(1), cols)[:, None, None, :]
        return padded[torch.arange(b)[:, None, None, None], torch.arange(x.shape[1])[None, :, None, None], rows, cols]

    def steps_per_epoch(self, global_batch: int) -> int:
        return _steps(self.train_size, global_batch)

    def train_batches(self, epoch, start_step, global_batch, rank, world, seed):
        order = epoch_order(self.train_size, seed, epoch)
        local = global_batch // world
        for step in range(start_step, self.steps_per_epoch(global_batch)):
            idx = order[step * global_batch : (step + 1) * global_batch]
            x = self.train.images[idx]
            if self.augment:  # augment the global batch, then slice: invariant to world size
                x = self._augment(x, torch.Generator().manual_seed(mix_seed(seed, epoch, step)))
            part = slice(rank * local, (rank + 1) * local)
            yield Batch(self._normalize(x[part]), self.train.labels[idx][part])

    def val_batches(self, batch_size, rank, world):
        idx = torch.arange(rank, len(self.val.labels), world)
        for i in range(0, len(idx), batch_size):
            part = idx[i : i + batch_size]
            yield Batch(self._normalize(self.val.images[part]), self.val.labels[part])


class _SeededTransform(Dataset):
    """Applies a random transform seeded by (seed, epoch, index): same crop whatever the worker."""

    def __init__(self, folder: RobustImageFolder, transform: v2.Transform, seed: int) -> None:
        self.folder, self.transform, self.seed, self.epoch = folder, transform, seed, 0

    def __len__(self) -> int:
        return len(self.folder)

    def __getitem__(self, i: int):
        item = self.folder[i]
        if item is None:
            return None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(mix_seed(self.seed, self.epoch, i))
            return self.transform(item[0]), item[1]


CACHE_SHARE = 0.25  # of physical memory: the most ``decode_once`` keeps of a training set's decoded photos
MIN_VALIDATION_PHOTOS = 10  # per class: fewer, and that class's top-1 moves in steps of over 10 points


def small_class_note(classes: list[str], val_targets: list[int]) -> str:
    """A warning naming the classes with fewer than ``MIN_VALIDATION_PHOTOS`` validation photos."""
    counts = [val_targets.count(c) for c in range(len(classes))]
    small = [f"{classes[c]} ({n})" for c, n in enumerate(counts) if n < MIN_VALIDATION_PHOTOS]
    if not small:
        return ""
    return (
        f"warning: {len(small)} class{'es' * (len(small) > 1)} with fewer than {MIN_VALIDATION_PHOTOS} photos to "
        f"validate on: {', '.join(small[:5])}{', ...' if len(small) > 5 else ''}; each photo of such a class moves its "
        "top-1 by over 10 points: add photos of it (or a larger --val-split) before trusting the figure"
    )


def stratified_split(targets: list[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train, held-out) indices: ``fraction`` of every class, at least one image of each on both
    sides, chosen by a seeded permutation per class (the same split every run)."""
    train, held = [], []
    for c in sorted(set(targets)):
        members = [i for i, t in enumerate(targets) if t == c]
        if len(members) < 2:
            raise SqueezeNetError(
                f"class {c} has {len(members)} image(s): a validation split needs at least 2 per class"
            )
        order = torch.randperm(len(members), generator=torch.Generator().manual_seed(mix_seed(seed, c, 7919))).tolist()
        k = min(len(members) - 1, max(1, round(fraction * len(members))))
        held += [members[i] for i in order[:k]]
        train += [members[i] for i in order[k:]]
    return sorted(train), sorted(held)


@dataclass
class FolderSource:
    """``DIR/train/<class>/*`` and ``DIR/val/<class>/*``. Without ``val/`` (or with ``val_split``
    set), a seeded, stratified share of ``train/`` is held out to validate instead, and
    ``split_note`` says so. ``base`` is the input convention of the weights training starts from;
    the run's own preprocessing is that convention at ``input_size``."""

    root: Path
    input_size: int = 224
    workers: int = 2
    augment: bool = True  # random resized crop + flip; off: the eval transform
    base: Preprocess = IMAGENET
    val_split: float | None = None
    seed: int = 42
    recorded: Split | None = None  # a run's split file: hold out exactly its photos (not a new draw by seed)
    cache: bool = True  # decode each training photo once, into memory, when the set fits (``decode_once``)
    preprocess: Preprocess = field(init=False)
    classes: list[str] = field(init=False)
    num_classes: int = field(init=False)
    in_channels: int = field(init=False)
    train_size: int = field(init=False)
    split_note: str = field(init=False, default="")
    class_note: str = field(init=False, default="")  # a warning when a class has too few photos to validate on
    split: Split | None = field(init=False, default=None)  # the held-out share of train/, when there is one

    def __post_init__(self) -> None:
        if not (self.root / "train").is_dir():
            raise SqueezeNetError(f"{self.root}: expected train/<class>/ folders (and optionally val/<class>/)")
        resize = round(self.input_size * 256 / 224)
        self.preprocess = dataclasses.replace(self.base, crop=self.input_size, resize=resize)
        self.in_channels = self.preprocess.channels
        mode = self.preprocess.mode
        self._train = RobustImageFolder(
            self.root / "train", transform=v2.Identity(), min_side=self.input_size, mode=mode, tensors=True
        )
        self._decoded = DecodedCache(self._train)
        if len(self._train.classes) < 2:
            raise SqueezeNetError(
                f"{self.root}/train has {len(self._train.classes)} class folder: a classifier needs at least 2"
            )
        if (self.root / "val").is_dir() and self.val_split is None:
            self._val = RobustImageFolder(
                self.root / "val",
                transform=self._eval_transform(),
                class_order=self._train.classes,
                min_side=resize,
                mode=mode,
            )
        else:
            fraction = DEFAULT_VAL_SPLIT if self.val_split is None else self.val_split
            if self.recorded is not None:
                train, held = self._recorded_indices()
                fraction = self.recorded.fraction
            else:
                train, held = stratified_split(self._train.targets, fraction, self.seed)
            self._val = RobustImageFolder(
                self.root / "train", transform=self._eval_transform(), min_side=resize, mode=mode
            )
            for folder, keep in ((self._train, train), (self._val, held)):
                folder.samples = [folder.samples[i] for i in keep]
                folder.targets = [t for _, t in folder.samples]
            self.split_note = (
                f"{'no val/ folder: ' if not (self.root / 'val').is_dir() else ''}validating on {len(held)} of the "
                f"{len(train) + len(held)} train/ images ({fraction:.0%} of each class, seed {self.seed})"
            )
            self._fraction = fraction
        self.classes = list(self._train.classes)
        self.num_classes = len(self.classes)
        self._record_split()
        self.class_note = small_class_note(self.classes, self._val.targets)

    def _recorded_indices(self) -> tuple[list[int], list[int]]:
        """The indices of ``recorded``'s train and held-out photos among this folder's, all of them present."""
        assert self.recorded is not None
        base = self.root / "train"
        index = {str(Path(p).relative_to(base)): i for i, (p, _) in enumerate(self._train.samples)}
        if Path(self.recorded.root).resolve() != self.root.resolve() or self.recorded.classes != self._train.classes:
            raise SqueezeNetError(f"{self.root}: not the data folder (or classes) the run's split file describes")
        missing = [p for p in self.recorded.train + self.recorded.held_out if p not in index]
        if missing:
            raise SqueezeNetError(f"{self.root}: {len(missing)} photos of the run's split are gone, e.g. {missing[0]}")
        return sorted(index[p] for p in self.recorded.train), sorted(index[p] for p in self.recorded.held_out)

    def _record_split(self) -> None:
        self.train_size = len(self._train)
        if hasattr(self, "_fraction"):
            base = self.root / "train"
            relative = lambda folder: [str(Path(p).relative_to(base)) for p, _ in folder.samples]  # noqa: E731
            self.split = Split(
                str(self.root.resolve()),
                self._fraction,
                self.seed,
                self.classes,
                relative(self._train),
                relative(self._val),
            )

    def limit(self, train: int | None, val: int | None, seed: int) -> None:
        """Keep a seeded random ``train`` / ``val`` subset (folders are sorted by class)."""
        for folder, n in ((self._train, train), (self._val, val)):
            if n and n < len(folder.samples):
                keep = sorted(epoch_order(len(folder.samples), seed, -1)[:n].tolist())
                folder.samples = [folder.samples[i] for i in keep]
                folder.targets = [t for _, t in folder.samples]
        self._record_split()

    def decode_once(self, processes: int = 1, progress: bool = True) -> str:
        """Decode every training photo into memory now (``DecodedCache``), if ``cache`` is on and
        the decoded set, once per training process, fits ``CACHE_SHARE`` of this machine's memory;
        a line saying what was done."""
        if not self.cache:
            return ""
        need = decoded_bytes(self._train, self.input_size) * processes
        budget = int(CACHE_SHARE * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
        if need > budget:
            return (
                f"photos decoded every epoch: decoded once they would take {need / 1e6:,.0f} MB, over "
                f"{CACHE_SHARE:.0%} of this machine's memory"
            )
        start = time.perf_counter()
        held = self._decoded.fill(max(1, self.workers), progress)
        return (
            f"decoded the {len(self._train)} training photos once, into memory ({held / 1e6:,.0f} MB, "
            f"{time.perf_counter() - start:.1f} s); every epoch reads them from there"
        )

    def _eval_transform(self) -> v2.Transform:
        return self.preprocess.eval_transform()

    def _train_transform(self) -> v2.Transform:
        if not self.augment:
            return self._eval_transform()
        return v2.Compose(
            [
                v2.ToImage(),  # a uint8 tensor decoded in the model's mode (``decode_image``)
                v2.RandomResizedCrop(self.input_size, antialias=True),
                v2.RandomHorizontalFlip(),
                self.preprocess.normalize(),
            ]
        )

    def steps_per_epoch(self, global_batch: int) -> int:
        return _steps(self.train_size, global_batch)

    def train_batches(self, epoch, start_step, global_batch, rank, world, seed):
        order = epoch_order(self.train_size, seed, epoch).tolist()
        local = global_batch // world
        batches = [
            order[s * global_batch + rank * local : s * global_batch + (rank + 1) * local]
            for s in range(start_step, self.steps_per_epoch(global_batch))
        ]
        dataset = _SeededTransform(self._decoded, self._train_transform(), seed)
        dataset.epoch = epoch
        loader = DataLoader(dataset, batch_sampler=batches, num_workers=self.workers, collate_fn=collate_skipping_bad)
        for images, targets, skipped in loader:
            yield Batch(images, targets, skipped)

    def val_batches(self, batch_size, rank, world):
        subset = torch.utils.data.Subset(self._val, range(rank, len(self._val), world))
        loader = DataLoader(subset, batch_size=batch_size, num_workers=self.workers, collate_fn=collate_skipping_bad)
        for images, targets, skipped in loader:
            yield Batch(images, targets, skipped)


def build_source(
    data: str,
    data_dir: str | None = None,
    input_size: int | None = None,
    workers: int = 2,
    download: bool = False,
    augment: bool = True,
    base: Preprocess = IMAGENET,
    val_split: float | None = None,
    seed: int = 42,
    split: Split | None = None,
    cache: bool = True,
) -> TrainSource:
    """Fashion-MNIST, or a folder of class folders (``base``: the starting weights' convention)."""
    if data == FASHION_MNIST_DATA:
        train, val, classes = load_fashion_mnist(data_dir, download=download)
        if input_size not in (None, 28):
            raise OptionError("input_size", "must be 28 for Fashion-MNIST (its images are 28x28)")
        if val_split is not None:
            raise OptionError("val_split", "is for image folders: Fashion-MNIST has its own test split")
        return TensorSource(train, val, classes, augment=augment)
    path = Path(data)
    if not path.is_dir():
        raise SqueezeNetError(f"{data!r}: not 'fashion-mnist' and not a directory of class folders")
    return FolderSource(path, input_size or base.crop, workers, augment, base, val_split, seed, split, cache)


def held_out_folder(split: Split, transform: v2.Transform, mode: str, min_side: int | None) -> RobustImageFolder:
    """The images a run held out (``Split.held_out``), labelled by their class folders."""
    root = Path(split.root) / "train"
    folder = RobustImageFolder(root, transform=transform, class_order=split.classes, mode=mode, min_side=min_side)
    by_path = {str(Path(p).relative_to(root)): (p, t) for p, t in folder.samples}
    missing = [p for p in split.held_out if p not in by_path]
    if missing:
        raise SqueezeNetError(f"{root}: {len(missing)} held-out images of the split are gone (first: {missing[0]})")
    folder.samples = [by_path[p] for p in split.held_out]
    folder.targets = [t for _, t in folder.samples]
    return folder
