"""Paper-style views of results.csv: Figure 2a/2b (accuracy vs size, points labelled by
their metaparameter), a Table-3-style bypass comparison, as PNG and Markdown."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..utils.atomic import write_text
from ..utils.plots import new_figure, save_figure


def aggregate(rows: list[dict[str, str]], by: tuple[str, ...]) -> list[dict[str, Any]]:
    """Mean and spread over seeds for each design point."""
    groups: dict[tuple[str, ...], list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        groups[tuple(r[k] for k in by)].append(r)
    out = []
    for key, group in groups.items():
        top1 = [float(r["top1"]) for r in group]
        top5 = [float(r["top5"]) for r in group]
        out.append(
            {
                **dict(zip(by, key)),
                "seeds": len(group),
                "size_mb": int(group[0]["size_bytes"]) / 1e6,
                "params": int(group[0]["params"]),
                "macs": int(group[0]["macs"]),
                "top1": statistics.mean(top1),
                "top1_std": statistics.pstdev(top1),
                "top1_seeds": top1,
                "top5": statistics.mean(top5),
                "top5_std": statistics.pstdev(top5),
            }
        )
    return sorted(out, key=lambda a: a["size_mb"])


def _point_label(point: dict[str, Any], by: tuple[str, ...]) -> str:
    return ", ".join(f"{k}={point[k]}" for k in by)


def plot_variants(points: list[dict[str, Any]], key: str, path: Path, title: str) -> None:
    """Categorical variants (no axis between them to draw a line along): a bar for the mean and a
    dot for every seed, so a seed that failed to train shows as what it is."""
    fig, ax = new_figure(1, 1, (7, 4.5))
    for x, p in enumerate(points):
        ax.bar(x, p["top1"], width=0.55, color="#9ecae1", edgecolor="#3182bd")
        ax.scatter(
            [x] * len(p["top1_seeds"]), p["top1_seeds"], color="#08519c", zorder=3, label="one seed" if x == 0 else None
        )
        ax.annotate(
            f"{p['top1']:.1f}%\n{p['size_mb']:.2f} MB",
            (x, p["top1"]),
            textcoords="offset points",
            xytext=(0, 8),
            ha="center",
            fontsize=8,
        )
    ax.set_xticks(range(len(points)), [str(p[key]) for p in points])
    ax.set_xlabel(key)
    ax.set_ylabel("top-1 accuracy (%): bar = mean, dots = seeds")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    save_figure(fig, path)


def plot_accuracy_vs_size(points: list[dict[str, Any]], by: tuple[str, ...], path: Path, title: str) -> None:
    fig, ax = new_figure(1, 1, (7, 4.5))
    xs, ys = [p["size_mb"] for p in points], [p["top1"] for p in points]
    ax.errorbar(xs, ys, yerr=[p["top1_std"] for p in points], fmt="o-", capsize=3)
    for p in points:
        ax.annotate(
            _point_label(p, by), (p["size_mb"], p["top1"]), textcoords="offset points", xytext=(4, 6), fontsize=8
        )
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
            f"{p['params']:,}",
            f"{p['size_mb']:.2f}",
            f"{p['macs'] / 1e6:.1f}",
            f"{p['top1']:.2f} ± {p['top1_std']:.2f}",
            f"{p['top5']:.2f} ± {p['top5_std']:.2f}",
            str(p["seeds"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    spread = [p for p in points if len(p["top1_seeds"]) > 1 and max(p["top1_seeds"]) - min(p["top1_seeds"]) > 10]
    for p in spread:
        lines.append(
            f"\n{_point_label(p, by)}: the seeds reached {', '.join(f'{v:.2f}' for v in p['top1_seeds'])}: "
            "at least one did not train at this budget; the mean hides that."
        )
    return "\n".join(lines) + "\n"


def write_views(rows: list[dict[str, str]], kind: str, out: Path, note: str = "") -> list[Path]:
    """PNG + Markdown for a sweep of ``kind`` next to results.csv; returns the files written.
    ``note``: a line under the title (what made the sweep, where, when)."""
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
    if kind == "bypass":
        order = {"none": 0, "simple": 1, "complex": 2}
        plot_variants(sorted(points, key=lambda p: order[p["bypass"]]), "bypass", png, titles[kind])
    else:
        plot_accuracy_vs_size(points, by, png, titles[kind])
    note = f"{note}\n\n" if note else ""
    write_text(md, f"# {titles[kind]}\n\n{note}" + markdown_table(points, by) + f"\n![{kind}]({png.name})\n")
    return [png, md]
