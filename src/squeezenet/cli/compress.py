"""``compress`` (Deep Compression to a ``.sqz`` file), and over-the-air updates of one: ``adapt``
(fine-tune its codebooks), ``diff`` (the patch between two files) and ``patch`` (apply one)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..compress.adapt import AdaptOptions, adapt
from ..compress.pipeline import CompressOptions, compress, format_report
from ..errors import SqueezeNetError
from ..formats.sqz import MAX_FILE, write_sqz
from ..formats.sqzpatch import apply_patch, make_patch
from ..utils.atomic import write_bytes
from ..utils.units import parse_bytes
from .args import add_weights_args, emit, load_weights


def add_compress(sub: Any) -> None:
    p = sub.add_parser("compress", help="Deep Compression to a .sqz file (prune, trained quantization, Huffman)")
    add_weights_args(p)
    p.add_argument("--out", required=True, help="FILE.sqz")
    p.add_argument("--bits", type=int, default=6, help="index bits per weight, 1-8")
    p.add_argument("--bits-per-layer", help="overrides, e.g. conv1=8,expand3x3=5")
    p.add_argument("--density", help="paper | dense | 0.5 | expand3x3=0.33,conv10=0.5,default=1 "
                   "(default: paper with --epochs, else dense)")  # fmt: skip
    p.add_argument("--size-budget", help="e.g. 0.7MB: bits per layer by measured sensitivity, the file at most this size")
    p.add_argument("--calib-data", help="unlabelled images: error-compensated sharing, and distillation with --epochs")
    p.add_argument("--no-compensate", action="store_true", help="round each weight to its nearest centroid even when images are given")
    p.add_argument("--rate-weight", type=float, default=1.0, help="entropy-constrained k-means: weight of code length "
                   "against error (0: plain k-means as Deep Compression, larger: smaller files)")  # fmt: skip
    p.add_argument("--train-data", help="labelled data: fashion-mnist or an ImageNet-layout folder")
    p.add_argument("--epochs", type=float, default=0,
                   help="retraining epochs after pruning, fractions allowed (0: post-training only)")
    p.add_argument("--finetune-epochs", type=float, help="centroid fine-tuning epochs after sharing (default: --epochs)")
    p.add_argument("--prune-stages", type=int, default=1, help="iterative pruning: reach the density in N prune-retrain steps (cubic schedule)")
    p.add_argument("--lr", type=float, default=1e-4, help="retraining learning rate")
    p.add_argument("--batch-size", type=int, default=32, help="retraining batch")
    p.add_argument("--seed", type=int, default=42, help="seed for every random choice")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the report as data")
    p.set_defaults(func=cmd_compress)


def cmd_compress(args: argparse.Namespace) -> int:
    if not args.out.endswith(".sqz"):
        raise SqueezeNetError(f"{args.out}: the compressed file must end in .sqz")
    if args.calib_data and args.train_data:
        raise SqueezeNetError("choose one of --calib-data (distillation) and --train-data (labels)")
    options = CompressOptions(
        bits=args.bits, bits_spec=args.bits_per_layer, density=args.density, calib_data=args.calib_data,
        train_data=args.train_data, epochs=args.epochs, finetune_epochs=args.finetune_epochs,
        prune_stages=args.prune_stages, lr=args.lr, batch_size=args.batch_size, seed=args.seed,
        size_budget=parse_bytes(args.size_budget) if args.size_budget else None, compensate=not args.no_compensate,
        rate_weight=args.rate_weight,
    )  # fmt: skip
    data, report, _ = compress(load_weights(args), options, progress=not args.quiet)
    write_sqz(args.out, data)
    emit(report) if args.json else print(format_report(report))
    return 0


def _read(path: str, what: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise SqueezeNetError(f"{path}: {'not a regular file' if p.exists() else 'no such file'}")
    if p.stat().st_size > MAX_FILE:
        raise SqueezeNetError(f"{path}: larger than any {what}")
    return p.read_bytes()


def add_adapt(sub: Any) -> None:
    p = sub.add_parser("adapt", help="fine-tune a .sqz model's codebooks and biases (indices frozen): a small update")
    p.add_argument("--weights", required=True, help="the BASE.sqz model devices already hold")
    p.add_argument("--train-data", required=True, help="labelled data: fashion-mnist or a folder of class folders (train/)")
    p.add_argument("--out", required=True, help="NEW.sqz")
    p.add_argument("--epochs", type=int, default=AdaptOptions.epochs, help="passes over the training images")
    p.add_argument("--lr", type=float, default=AdaptOptions.lr, help="learning rate of codebooks, biases and a new head")
    p.add_argument("--batch-size", type=int, default=AdaptOptions.batch_size, help="images per step")
    p.add_argument("--seed", type=int, default=AdaptOptions.seed, help="seed for every random choice (and the held-out split)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the report as data")
    p.set_defaults(func=cmd_adapt)


def cmd_adapt(args: argparse.Namespace) -> int:
    if not args.out.endswith(".sqz"):
        raise SqueezeNetError(f"{args.out}: the adapted model must end in .sqz")
    options = AdaptOptions(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed)
    data, report = adapt(_read(args.weights, ".sqz model"), args.train_data, options, progress=not args.quiet)
    write_sqz(args.out, data)
    head = f"conv10 replaced for {len(report['classes'])} classes" if report["head_replaced"] else "conv10 adapted"
    emit(report) if args.json else print(f"wrote {args.out}: {len(data):,} bytes ({head}; indices and masks unchanged)")
    return 0


def add_diff(sub: Any) -> None:
    p = sub.add_parser("diff", help="the update patch that turns one .sqz file into another")
    p.add_argument("base", help="BASE.sqz")
    p.add_argument("new", help="NEW.sqz")
    p.add_argument("--out", required=True, help="UPDATE.sqzpatch")
    p.set_defaults(func=cmd_diff)


def cmd_diff(args: argparse.Namespace) -> int:
    base, new = _read(args.base, ".sqz model"), _read(args.new, ".sqz model")
    patch = make_patch(base, new, (args.base, args.new))
    write_bytes(args.out, patch)
    print(f"wrote {args.out}: {len(patch):,} bytes to send instead of {len(new):,} ({len(new) / len(patch):.1f}x less)")
    return 0


def add_patch(sub: Any) -> None:
    p = sub.add_parser("patch", help="apply an update patch to the .sqz file it was made for")
    p.add_argument("base", help="BASE.sqz")
    p.add_argument("patch", help="UPDATE.sqzpatch")
    p.add_argument("--out", required=True, help="NEW.sqz (checked against the patch's hash before it is written)")
    p.set_defaults(func=cmd_patch)


def cmd_patch(args: argparse.Namespace) -> int:
    new = apply_patch(_read(args.base, ".sqz model"), _read(args.patch, ".sqzpatch"), args.patch)
    write_sqz(args.out, new)
    print(f"wrote {args.out}: {len(new):,} bytes, SHA-256 as the patch promised")
    return 0
