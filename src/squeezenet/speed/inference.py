"""Inference throughput and batch-1 latency per backend, on the same inputs, in one run.

Ratios are against torch eager fp32 measured in the same process, because this machine is
noisy; FLOPs (2 x MACs) over time gives the achieved GFLOP/s.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import torch

from ..deploy.backends import backend as find_backend
from ..deploy.metadata import Runner
from ..deploy.runtime import make_runner
from ..formats.loaded import LoadedModel
from ..models.summary import summarize
from ..utils.timing import median, percentile, time_calls


def bench_inference(
    loaded: LoadedModel,
    backends: list[str],
    batch_size: int = 32,
    calib_data: str | Path | torch.Tensor | None = None,
    repeats: int = 20,
    latency_repeats: int = 100,
    runners: dict[str, Runner] | None = None,
) -> dict[str, Any]:
    """``runners``: engines already built (``export --format auto``'s), by backend, timed instead of rebuilt."""
    for name in backends:
        find_backend(name)  # an unknown name is an error before anything is timed
    if "torch" not in backends:
        backends = ["torch", *backends]  # the baseline every ratio refers to
    crop, channels = loaded.preprocess.crop, loaded.config.in_channels
    g = torch.Generator().manual_seed(0)
    batch = torch.randn(batch_size, channels, crop, crop, generator=g)
    single = batch[:1].contiguous()
    macs = summarize(loaded.model, crop).total_macs
    results = []
    for backend in backends:
        run = (runners or {}).get(backend) or make_runner(loaded, backend, calib_data)
        throughput = time_calls(partial(run, batch), repeats, warmup=3)
        latency = time_calls(partial(run, single), latency_repeats, warmup=5)
        images_per_s = batch_size / median(throughput)
        results.append(
            {
                "backend": backend,
                "images_per_s": images_per_s,
                "latency_ms_bs1": 1000 * median(latency),
                "latency_ms_bs1_p90": 1000 * percentile(latency, 90),
                "gflops_per_s": 2 * macs * images_per_s / 1e9,
            }
        )
    base = results[0]["images_per_s"]
    for r in results:
        r["ratio_vs_torch"] = r["images_per_s"] / base
    return {
        "arch": loaded.config.to_dict(),
        "input_size": crop,
        "batch_size": batch_size,
        "macs_per_image": macs,
        "flops_per_image": 2 * macs,
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "results": results,
    }


def format_inference(report: dict[str, Any]) -> str:
    lines = [
        f"inference at {report['input_size']} px, batch {report['batch_size']}, "
        f"{report['flops_per_image'] / 1e9:.2f} GFLOP/image ({report['cpu_capability']}, {report['threads']} threads)",
        f"  {'backend':<18} {'images/s':>10} {'ratio':>7} {'bs1 ms':>8} {'bs1 p90':>8} {'GFLOP/s':>8}",
    ]
    for r in report["results"]:
        lines.append(
            f"  {r['backend']:<18} {r['images_per_s']:>10.0f} {r['ratio_vs_torch']:>6.2f}x "
            f"{r['latency_ms_bs1']:>8.2f} {r['latency_ms_bs1_p90']:>8.2f} {r['gflops_per_s']:>8.1f}"
        )
    return "\n".join(lines)
