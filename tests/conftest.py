"""Shared fixtures: the real data in ../shared (skipped with a reason where absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    path = Path(os.environ.get("SQUEEZENET_SHARED", REPO.parent / "shared"))
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    if path is None:
        pytest.skip("../shared (or $SQUEEZENET_SHARED) is not present: real weights and images unavailable")
    return path


@pytest.fixture(scope="session")
def imagenet_weights(shared: Path) -> Path:
    return shared / "weights" / "squeezenet1_1-imagenet.pth"


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
