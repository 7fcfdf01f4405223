"""``make demo``: the toolkit end to end on Fashion-MNIST, summarised in runs/demo/report.*.

Stage 1 trains SqueezeNet v1.1 (small-image stem) on the 60,000 training images and measures
it on the 10,000 test images. Later stages (compression, export) add to the same report.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .train.config import TrainConfig
from .train.loop import train
from .train.report import write_json
from .utils.atomic import write_text


def run_demo(out: str | Path = "runs/demo", epochs: int | None = None, quiet: bool = False) -> dict[str, Any]:
    out = Path(out)
    start = time.perf_counter()
    run_dir = out / "train"
    summary = train(TrainConfig(arch="squeezenet1_1", data="fashion-mnist", out=str(run_dir), epochs=epochs, resume=True, quiet=quiet))
    report: dict[str, Any] = {
        "dataset": "Fashion-MNIST (60,000 train / 10,000 test, 28x28 grayscale)",
        "model": "squeezenet1_1, small-image stem",
        "test_top1": summary["val_top1"],
        "test_top5": summary["val_top5"],
        "params": summary["params"],
        "size_bytes_fp32": summary["size_bytes_fp32"],
        "train_seconds": summary["train_seconds"],
        "train_images_per_s": summary["images_per_s"],
        "epochs": len(summary["history"]),
        "weights": str(run_dir / "model.safetensors"),
        "curves": str(run_dir / "curves.png"),
    }
    report["total_seconds"] = time.perf_counter() - start
    write_json(out / "report.json", report)
    write_text(out / "report.md", render_markdown(report))
    return report


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        "# squeezenet demo report",
        "",
        f"{report['model']} trained on {report['dataset']}.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| test top-1 | {report['test_top1']:.2f}% |",
        f"| test top-5 | {report['test_top5']:.2f}% |",
        f"| parameters | {report['params']:,} |",
        f"| fp32 size | {report['size_bytes_fp32'] / 1e6:.2f} MB |",
        f"| epochs | {report['epochs']} |",
        f"| training time | {report['train_seconds']:.0f} s |",
        f"| training throughput | {report['train_images_per_s']:.0f} images/s |",
        f"| demo wall time | {report['total_seconds']:.0f} s |",
        "",
        "![learning curves](train/curves.png)",
        "",
    ]
    return "\n".join(lines)
