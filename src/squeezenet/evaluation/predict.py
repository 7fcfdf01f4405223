"""Evaluate on an image folder, and predict images (files or folders), on any backend.

The input convention (RGB/BGR, scale, mean/std, crop) comes from the weight file's record,
so Caffe and torchvision weights are each fed what they were trained on.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
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
from ..deploy.runtime import make_runner
from ..errors import SqueezeNetError
from ..formats.loaded import LoadedModel, imagenet_classes
from .accuracy import EvalResult, evaluate


def default_workers() -> int:
    return min(4, os.cpu_count() or 1)


def folder_loader(
    loaded: LoadedModel, data_dir: str | Path, classes_file: str | Path | None, batch_size: int, workers: int
) -> DataLoader:
    order = read_class_file(classes_file) if classes_file else _named_classes(loaded)
    pre = loaded.preprocess
    dataset = RobustImageFolder(data_dir, pre.eval_transform(), class_order=order, mode=pre.mode, min_side=pre.decode_side)
    num_classes = loaded.config.num_classes
    if order is None and len(dataset.classes) != num_classes:
        raise SqueezeNetError(
            f"{data_dir} has {len(dataset.classes)} class folders but the model has {num_classes} classes; "
            "pass --classes FILE (e.g. synset_words.txt) to map folders to class indices"
        )
    if order is not None and len(order) != num_classes:
        raise SqueezeNetError(f"the class file lists {len(order)} classes but the model has {num_classes}")
    return DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate_skipping_bad)


def _named_classes(loaded: LoadedModel) -> list[str] | None:
    """The model's own class names, when folders should be matched to them by name: a model
    fine-tuned on ``ants/ bees/`` folders knows them; ImageNet's human-readable names are not
    folder names (folders there are wnids: pass --classes)."""
    if loaded.classes is None or loaded.classes == imagenet_classes(len(loaded.classes)):
        return None
    return loaded.classes


def eval_folder(
    loaded: LoadedModel,
    data_dir: str | Path,
    classes_file: str | Path | None = None,
    batch_size: int = 64,
    device: torch.device = torch.device("cpu"),
    progress: bool = True,
    workers: int | None = None,
    backend: str = "torch",
    calib_data: str | Path | None = None,
) -> EvalResult:
    if batch_size < 1:
        raise SqueezeNetError(f"--batch-size must be at least 1, got {batch_size}")
    loader = folder_loader(loaded, data_dir, classes_file, batch_size, default_workers() if workers is None else workers)
    result = evaluate(make_runner(loaded, backend, calib_data, device), loader, progress=progress, total=len(loader))
    if result.images == 0:
        raise SqueezeNetError(f"{data_dir}: none of the {result.skipped} images could be read")
    result.passed_over = loader.dataset.walk.skipped_note()
    return result


def load_images(loaded: LoadedModel, paths: Sequence[str | Path]) -> torch.Tensor:
    """Decode and preprocess each image; any unreadable one is an error naming it."""
    transform, tensors = loaded.preprocess.eval_transform(), []
    for path in paths:
        tensor = _load_image(loaded, Path(path), transform)
        if isinstance(tensor, str):
            raise SqueezeNetError(tensor)
        tensors.append(tensor)
    return torch.stack(tensors)


def _load_image(loaded: LoadedModel, path: Path, transform: Any) -> torch.Tensor | str:
    """The preprocessed image, or a one-line reason it cannot be read."""
    if not path.is_file():
        return f"{path}: {'not a regular file' if path.exists() else 'no such image file'}"
    try:
        return transform(open_image(path, loaded.preprocess.mode, loaded.preprocess.decode_side))
    except BAD_IMAGE_ERRORS as exc:
        return f"{path}: cannot read image ({exc.__class__.__name__})"


def expand_paths(paths: Sequence[str | Path]) -> tuple[list[Path], Walk]:
    """Files as given, folders replaced by the images under them (sorted); what was passed over."""
    files, passed = [], Walk()
    for path in map(Path, paths):
        if path.is_dir():
            walk = walk_images(path)
            files += walk.files
            passed.not_regular += walk.not_regular
            passed.revisits += walk.revisits
            passed.not_images += walk.not_images
        else:
            files.append(path)
    return files, passed


class Predictor:
    """Files to top-k classes: the engine and transform are built once, then each call decodes,
    preprocesses and runs its images (what ``predict`` does per batch, and what the end-to-end
    latency benchmark times)."""

    def __init__(
        self, loaded: LoadedModel, backend: str = "torch", calib_data: str | Path | None = None,
        device: torch.device = torch.device("cpu"), top_k: int = 5,
    ) -> None:  # fmt: skip
        if top_k < 1:
            raise SqueezeNetError(f"--top must be at least 1, got {top_k}")
        self.loaded, self.top_k = loaded, top_k
        self.run = make_runner(loaded, backend, calib_data, device)
        self.transform = loaded.preprocess.eval_transform()

    @torch.no_grad()
    def __call__(self, paths: Sequence[str | Path]) -> list[dict[str, Any]]:
        names = self.loaded.classes
        chunk = [(path, _load_image(self.loaded, Path(path), self.transform)) for path in paths]
        good = [(path, t) for path, t in chunk if not isinstance(t, str)]
        tops: dict[str, Any] = {}
        if good:
            probs = torch.softmax(self.run(torch.stack([t for _, t in good])).float(), dim=1)
            values, indices = probs.topk(min(self.top_k, probs.shape[1]), dim=1)
            for (path, _), vals, idxs in zip(good, values, indices):
                tops[str(path)] = [
                    {"index": int(i), "label": names[int(i)] if names else str(int(i)), "probability": float(p)}
                    for p, i in zip(vals, idxs)
                ]  # fmt: skip
        return [{"image": str(path), "top": tops[str(path)]} if not isinstance(t, str) else {"image": str(path), "error": t}
                for path, t in chunk]  # fmt: skip


def predict(
    loaded: LoadedModel,
    paths: Sequence[str | Path],
    top_k: int = 5,
    device: torch.device = torch.device("cpu"),
    backend: str = "torch",
    calib_data: str | Path | None = None,
    batch_size: int = 32,
) -> list[dict[str, Any]]:
    """Top-k classes for every image in ``paths`` (files, or folders searched recursively), in
    batches. An unreadable image gets an ``error`` entry instead of stopping the others."""
    if top_k < 1 or batch_size < 1:
        raise SqueezeNetError(f"--top and --batch-size must be at least 1, got {top_k} and {batch_size}")
    predictor = Predictor(loaded, backend, calib_data, device, top_k)
    return [r for start in range(0, len(paths), batch_size) for r in predictor(paths[start : start + batch_size])]
