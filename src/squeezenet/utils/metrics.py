"""Top-1 / top-5 accuracy and mean loss, accumulated batch by batch: the one metric of
validation during training and of ``eval``."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def topk_correct(logits: torch.Tensor, targets: torch.Tensor, k: int) -> int:
    """How many targets are among the ``k`` highest logits (``k`` capped at the class count)."""
    k = min(k, logits.shape[1])
    return int((logits.topk(k, dim=1).indices == targets[:, None]).any(dim=1).sum())


@dataclass
class Accuracy:
    """Sums over the batches seen; ``sums``/``from_sums`` carry them across processes."""

    loss_sum: float = 0.0
    top1: int = 0
    top5: int = 0
    count: int = 0

    def update(self, logits: torch.Tensor, targets: torch.Tensor) -> None:
        logits = logits.float()
        self.loss_sum += float(F.cross_entropy(logits, targets, reduction="sum"))
        self.top1 += topk_correct(logits, targets, 1)
        self.top5 += topk_correct(logits, targets, 5)
        self.count += len(targets)

    def sums(self) -> list[float]:
        return [self.loss_sum, float(self.top1), float(self.top5), float(self.count)]

    @classmethod
    def from_sums(cls, sums: list[float]) -> Accuracy:
        loss, top1, top5, count = sums
        return cls(loss, int(top1), int(top5), int(count))

    def percent(self, correct: int) -> float:
        return 100.0 * correct / self.count if self.count else float("nan")

    @property
    def top1_percent(self) -> float:
        return self.percent(self.top1)

    @property
    def top5_percent(self) -> float:
        return self.percent(self.top5)

    @property
    def mean_loss(self) -> float:
        return self.loss_sum / self.count if self.count else float("nan")
