"""Training settings as data. Two recipes: the paper's ImageNet solver, and small-data defaults.

``TrainConfig`` is the one definition of a training run: ``squeezenet train`` builds its
options from these fields (each field's ``help`` is its flag's help), and ``check`` is where
every value's range is enforced, for the CLI and the Python API alike.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ..data import FASHION_MNIST_DATA
from ..data.split import DEFAULT_VAL_SPLIT
from ..errors import OptionError
from ..models.registry import DEFAULT_ARCH
from ..utils.options import MAX_SIDE, MAX_WORKERS, check_ranges, option

# solver.prototxt of the release: SGD momentum 0.9, wd 2e-4, base lr 0.04, poly power 1
# (linear decay to zero), global batch 512 (32 x iter_size 16), random_seed 42.
PAPER_RECIPE: dict[str, Any] = {
    "optimizer": "sgd",
    "lr": 0.04,
    "momentum": 0.9,
    "weight_decay": 2e-4,
    "batch_size": 512,
    "warmup_epochs": 0.0,
    "epochs": 68,
    "label_smoothing": 0.0,
    "grad_clip": 0.0,
    "augment": True,
}
# Small datasets (Fashion-MNIST). SqueezeNet has no batch norm and its last ReLU sits on the
# logits: SGD at the ImageNet lr zeroes every logit within a few steps and the loss stays at
# ln(10). AdamW with warm-up, gradient-norm clipping and the same linear decay converges every
# time. Five epochs: the demo's budget (docs/results/training.md has the alternatives measured).
SMALL_RECIPE: dict[str, Any] = {
    "optimizer": "adamw",
    "lr": 0.003,
    "momentum": 0.9,
    "weight_decay": 0.05,
    "batch_size": 128,
    "warmup_epochs": 0.3,
    "epochs": 5,
    "label_smoothing": 0.1,
    "grad_clip": 1.0,
    "augment": False,
}
# Fine-tuning pretrained weights on a few hundred images (--weights): AdamW, the pretrained
# layers at a tenth of the new head's rate, short epochs of batch 8. Chosen by cross-validation on
# six held-out splits of hymenoptera/train (seeds 3-8) among rates 3e-4 to 1e-3, 6 to 15 epochs
# and body rates of 0.1 and 0.3; docs/results/finetune.md scores it against the tutorial's recipe
# on six other splits.
FINETUNE_RECIPE: dict[str, Any] = {
    "optimizer": "adamw",
    "lr": 5e-4,
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "batch_size": 8,
    "warmup_epochs": 0.25,
    "epochs": 12,
    "label_smoothing": 0.1,
    "grad_clip": 1.0,
    "augment": True,
    "backbone_lr": 0.1,
}
MODEL_FILE = "model.safetensors"  # the trained model in a run directory
RUN_FILES = (MODEL_FILE, "metrics.csv", "run.json")  # what a run writes besides its checkpoint


@dataclass
class TrainConfig:
    arch: str | None = None  # set with the design flags; None: squeezenet1_1, or what --weights holds
    data: str = option(
        FASHION_MNIST_DATA, "fashion-mnist, or a directory with train/ (and optionally val/) class folders"
    )
    weights: str | None = option(
        None,
        "start from these weights (any format the toolkit reads, or 'imagenet'): "
        "conv10 is replaced when the classes differ, everything else is kept",
    )
    freeze: str = option(
        "none", "features: train conv10 only (a linear probe); none: every layer", choices=("none", "features")
    )
    backbone_lr: float | None = option(
        None, "learning rate of the pretrained layers, as a fraction of --lr (with --weights)"
    )
    val_split: float | None = option(
        None, f"hold out this share of each class of train/ to validate (default {DEFAULT_VAL_SPLIT} without val/)"
    )
    split: str | None = option(
        None,
        "a split.json (another run's, or a fold of your own): hold out exactly its photos of train/, not a "
        "share drawn by --seed",
        kind="file",
    )
    out: str = option("runs/train", f"run directory: checkpoint, metrics.csv, curves.png, run.json, {MODEL_FILE}")
    data_dir: str | None = option(None, "folder with the Fashion-MNIST IDX files (default: Debian's package)")
    download: bool = option(False, "fetch Fashion-MNIST with torchvision if absent (needs internet)")
    epochs: int | None = option(None, "passes over the training set", low=1, high=100_000)
    optimizer: str | None = option(None, "sgd: the paper's; adamw: the small-data default", choices=("sgd", "adamw"))
    batch_size: int | None = option(
        None, "global batch, split across processes (the lr follows it)", low=1, high=65_536
    )
    lr: float | None = option(
        None, "peak learning rate (after warm-up; linear decay to zero)", low=0, high=100, above=True
    )
    momentum: float | None = option(None, "SGD momentum")
    weight_decay: float | None = option(None, "weight decay (decoupled for AdamW)")
    warmup_epochs: float | None = option(None, "linear warm-up length in epochs")
    label_smoothing: float | None = option(None, "cross-entropy label smoothing, 0-1")
    grad_clip: float | None = option(None, "max gradient norm (0: off); keeps conv10's ReLU from dying early")
    input_size: int | None = option(
        None, "image side in pixels (default: 28 for fashion-mnist, 224 for folders)", low=1, high=MAX_SIDE
    )
    limit_train: int | None = option(None, "train on a seeded subset of this many images", low=1)
    limit_val: int | None = option(None, "validate on a seeded subset of this many images", low=1)
    seed: int = option(42, "seed for initialisation, order, augmentation and dropout (the release's random_seed)")
    resume: bool = option(False, "continue the run in --out from its last checkpoint")
    checkpoint_every: int = option(200, "steps between checkpoints (0: epoch ends only)", low=0)
    workers: int = option(2, "image-decoding processes for folder data (0: in this process)", low=0, high=MAX_WORKERS)
    cache: bool = option(
        True, "decode each training photo once and keep it in memory (when that fits a quarter of it); else every epoch"
    )
    device: str = option("auto", "auto (CUDA when present), cpu or cuda")
    amp: str = option(
        "auto",
        "mixed precision: auto (bf16 where the CPU or GPU computes it natively)",
        choices=("auto", "bf16", "fp16", "off"),
    )
    channels_last: bool = option(True, "channels-last memory format (faster convolutions on CPU)")
    augment: bool | None = option(None, "random crop/flip")
    quiet: bool = option(False, "no progress bars or per-epoch lines")
    max_steps: int | None = None  # stop (as if killed) after this many steps in this process; for tests
    design: dict[str, Any] = field(default_factory=dict)  # sr, pct3x3, bypass, ... overrides

    def resolved(self) -> TrainConfig:
        """Fill unset hyperparameters from the recipe that fits the run, then check every value."""
        recipe = FINETUNE_RECIPE if self.weights else SMALL_RECIPE if self.data == FASHION_MNIST_DATA else PAPER_RECIPE
        changes = {k: v for k, v in recipe.items() if getattr(self, k) is None}
        if self.arch is None and not self.weights:
            changes["arch"] = DEFAULT_ARCH
        if self.backbone_lr is None and "backbone_lr" not in recipe:
            changes["backbone_lr"] = 1.0
        resolved = dataclasses.replace(self, **changes)
        resolved.check()
        return resolved

    def check(self) -> None:
        """Every range in one place; a bad value is a one-line error, not a crash mid-run."""
        check_ranges(self)
        if self.freeze != "none" and not self.weights:
            raise OptionError("freeze", "keeps pretrained layers fixed: it needs {weights}", "weights")
        bounds = {  # [low, high): a momentum or a label smoothing of 1 is refused
            "momentum": (0.0, 1.0),
            "weight_decay": (0.0, math.inf),
            "backbone_lr": (0.0, math.inf),
            "warmup_epochs": (0.0, math.inf),
            "label_smoothing": (0.0, 1.0),
            "grad_clip": (0.0, math.inf),
        }
        for name, (lo, hi) in bounds.items():
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and lo <= value < hi):
                raise OptionError(name, f"must be a finite number in [{lo}, {hi}), got {value}")
        if self.val_split is not None and not 0.0 < self.val_split < 1.0:
            raise OptionError("val_split", f"is a fraction of each class, in (0, 1); got {self.val_split}")
        if self.split is not None and (self.data == FASHION_MNIST_DATA or self.val_split is not None):
            raise OptionError(
                "split", "lists photos of an image folder's train/: not with Fashion-MNIST or {val_split}", "val_split"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def recipe_default(name: str) -> str:
    """How the default of a recipe-filled option reads in --help."""
    if name not in SMALL_RECIPE:
        return f" (default: {FINETUNE_RECIPE[name]} with --weights)" if name in FINETUNE_RECIPE else ""
    return (
        f" (default: {FINETUNE_RECIPE[name]} fine-tuning with --weights, {SMALL_RECIPE[name]} on fashion-mnist, "
        f"{PAPER_RECIPE[name]} from scratch on a folder: the paper's)"
    )
