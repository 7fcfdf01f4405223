"""Every option of ``compress`` and ``adapt`` as data, with its range checked in one place.

No torch here: the CLI builds and checks these records before it imports anything heavy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import OptionError


def _finite_at_least(name: str, value: float, lo: float, strict: bool = False) -> None:
    if not (math.isfinite(value) and (value > lo if strict else value >= lo)):
        raise OptionError(name, f"must be a finite number {'>' if strict else '>='} {lo:g}, got {value}")


@dataclass
class CompressOptions:
    """Deep Compression's knobs. Retraining (``epochs``, ``finetune_epochs``) learns from
    ``calib_data`` (unlabelled images, by distillation from the uncompressed model) or from
    ``data`` (labels and distillation): one or the other."""

    bits: int = 6  # index bits per weight
    bits_spec: str | None = None  # per-layer overrides, e.g. "conv1=8,expand3x3=5"
    density: str | None = None  # None: "paper" when retraining, else "dense" (see default_density)
    gap_bits: int = 8  # Deep Compression's position field for conv layers
    calib_data: str | Path | None = None  # unlabelled images: compensated sharing, distillation
    data: str | None = None  # labelled: fashion-mnist or a data folder (train/, and val/ or a held-out share)
    epochs: float = 0  # retraining after pruning; fractions are a share of an epoch's steps
    finetune_epochs: float | None = None  # centroid fine-tuning after weight sharing (None: same as epochs)
    prune_stages: int = 1  # iterative pruning: reach the density in this many prune-retrain steps
    lr: float = 1e-4
    batch_size: int = 32
    seed: int = 42
    split: str | None = None  # a run's split.json: the photos of ``data``'s train/ it held out (else by seed)
    size_budget: int | None = None  # bytes: choose bits per layer by measured sensitivity
    compensate: bool = True  # with calibration or training images: error-compensated assignment
    rate_weight: float = 1.0  # entropy-constrained k-means (cluster.py); 0: plain k-means, as Han et al.
    device: str = "auto"  # where retraining runs (CUDA when present)

    @property
    def finetune(self) -> float:
        return self.epochs if self.finetune_epochs is None else self.finetune_epochs

    @property
    def retrains(self) -> bool:
        return self.epochs > 0 or self.finetune > 0

    def check(self) -> None:
        if not 1 <= self.bits <= 8:
            raise OptionError("bits", f"lies in 1..8, got {self.bits}")
        if not 1 <= self.gap_bits <= 16:
            raise OptionError("gap_bits", f"lies in 1..16, got {self.gap_bits}")
        _finite_at_least("epochs", self.epochs, 0)
        _finite_at_least("finetune_epochs", self.finetune, 0)
        _finite_at_least("rate_weight", self.rate_weight, 0)
        _finite_at_least("lr", self.lr, 0, strict=True)
        if self.batch_size < 1:
            raise OptionError("batch_size", f"must be at least 1, got {self.batch_size}")
        if self.prune_stages < 1:
            raise OptionError("prune_stages", f"counts pruning steps: it must be at least 1, got {self.prune_stages}")
        if self.prune_stages > 1 and self.epochs == 0:
            raise OptionError("prune_stages", "retrains between steps: it needs {epochs}", "epochs")
        if self.size_budget is not None and self.size_budget <= 0:
            raise OptionError("size_budget", f"must be a positive size, got {self.size_budget:,} bytes")
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

    epochs: int = 5  # codebooks and biases
    head_epochs: int = 6  # a replaced head alone, before it is shared
    lr: float = 1e-3  # the new head's; codebooks and biases train at lr * codebook_lr
    codebook_lr: float = 0.1
    batch_size: int = 16
    seed: int = 42
    rate_weight: float = 1.0  # for sharing a replaced head (cluster.py)
    device: str = "auto"

    def check(self) -> None:
        for name in ("epochs", "head_epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise OptionError(name, f"must be at least 1, got {getattr(self, name)}")
        _finite_at_least("lr", self.lr, 0, strict=True)
        _finite_at_least("codebook_lr", self.codebook_lr, 0, strict=True)
        _finite_at_least("rate_weight", self.rate_weight, 0)
