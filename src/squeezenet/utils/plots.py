"""Matplotlib without a display."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def new_figure(rows: int = 1, cols: int = 1, size: tuple[float, float] = (6, 4)) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(rows, cols, figsize=size)


def save_figure(fig: Any, path: str | Path) -> None:
    """Write a PNG atomically and free the figure."""
    import matplotlib.pyplot as plt

    from .atomic import atomic_path

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
