"""``eval`` (top-1 / top-5 on labelled images) and ``predict`` (classes of images), on any backend or exported file."""

from __future__ import annotations

import argparse
import contextlib
import csv
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import OptionError, SqueezeNetError
from ..train.config import MODEL_FILE
from ..utils.options import MAX_BATCH, MAX_WORKERS
from .args import (
    add_backend_args,
    add_json,
    add_quiet,
    add_weights_args,
    dataset,
    emit,
    existing_dir,
    existing_file,
    integer,
    open_weights,
    output_file,
)

TOP5_MIN_CLASSES = 6  # with five classes or fewer, every image is in the top five


def add_eval(sub: Any) -> None:
    p = sub.add_parser("eval", help="top-1/top-5 on a data folder's val/ images, or on a training run's held-out split")
    add_weights_args(p, required=False, exported=True)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--data", type=dataset, help="fashion-mnist, a data folder (its val/ is scored) or a folder of class folders"
    )
    what.add_argument(
        "--run",
        type=existing_dir,
        help="a training run: score exactly the images it held out (RUN/split.json); --weights defaults to its model",
    )
    p.add_argument(
        "--classes",
        type=existing_file,
        help="class file, one 'wnid names' line per class in index order (ImageNet folders)",
    )
    add_backend_args(p)
    p.add_argument("--batch-size", type=integer(1, MAX_BATCH), default=64, help="images per batch")
    p.add_argument("--workers", type=integer(0, MAX_WORKERS), help="image-decoding processes (default: up to 4)")
    add_json(p)
    add_quiet(p)
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    if args.weights is None:
        if args.run is None:
            raise OptionError("weights", "is needed (or {run} RUN, whose model is scored)", "run")
        if not (Path(args.run) / MODEL_FILE).is_file():
            raise OptionError("run", f"{args.run}: holds no {MODEL_FILE}; a training run's folder is needed")
        args.weights = str(Path(args.run) / MODEL_FILE)
    from ..evaluation.predict import eval_data, eval_model

    model = open_weights(args)
    data = eval_data(model, args.data, args.run, args.classes, args.batch_size, args.workers)
    result = eval_model(model, data, progress=not args.quiet)
    if args.json:
        emit({**result.to_dict(), "backend": model.backend, "data": data.description})
        return 0
    top5 = f"  top-5 {result.top5:.2f}%" if model.config.num_classes >= TOP5_MIN_CLASSES else ""
    skipped = f", {result.skipped} unreadable skipped" if result.skipped else ""
    skipped += f"; not read: {result.passed_over}" if result.passed_over else ""
    print(f"top-1 {result.top1:.2f}%{top5}  on {result.images} images ({data.description}; {model.backend}){skipped}")
    if result.unbalanced:  # the mean hides a small class: say how each one does
        names = model.classes or []
        recall = ", ".join(f"{names[c] if c < len(names) else c} {r:.1f}% of {n}" for c, n, r in result.recall())
        print(f"per class (classes differ in size): {recall}")
    return 0


def add_predict(sub: Any) -> None:
    p = sub.add_parser("predict", help="class names and probabilities for images and folders of images")
    add_weights_args(p, exported=True)
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files, or folders searched recursively")
    add_backend_args(p)
    p.add_argument("--top", type=integer(1, 1000), default=5, help="classes shown per image")
    p.add_argument("--batch-size", type=integer(1, MAX_BATCH), default=32, help="images per batch")
    p.add_argument(
        "--workers",
        type=integer(1, MAX_WORKERS),
        help="threads decoding the next images while the engine runs (default: up to 4)",
    )
    p.add_argument(
        "--csv",
        type=output_file,
        help="also write one row per image (path, top-k labels and probabilities) to this file",
    )
    add_json(p, "the results")
    add_quiet(p)
    p.set_defaults(func=cmd_predict)


def cmd_predict(args: argparse.Namespace) -> int:
    from ..evaluation.predict import StageTimes, expand_paths, predict

    files, passed_over = expand_paths(args.paths)
    if not files:
        raise SqueezeNetError(f"no images found in {' '.join(args.paths)}")
    model = open_weights(args)
    times, results, good, errors = StageTimes(), [], 0, 0
    stream = predict(model, files, args.top, args.batch_size, not args.quiet and not args.json, args.workers, times)
    with _csv_rows(args.csv, min(args.top, model.config.num_classes)) as write_row:
        for r in stream:
            if args.json:
                results.append(r)
            if "error" in r:
                errors += 1
                print(f"squeezenet: error: {r['error']}", file=sys.stderr)
                continue
            good += 1
            write_row(r)
            if not args.json and not args.csv:
                print(r["image"])
                for t in r["top"]:
                    print(f"  {100 * t['probability']:6.2f}%  {t['label']}  ({t['index']})")
    if args.json:
        emit(results)
    if not args.quiet and times.images:  # bad input alone stays one line
        print(times.line(), file=sys.stderr)
    note = passed_over.skipped_note()
    if args.csv and good:
        print(f"wrote {args.csv}: {good} images" + (f"; not read: {note}" if note else ""))
    elif note and not args.quiet:
        print(f"not read: {note}", file=sys.stderr)
    return 0 if good and not errors else 2


class _NoRows(Exception):
    """Nothing to write: the staged CSV is dropped."""


@contextlib.contextmanager
def _csv_rows(path: Path | None, top: int) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Rows written as results stream in, to a temporary file renamed over ``path`` at the end, and
    only if a row was written (no file at all rather than a header with no rows)."""
    if path is None:
        yield lambda result: None
        return
    from ..utils.atomic import atomic_path

    written = 0

    def write(result: dict[str, Any]) -> None:
        nonlocal written
        writer.writerow([result["image"], *[v for t in result["top"] for v in (t["label"], f"{t['probability']:.6f}")]])
        written += 1

    try:
        with atomic_path(path) as staged, open(staged, "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["path", *[f"{kind}{i}" for i in range(1, top + 1) for kind in ("label", "probability")]])
            yield write
            if not written:
                raise _NoRows
    except _NoRows:
        pass
