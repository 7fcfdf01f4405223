"""Evaluate on labelled images, and predict images (files or folders), on any backend.

The input convention (RGB/BGR, scale, mean/std, crop) comes from the file's own record, so Caffe,
torchvision and exported files are each fed what they were trained on.

What ``--data`` names is the same for every command: a data folder, ``train/`` and (optionally)
``val/`` of class folders, or ``fashion-mnist``. ``eval`` scores its ``val/`` (Fashion-MNIST: the
test images); a folder that holds class folders directly is scored as it is; a training run's
held-out share of ``train/`` is scored with ``--run RUN``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from ..data.images import (
    BAD_IMAGE_ERRORS,
    RobustImageFolder,
    Walk,
    collate_skipping_bad,
    open_image,
    read_class_file,
    walk_images,
)
from ..data.sources import TensorSource, build_source, held_out_folder
from ..data.split import SPLIT_FILE, Split
from ..errors import OptionError, SqueezeNetError
from ..utils.progress import track
from .accuracy import EvalResult, evaluate
from .model import Runnable

FASHION_MNIST = "fashion-mnist"


def default_workers() -> int:
    return min(4, os.cpu_count() or 1)


@dataclass
class Labelled:
    """Labelled images to score: batches of (images, targets, skipped), what they are, and what the
    folder walk passed over."""

    batches: Iterable[Any]
    count: int  # batches
    description: str
    walk: Walk | None = None


def eval_data(
    model: Runnable,
    data: str | Path | None = None,
    run: str | Path | None = None,
    classes_file: str | Path | None = None,
    batch_size: int = 64,
    workers: int | None = None,
) -> Labelled:
    """The images ``eval`` scores: ``data``'s validation images, or ``run``'s held-out split."""
    if batch_size < 1:
        raise OptionError("batch_size", f"must be at least 1, got {batch_size}")
    if (data is None) == (run is None):
        raise OptionError("data", "names the images to score, {run} a run's held-out split: give one of the two", "run")
    workers = default_workers() if workers is None else workers
    pre = model.preprocess
    if run is not None:
        split = Split.read(Path(run) / SPLIT_FILE)
        _check_count(model, len(split.classes), "the split has")
        if model.folder_classes not in (None, split.classes):
            raise SqueezeNetError(
                f"{run}: the split's classes {split.classes[:5]} are not the model's {model.folder_classes[:5]}"
            )
        folder = held_out_folder(split, pre.eval_transform(), pre.mode, pre.decode_side)
        loader = DataLoader(folder, batch_size=batch_size, num_workers=workers, collate_fn=collate_skipping_bad)
        return Labelled(
            loader, len(loader), f"the {len(folder)} images {run} held out of {split.root}/train", folder.walk
        )
    if str(data) == FASHION_MNIST:
        source = build_source(FASHION_MNIST)
        assert isinstance(source, TensorSource)
        if model.config.num_classes != source.num_classes:
            raise SqueezeNetError(
                f"Fashion-MNIST has {source.num_classes} classes, the model {model.config.num_classes}"
            )
        batches = [(b.images, b.targets) for b in source.val_batches(batch_size, 0, 1)]
        return Labelled(batches, len(batches), "the Fashion-MNIST test images")
    root = Path(data)
    if (root / "val").is_dir():
        root = root / "val"
    elif (root / "train").is_dir():
        raise OptionError(
            "data",
            f"{data} has train/ but no val/: score a run's held-out share of it with {{run}} RUN, "
            f"or name {data}/train to score training images",
            "run",
        )
    loader = folder_loader(model, root, classes_file, batch_size, workers)
    return Labelled(loader, len(loader), f"{root}", loader.dataset.walk)


def _check_count(model: Runnable, classes: int, what: str) -> None:
    if classes != model.config.num_classes:
        raise SqueezeNetError(
            f"{what} {classes} classes but the model has {model.config.num_classes}; for ImageNet's wnid folders "
            "pass --classes FILE (e.g. synset_words.txt) to map folders to class indices"
        )


def folder_loader(
    model: Runnable, data_dir: str | Path, classes_file: str | Path | None, batch_size: int, workers: int
) -> DataLoader:
    """Class folders (ImageNet wnids with ``classes_file``, else the model's own class names or sorted names)."""
    order = read_class_file(classes_file) if classes_file else model.folder_classes
    pre = model.preprocess
    dataset = RobustImageFolder(
        data_dir, pre.eval_transform(), class_order=order, mode=pre.mode, min_side=pre.decode_side
    )
    if order is None:
        _check_count(model, len(dataset.classes), f"{data_dir} has")
    else:
        _check_count(model, len(order), "the class map lists" if classes_file else "the model names")
    return DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate_skipping_bad)


def eval_model(model: Runnable, data: Labelled, progress: bool = True) -> EvalResult:
    """Top-1 / top-5 of ``model`` on ``data``; every unreadable image skipped and counted."""
    result = evaluate(model.run, data.batches, progress=progress, total=data.count)
    if result.images == 0:
        raise SqueezeNetError(f"{data.description}: none of the {result.skipped} images could be read")
    result.passed_over = data.walk.skipped_note() if data.walk else ""
    return result


def load_images(model: Runnable, paths: Sequence[str | Path]) -> torch.Tensor:
    """Decode and preprocess each image; any unreadable one is an error naming it."""
    transform, tensors = model.preprocess.eval_transform(), []
    for path in paths:
        tensor = _load_image(model, Path(path), transform)
        if isinstance(tensor, str):
            raise SqueezeNetError(tensor)
        tensors.append(tensor)
    return torch.stack(tensors)


def _load_image(model: Runnable, path: Path, transform: Any) -> torch.Tensor | str:
    """The preprocessed image, or a one-line reason it cannot be read."""
    if not path.is_file():
        return f"{path}: {'not a regular file' if path.exists() else 'no such image file'}"
    try:
        return transform(open_image(path, model.preprocess.mode, model.preprocess.decode_side))
    except BAD_IMAGE_ERRORS as exc:
        return f"{path}: cannot read image ({exc.__class__.__name__})"


def expand_paths(paths: Sequence[str | Path]) -> tuple[list[Path], Walk]:
    """Files as given, folders replaced by the images under them (sorted); what was passed over."""
    files, passed = [], Walk()
    for path in map(Path, paths):
        if path.is_dir():
            walk = walk_images(path)
            files += walk.files
            passed.merge(walk)
        else:
            files.append(path)
    return files, passed


class Predictor:
    """Files to top-k classes: the transform is built once, then each call decodes, preprocesses and
    runs its images (what ``predict`` does per batch, and what the end-to-end latency benchmark times)."""

    def __init__(self, model: Runnable, top_k: int = 5) -> None:
        if top_k < 1:
            raise OptionError("top_k", f"must be at least 1, got {top_k}")
        self.model, self.top_k = model, top_k
        self.transform = model.preprocess.eval_transform()

    @torch.no_grad()
    def __call__(self, paths: Sequence[str | Path]) -> list[dict[str, Any]]:
        names = self.model.classes
        chunk = [(path, _load_image(self.model, Path(path), self.transform)) for path in paths]
        good = [(path, t) for path, t in chunk if not isinstance(t, str)]
        tops: dict[str, Any] = {}
        if good:
            probs = torch.softmax(self.model.run(torch.stack([t for _, t in good])).float(), dim=1)
            values, indices = probs.topk(min(self.top_k, probs.shape[1]), dim=1)
            for (path, _), vals, idxs in zip(good, values, indices):
                tops[str(path)] = [
                    {"index": int(i), "label": names[int(i)] if names else str(int(i)), "probability": float(p)}
                    for p, i in zip(vals, idxs)
                ]
        return [
            {"image": str(path), "top": tops[str(path)]} if not isinstance(t, str) else {"image": str(path), "error": t}
            for path, t in chunk
        ]


def predict(
    model: Runnable, paths: Sequence[str | Path], top_k: int = 5, batch_size: int = 32, progress: bool = False
) -> list[dict[str, Any]]:
    """Top-k classes for every image in ``paths`` (files), in batches. An unreadable image gets an
    ``error`` entry instead of stopping the others."""
    if batch_size < 1:
        raise OptionError("batch_size", f"must be at least 1, got {batch_size}")
    predictor = Predictor(model, top_k)
    starts = range(0, len(paths), batch_size)
    batches = track(starts, len(starts), "predict", "batch", quiet=not progress)
    return [r for start in batches for r in predictor(paths[start : start + batch_size])]
