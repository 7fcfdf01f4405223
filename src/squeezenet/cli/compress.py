"""``compress``: Deep Compression of any weight file to a ``.sqz`` file."""

from __future__ import annotations

import argparse
from typing import Any

from ..compress.pipeline import CompressOptions, compress, format_report
from ..errors import SqueezeNetError
from ..formats.sqz import write_sqz
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
    p.add_argument("--epochs", type=int, default=0, help="retraining epochs after pruning (0: post-training only)")
    p.add_argument("--finetune-epochs", type=int, help="centroid fine-tuning epochs after sharing (default: --epochs)")
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
