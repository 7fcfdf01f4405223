"""``info`` (the Table 1 view of any design point or weight file) and ``convert`` (between weight formats)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..deploy.precision import PRECISIONS
from ..errors import OptionError
from ..utils.options import MAX_SIDE
from ..utils.units import parse_bytes
from .args import (
    add_design_args,
    add_json,
    add_weights_args,
    config_from_args,
    design_from_args,
    emit,
    existing_file,
    integer,
    load_weights,
    output_file,
)


def add_info(sub: Any) -> None:
    p = sub.add_parser("info", help="Table 1 view: per-layer shapes, params, MACs, size (of a design point or a file)")
    add_design_args(p, head=True)
    p.add_argument(
        "--weights", type=existing_file, help="describe the model this weight file holds (instead of the design flags)"
    )
    p.add_argument("--prototxt", type=existing_file, help="the deploy.prototxt of a .caffemodel")
    p.add_argument(
        "--input-size", type=integer(1, MAX_SIDE), help="image side in pixels (default: the file's crop, else 224)"
    )
    p.add_argument("--footprint", action="store_true", help="weights + peak activations against an on-chip budget")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="fp32",
        help="bytes per weight and activation; sqz: the --weights .sqz file's real size",
    )
    p.add_argument("--memory-budget", default="10MB", help="on-chip memory budget, e.g. 10MB, 512KiB")
    add_json(p, "the same")
    p.set_defaults(func=cmd_info)


def cmd_info(args: argparse.Namespace) -> int:
    if args.weights and design_from_args(args):
        raise OptionError("weights", "brings its own architecture: leave out the design flags")
    if args.precision == "sqz" and not (args.weights and Path(args.weights).suffix == ".sqz"):
        raise OptionError("precision", "sqz counts a real file's bytes: it needs {weights} FILE.sqz", "weights")
    budget = parse_bytes(args.memory_budget) if args.memory_budget else None
    from ..deploy.footprint import footprint, format_footprint
    from ..models.squeezenet import SqueezeNet
    from ..models.summary import format_table, summarize

    if args.weights:
        loaded = load_weights(args)
        model, input_size = loaded.model, loaded.preprocess.crop if args.input_size is None else args.input_size
    else:
        model, input_size = SqueezeNet(config_from_args(args)), 224 if args.input_size is None else args.input_size
    summary = summarize(model, input_size)
    data: dict[str, Any] = {"config": model.config.to_dict(), **summary.to_dict()}
    if args.footprint:
        data["footprint"] = footprint(model, input_size, args.precision, budget, args.weights).to_dict()
    if args.json:
        emit(data)
        return 0
    print(format_table(summary))
    if args.footprint:
        print(format_footprint(data["footprint"]))
    return 0


def add_convert(sub: Any) -> None:
    p = sub.add_parser(
        "convert", help="any supported weight file to .safetensors (with config, preprocessing, classes) or .pth"
    )
    add_weights_args(p)
    p.add_argument("--out", required=True, type=output_file, help="FILE.safetensors or FILE.pth")
    p.set_defaults(func=cmd_convert)


def cmd_convert(args: argparse.Namespace) -> int:
    if Path(args.out).suffix not in (".safetensors", ".pth", ".pt"):
        raise OptionError("out", f"{args.out}: converts to .safetensors or .pth")
    from ..formats.weights import save_model

    loaded = load_weights(args)
    save_model(loaded.model, args.out, loaded.preprocess, loaded.classes)
    print(f"wrote {args.out} ({loaded.source_format} -> {os.path.splitext(args.out)[1][1:]})")
    return 0
