"""``compress`` (Deep Compression to a ``.sqz`` file), and updates of one: ``adapt`` (fine-tune its
codebooks), ``diff`` (the patch between two files) and ``patch`` (apply one)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..compression.options import AdaptOptions, CompressOptions
from ..data import FASHION_MNIST_DATA
from ..data.split import SPLIT_FILE
from ..errors import OptionError, SqueezeNetError
from ..formats.sqz import MAX_FILE
from .args import (
    add_json,
    add_quiet,
    add_record,
    add_weights_args,
    dataset,
    emit,
    existing_file,
    load_weights,
    output_file,
    record_from_args,
)


def _sqz_out(path: str) -> str:
    if not path.endswith(".sqz"):
        raise argparse.ArgumentTypeError(f"{path}: a compressed model's file ends in .sqz")
    return output_file(path)


def _run_split(weights: str, data: str | None) -> str | None:
    """The split file of the run whose model ``weights`` is, when ``data`` is a folder: the report
    then scores the photos that run held out, whatever ``--seed`` says."""
    split = Path(weights).parent / SPLIT_FILE
    return str(split) if data is not None and data != FASHION_MNIST_DATA and split.is_file() else None


def add_compress(sub: Any) -> None:
    p = sub.add_parser("compress", help="Deep Compression to a .sqz file (prune, trained quantization, Huffman)")
    add_weights_args(p)
    p.add_argument("--out", required=True, type=_sqz_out, help="FILE.sqz")
    add_record(p, CompressOptions)
    add_quiet(p)
    add_json(p, "the report")
    p.set_defaults(func=cmd_compress)


def cmd_compress(args: argparse.Namespace) -> int:
    options = record_from_args(CompressOptions, args, split=_run_split(args.weights, args.data))
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
    add_record(p, AdaptOptions)
    add_quiet(p)
    add_json(p, "the report")
    p.set_defaults(func=cmd_adapt)


def cmd_adapt(args: argparse.Namespace) -> int:
    options = record_from_args(AdaptOptions, args)
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
