"""Evaluate on labelled images, and predict images (files or folders), on any backend.

The input convention (RGB/BGR, scale, mean/std, crop) comes from the file's own record, so Caffe,
torchvision and exported files are each fed what they were trained on.

What ``--data`` names is the same for every command: a data folder, ``train/`` and (optionally)
``val/`` of class folders, or ``fashion-mnist``. ``eval`` scores its ``val/`` (Fashion-MNIST: the
test images); a folder that holds class folders directly is scored as it is; a training run's
held-out share of ``train/`` is scored with ``--run RUN``.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from ..data import FASHION_MNIST_DATA
from ..data.images import (
    BAD_IMAGE_ERRORS,
    RobustImageFolder,
    Walk,
    collate_skipping_bad,
    decode_image,
    read_class_file,
    walk_images,
)
from ..data.sources import TensorSource, build_source, held_out_folder
from ..data.split import SPLIT_FILE, Split
from ..errors import OptionError, SqueezeNetError
from ..formats.preprocess import Preprocess
from ..utils.progress import progress as progress_bar
from .accuracy import EvalResult, evaluate
from .model import Runnable


def default_workers() -> int:
    return min(4, os.cpu_count() or 1)


@dataclass
class Labelled:
    """Labelled images to score: batches of (images, targets, skipped), what they are, and what the
    folder walk passed over. ``pixels``: the images are uint8 input pixels (``Preprocess.pixels``),
    run as ``predict`` runs them; else normalised float tensors."""

    batches: Iterable[Any]
    count: int  # batches
    description: str
    walk: Walk | None = None
    pixels: bool = False

    def float_batches(self, preprocess: Preprocess) -> Iterator[Any]:
        """The batches with normalised float images, for a runner that takes the float input."""
        for images, targets, *rest in self.batches:
            yield (preprocess.normalize_pixels(images) if self.pixels and len(images) else images, targets, *rest)


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
        folder = held_out_folder(split, pre.pixels, pre.mode, pre.decode_side)
        loader = DataLoader(folder, batch_size=batch_size, num_workers=workers, collate_fn=collate_skipping_bad)
        return Labelled(
            loader, len(loader), f"the {len(folder)} images {run} held out of {split.root}/train", folder.walk, True
        )
    if str(data) == FASHION_MNIST_DATA:
        source = build_source(FASHION_MNIST_DATA)
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
    return Labelled(loader, len(loader), f"{root}", loader.dataset.walk, True)


def _check_count(model: Runnable, classes: int, what: str) -> None:
    if classes != model.config.num_classes:
        raise SqueezeNetError(
            f"{what} {classes} classes but the model has {model.config.num_classes}; for ImageNet's wnid folders "
            "pass --classes FILE (e.g. synset_words.txt) to map folders to class indices"
        )


def folder_loader(
    model: Runnable, data_dir: str | Path, classes_file: str | Path | None, batch_size: int, workers: int
) -> DataLoader:
    """Class folders (ImageNet wnids with ``classes_file``, else the model's own class names or sorted
    names), in batches of uint8 input pixels."""
    order = read_class_file(classes_file) if classes_file else model.folder_classes
    pre = model.preprocess
    dataset = RobustImageFolder(data_dir, pre.pixels, class_order=order, mode=pre.mode, min_side=pre.decode_side)
    if order is None:
        _check_count(model, len(dataset.classes), f"{data_dir} has")
    else:
        _check_count(model, len(order), "the class map lists" if classes_file else "the model names")
    return DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate_skipping_bad)


def eval_model(model: Runnable, data: Labelled, progress: bool = True) -> EvalResult:
    """Top-1 / top-5 of ``model`` on ``data``; every unreadable image skipped and counted."""
    result = evaluate(model.pixels if data.pixels else model.run, data.batches, progress=progress, total=data.count)
    if result.images == 0:
        raise SqueezeNetError(f"{data.description}: none of the {result.skipped} images could be read")
    result.passed_over = data.walk.skipped_note() if data.walk else ""
    return result


def load_images(preprocess: Preprocess, paths: Sequence[str | Path]) -> torch.Tensor:
    """Decode and preprocess each image to the model's float input; any unreadable one is an error naming it."""
    pixels = []
    for path in paths:
        read = read_pixels(preprocess, Path(path))
        if isinstance(read, str):
            raise SqueezeNetError(read)
        pixels.append(read)
    return preprocess.normalize_pixels(torch.stack(pixels))


def read_pixels(preprocess: Preprocess, path: Path) -> torch.Tensor | str:
    """The image's input pixels (``Preprocess.pixels``), or a one-line reason it cannot be read."""
    if not path.is_file():
        return f"{path}: {'not a regular file' if path.exists() else 'no such image file'}"
    try:
        return preprocess.pixels(decode_image(path, preprocess.mode, preprocess.decode_side))
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


@dataclass
class Decoded:
    """One image read for prediction: its pixels or why not, and the milliseconds reading took."""

    path: Path
    pixels: torch.Tensor | str
    ms: float


@dataclass
class StageTimes:
    """Milliseconds spent per stage, summed over images, as Ultralytics reports each prediction.
    Reading (decode and resize) runs in worker threads beside inference, so the stages overlap
    and ``wall`` is less than their sum."""

    read: float = 0.0
    inference: float = 0.0
    postprocess: float = 0.0
    images: int = 0
    wall: float = 0.0

    def to_dict(self) -> dict[str, float]:
        n = max(self.images, 1)
        return {
            "images": self.images,
            "read_ms": round(self.read / n, 3),
            "inference_ms": round(self.inference / n, 3),
            "postprocess_ms": round(self.postprocess / n, 3),
            "images_per_s": round(self.images / self.wall, 1) if self.wall > 0 else 0.0,
        }

    def line(self) -> str:
        n = max(self.images, 1)
        rate = f"; {self.images / self.wall:.0f} images/s" if self.wall > 0 else ""
        return (
            f"Speed: {self.read / n:.2f} ms decode and resize, {self.inference / n:.2f} ms inference, "
            f"{self.postprocess / n:.2f} ms postprocess per image{rate} ({self.images} image{'s' * (self.images != 1)})"
        )


class Predictor:
    """Files to top-k classes: each image decoded and resized to the model's input pixels
    (``read``), a batch of them run on the engine with the normalisation in its graph where it
    can (``classify``); ``__call__`` does both for a few files in this thread."""

    def __init__(self, model: Runnable, top_k: int = 5, times: StageTimes | None = None) -> None:
        if top_k < 1:
            raise OptionError("top_k", f"must be at least 1, got {top_k}")
        self.model, self.top_k = model, top_k
        self.times = StageTimes() if times is None else times

    def read(self, path: str | Path) -> Decoded:
        start = time.perf_counter()
        pixels = read_pixels(self.model.preprocess, Path(path))
        return Decoded(Path(path), pixels, 1000 * (time.perf_counter() - start))

    @torch.no_grad()
    def classify(self, decoded: Sequence[Decoded]) -> list[dict[str, Any]]:
        """Results in the order given: ``top`` (label, index, probability), ``ms`` per stage; or ``error``."""
        good = [d for d in decoded if not isinstance(d.pixels, str)]
        tops: dict[int, list[dict[str, Any]]] = {}
        infer_ms = post_ms = 0.0
        if good:
            start = time.perf_counter()
            logits = self.model.pixels(torch.stack([d.pixels for d in good]))
            middle = time.perf_counter()
            values, indices = torch.softmax(logits.float(), dim=1).topk(min(self.top_k, logits.shape[1]), dim=1)
            names = self.model.classes
            for d, vals, idxs in zip(good, values.tolist(), indices.tolist()):
                tops[id(d)] = [
                    {"index": i, "label": names[i] if names else str(i), "probability": p} for p, i in zip(vals, idxs)
                ]
            end = time.perf_counter()
            infer_ms, post_ms = 1000 * (middle - start) / len(good), 1000 * (end - middle) / len(good)
        times = self.times
        times.read += sum(d.ms for d in decoded)
        times.inference += infer_ms * len(good)
        times.postprocess += post_ms * len(good)
        times.images += len(good)
        return [
            {"image": str(d.path), "error": d.pixels}
            if isinstance(d.pixels, str)
            else {
                "image": str(d.path),
                "top": tops[id(d)],
                "ms": {"read": round(d.ms, 3), "inference": round(infer_ms, 3), "postprocess": round(post_ms, 3)},
            }
            for d in decoded
        ]

    def __call__(self, paths: Sequence[str | Path]) -> list[dict[str, Any]]:
        return self.classify([self.read(path) for path in paths])


def predict(
    model: Runnable,
    paths: Sequence[str | Path],
    top_k: int = 5,
    batch_size: int = 32,
    progress: bool = False,
    workers: int | None = None,
    times: StageTimes | None = None,
) -> Iterator[dict[str, Any]]:
    """Top-k classes for every image in ``paths`` (files), streamed in order as each batch is done.
    ``workers`` threads decode and resize the next images while the engine runs the current
    batch (the JPEG decoders and torch's resize release the GIL), at most two batches ahead: memory stays bounded
    whatever the folder's size. An unreadable image gets an ``error`` entry instead of stopping
    the others. ``times``: filled with the stage times as the results go."""
    if batch_size < 1:
        raise OptionError("batch_size", f"must be at least 1, got {batch_size}")
    predictor = Predictor(model, top_k, times)
    start, ahead = time.perf_counter(), 2 * batch_size
    bar = progress_bar(len(paths), "predict", "image", quiet=not progress)
    with ThreadPoolExecutor(max_workers=workers or default_workers()) as pool:
        files = iter(paths)
        pending = deque(pool.submit(predictor.read, path) for path in itertools.islice(files, ahead))
        try:
            while pending:
                batch = [pending.popleft().result() for _ in range(min(batch_size, len(pending)))]
                pending.extend(pool.submit(predictor.read, path) for path in itertools.islice(files, len(batch)))
                results = predictor.classify(batch)
                predictor.times.wall = time.perf_counter() - start
                bar.update(len(batch))
                yield from results
        finally:
            for future in pending:
                future.cancel()
            bar.close()
