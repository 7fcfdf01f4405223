"""Retraining during compression: with labels (the paper's way) or by distillation.

The uncompressed model is the teacher: the compressed student learns to reproduce its output
distribution (KL divergence at temperature T), which drives both the masked retraining after
pruning and the centroid fine-tuning after weight sharing. Without the training set that is the
whole signal, on unlabelled images with augmentation; with labels it is averaged with the
cross-entropy (Hinton et al.'s distillation), which recovers more than labels alone.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.transforms import v2
from tqdm import tqdm

from ..data.images import read_unlabelled
from ..data.sources import build_source, mix_seed
from ..errors import SqueezeNetError
from ..formats.loaded import LoadedModel, imagenet_classes
from ..formats.preprocess import Preprocess
from ..train.loop import autocast_dtype
from ..utils.progress import progress_off

Batches = Iterator[tuple[torch.Tensor, torch.Tensor | None]]


def unlabelled_batches(calib_dir: str | Path, preprocess: Preprocess, batch_size: int, seed: int) -> tuple[Batches, int]:
    """Endless augmented batches from a folder of unlabelled images, and the image count."""
    resize = v2.Resize(preprocess.resize, antialias=True) if preprocess.resize else v2.Identity()
    images = read_unlabelled(calib_dir, preprocess.mode, resize, min_side=preprocess.decode_side)
    augment = v2.Compose([v2.ToImage(), v2.RandomResizedCrop(preprocess.crop, scale=(0.25, 1.0), antialias=True),
                          v2.RandomHorizontalFlip(), preprocess.normalize()])  # fmt: skip

    def generate() -> Batches:
        step = 0
        while True:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(mix_seed(seed, step))
                picks = torch.randint(0, len(images), (batch_size,)).tolist()
                yield torch.stack([augment(images[i]) for i in picks]), None
            step += 1

    return generate(), len(images)


def labelled_batches(data: str, batch_size: int, seed: int, loaded: LoadedModel) -> tuple[Batches, int]:
    """Endless labelled batches from fashion-mnist or a folder (its ``train/`` part, less the share a
    fine-tuning run held out with the same seed), in ``loaded``'s input convention."""
    source = build_source(data, workers=0, base=loaded.preprocess, seed=seed,
                          input_size=None if data == "fashion-mnist" else loaded.preprocess.crop)  # fmt: skip
    if source.num_classes != loaded.config.num_classes:
        raise SqueezeNetError(f"{data} has {source.num_classes} classes, the model {loaded.config.num_classes}")
    batch_size = min(batch_size, source.train_size)  # a few hundred photos: every one of them
    named = loaded.classes is not None and loaded.classes != imagenet_classes(len(loaded.classes))
    if named and source.classes != loaded.classes:  # labels are indices: the same names must be in the same order
        raise SqueezeNetError(f"{data}: classes {source.classes[:5]} are not the model's {loaded.classes[:5]}")

    def generate() -> Batches:
        epoch = 0
        while True:
            for batch in source.train_batches(epoch, 0, batch_size, 0, 1, seed):
                yield batch.images, batch.targets
            epoch += 1

    return generate(), source.train_size


def retrain(
    model: torch.nn.Module, batches: Batches, steps: int, lr: float, teacher: torch.nn.Module | None,
    desc: str, progress: bool = True, temperature: float = 2.0,
) -> None:  # fmt: skip
    """Train whatever in ``model`` still requires grad (masked weights, or codebooks and biases)."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 - s / max(1, steps))
    # as in training: bf16 where the CPU computes it natively, channels-last activations. The
    # weights are made channels-last too: a one-channel image's layout is ambiguous, so with NCHW
    # weights the whole network ran NCHW (max-pool 5x slower, 0.4x training's images/s).
    dtype = autocast_dtype(torch.device("cpu"), "auto")
    for net in (model, teacher):
        if net is not None:
            net.to(memory_format=torch.channels_last)
    model.train()
    for step in tqdm(range(steps), desc=desc, unit="step", disable=progress_off(not progress), leave=False):
        torch.manual_seed(mix_seed(step, 7))
        x, y = next(batches)
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            logits = model(x).float()
            if teacher is not None:
                with torch.no_grad():
                    target = F.softmax(teacher(x).float() / temperature, dim=1)
        losses = [] if y is None else [F.cross_entropy(logits, y)]
        if teacher is not None:
            kl = F.kl_div(F.log_softmax(logits / temperature, dim=1), target, reduction="batchmean")
            losses.append(kl * temperature**2)
        loss = sum(losses) / len(losses)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    for net in (model, teacher):  # back to the layout every later stage (coding, export) expects
        if net is not None:
            net.to(memory_format=torch.contiguous_format)
    model.eval()


def frozen_copy(model: torch.nn.Module) -> torch.nn.Module:
    teacher = copy.deepcopy(model).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher
