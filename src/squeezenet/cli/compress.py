"""``compress`` (Deep Compression to a ``.sqz`` file), and updates of one: ``adapt`` (fine-tune its
codebooks), ``diff`` (the patch between two files) and ``patch`` (apply one)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..compression.options import AdaptOptions, CompressOptions
from ..data.split import SPLIT_FILE
from ..errors import OptionError, SqueezeNetError
from ..formats.sqz import MAX_FILE
from ..utils.units import parse_bytes
from .args import (
    FASHION_MNIST,
    MAX_BATCH,
    add_json,
    add_quiet,
    add_weights_args,
    dataset,
    emit,
    existing_dir,
    existing_file,
    integer,
    load_weights,
    output_file,
    real,
)

COMPRESS = CompressOptions()
ADAPT = AdaptOptions()


def _sqz_out(path: str) -> str:
    if not path.endswith(".sqz"):
        raise argparse.ArgumentTypeError(f"{path}: a compressed model's file ends in .sqz")
    return output_file(path)


def _run_split(weights: str, data: str | None) -> str | None:
    """The split file of the run whose model ``weights`` is, when ``data`` is a folder: the report
    then scores the photos that run held out, whatever ``--seed`` says."""
    split = Path(weights).parent / SPLIT_FILE
    return str(split) if data is not None and data != FASHION_MNIST and split.is_file() else None


def add_compress(sub: Any) -> None:
    p = sub.add_parser("compress", help="Deep Compression to a .sqz file (prune, trained quantization, Huffman)")
    add_weights_args(p)
    p.add_argument("--out", required=True, type=_sqz_out, help="FILE.sqz")
    p.add_argument("--bits", type=integer(1, 8), default=COMPRESS.bits, help="index bits per weight, 1-8")
    p.add_argument("--bits-per-layer", help="overrides, e.g. conv1=8,expand3x3=5")
    p.add_argument(
        "--density",
        help="paper | dense | 0.5 | expand3x3=0.33,conv10=0.5,default=1 (default: paper with --epochs, else dense)",
    )
    p.add_argument(
        "--size-budget", help="e.g. 0.7MB: bits per layer by measured sensitivity, the file at most this size"
    )
    p.add_argument(
        "--calib-data",
        type=existing_dir,
        help="unlabelled images: error-compensated sharing, and distillation with --epochs",
    )
    p.add_argument(
        "--no-compensate",
        action="store_true",
        help="round each weight to its nearest centroid even when images are given",
    )
    p.add_argument(
        "--rate-weight",
        type=real(),
        default=COMPRESS.rate_weight,
        help="entropy-constrained k-means: weight "
        "of code length against error (0: plain k-means as Deep Compression, larger: smaller files)",
    )
    p.add_argument(
        "--data",
        type=dataset,
        help="labelled data (fashion-mnist or a data folder): retraining learns from "
        "its train/ images, the report scores its held-out ones",
    )
    p.add_argument(
        "--epochs",
        type=real(),
        default=COMPRESS.epochs,
        help="retraining epochs after pruning, fractions allowed (0: post-training only)",
    )
    p.add_argument(
        "--finetune-epochs", type=real(), help="centroid fine-tuning epochs after sharing (default: --epochs)"
    )
    p.add_argument(
        "--prune-stages",
        type=integer(1, 1000),
        default=COMPRESS.prune_stages,
        help="iterative pruning: reach the density in N prune-retrain steps (cubic schedule)",
    )
    p.add_argument("--lr", type=real(0.0, 100.0, above=True), default=COMPRESS.lr, help="retraining learning rate")
    p.add_argument("--batch-size", type=integer(1, MAX_BATCH), default=COMPRESS.batch_size, help="retraining batch")
    p.add_argument(
        "--seed", type=integer(), default=COMPRESS.seed, help="seed for every random choice (and the held-out split)"
    )
    add_quiet(p)
    add_json(p, "the report")
    p.set_defaults(func=cmd_compress)


def cmd_compress(args: argparse.Namespace) -> int:
    options = CompressOptions(
        bits=args.bits,
        bits_spec=args.bits_per_layer,
        density=args.density,
        calib_data=args.calib_data,
        data=args.data,
        epochs=args.epochs,
        finetune_epochs=args.finetune_epochs,
        prune_stages=args.prune_stages,
        lr=args.lr,
        batch_size=args.batch_size,
        seed=args.seed,
        split=_run_split(args.weights, args.data),
        size_budget=parse_bytes(args.size_budget) if args.size_budget else None,
        compensate=not args.no_compensate,
        rate_weight=args.rate_weight,
        device=args.device,
    )
    options.check()
    from ..compression.pipeline import compress, format_report
    from ..utils.atomic import write_bytes

    compressed = compress(load_weights(args), options, progress=not args.quiet)
    write_bytes(args.out, compressed.data)
    emit(compressed.report.to_dict()) if args.json else print(format_report(compressed.report))
    return 0


def _read(path: str, what: str) -> bytes:
    if Path(path).stat().st_size > MAX_FILE:
        raise SqueezeNetError(f"{path}: larger than any {what}")
    return Path(path).read_bytes()


def add_adapt(sub: Any) -> None:
    p = sub.add_parser("adapt", help="fine-tune a .sqz model's codebooks and biases (indices frozen): a small update")
    p.add_argument("--weights", required=True, type=existing_file, help="the BASE.sqz model devices already hold")
    p.add_argument("--data", required=True, type=dataset, help="labelled data: fashion-mnist or a data folder (train/)")
    p.add_argument("--out", required=True, type=_sqz_out, help="NEW.sqz")
    p.add_argument(
        "--epochs", type=integer(1, 1_000_000), default=ADAPT.epochs, help="passes over the training images (codebooks)"
    )
    p.add_argument(
        "--head-epochs",
        type=integer(1, 1_000_000),
        default=ADAPT.head_epochs,
        help="passes training a replaced head alone first",
    )
    p.add_argument("--lr", type=real(0.0, 100.0, above=True), default=ADAPT.lr, help="learning rate of a new head")
    p.add_argument(
        "--codebook-lr",
        type=real(0.0, 100.0, above=True),
        default=ADAPT.codebook_lr,
        help="codebooks' and biases' rate, a fraction of --lr",
    )
    p.add_argument("--batch-size", type=integer(1, MAX_BATCH), default=ADAPT.batch_size, help="images per step")
    p.add_argument(
        "--seed", type=integer(), default=ADAPT.seed, help="seed for every random choice (and the held-out split)"
    )
    p.add_argument("--device", default=ADAPT.device, help="auto (CUDA when present), cpu or cuda")
    add_quiet(p)
    add_json(p, "the report")
    p.set_defaults(func=cmd_adapt)


def cmd_adapt(args: argparse.Namespace) -> int:
    options = AdaptOptions(
        epochs=args.epochs,
        head_epochs=args.head_epochs,
        lr=args.lr,
        codebook_lr=args.codebook_lr,
        batch_size=args.batch_size,
        seed=args.seed,
        device=args.device,
    )
    options.check()
    if not args.weights.endswith(".sqz"):
        raise OptionError(
            "weights", f"{args.weights}: adapt fine-tunes a .sqz model; compress it first (squeezenet compress)"
        )
    from ..compression.adapt import adapt
    from ..utils.atomic import write_bytes

    data, report = adapt(_read(args.weights, ".sqz model"), args.data, options, progress=not args.quiet)
    write_bytes(args.out, data)
    head = f"conv10 replaced for {len(report.classes)} classes" if report.head_replaced else "conv10 adapted"
    base = "the base with its new head trained alone" if report.head_replaced else "the base"
    if args.json:
        emit(report.to_dict())
        return 0
    print(f"wrote {args.out}: {len(data):,} bytes ({head}; indices and masks unchanged)")
    print(
        f"held-out top-1 {report.held_out_top1:.2f}% on {report.held_out_images} images ({base}: "
        f"{report.base_held_out_top1:.2f}%)"
    )
    return 0


def add_diff(sub: Any) -> None:
    p = sub.add_parser("diff", help="the update patch that turns one .sqz file into another")
    p.add_argument("--base", required=True, type=existing_file, help="BASE.sqz, what the device holds")
    p.add_argument("--new", required=True, type=existing_file, help="NEW.sqz")
    p.add_argument("--out", required=True, type=output_file, help="UPDATE.sqzpatch")
    p.set_defaults(func=cmd_diff)


def cmd_diff(args: argparse.Namespace) -> int:
    from ..formats.sqzpatch import make_patch
    from ..utils.atomic import write_bytes

    base, new = _read(args.base, ".sqz model"), _read(args.new, ".sqz model")
    patch = make_patch(base, new, (args.base, args.new))
    write_bytes(args.out, patch)
    print(f"wrote {args.out}: {len(patch):,} bytes to send instead of {len(new):,} ({len(new) / len(patch):.1f}x less)")
    return 0


def add_patch(sub: Any) -> None:
    p = sub.add_parser("patch", help="apply an update patch to the .sqz file it was made for")
    p.add_argument("--base", required=True, type=existing_file, help="BASE.sqz")
    p.add_argument("--patch", required=True, type=existing_file, help="UPDATE.sqzpatch")
    p.add_argument(
        "--out", required=True, type=_sqz_out, help="NEW.sqz (checked against the patch's hash before it is written)"
    )
    p.set_defaults(func=cmd_patch)


def cmd_patch(args: argparse.Namespace) -> int:
    from ..formats.sqzpatch import apply_patch
    from ..utils.atomic import write_bytes

    new = apply_patch(_read(args.base, ".sqz model"), _read(args.patch, ".sqzpatch"), args.patch)
    write_bytes(args.out, new)
    print(f"wrote {args.out}: {len(new):,} bytes, SHA-256 as the patch promised")
    return 0
