"""The peer table: what a user would run instead of us, each with its own library's defaults,
beside every recipe we ship, in one run on this CPU (images/s at a batch, batch-1 latency, top-1).

The peers are the backend table's ``defaults`` records (torch eager and ``torch.compile``; ONNX
Runtime's ``quantize_static`` defaults; OpenVINO's ``compile_model(model, "CPU")`` on our fp32 ONNX
file, on ONNX Runtime's int8 file, and on NNCF's default quantization) and the device runtimes'
quantizers as their documentation configures them (litert-torch's, ExecuTorch's XNNPACK: records
here, since only this table runs them); ours are the table's other records with a file to ship.
ONNX Runtime's fp32 session with its defaults is our ``onnxruntime`` engine and is listed once;
LiteRT's and ExecuTorch's fp32 files have no settings to differ in and are ours. A backend whose
runtime is not installed is left out of the table, and named under it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch

from ..data.images import calibration_tensor
from ..deploy.backends import EXECUTORCH, LITERT, TABLE, Backend, lazy
from ..deploy.inputs import BuildInputs
from ..deploy.metadata import Runner
from ..deploy.runtime import build_engine
from ..evaluation.accuracy import evaluate
from ..formats.loaded import LoadedModel
from ..utils.device import cpu_isa, cpu_model
from ..utils.progress import track
from ..utils.timing import median, time_calls

OURS = "ours: "
DEVICE_DEFAULTS = (  # only the peer table runs these; the host runtimes' defaults are in the backend table
    Backend(
        name="litert-int8-defaults",
        int8=True,
        help="LiteRT int8, litert-torch's quantizer as its documentation configures it",
        recipe="defaults",
        **{**LITERT, "build": lazy("litert:build", name="litert-int8-defaults", int8=True, ours=False)},
    ),
    Backend(
        name="executorch-int8-defaults",
        int8=True,
        help="ExecuTorch int8, XNNPACK's quantizer as its documentation configures it",
        recipe="defaults",
        **{**EXECUTORCH, "build": lazy("pte:build", name="executorch-int8-defaults", int8=True, ours=False)},
    ),
)


def peer_runners(loaded: LoadedModel, calib: torch.Tensor) -> dict[str, Callable[[], Runner]]:
    """Row name -> builder of each engine, the peers first (one ONNX export, int8 graphs shared)."""
    inputs = BuildInputs(loaded, calib)
    present = [b for b in (*TABLE, *DEVICE_DEFAULTS) if b.timed and b.available()]
    peers = [b for b in present if b.recipe == "defaults"]
    ours = [b for b in present if b.recipe == "ours" and b.suffix]
    build = lambda record: build_engine(loaded, record, inputs=inputs).runner()  # noqa: E731
    return {**{b.name: partial(build, b) for b in peers}, **{OURS + b.name: partial(build, b) for b in ours}}


def bench_peers(
    loaded: LoadedModel,
    calib_data: str | Path | torch.Tensor,
    val_batches: Callable[[], Any] | None = None,
    batch_size: int = 32,
    rounds: int = 5,
    repeats: int = 10,
    latency_repeats: int = 50,
    quiet: bool = True,
) -> dict[str, Any]:
    """Every peer and our engines on the same inputs, timed in ``rounds`` interleaved rounds (each
    engine in turn, every round), so a noisy moment shifts one round of every engine rather than
    one engine's figure; each figure is the median of its rounds, with their range. Top-1 on
    ``val_batches()`` when given."""
    calib = calibration_tensor(calib_data, loaded.preprocess)
    g = torch.Generator().manual_seed(0)
    batch = torch.randn(
        batch_size, loaded.config.in_channels, loaded.preprocess.crop, loaded.preprocess.crop, generator=g
    )
    single = batch[:1].contiguous()
    runners = {}
    builders = peer_runners(loaded, calib)
    for name, build in track(builders.items(), len(builders), "build engines", "engine", quiet=quiet):
        with contextlib.redirect_stdout(sys.stderr):  # the quantizers print progress; stdout may carry --json
            runners[name] = build()
        runners[name](batch)  # warm: compiles, plans and allocates outside the timed rounds
        runners[name](single)
    throughput: dict[str, list[float]] = {name: [] for name in runners}
    latency: dict[str, list[float]] = {name: [] for name in runners}
    for _ in track(range(rounds), rounds, "timing rounds", "round", quiet=quiet):
        for name, run in runners.items():
            throughput[name].append(batch_size / median(time_calls(partial(run, batch), repeats, warmup=1)))
            latency[name].append(1000 * median(time_calls(partial(run, single), latency_repeats, warmup=2)))
    rows = []
    for name, run in runners.items():
        row = {
            "engine": name,
            "images_per_s": median(throughput[name]),
            "images_per_s_range": [min(throughput[name]), max(throughput[name])],
            "latency_ms_bs1": median(latency[name]),
            "latency_ms_bs1_range": [min(latency[name]), max(latency[name])],
        }
        if val_batches is not None:
            row["top1"] = evaluate(run, val_batches(), progress=False).top1
        rows.append(row)
    peers = [r for r in rows if not r["engine"].startswith(OURS)]
    best_peer = max(peers, key=lambda r: r["images_per_s"])
    fastest_latency = min(peers, key=lambda r: r["latency_ms_bs1"])
    for r in rows:
        r["vs_fastest_peer"] = r["images_per_s"] / best_peer["images_per_s"]
    return {
        "isa": cpu_isa(),
        "cpu": cpu_model(),
        "threads": torch.get_num_threads(),
        "batch_size": batch_size,
        "input_size": loaded.preprocess.crop,
        "rounds": rounds,
        "fastest_peer": best_peer["engine"],
        "lowest_latency_peer": fastest_latency["engine"],
        "rows": rows,
        "not_installed": [b.name for b in TABLE if b.timed and b.suffix and not b.available()],
    }


def format_peers(report: dict[str, Any]) -> str:
    has_top1 = any("top1" in r for r in report["rows"])
    lines = [
        f"engines at {report['input_size']} px on {report.get('cpu', '')} ({report['isa']}), "
        f"{report['threads']} threads, "
        f"medians of {report.get('rounds', 1)} interleaved rounds (images/s at batch {report['batch_size']}; ratio to "
        f"the fastest peer, {report['fastest_peer']})",
        f"  {'engine':<44} {'images/s':>9} {'ratio':>7} {'bs1 ms':>7}" + (f" {'top-1':>7}" if has_top1 else ""),
    ]
    for r in report["rows"]:
        top1 = f" {r['top1']:>6.2f}%" if "top1" in r else ""
        lines.append(
            f"  {r['engine']:<44} {r['images_per_s']:>9.0f} {r['vs_fastest_peer']:>6.2f}x "
            f"{r['latency_ms_bs1']:>7.2f}{top1}"
        )
    if report.get("not_installed"):
        lines.append(f"  not measured, their runtimes not installed: {', '.join(report['not_installed'])}")
    return "\n".join(lines)
