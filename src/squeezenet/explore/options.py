"""Every option of ``squeezenet explore`` as data (its flags are made from these fields), and the
training run each design point of a sweep starts from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..data import FASHION_MNIST_DATA
from ..train.config import TrainConfig
from ..utils.options import MAX_BATCH, MAX_WORKERS, check_ranges, option


@dataclass(kw_only=True)
class ExploreOptions:
    """What a sweep trains each design point with; the design flags and the swept kind are the CLI's."""

    values: list[str] | None = option(None, "the swept values, spaces or commas between them (sr, pct3x3, bypass)")
    sr_values: list[str] | None = option(None, "grid: squeeze ratios")
    pct3x3_values: list[str] | None = option(None, "grid: 3x3 shares")
    data: str = option(FASHION_MNIST_DATA, "fashion-mnist or a data folder (train/ and val/ of class folders)")
    data_dir: str | None = option(None, "folder with the Fashion-MNIST IDX files")
    epochs: int = option(2, "epochs per design point", low=1, high=1000)
    batch_size: int | None = option(None, "global batch (default: the recipe's)", low=1, high=MAX_BATCH)
    lr: float | None = option(None, "peak learning rate (default: the recipe's)", low=0, high=100, above=True)
    limit_train: int = option(10000, "training images per point", low=1)
    limit_val: int = option(2000, "validation images per point", low=1)
    full: bool = option(False, "the paper's scale: all data (use with --epochs and ImageNet)")
    seeds: int = option(1, "seeds per point (mean and spread)", low=1, high=100)
    seed: int = option(42, "the first seed")
    workers: int = option(2, "image-decoding processes for folder data", low=0, high=MAX_WORKERS)
    checkpoint_every: int = option(200, "steps between checkpoints", low=0)
    out: str = option("", "sweep directory: results.csv, runs/, plots", kind="out_dir")
    shard: str | None = option(None, "I/N: run every N-th job starting at I (for several machines)")

    def training(self, arch: str, design: dict[str, Any]) -> TrainConfig:
        """The run every point of the sweep changes (its design point and seed), from ``arch`` with
        ``design``; checked here so a bad value is refused before the first point trains."""
        check_ranges(self)
        base = TrainConfig(
            arch=arch,
            data=self.data,
            data_dir=self.data_dir,
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            limit_train=None if self.full else self.limit_train,
            limit_val=None if self.full else self.limit_val,
            seed=self.seed,
            workers=self.workers,
            checkpoint_every=self.checkpoint_every,
            design=design,
        )
        base.resolved()
        return base
