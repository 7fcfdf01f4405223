"""Training images/s: our loop's step against a plain torchvision-style eager fp32 loop.

Baseline: a Dataset yielding PIL images through ToTensor/Normalize, a shuffling DataLoader,
an NCHW fp32 model with ``nn.Dropout`` and the default AdamW: what the PyTorch examples do.
Ours: the batch streams and step of ``squeezenet.train`` (in-memory uint8 batches, batch-level
augmentation when the recipe has it, channels_last, autocast where the hardware has native
bf16/fp16, ``GlobalBatchDropout``'s cheap masks, fused AdamW). Same model, same recipe (AdamW,
gradient clipping), same batch size, same run.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from ..data.fashion_mnist import TensorSplit
from ..data.sources import TensorSource
from ..formats.preprocess import FASHION_MNIST
from ..models import SqueezeNet, arch_config
from ..train.config import SMALL_RECIPE, TrainConfig
from ..train.distributed import DistContext, use_global_batch_dropout
from ..train.loop import autocast_dtype, make_optimizer
from ..utils.device import cpu_isa
from ..utils.timing import median, time_calls


class _PilDataset(Dataset):
    """torchvision-style: one PIL image per item, transformed per sample."""

    def __init__(self, split: TensorSplit) -> None:
        self.split = split
        self.transform = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(FASHION_MNIST.mean, FASHION_MNIST.std)])

    def __len__(self) -> int:
        return len(self.split.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.split.images[i, 0].numpy(), mode="L")), int(self.split.labels[i])


def _synthetic(n: int, size: int, channels: int = 1) -> TensorSplit:
    g = torch.Generator().manual_seed(0)
    return TensorSplit(torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=g), torch.randint(0, 10, (n,), generator=g))


def _step_fn(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batches: Any, channels_last: bool, dtype: torch.dtype | None) -> Any:
    """One step of the small-data recipe (AdamW, gradient clipping): the same algorithm both sides."""

    def step() -> None:
        x, y = next(batches)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), SMALL_RECIPE["grad_clip"])
        optimizer.step()

    return step


def bench_train(
    arch: str = "squeezenet1_1", batch_size: int | None = None, steps: int = 20, data: TensorSplit | None = None,
    design: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
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
    baseline = time_calls(_step_fn(baseline_model, baseline_opt, base_iter, False, None), steps)

    torch.manual_seed(0)
    ours_model = SqueezeNet(config)
    use_global_batch_dropout(ours_model, DistContext())
    ours_model = ours_model.to(memory_format=torch.channels_last)
    cfg = TrainConfig(data="fashion-mnist").resolved()
    source = TensorSource(data, data, [str(i) for i in range(10)], augment=bool(cfg.augment))
    ours_iter = iter((b.images, b.targets) for b in _cycle_batches(source, batch_size))
    dtype = autocast_dtype(torch.device("cpu"), "auto")
    ours = time_calls(_step_fn(ours_model, make_optimizer(cfg, ours_model.parameters()), ours_iter, True, dtype), steps)

    base_ips, ours_ips = batch_size / median(baseline), batch_size / median(ours)
    return {
        "arch": arch, "design": design or {}, "batch_size": batch_size, "input_size": 28, "steps": steps,
        "baseline_images_per_s": base_ips, "ours_images_per_s": ours_ips, "ratio": ours_ips / base_ips,
        "ours_amp": str(dtype), "cpu_capability": torch.backends.cpu.get_cpu_capability(), "isa": cpu_isa(),
        "threads": torch.get_num_threads(),
    }  # fmt: skip


def _cycle(loader: DataLoader) -> Any:
    while True:
        yield from loader


def _cycle_batches(source: TensorSource, batch_size: int) -> Any:
    epoch = 0
    while True:
        yield from source.train_batches(epoch, 0, batch_size, 0, 1, seed=0)
        epoch += 1
