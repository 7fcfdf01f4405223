"""``train`` (options generated from ``TrainConfig``), ``demo`` (the main job) and ``explore`` (sweeps)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from ..data import FASHION_MNIST_DATA
from ..errors import OptionError
from ..explore.points import KINDS
from ..models.registry import ARCHS, DEFAULT_ARCH
from ..train.config import TrainConfig, recipe_default
from ..utils.options import MAX_BATCH, MAX_WORKERS
from .args import (
    add_design_args,
    add_quiet,
    add_record,
    design_from_args,
    emit,
    integer,
    output_dir,
    real,
    record_from_args,
    split_commas,
)

EXPLORE_DESIGN = ("base_e", "incr_e", "freq")  # the rest is what a sweep varies


def add_train(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train on Fashion-MNIST or a data folder, from scratch or from weights (torchrun for many processes)",
    )
    add_design_args(p)  # classes and channels come from the data
    add_record(p, TrainConfig, required=("out",), more_help=recipe_default)
    p.add_argument("--max-steps", type=integer(1), help=argparse.SUPPRESS)  # stop as if killed: for tests
    p.add_argument("--json", action="store_true", help="print the run summary as data")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    cfg = dataclasses.replace(record_from_args(TrainConfig, args), design=design_from_args(args))
    cfg.resolved()  # every range checked before anything is imported
    from ..train.loop import train

    summary = train(cfg)
    if summary.rank != 0 or summary.stopped_early:  # under torchrun, one report, not one per process
        return 0
    if args.json:
        emit({k: v for k, v in summary.to_dict().items() if k != "history"})
        return 0
    split = f"; held-out split in {summary.split_path} (eval --run {cfg.out})" if summary.split_path else ""
    print(
        f"saved {summary.model_path}: val top-1 {summary.val_top1:.2f}% after {len(summary.history)} epochs "
        f"({summary.train_seconds:.0f} s of training){split}"
    )
    return 0


def add_demo(sub: Any) -> None:
    p = sub.add_parser("demo", help="the main job: train on Fashion-MNIST and write runs/demo/report.*")
    p.add_argument("--out", default="runs/demo", type=output_dir, help="where the runs and the report go")
    p.add_argument("--epochs", type=integer(1, 1000), help="training epochs (default: the small recipe's)")
    add_quiet(p)
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    if args.epochs is not None and args.epochs < 1:
        raise OptionError("epochs", f"must be at least 1, got {args.epochs}")
    from ..demo import run_demo

    report = run_demo(args.out, args.epochs, args.quiet)
    print(f"demo done: test top-1 {report['test_top1']:.2f}%; report in {args.out}/report.md")
    return 0


def add_explore(sub: Any) -> None:
    p = sub.add_parser("explore", help="design-space sweeps (paper Sections 5-6) with Figure-2 style plots")
    p.add_argument("kind", choices=KINDS, help="what to sweep")
    p.add_argument("--values", nargs="+", help="the swept values, spaces or commas between them (sr, pct3x3, bypass)")
    p.add_argument("--sr-values", nargs="+", help="grid: squeeze ratios")
    p.add_argument("--pct3x3-values", nargs="+", help="grid: 3x3 shares")
    p.add_argument("--base-arch", choices=sorted(ARCHS), default=DEFAULT_ARCH, help="the macro layout")
    add_design_args(p, EXPLORE_DESIGN)
    p.add_argument(
        "--data", default=FASHION_MNIST_DATA, help="fashion-mnist or a data folder (train/ and val/ of class folders)"
    )
    p.add_argument("--data-dir", help="folder with the Fashion-MNIST IDX files")
    p.add_argument("--epochs", type=integer(1, 1000), default=2, help="epochs per design point")
    p.add_argument("--batch-size", type=integer(1, MAX_BATCH), help="global batch (default: the recipe's)")
    p.add_argument("--lr", type=real(0.0, 100.0, above=True), help="peak learning rate (default: the recipe's)")
    p.add_argument("--limit-train", type=integer(1), default=10000, help="training images per point")
    p.add_argument("--limit-val", type=integer(1), default=2000, help="validation images per point")
    p.add_argument("--full", action="store_true", help="the paper's scale: all data (use with --epochs and ImageNet)")
    p.add_argument("--seeds", type=integer(1, 100), default=1, help="seeds per point (mean and spread)")
    p.add_argument("--seed", type=integer(), default=42, help="the first seed")
    p.add_argument(
        "--workers", type=integer(0, MAX_WORKERS), default=2, help="image-decoding processes for folder data"
    )
    p.add_argument("--checkpoint-every", type=integer(), default=200, help="steps between checkpoints")
    p.add_argument("--out", required=True, type=output_dir, help="sweep directory: results.csv, runs/, plots")
    p.add_argument("--shard", help="I/N: run every N-th job starting at I (for several machines)")
    add_quiet(p)
    p.set_defaults(func=cmd_explore)


def cmd_explore(args: argparse.Namespace) -> int:
    from ..explore.points import design_points, parse_shard

    points = design_points(
        args.kind, split_commas(args.values), split_commas(args.sr_values), split_commas(args.pct3x3_values)
    )
    if not points:
        raise OptionError("values", f"lists the points of explore {args.kind}: give some")
    if args.seeds < 1:
        raise OptionError("seeds", f"must be at least 1, got {args.seeds}")
    base = TrainConfig(
        arch=args.base_arch,
        data=args.data,
        data_dir=args.data_dir,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        limit_train=None if args.full else args.limit_train,
        limit_val=None if args.full else args.limit_val,
        seed=args.seed,
        workers=args.workers,
        checkpoint_every=args.checkpoint_every,
        design=design_from_args(args, EXPLORE_DESIGN),
    )
    base.resolved()  # refuse bad values before the first point trains
    shard = parse_shard(args.shard)
    from ..explore.plots import write_views
    from ..explore.results import read_rows
    from ..explore.sweep import run_sweep
    from ..utils.device import machine

    run_sweep(points, base, args.out, args.seeds, shard, args.quiet)
    note = f"Generated by `{args.command_line}` on {machine()}."
    written = write_views(read_rows(Path(args.out) / "results.csv"), args.kind, Path(args.out), note)
    print(f"results in {args.out}/results.csv; views: {', '.join(str(p) for p in written)}")
    return 0
