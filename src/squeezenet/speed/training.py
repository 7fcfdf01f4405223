"""Training images/s: the training loop's own step against a plain torchvision-style eager fp32 loop.

Baseline: a Dataset yielding PIL images through ToTensor/Normalize, a shuffling DataLoader,
an NCHW fp32 model with ``nn.Dropout``, the default AdamW and gradient clipping: what the
PyTorch examples do. Ours: the batch stream and the ``train.step.Stepper`` that ``squeezenet
train`` runs, set up as the loop sets it up (the recipe's optimiser, schedule and clipping,
channels-last, autocast where the hardware has native bf16/fp16, ``GlobalBatchDropout``, the
denormal flush). Same model, same batch size, same run.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from ..data import FASHION_MNIST_DATA
from ..data.fashion_mnist import TensorSplit
from ..data.sources import TensorSource
from ..formats.preprocess import FASHION_MNIST
from ..models import SqueezeNet, arch_config
from ..train.config import SMALL_RECIPE, TrainConfig
from ..train.distributed import DistContext, use_global_batch_dropout
from ..train.loop import step_options
from ..train.step import Stepper, cross_entropy
from ..utils.device import cpu_isa
from ..utils.timing import median, time_calls


class _PilDataset(Dataset):
    """torchvision-style: one PIL image per item, transformed per sample."""

    def __init__(self, split: TensorSplit) -> None:
        self.split = split
        self.transform = v2.Compose(
            [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(FASHION_MNIST.mean, FASHION_MNIST.std)]
        )

    def __len__(self) -> int:
        return len(self.split.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.split.images[i, 0].numpy(), mode="L")), int(self.split.labels[i])


def _synthetic(n: int, size: int, channels: int = 1) -> TensorSplit:
    g = torch.Generator().manual_seed(0)
    return TensorSplit(
        torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (n,), generator=g),
    )


def _plain_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batches: Any) -> Any:
    """The baseline's step: fp32, NCHW, cross-entropy, clipping as the recipe does."""

    def step() -> None:
        x, y = next(batches)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), SMALL_RECIPE["grad_clip"])
        optimizer.step()

    return step


def bench_train(
    arch: str = "squeezenet1_1",
    batch_size: int | None = None,
    steps: int = 20,
    data: TensorSplit | None = None,
    design: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Images/s of both loops on 28x28 single-channel images (real Fashion-MNIST when given), at
    the demo's batch size unless told; ``design``: overrides of the arch (small-image stem)."""
    batch_size = batch_size or SMALL_RECIPE["batch_size"]
    data = data or _synthetic(batch_size * (steps + 4), 28)
    config = arch_config(arch, **{"stem": "small", **(design or {})}, in_channels=1, num_classes=10)
    lr, wd = SMALL_RECIPE["lr"], SMALL_RECIPE["weight_decay"]
    torch.manual_seed(0)
    baseline_model = SqueezeNet(config)
    baseline_opt = torch.optim.AdamW(baseline_model.parameters(), lr=lr, weight_decay=wd)  # the library's default path
    loader = DataLoader(_PilDataset(data), batch_size=batch_size, shuffle=True, num_workers=0, drop_last=True)
    base_iter = iter(_cycle(loader))
    baseline = time_calls(_plain_step(baseline_model, baseline_opt, base_iter), steps)

    torch.manual_seed(0)
    cfg = TrainConfig(data=FASHION_MNIST_DATA, batch_size=batch_size).resolved()
    ours_model = SqueezeNet(config)
    use_global_batch_dropout(ours_model, DistContext())
    ours_model = ours_model.to(memory_format=torch.channels_last)
    stepper = Stepper(
        ours_model,
        step_options(cfg, total_steps=steps + 2, warmup_steps=0),
        torch.device("cpu"),
        cross_entropy(cfg.label_smoothing),
    )
    source = TensorSource(data, data, [str(i) for i in range(10)], augment=bool(cfg.augment))
    ours_iter = iter(_cycle_batches(source, batch_size))
    counter = iter(range(1 << 62))

    def ours_step() -> None:
        batch = next(ours_iter)
        stepper(batch.images, batch.targets, next(counter))

    torch.set_flush_denormal(True)  # as the loop does
    ours = time_calls(ours_step, steps)
    dtype = stepper.dtype

    base_ips, ours_ips = batch_size / median(baseline), batch_size / median(ours)
    return {
        "arch": arch,
        "design": design or {},
        "batch_size": batch_size,
        "input_size": 28,
        "steps": steps,
        "baseline_images_per_s": base_ips,
        "ours_images_per_s": ours_ips,
        "ratio": ours_ips / base_ips,
        "ours_amp": str(dtype),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "isa": cpu_isa(),
        "threads": torch.get_num_threads(),
    }


def _cycle(loader: DataLoader) -> Any:
    while True:
        yield from loader


def _cycle_batches(source: TensorSource, batch_size: int) -> Any:
    epoch = 0
    while True:
        yield from source.train_batches(epoch, 0, batch_size, 0, 1, seed=0)
        epoch += 1
