"""``eval`` (top-1 / top-5 on a labelled folder) and ``predict`` (classes of images), on any backend."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from typing import Any

from ..errors import SqueezeNetError
from ..evaluation.predict import eval_folder, expand_paths, predict
from ..utils.atomic import write_text
from ..utils.device import pick_device
from .args import add_backend_args, add_weights_args, emit, load_weights


def add_eval(sub: Any) -> None:
    p = sub.add_parser("eval", help="top-1/top-5 on an ImageFolder directory")
    add_weights_args(p)
    p.add_argument("--data", required=True, help="ImageFolder directory (class folders, e.g. ImageNet wnids)")
    p.add_argument("--classes", help="class file, one 'wnid names' line per class in index order")
    add_backend_args(p)
    p.add_argument("--batch-size", type=int, default=64, help="images per batch")
    p.add_argument("--workers", type=int, help="image-decoding processes (default: up to 4)")
    p.add_argument("--json", action="store_true", help="print the result as data")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    result = eval_folder(
        load_weights(args), args.data, args.classes, args.batch_size, pick_device(args.device), progress=not args.quiet,
        workers=args.workers, backend=args.backend, calib_data=args.calib_data,
    )  # fmt: skip
    if args.json:
        emit(result.to_dict())
        return 0
    skipped = f", {result.skipped} unreadable skipped" if result.skipped else ""
    skipped += f"; not read: {result.passed_over}" if result.passed_over else ""
    print(f"top-1 {result.top1:.2f}%  top-5 {result.top5:.2f}%  on {result.images} images{skipped}")
    return 0


def add_predict(sub: Any) -> None:
    p = sub.add_parser("predict", help="class names and probabilities for images and folders of images")
    add_weights_args(p)
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files, or folders searched recursively")
    add_backend_args(p)
    p.add_argument("--top", type=int, default=5, help="classes shown per image")
    p.add_argument("--batch-size", type=int, default=32, help="images per batch")
    p.add_argument("--csv", help="also write one row per image (path, top-k labels and probabilities) to this file")
    p.add_argument("--json", action="store_true", help="print the results as data")
    p.set_defaults(func=cmd_predict)


def cmd_predict(args: argparse.Namespace) -> int:
    loaded = load_weights(args)
    files, passed_over = expand_paths(args.paths)
    if not files:
        raise SqueezeNetError(f"no images found in {' '.join(args.paths)}")
    results = predict(loaded, files, args.top, pick_device(args.device), args.backend, args.calib_data, args.batch_size)
    good = [r for r in results if "top" in r]
    if args.csv and good:  # no file at all rather than a header with no rows
        write_text(args.csv, _csv(good, args.top))
    if args.json:
        emit(results)
    elif not args.csv:
        for r in good:
            print(r["image"])
            for t in r["top"]:
                print(f"  {100 * t['probability']:6.2f}%  {t['label']}  ({t['index']})")
    for r in results:
        if "error" in r:
            print(f"squeezenet: error: {r['error']}", file=sys.stderr)
    if args.csv and good:
        note = f"; not read: {passed_over.skipped_note()}" if passed_over.skipped_note() else ""
        print(f"wrote {args.csv}: {len(good)} images{note}")
    return 0 if len(good) == len(results) and results else 2


def _csv(results: list[dict[str, Any]], top: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["path", *[f"{kind}{i}" for i in range(1, top + 1) for kind in ("label", "probability")]])
    for r in results:
        writer.writerow([r["image"], *[v for t in r["top"] for v in (t["label"], f"{t['probability']:.6f}")]])
    return out.getvalue()
