"""Build a backend's graph for a model, run it, write it, read it back: one path for every backend.

Each runner is a callable from a preprocessed float batch to logits, so eval, predict, bench
and ``export --format auto`` measure the engine that will ship, on the same inputs; what is
measured is what is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..data.images import calibration_tensor
from ..errors import OptionError
from ..formats.loaded import LoadedModel
from ..formats.preprocess import Preprocess
from .backends import Backend, backend
from .inputs import BuildInputs
from .metadata import Runner


@dataclass
class Engine:
    """A backend's graph of one model: ONNX bytes, an OpenVINO model, a torch module.
    ``pixels_of``: the preprocessing whose uint8 pixels the graph takes (an ``export --pixels``
    file), None where it takes the normalised floats."""

    backend: Backend
    graph: Any
    pixels_of: Preprocess | None = None
    _pixel_run: Runner | None = field(default=None, init=False, repr=False)  # such a graph's one runner

    def runner(self) -> Runner:
        """Logits of normalised float batches (a graph that takes pixels gets them back as pixels)."""
        if self.pixels_of is None:
            return self.backend.run(self.graph)
        run, preprocess = self._graph_pixels(), self.pixels_of
        return lambda x: run(preprocess.denormalize(x))

    def _graph_pixels(self) -> Runner:
        """The runner of a graph that takes pixels, built once (eval asks for floats and pixels)."""
        if self._pixel_run is None:
            self._pixel_run = self.backend.pixel_run(self.graph)
        return self._pixel_run

    def pixel_runner(self, preprocess: Preprocess, run: Runner | None = None) -> Runner:
        """Logits of uint8 N x C x H x W pixels (``Preprocess.pixels``): in the engine's graph where
        its backend can (built on the first batch), else normalised here and given to ``run``."""
        if self.pixels_of is not None:
            return self._graph_pixels()
        if self.backend.pixel_graph is None:
            float_run = run or self.runner()
            return lambda pixels: float_run(preprocess.normalize_pixels(pixels))
        built: list[Runner] = []

        def run_pixels(pixels: torch.Tensor) -> torch.Tensor:
            if not built:
                built.append(self.backend.pixel_run(self.backend.pixel_graph(self.graph, preprocess)))
            return built[0](pixels)

        return run_pixels

    def taking_pixels(self, preprocess: Preprocess) -> Engine:
        """This engine with the normalisation compiled into its graph, which takes uint8 pixels."""
        if self.backend.pixel_graph is None:
            raise OptionError("pixels", f"{self.backend.name} cannot take pixels: its graph normalises nothing")
        return Engine(self.backend, self.backend.pixel_graph(self.graph, preprocess), preprocess)

    def save(self, out: str | Path) -> int:
        """Write atomically; the bytes written (an IR's .xml and .bin together)."""
        if self.backend.write is None:
            raise OptionError("format", f"{self.backend.name} has no file to write")
        return self.backend.write(self.graph, Path(out))


def build_engine(
    loaded: LoadedModel,
    name: str | Backend,
    calib_data: str | Path | torch.Tensor | None = None,
    inputs: BuildInputs | None = None,
    device: torch.device | None = None,
) -> Engine:
    """``loaded`` as backend ``name``'s graph (a name of the table, or a record of one's own, as
    the peer benchmark's); an int8 backend calibrates on ``calib_data`` (a folder of unlabelled
    images, or a preprocessed batch). ``inputs``: shared with other builds of the same model (its
    ONNX export is made once)."""
    chosen = name if isinstance(name, Backend) else backend(name)
    if chosen.calibrated and calib_data is None and (inputs is None or inputs.calib is None):
        raise OptionError(
            "backend", f"{chosen.name} calibrates on images: it needs {{calib_data}} (unlabelled images)", "calib_data"
        )
    inputs = inputs or BuildInputs(loaded, device=device)
    if chosen.calibrated and inputs.calib is None:
        inputs.calib = calibration_tensor(calib_data, loaded.preprocess)
    return Engine(chosen, chosen.build(inputs))


def make_runner(
    loaded: LoadedModel,
    name: str,
    calib_data: str | Path | torch.Tensor | None = None,
    device: torch.device | None = None,
) -> Runner:
    """A logits function for ``loaded`` on backend ``name``; int8 needs calibration images."""
    return build_engine(loaded, name, calib_data, device=device).runner()
