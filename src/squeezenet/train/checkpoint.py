"""Resumable checkpoints: everything that decides the next step, written atomically.

Loaded with ``weights_only=True``: only tensors and plain containers, never pickled code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import SqueezeNetError
from ..utils.atomic import atomic_path

CHECKPOINT_NAME = "last.ckpt"


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for damaged files
        raise SqueezeNetError(f"{path}: cannot resume from this checkpoint ({exc.__class__.__name__})") from None
