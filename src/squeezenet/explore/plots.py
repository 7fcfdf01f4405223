"""Paper-style views of results.csv: Figure 2a/2b (accuracy vs size, points labelled by
their metaparameter), a Table-3-style bypass comparison, as PNG and Markdown."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..utils.atomic import write_text
from ..utils.plots import new_figure, save_figure

LABEL_BY_KIND = {"sr": "sr", "pct3x3": "pct3x3", "bypass": "bypass", "grid": None}


def aggregate(rows: list[dict[str, str]], by: tuple[str, ...]) -> list[dict[str, Any]]:
    """Mean and spread over seeds for each design point."""
    groups: dict[tuple[str, ...], list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        groups[tuple(r[k] for k in by)].append(r)
    out = []
    for key, group in groups.items():
        top1 = [float(r["top1"]) for r in group]
        top5 = [float(r["top5"]) for r in group]
        out.append({
            **dict(zip(by, key)), "seeds": len(group), "size_mb": int(group[0]["size_bytes"]) / 1e6,
            "params": int(group[0]["params"]), "macs": int(group[0]["macs"]),
            "top1": statistics.mean(top1), "top1_std": statistics.pstdev(top1),
            "top5": statistics.mean(top5), "top5_std": statistics.pstdev(top5),
        })  # fmt: skip
    return sorted(out, key=lambda a: a["size_mb"])


def _point_label(point: dict[str, Any], by: tuple[str, ...]) -> str:
    return ", ".join(f"{k}={point[k]}" for k in by)


def plot_accuracy_vs_size(points: list[dict[str, Any]], by: tuple[str, ...], path: Path, title: str) -> None:
    fig, ax = new_figure(1, 1, (7, 4.5))
    xs, ys = [p["size_mb"] for p in points], [p["top1"] for p in points]
    ax.errorbar(xs, ys, yerr=[p["top1_std"] for p in points], fmt="o-", capsize=3)
    for p in points:
        ax.annotate(_point_label(p, by), (p["size_mb"], p["top1"]), textcoords="offset points", xytext=(4, 6), fontsize=8)
    ax.set_xlabel("model size (MB, fp32)")
    ax.set_ylabel("top-1 accuracy (%), mean over seeds")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def markdown_table(points: list[dict[str, Any]], by: tuple[str, ...]) -> str:
    head = [*by, "params", "size (MB)", "MMACs", "top-1 (%)", "top-5 (%)", "seeds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in points:
        cells = [str(p[k]) for k in by] + [
            f"{p['params']:,}", f"{p['size_mb']:.2f}", f"{p['macs'] / 1e6:.1f}",
            f"{p['top1']:.2f} ± {p['top1_std']:.2f}", f"{p['top5']:.2f} ± {p['top5_std']:.2f}", str(p["seeds"]),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_views(rows: list[dict[str, str]], kind: str, out: Path) -> list[Path]:
    """PNG + Markdown for a sweep of ``kind`` next to results.csv; returns the files written."""
    if not rows:
        return []
    by = ("sr", "pct3x3") if kind == "grid" else (kind,)
    points = aggregate(rows, by)
    titles = {
        "sr": "Squeeze ratio sweep (cf. paper Figure 2a)",
        "pct3x3": "Share of 3x3 expand filters, SR 0.5 (cf. paper Figure 2b)",
        "bypass": "Bypass connections (cf. paper Table 3)",
        "grid": "SR x pct3x3 grid",
    }
    png, md = out / f"{kind}.png", out / f"{kind}.md"
    plot_accuracy_vs_size(points, by, png, titles[kind])
    write_text(md, f"# {titles[kind]}\n\n" + markdown_table(points, by))
    return [png, md]
