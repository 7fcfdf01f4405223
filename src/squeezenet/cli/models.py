"""``info`` (the Table 1 view of any design point) and ``convert`` (between weight formats)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..deploy.footprint import PRECISIONS, footprint, format_footprint
from ..formats.weights import save_model
from ..models import SqueezeNet
from ..models.summary import format_table, summarize
from ..utils.units import parse_bytes
from .args import add_design_args, add_weights_args, config_from_args, emit, load_weights


def add_info(sub: Any) -> None:
    p = sub.add_parser("info", help="Table 1 view: per-layer shapes, params, MACs, size")
    add_design_args(p, head=True)
    p.add_argument("--input-size", type=int, default=224, help="image side in pixels")
    p.add_argument("--footprint", action="store_true", help="weights + peak activations against an on-chip budget")
    p.add_argument("--precision", choices=PRECISIONS, default="fp32", help="bytes per weight and activation")
    p.add_argument("--sqz", help="with --precision sqz: the compressed file whose size counts")
    p.add_argument("--budget", default="10MB", help="on-chip memory budget, e.g. 10MB, 512KiB")
    p.add_argument("--json", action="store_true", help="print the same as data")
    p.set_defaults(func=cmd_info)


def cmd_info(args: argparse.Namespace) -> int:
    config = config_from_args(args, default_arch="squeezenet1_0")
    model = SqueezeNet(config)
    summary = summarize(model, args.input_size)
    data: dict[str, Any] = {"config": config.to_dict(), **summary.to_dict()}
    if args.footprint:
        budget = parse_bytes(args.budget) if args.budget else None
        data["footprint"] = footprint(model, args.input_size, args.precision, budget, args.sqz).to_dict()
    if args.json:
        emit(data)
        return 0
    print(format_table(summary))
    if args.footprint:
        print(format_footprint(data["footprint"]))
    return 0


def add_convert(sub: Any) -> None:
    p = sub.add_parser("convert", help="any supported weight format to .safetensors or .pth")
    p.add_argument("src", help="source weights")
    add_weights_args(p, required=False)
    p.add_argument("--out", required=True, help="FILE.safetensors (with config, preprocessing, classes) or FILE.pth")
    p.set_defaults(func=cmd_convert)


def cmd_convert(args: argparse.Namespace) -> int:
    args.weights = args.src
    loaded = load_weights(args)
    save_model(loaded.model, args.out, loaded.preprocess, loaded.classes)
    print(f"wrote {args.out} ({loaded.source_format} -> {os.path.splitext(args.out)[1][1:]})")
    return 0
