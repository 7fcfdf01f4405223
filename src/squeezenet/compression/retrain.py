"""Retraining during compression: with labels (the paper's way) or by distillation.

The uncompressed model is the teacher: the compressed student learns to reproduce its output
distribution (KL divergence at temperature T), which drives both the masked retraining after
pruning and the centroid fine-tuning after weight sharing. Without the training set that is the
whole signal, on unlabelled images with augmentation; with labels it is averaged with the
cross-entropy (Hinton et al.'s distillation), which recovers more than labels alone. Each step
is the training loop's own (``train.step``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F

from ..data import FASHION_MNIST_DATA
from ..data.images import read_unlabelled
from ..data.sources import build_source, mix_seed
from ..data.split import Split
from ..errors import SqueezeNetError
from ..formats.loaded import LoadedModel
from ..formats.preprocess import Preprocess
from ..train.step import LossFn, StepOptions, Stepper
from ..utils.metrics import Accuracy
from ..utils.progress import track

Batches = Iterator[tuple[torch.Tensor, torch.Tensor | None]]


def unlabelled_batches(
    calib_dir: str | Path, preprocess: Preprocess, batch_size: int, seed: int
) -> tuple[Batches, int]:
    """Endless augmented batches from a folder of unlabelled images, and the image count."""
    from torchvision.transforms import v2

    resize = v2.Resize(preprocess.resize, antialias=True) if preprocess.resize else v2.Identity()
    images = read_unlabelled(calib_dir, preprocess.mode, resize, min_side=preprocess.decode_side)
    augment = v2.Compose(
        [
            v2.ToImage(),
            v2.RandomResizedCrop(preprocess.crop, scale=(0.25, 1.0), antialias=True),
            v2.RandomHorizontalFlip(),
            preprocess.normalize(),
        ]
    )

    def generate() -> Batches:
        step = 0
        while True:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(mix_seed(seed, step))
                picks = torch.randint(0, len(images), (batch_size,)).tolist()
                yield torch.stack([augment(images[i]) for i in picks]), None
            step += 1

    return generate(), len(images)


def labelled_batches(
    data: str, batch_size: int, seed: int, loaded: LoadedModel, split: str | None = None
) -> tuple[Batches, int]:
    """Endless labelled batches from fashion-mnist or a folder (its ``train/`` part, less the share a
    fine-tuning run held out: the one its ``split`` file lists, else the one ``seed`` draws), in
    ``loaded``'s input convention."""
    source = build_source(
        data,
        workers=0,
        base=loaded.preprocess,
        seed=seed,
        input_size=None if data == FASHION_MNIST_DATA else loaded.preprocess.crop,
        split=Split.read(split) if split else None,
    )
    if source.num_classes != loaded.config.num_classes:
        raise SqueezeNetError(f"{data} has {source.num_classes} classes, the model {loaded.config.num_classes}")
    batch_size = min(batch_size, source.train_size)  # a few hundred photos: every one of them
    named = loaded.folder_classes
    if named is not None and source.classes != named:  # labels are indices: the same names must be in the same order
        raise SqueezeNetError(f"{data}: classes {source.classes[:5]} are not the model's {named[:5]}")

    def generate() -> Batches:
        epoch = 0
        while True:
            for batch in source.train_batches(epoch, 0, batch_size, 0, 1, seed):
                yield batch.images, batch.targets
            epoch += 1

    return generate(), source.train_size


@torch.no_grad()
def held_out_top1(
    models: list[torch.nn.Module], data: str, seed: int, preprocess: Preprocess, split: str | None = None
) -> tuple[list[float], int]:
    """Top-1 (%) of each model on the images ``data`` holds out (its val/, Fashion-MNIST's test
    set, or the share of train/ a run held out: its ``split`` file's, else the one ``seed`` draws),
    and how many there are."""
    source = build_source(
        data,
        workers=0,
        base=preprocess,
        seed=seed,
        input_size=None if data == FASHION_MNIST_DATA else preprocess.crop,
        split=Split.read(split) if split else None,
    )
    metrics = [Accuracy() for _ in models]
    for batch in source.val_batches(256, 0, 1):
        if len(batch.targets):
            for model, metric in zip(models, metrics):
                metric.update(model.eval()(batch.images), batch.targets)
    return [m.top1_percent for m in metrics], metrics[0].count


def distillation(teacher: torch.nn.Module | None, temperature: float = 2.0) -> LossFn:
    """Cross-entropy on labels where a batch has them, KL to the teacher at ``temperature``
    where there is one; the mean of the two when both."""

    def loss(logits: torch.Tensor, images: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
        logits = logits.float()
        losses = [] if targets is None else [F.cross_entropy(logits, targets)]
        if teacher is not None:
            with torch.no_grad():
                target = F.softmax(teacher(images).float() / temperature, dim=1)
            kl = F.kl_div(F.log_softmax(logits / temperature, dim=1), target, reduction="batchmean")
            losses.append(kl * temperature**2)
        return sum(losses) / len(losses)

    return loss


def retrain(
    model: torch.nn.Module,
    batches: Batches,
    steps: int,
    lr: float,
    teacher: torch.nn.Module | None,
    desc: str,
    seed: int,
    device: torch.device,
    progress: bool = True,
) -> None:
    """Train whatever in ``model`` still requires grad (masked weights, or codebooks and biases):
    AdamW without weight decay, linear decay to zero, channels-last, native bf16 where there is."""
    # The weights go channels-last too: a one-channel image's layout is ambiguous, so with NCHW
    # weights the whole network would run NCHW (its max-pool is several times slower).
    nets = [net for net in (model, teacher) if net is not None]
    for net in nets:
        net.to(device, memory_format=torch.channels_last)
    stepper = Stepper(model, StepOptions(lr=lr, total_steps=steps, seed=seed), device, distillation(teacher))
    model.train()
    for step in track(range(steps), steps, desc, quiet=not progress):
        images, targets = next(batches)
        stepper(images, targets, step)
    for net in nets:  # back to what every later stage (coding, export) expects
        net.to("cpu", memory_format=torch.contiguous_format)
    model.eval()


def frozen_copy(model: torch.nn.Module) -> torch.nn.Module:
    teacher = copy.deepcopy(model).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher
