"""Every option of ``compress`` and ``adapt`` as data, with its range checked in one place.

No torch here: the CLI builds and checks these records before it imports anything heavy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import OptionError
from ..utils.options import MAX_BATCH, check_ranges, option


@dataclass
class CompressOptions:
    """Deep Compression's knobs. Retraining (``epochs``, ``finetune_epochs``) learns from
    ``calib_data`` (unlabelled images, by distillation from the uncompressed model) or from
    ``data`` (labels and distillation): one or the other."""

    bits: int = option(6, "index bits per weight, 1-8", low=1, high=8)
    bits_spec: str | None = option(None, "overrides, e.g. conv1=8,expand3x3=5")
    density: str | None = option(
        None, "paper | dense | 0.5 | expand3x3=0.33,conv10=0.5,default=1 (default: paper with --epochs, else dense)"
    )
    gap_bits: int = 8  # Deep Compression's position field for conv layers (not a flag: the format's)
    calib_data: str | Path | None = option(
        None, "unlabelled images: error-compensated sharing, and distillation with --epochs", kind="dir"
    )
    data: str | None = option(
        None,
        "labelled data (fashion-mnist or a data folder): retraining learns from its train/ images, the report "
        "scores its held-out ones",
        kind="data",
    )
    epochs: float = option(0.0, "retraining epochs after pruning, fractions allowed (0: post-training only)", low=0)
    finetune_epochs: float | None = option(None, "centroid fine-tuning epochs after sharing (default: --epochs)", low=0)
    prune_stages: int = option(
        1, "iterative pruning: reach the density in N prune-retrain steps (cubic schedule)", low=1, high=1000
    )
    lr: float = option(1e-4, "retraining learning rate", low=0, high=100, above=True)
    batch_size: int = option(32, "retraining batch", low=1, high=MAX_BATCH)
    seed: int = option(42, "seed for every random choice (and the held-out split)", low=0)
    split: str | None = None  # a run's split.json: the photos of ``data``'s train/ it held out (else by seed)
    size_budget: int | None = option(
        None, "e.g. 0.7MB: bits per layer by measured sensitivity, the file at most this size", low=1, kind="bytes"
    )
    compensate: bool = option(True, "round each weight to its nearest centroid even when images are given")
    channel_scales: bool | None = option(
        None,
        "stretch each layer's shared codebook per output channel (default: chosen per layer under --size-budget, "
        "else off as Deep Compression)",
    )
    rate_weight: float = option(
        1.0,
        "entropy-constrained k-means: weight of code length against error (0: plain k-means as Deep "
        "Compression, larger: smaller files)",
        low=0,
        high=1e6,
    )
    device: str = "auto"  # where retraining runs (CUDA when present); the flag is --weights' companion

    @property
    def finetune(self) -> float:
        return self.epochs if self.finetune_epochs is None else self.finetune_epochs

    @property
    def retrains(self) -> bool:
        return self.epochs > 0 or self.finetune > 0

    def check(self) -> None:
        check_ranges(self)
        if not 1 <= self.gap_bits <= 16:
            raise OptionError("gap_bits", f"lies in 1..16, got {self.gap_bits}")
        if self.prune_stages > 1 and self.epochs == 0:
            raise OptionError("prune_stages", "retrains between steps: it needs {epochs}", "epochs")
        if self.calib_data is not None and self.data is not None:
            raise OptionError("calib_data", "(distillation) and {data} (labels) exclude each other: choose one", "data")
        images = self.calib_data is not None or self.data is not None
        if self.retrains and not images:
            raise OptionError("epochs", "retrains on images: pass {calib_data} or {data}", "calib_data", "data")
        if self.size_budget is not None and not images:
            raise OptionError(
                "size_budget", "measures sensitivity on images: pass {calib_data} or {data}", "calib_data", "data"
            )


@dataclass
class AdaptOptions:
    """Codebook fine-tuning of a ``.sqz`` (indices frozen); chosen against fine-tuning then
    compressing on held-out splits (docs/results/ota.md)."""

    epochs: int = option(5, "passes over the training images (codebooks)", low=1, high=1_000_000)
    head_epochs: int = option(6, "passes training a replaced head alone first", low=1, high=1_000_000)
    lr: float = option(1e-3, "learning rate of a new head", low=0, high=100, above=True)
    codebook_lr: float = option(0.1, "codebooks' and biases' rate, a fraction of --lr", low=0, high=100, above=True)
    batch_size: int = option(16, "images per step", low=1, high=MAX_BATCH)
    seed: int = option(42, "seed for every random choice (and the held-out split)", low=0)
    rate_weight: float = option(1.0, "entropy-constrained k-means weight for sharing a replaced head", low=0, high=1e6)
    device: str = option("auto", "auto (CUDA when present), cpu or cuda")

    def check(self) -> None:
        check_ranges(self)
