"""Evaluate on an image folder and predict single images with a loaded model.

The input convention (RGB/BGR, scale, mean/std, crop) comes from the weight file's record,
so Caffe and torchvision weights are each fed what they were trained on.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from .data.images import BAD_IMAGE_ERRORS, RobustImageFolder, collate_skipping_bad, open_image, read_class_file
from .errors import SqueezeNetError
from .evaluate import EvalResult, evaluate
from .io.formats import LoadedModel


def default_workers() -> int:
    return min(4, os.cpu_count() or 1)


def folder_loader(
    loaded: LoadedModel, data_dir: str | Path, classes_file: str | Path | None, batch_size: int, workers: int
) -> DataLoader:
    order = read_class_file(classes_file) if classes_file else None
    pre = loaded.preprocess
    dataset = RobustImageFolder(data_dir, pre.eval_transform(), class_order=order, mode="L" if pre.color == "L" else "RGB")
    num_classes = loaded.config.num_classes
    if order is None and len(dataset.classes) != num_classes:
        raise SqueezeNetError(
            f"{data_dir} has {len(dataset.classes)} class folders but the model has {num_classes} classes; "
            "pass --classes FILE (e.g. synset_words.txt) to map folders to class indices"
        )
    if order is not None and len(order) != num_classes:
        raise SqueezeNetError(f"the class file lists {len(order)} classes but the model has {num_classes}")
    return DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate_skipping_bad)


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
    loader = folder_loader(loaded, data_dir, classes_file, batch_size, default_workers() if workers is None else workers)
    if backend == "torch":
        result = evaluate(loaded.model.to(device), loader, device, progress=progress, total=len(loader))
    else:
        from .deploy.runtime import make_runner

        result = evaluate(make_runner(loaded, backend, calib_data), loader, progress=progress, total=len(loader))
    if result.images == 0:
        raise SqueezeNetError(f"{data_dir}: none of the {result.skipped} images could be read")
    return result


def load_images(loaded: LoadedModel, paths: Sequence[str | Path]) -> torch.Tensor:
    """Decode and preprocess each image; any unreadable one is an error naming it."""
    pre = loaded.preprocess
    transform = pre.eval_transform()
    tensors = []
    for path in paths:
        if not Path(path).is_file():
            raise SqueezeNetError(f"{path}: no such image file")
        try:
            tensors.append(transform(open_image(path, "L" if pre.color == "L" else "RGB")))
        except BAD_IMAGE_ERRORS as exc:
            raise SqueezeNetError(f"{path}: cannot read image ({exc.__class__.__name__})") from None
    return torch.stack(tensors)


@torch.no_grad()
def predict(
    loaded: LoadedModel,
    paths: Sequence[str | Path],
    top_k: int = 5,
    device: torch.device = torch.device("cpu"),
    backend: str = "torch",
    calib_data: str | Path | None = None,
) -> list[dict]:
    images = load_images(loaded, paths)
    if backend == "torch":
        logits = loaded.model.to(device).eval()(images.to(device))
    else:
        from .deploy.runtime import make_runner

        logits = make_runner(loaded, backend, calib_data)(images)
    probs = torch.softmax(logits.float(), dim=1)
    k = min(top_k, probs.shape[1])
    values, indices = probs.topk(k, dim=1)
    names = loaded.classes
    return [
        {
            "image": str(path),
            "top": [
                {"index": int(i), "label": names[int(i)] if names else str(int(i)), "probability": float(p)}
                for p, i in zip(vals, idxs)
            ],
        }
        for path, vals, idxs in zip(paths, values, indices)
    ]
