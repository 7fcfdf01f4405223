"""Top-1 / top-5 accuracy of a model over batches (the metric of ``utils.metrics``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

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
    class_images: list[int] = field(default_factory=list)  # images scored, per class index
    class_correct: list[int] = field(default_factory=list)  # of them, top-1 right

    @property
    def unbalanced(self) -> bool:
        """Whether the scored classes differ in size (then the mean hides the small ones)."""
        sizes = [n for n in self.class_images if n]
        return len(set(sizes)) > 1

    def recall(self) -> list[tuple[int, int, float]]:
        """(class index, images, top-1 % of them) for every class scored."""
        return [(c, n, 100 * k / n) for c, (n, k) in enumerate(zip(self.class_images, self.class_correct)) if n]

    def to_dict(self) -> dict[str, object]:
        data = {k: v for k, v in asdict(self).items() if k not in ("class_images", "class_correct")}
        if self.unbalanced:
            data["recall"] = [{"class": c, "images": n, "top1": r} for c, n, r in self.recall()]
        return data


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
    metric, skipped, images_per_class, correct_per_class = Accuracy(), 0, None, None
    for batch in track(batches, total, "eval", "batch", quiet=not progress):
        images, targets = batch[0], batch[1]
        skipped += batch[2] if len(batch) > 2 else 0
        if not len(images):
            continue
        logits = model(images.to(device) if device else images).cpu()
        metric.update(logits, targets)
        classes = logits.shape[1]
        seen = torch.bincount(targets, minlength=classes)
        right = torch.bincount(targets[logits.argmax(1) == targets], minlength=classes)
        images_per_class = seen if images_per_class is None else images_per_class + seen
        correct_per_class = right if correct_per_class is None else correct_per_class + right
    per_class = ([], []) if images_per_class is None else (images_per_class.tolist(), correct_per_class.tolist())
    return EvalResult(metric.top1_percent, metric.top5_percent, metric.count, skipped, metric.mean_loss, "", *per_class)
