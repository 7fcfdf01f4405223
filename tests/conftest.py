"""Shared fixtures: the real data in ../shared (skipped with a reason where absent)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session")
def imagenet_reference(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where ``helpers.imagenet_reference`` keeps ImageNet's fp32 reference for this test run: a
    folder every xdist worker of the run shares (the parent of the workers' own)."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "imagenet-reference.pt"


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def pytest_configure(config: pytest.Config) -> None:
    """Under ``pytest -n N`` the workers share the cores: each takes its share of threads, so N
    workers never run N times the machine's threads side by side."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers > 1:
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        os.environ["OMP_NUM_THREADS"] = threads  # the subprocesses a test starts inherit it
        torch.set_num_threads(int(threads))


@pytest.fixture(autouse=True)
def _no_python_sigchld_handler() -> Any:
    """A DataLoader with workers installs a Python SIGCHLD handler for the rest of the process.
    Once OpenVINO has run int8 on AMX, delivering that signal while a later test waits on a
    subprocess killed the whole pytest process with SIGSEGV (SI_KERNEL: the kernel could not
    write the signal frame) on the AVX-512/AMX machine; the CLI, which spawns nothing after
    inference, never met it (see the README). Each test starts with the default disposition."""
    import signal

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    yield


def write_idx(path: Path, array: Any) -> None:
    """Write an IDX file (the MNIST format), gzipped."""
    import gzip
    import struct

    import numpy as np

    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


@pytest.fixture(scope="session")
def tiny_fmnist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A learnable synthetic Fashion-MNIST-format dataset: class k is a bright bar at row 2k+3."""
    import numpy as np

    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("fmnist")
    for prefix, n in (("train", 1024), ("t10k", 256)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, k in enumerate(labels):
            images[i, 2 * k + 3 : 2 * k + 6, 4:24] = 250
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return root


@pytest.fixture(scope="session")
def real_fmnist() -> None:
    from squeezenet.data.fashion_mnist import DEBIAN_DIR

    if not (DEBIAN_DIR / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("Debian's dataset-fashion-mnist is not installed (make setup installs it where apt works)")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
