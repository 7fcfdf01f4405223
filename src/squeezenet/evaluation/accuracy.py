"""Top-1 / top-5 accuracy of a model over a data loader."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn
from tqdm import tqdm

from ..utils.progress import progress_off


@dataclass
class EvalResult:
    top1: float  # percent
    top5: float  # percent
    images: int
    skipped: int = 0
    loss: float = float("nan")
    passed_over: str = ""  # files the folder walk did not read (non-regular, reached twice)

    def to_dict(self) -> dict[str, float | int | str]:
        return {"top1": self.top1, "top5": self.top5, "images": self.images, "skipped": self.skipped,
                "passed_over": self.passed_over}  # fmt: skip


def topk_correct(logits: torch.Tensor, targets: torch.Tensor, k: int) -> int:
    k = min(k, logits.shape[1])
    return int((logits.topk(k, dim=1).indices == targets[:, None]).any(dim=1).sum())


@torch.no_grad()
def evaluate(
    model: nn.Module | Callable[[torch.Tensor], torch.Tensor],
    batches: Iterable,
    device: torch.device = torch.device("cpu"),
    progress: bool = True,
    total: int | None = None,
) -> EvalResult:
    """Batches yield (images, targets) or (images, targets, skipped_count); ``model`` may be
    any logits function (an ONNX Runtime session wrapper, say)."""
    if isinstance(model, nn.Module):
        model.eval()
    n = top1 = top5 = skipped = 0
    loss_sum = 0.0
    for batch in tqdm(batches, desc="eval", unit="batch", total=total, disable=progress_off(not progress), leave=False):
        images, targets = batch[0], batch[1]
        skipped += batch[2] if len(batch) > 2 else 0
        if not len(images):
            continue
        images, targets = images.to(device), targets.to(device)
        logits = model(images).float()
        loss_sum += float(nn.functional.cross_entropy(logits, targets, reduction="sum"))
        n += len(targets)
        top1 += topk_correct(logits, targets, 1)
        top5 += topk_correct(logits, targets, 5)
    if n == 0:
        return EvalResult(float("nan"), float("nan"), 0, skipped)
    return EvalResult(100.0 * top1 / n, 100.0 * top5 / n, n, skipped, loss_sum / n)
