"""Top-1 / top-5 accuracy of a model over batches (the metric of ``utils.metrics``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..utils.metrics import Accuracy
from ..utils.progress import track


@dataclass
class EvalResult:
    top1: float  # percent
    top5: float  # percent
    images: int
    skipped: int = 0
    loss: float = float("nan")
    passed_over: str = ""  # files the folder walk did not read (non-regular, reached twice)

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


@torch.no_grad()
def evaluate(
    model: nn.Module | Callable[[torch.Tensor], torch.Tensor],
    batches: Iterable,
    device: torch.device | None = None,
    progress: bool = True,
    total: int | None = None,
) -> EvalResult:
    """Batches yield (images, targets) or (images, targets, skipped_count); ``model`` may be
    any logits function (an ONNX Runtime session wrapper, say)."""
    if isinstance(model, nn.Module):
        model.eval()
    metric, skipped = Accuracy(), 0
    for batch in track(batches, total, "eval", "batch", quiet=not progress):
        images, targets = batch[0], batch[1]
        skipped += batch[2] if len(batch) > 2 else 0
        if not len(images):
            continue
        metric.update(model(images.to(device) if device else images), targets.to(device) if device else targets)
    return EvalResult(metric.top1_percent, metric.top5_percent, metric.count, skipped, metric.mean_loss)
