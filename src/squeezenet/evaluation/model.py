"""A model to run on images, whatever file it came from: weights on any backend, or a file ``export`` wrote."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..deploy.metadata import Runner
from ..deploy.runtime import build_engine
from ..deploy.shipped import is_shipped, read_shipped
from ..errors import OptionError
from ..formats.imagenet import PUBLISHED_NAMES, folder_names
from ..formats.loaded import LoadedModel
from ..formats.preprocess import Preprocess
from ..formats.weights import load_model
from ..models.config import SqueezeNetConfig
from ..models.registry import DEFAULT_ARCH, arch_config

DEFAULT_BACKEND = "torch"


@dataclass
class Runnable:
    """Logits for preprocessed batches (``run``), with the input convention and class names the
    file records. ``loaded``: the PyTorch module, when the file holds weights (not an engine file).

    Why not a ``LoadedModel``: an exported file has no PyTorch module to hold (``eval`` of an
    ``.onnx`` or a ``.pte`` runs without one), and a weight file may run on an engine built from it;
    what ``eval``, ``predict`` and ``bench`` need of either is a runner and the records."""

    run: Runner
    pixels: Runner  # uint8 N x C x H x W (``Preprocess.pixels``) -> logits; normalised in-graph where it can
    backend: str
    config: SqueezeNetConfig
    preprocess: Preprocess
    classes: list[str] | None
    source: str
    loaded: LoadedModel | None = None

    @property
    def folder_classes(self) -> list[str] | None:
        return folder_names(self.classes)


def open_model(
    path: str | Path,
    backend: str | None = None,
    calib_data: str | Path | None = None,
    device: torch.device | None = None,
    arch: str | None = None,
    prototxt: str | Path | None = None,
) -> Runnable:
    """``path`` (or ``imagenet``) ready to run: an exported ``.onnx`` / ``.xml`` on the engine it was
    written for, any weight file on ``backend`` (torch unless told)."""
    if str(path) not in PUBLISHED_NAMES and is_shipped(path):
        shipped = read_shipped(path)
        name = shipped.engine.backend.name
        if backend not in (None, name):
            raise OptionError("backend", f"{backend} cannot run {path}: it was written for {name}")
        run = shipped.engine.runner()
        pixels = shipped.engine.pixel_runner(shipped.preprocess, run)
        return Runnable(run, pixels, name, shipped.config, shipped.preprocess, shipped.classes, str(path))
    loaded = load_model(
        path, arch=arch_config(arch) if arch else None, prototxt=prototxt, arch_name=arch or DEFAULT_ARCH
    )
    return runnable(loaded, backend or DEFAULT_BACKEND, calib_data, device, str(path))


def runnable(
    loaded: LoadedModel,
    backend: str = DEFAULT_BACKEND,
    calib_data: str | Path | torch.Tensor | None = None,
    device: torch.device | None = None,
    source: str = "",
) -> Runnable:
    """A loaded model on ``backend``."""
    engine = build_engine(loaded, backend, calib_data, device=device)
    run = engine.runner()
    pixels = engine.pixel_runner(loaded.preprocess, run)
    return Runnable(
        run, pixels, backend, loaded.config, loaded.preprocess, loaded.classes, source or loaded.source_format, loaded
    )
