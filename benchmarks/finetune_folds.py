"""Your own photos at a real size: `squeezenet train --weights` against PyTorch's transfer-learning
tutorial, by stratified k-fold cross-validation on trashnet (2,521 phone photos, six unbalanced classes).

Each fold holds out a fifth of every class; `squeezenet train` gets the fold as ``--split`` and the
tutorial's two recipes (full fine-tuning, and feature extraction: only the new conv10 trained) train
on the same photos and are scored on the same held-out ones, each with two loader processes. The
better tutorial recipe is the anchor; the page gives each fold, the mean paired difference with its
95% confidence interval (Student's t over the folds run), and wall times. A fold takes the better
part of an hour on two cores: ``--folds N`` runs the first N of the five (default all); ``--candidate
backbone_lr=0.3,epochs=10`` adds a row of ours with those settings changed, compared the same way.
Writes docs/results/finetune-trashnet.{md,json}.
"""

import ast
import dataclasses
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import finetune
import torch
from _shared import require_shared, write_result

from squeezenet.data.images import RobustImageFolder
from squeezenet.data.split import Split
from squeezenet.train.config import TrainConfig
from squeezenet.train.loop import train

FOLDS = 5
T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78}  # Student's t, two-sided 95%, by degrees of freedom
WORKERS = 2  # loader processes for every recipe, as ours uses by default
shared = require_shared()


def folds(root: Path, k: int, seed: int = 0) -> list[Split]:
    """k stratified folds of ``root/train``: each class's photos in a seeded order, dealt round."""
    photos = RobustImageFolder(root / "train", transform=lambda image: image)
    by_class: dict[int, list[str]] = {}
    for path, target in photos.samples:
        by_class.setdefault(target, []).append(str(Path(path).relative_to(root / "train")))
    held: list[list[str]] = [[] for _ in range(k)]
    for target, members in sorted(by_class.items()):
        order = torch.randperm(len(members), generator=torch.Generator().manual_seed(seed * 1000 + target)).tolist()
        for position, i in enumerate(order):
            held[position % k].append(members[i])
    every = [p for members in by_class.values() for p in members]
    return [
        Split(str(root), 1 / k, fold, photos.classes, sorted(set(every) - set(out)), sorted(out))
        for fold, out in enumerate(held)
    ]


def ours(root: Path, split_file: Path, seed: int, changes: dict | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = train(
            TrainConfig(
                data=str(root),
                weights=str(finetune.WEIGHTS),
                split=str(split_file),
                out=tmp,
                quiet=True,
                seed=seed,
                **(changes or {}),
            )
        )
        seconds = time.perf_counter() - start
    history = [h["val_top1"] for h in summary.history]
    return {"val_top1": history[-1], "seconds": seconds, "history": history}


def interval(differences: list[float]) -> tuple[float, float | None]:
    mean = statistics.fmean(differences)
    if len(differences) < 2:
        return mean, None
    return mean, T95[len(differences) - 1] * statistics.stdev(differences) / math.sqrt(len(differences))


def candidate() -> dict:
    """``--candidate k=v,k=v``: TrainConfig fields to change for an extra row (values as Python
    literals), refused in one line before the first fold's half hour of tutorial runs."""
    if "--candidate" not in sys.argv:
        return {}
    given = sys.argv[sys.argv.index("--candidate") + 1 :][:1]
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    changes = {}
    for item in (given[0] if given else "").split(","):
        key, _, value = item.partition("=")
        try:
            changes[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            sys.exit(f"--candidate: {item!r} is not field=value with a Python literal value")
        if key not in fields:
            sys.exit(f"--candidate: {key!r} is not a TrainConfig field")
    try:
        TrainConfig(data="x", **changes).check()
    except Exception as exc:  # the record's own range check, in its own words
        sys.exit(f"--candidate: {exc}")
    return changes


def label(changes: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in changes.items())


def main() -> None:
    run = int(sys.argv[sys.argv.index("--folds") + 1]) if "--folds" in sys.argv else FOLDS
    changes = candidate()
    work = Path(tempfile.mkdtemp())
    (work / "train").symlink_to(shared / "trashnet")  # the layout train reads: DIR/train/<class>/
    splits = folds(work, FOLDS)
    results = {"folds": [], "photos": len(splits[0].train) + len(splits[0].held_out), "folds_total": FOLDS}
    for split in splits[:run]:
        split_file = work / f"fold{split.seed}.json"
        split.write(split_file)
        train_photos, held = split.labelled("train"), split.labelled("held_out")
        row = {
            "fold": split.seed,
            "held_out": len(held),
            "tutorial, full fine-tuning": finetune.tutorial(
                train_photos, held, len(split.classes), 42, workers=WORKERS
            ),
            "tutorial, feature extraction": finetune.tutorial(
                train_photos, held, len(split.classes), 42, features_only=True, workers=WORKERS
            ),
            "squeezenet train --weights (defaults)": ours(work, split_file, 42),
        }
        if changes:
            row[f"squeezenet train --weights ({label(changes)})"] = ours(work, split_file, 42, changes)
        results["folds"].append(row)
        print(
            json.dumps({k: v if not isinstance(v, dict) else round(v["val_top1"], 2) for k, v in row.items()}),
            flush=True,
        )
        report(results, run, changes)  # the page after every fold: a stopped run keeps what it measured


def report(results: dict, run: int, changes: dict) -> None:
    """The page and JSON of the folds run so far."""
    names = [k for k in results["folds"][0] if k not in ("fold", "held_out")]
    mean = {n: statistics.fmean(r[n]["val_top1"] for r in results["folds"]) for n in names}
    anchor = max(names[:2], key=mean.get)
    compared = {name: _against(results["folds"], name, anchor) for name in names[2:]}
    diff, half, time_ratio = compared[names[2]]
    results.update(anchor=anchor, mean=mean, difference=diff, half_width=half, time_ratio=time_ratio)
    results["compared"] = {
        name: dict(zip(("difference", "half_width", "time_ratio"), c)) for name, c in compared.items()
    }
    done = len(results["folds"])
    lines = [
        f"trashnet ({results['photos']:,} photos, six classes), stratified {FOLDS}-fold cross-validation: "
        f"{done} of {FOLDS} folds run. Every recipe trains on the same photos of a fold and is scored on its "
        "held-out fifth; the better tutorial recipe (by mean) is the anchor.",
        "",
        "| run | " + " | ".join(f"fold {r['fold']} top-1 (%)" for r in results["folds"]) + " | mean | wall (s, mean) |",
        "|---|" + "---|" * (done + 2),
    ]
    for n in names:
        runs = [r[n] for r in results["folds"]]
        lines.append(
            f"| {n} | "
            + " | ".join(f"{r['val_top1']:.2f}" for r in runs)
            + f" | **{mean[n]:.2f}** | {statistics.fmean(r['seconds'] for r in runs):.0f} |"
        )
    lines.append("")
    for name, (diff, half, time_ratio) in compared.items():
        spread = "no interval from one fold" if half is None else f"95% CI {diff - half:+.2f} to {diff + half:+.2f}"
        lines.append(
            f"{name} minus the anchor ({anchor}): {diff:+.2f} points ({spread}); its wall time {time_ratio:.2f}x "
            "the anchor's."
        )
    write_result(
        "finetune-trashnet",
        "Fine-tuning on your own photos: trashnet, k-fold",
        "\n".join(lines),
        results,
        ".venv/bin/python benchmarks/finetune_folds.py"
        + ("" if run == FOLDS else f" --folds {run}")
        + (f" --candidate {label(changes)}" if changes else ""),
    )


def _against(folds: list[dict], name: str, anchor: str) -> tuple[float, float | None, float]:
    """``name`` against the anchor over the folds: mean paired difference, its 95% half-width, wall-time ratio."""
    diff, half = interval([r[name]["val_top1"] - r[anchor]["val_top1"] for r in folds])
    return diff, half, statistics.fmean(r[name]["seconds"] / r[anchor]["seconds"] for r in folds)


if __name__ == "__main__":
    sys.exit(main())
