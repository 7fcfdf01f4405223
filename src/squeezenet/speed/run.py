"""What ``squeezenet bench`` measures, as one request: the model to time and the benchmarks to run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..deploy.runtime import Engine
from ..deploy.shipped import is_shipped, read_shipped
from ..errors import OptionError
from ..evaluation.model import runnable
from ..evaluation.predict import eval_data
from ..formats.loaded import LoadedModel
from ..formats.preprocess import Preprocess
from ..formats.weights import load_model
from ..models.config import SqueezeNetConfig
from ..models.registry import DEFAULT_ARCH
from ..models.squeezenet import SqueezeNet
from .allreduce import bench_allreduce
from .endtoend import bench_predict
from .inference import bench_inference
from .peers import bench_peers
from .training import bench_train

INFERENCE_BATCH = 32


@dataclass
class BenchRequest:
    backends: list[str] = field(default_factory=list)  # inference throughput and latency per backend
    weights: str | None = None  # weights, an exported file, or None: a random model of ``config``
    prototxt: str | None = None
    config: SqueezeNetConfig | None = None
    input_size: int = 224  # random models only
    calib_data: str | Path | None = None
    peers: bool = False
    rounds: int = 5
    data: str | None = None  # labelled data for the peers' top-1
    classes: str | None = None
    predict: str | None = None  # an image: end-to-end latency
    train: bool = False
    allreduce: bool = False
    batch_size: int | None = None
    steps: int = 20
    arch: str | None = None
    design: dict[str, Any] = field(default_factory=dict)
    quiet: bool = False  # no progress lines


def run_benchmarks(request: BenchRequest) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if request.backends or request.peers or request.predict:
        loaded, engines = _subject(request)
        runners = {name: engine.runner() for name, engine in engines.items()}
        batch = request.batch_size or INFERENCE_BATCH
        if request.backends:
            results["inference"] = bench_inference(loaded, request.backends, batch, request.calib_data, runners=runners)
        if request.peers:
            if runners:
                raise OptionError(
                    "peers",
                    "builds every engine from weights: give {weights} a weight file, not an exported one",
                    "weights",
                )
            val = None
            if request.data:
                reference = runnable(loaded)
                val = lambda: eval_data(reference, request.data, None, request.classes, 50, 0).float_batches(  # noqa: E731
                    loaded.preprocess
                )
            results["peers"] = bench_peers(
                loaded, request.calib_data, val, batch, rounds=request.rounds, quiet=request.quiet
            )
        if request.predict:
            backends = request.backends or ["torch"]
            results["predict"] = bench_predict(loaded, request.predict, backends, request.calib_data, engines)
    if request.train:
        results["train"] = bench_train(
            request.arch or DEFAULT_ARCH, request.batch_size, request.steps, design=request.design
        )
    if request.allreduce:
        results["allreduce"] = bench_allreduce()
    return results


def _subject(request: BenchRequest) -> tuple[LoadedModel, dict[str, Engine]]:
    """The model to time, and the engine of an exported file (timed beside torch eager running a
    random model of the file's own architecture: the same computation)."""
    if request.weights and is_shipped(request.weights):
        shipped = read_shipped(request.weights)
        name = shipped.engine.backend.name
        unknown = [b for b in request.backends if b not in ("torch", name)]
        if unknown:
            raise OptionError("backend", f"{unknown[0]} cannot run {request.weights}: it was written for {name}")
        request.backends = ["torch", name]
        return _random(shipped.config, shipped.preprocess), {name: shipped.engine}
    if request.weights:
        return load_model(request.weights, prototxt=request.prototxt), {}
    if request.input_size < 1:
        raise OptionError("input_size", f"must be at least 1, got {request.input_size}")
    return _random(request.config, Preprocess(crop=request.input_size, resize=None)), {}


def _random(config: SqueezeNetConfig, preprocess: Preprocess) -> LoadedModel:
    """A randomly initialised model, for benchmarks that only need the compute."""
    return LoadedModel(SqueezeNet(config).eval(), preprocess, "random")
