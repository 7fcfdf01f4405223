"""The one optimisation step: what ``train`` runs, what compression retrains with, what ``bench --train`` times.

A ``Stepper`` owns the optimiser (fused AdamW or SGD), the warm-up and linear-decay schedule,
the gradient scaler (fp16 only), gradient-norm clipping, the autocast precision of
``utils.device.autocast_dtype``, the channels-last input layout, and a loss function. Before
every step it re-seeds the global RNG from (seed, step), so dropout masks are a pure function of
the run's seed and the step: a resumed run retraces an uninterrupted one, and every process of a
data-parallel run draws the same masks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ..data.sources import mix_seed
from ..errors import SqueezeNetError
from ..utils.device import autocast_dtype

# (logits, images, targets or None) -> loss; the images let a teacher see what the student saw
LossFn = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def cross_entropy(label_smoothing: float = 0.0) -> LossFn:
    return lambda logits, _images, targets: F.cross_entropy(logits, targets, label_smoothing=label_smoothing)


@dataclass(frozen=True)
class StepOptions:
    """How each step updates the weights."""

    optimizer: str = "adamw"  # adamw | sgd
    lr: float = 1e-3
    momentum: float = 0.9  # SGD only
    weight_decay: float = 0.0
    grad_clip: float = 0.0  # max gradient norm; 0: off
    warmup_steps: int = 0
    total_steps: int = 1
    amp: str = "auto"  # auto | bf16 | fp16 | off
    channels_last: bool = True
    seed: int = 42


def make_optimizer(options: StepOptions, params: Iterable[Any]) -> torch.optim.Optimizer:
    """``params``: the model's parameters, or groups with their own learning rates."""
    # fused: one kernel per step for all parameters instead of a loop of small ops (CPU and CUDA)
    if options.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=options.lr, momentum=options.momentum, weight_decay=options.weight_decay, fused=True
        )
    if options.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=options.lr, weight_decay=options.weight_decay, fused=True)
    raise SqueezeNetError(f"unknown optimizer {options.optimizer!r}; use sgd or adamw")


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then the release's "poly" power-1 schedule: linear decay to zero."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


class Stepper:
    """One step: forward under autocast, loss, backward (scaled for fp16), clip, update, schedule.

    ``model`` is the module whose parameters are clipped; ``forward`` what runs the batch (the
    DDP wrapper of ``model`` in a data-parallel run, else ``model`` itself).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        options: StepOptions,
        device: torch.device,
        loss: LossFn,
        params: Iterable[Any] | None = None,
    ) -> None:
        self.model, self.forward, self.options, self.device, self.loss = model, model, options, device, loss
        trainable = params if params is not None else [p for p in model.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(options, trainable)
        total, warmup = options.total_steps, options.warmup_steps
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: lr_factor(s, total, warmup))
        self.dtype = autocast_dtype(device, options.amp)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.dtype == torch.float16)

    def __call__(
        self, images: torch.Tensor, targets: torch.Tensor | None, step: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Step number ``step`` of the run on one batch: (logits, loss)."""
        torch.manual_seed(mix_seed(self.options.seed, 0, step))  # this step's dropout masks
        x = images.to(self.device, non_blocking=True)
        x = x.contiguous(memory_format=torch.channels_last) if self.options.channels_last else x
        y = targets.to(self.device, non_blocking=True) if targets is not None else None
        with torch.autocast(self.device.type, dtype=self.dtype or torch.bfloat16, enabled=self.dtype is not None):
            logits = self.forward(x)
            loss = self.loss(logits, x, y)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.options.grad_clip:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.options.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return logits, loss

    @property
    def lr(self) -> float:
        return self.scheduler.get_last_lr()[0]

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint needs to continue the schedule exactly."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
