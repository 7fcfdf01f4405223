"""What a run leaves behind for people: metrics.csv, a learning-curve PNG, run.json."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ..utils.atomic import write_text
from ..utils.plots import new_figure, save_figure

METRIC_FIELDS = ["epoch", "loss", "lr", "train_top1", "val_loss", "val_top1", "val_top5", "images_per_s", "seconds"]


def write_metrics_csv(path: Path, history: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=METRIC_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(history)
    write_text(path, buf.getvalue())


def plot_curves(path: Path, history: list[dict[str, Any]], title: str, num_classes: int) -> None:
    """Loss and accuracy per epoch; top-5 only where it means something (over 5 classes)."""
    fig, (ax_loss, ax_acc) = new_figure(1, 2, (10, 4))
    epochs = [h["epoch"] for h in history]
    ax_loss.plot(epochs, [h["loss"] for h in history], "o-", label="train loss")
    ax_loss.plot(epochs, [h["val_loss"] for h in history], "s-", label="val loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy")
    ax_loss.legend()
    ax_acc.plot(epochs, [h["train_top1"] for h in history], "o-", label="train top-1")
    ax_acc.plot(epochs, [h["val_top1"] for h in history], "s-", label="val top-1")
    if num_classes > 5:
        ax_acc.plot(epochs, [h["val_top5"] for h in history], "^-", label="val top-5")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.legend()
    fig.suptitle(title)
    save_figure(fig, path)


def write_json(path: Path, data: dict[str, Any]) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
