"""The paper's first argument, measured: gradient all-reduce per step, SqueezeNet vs AlexNet.

Two gloo processes on this machine train each model under DDP for a few steps; the same
communication hook the trainer uses counts the bytes and times each all-reduce.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
import torchvision

from ..models import SqueezeNet, arch_config
from ..train.distributed import DistContext, wrap_ddp

MODELS = {"squeezenet1_1": lambda: SqueezeNet(arch_config("squeezenet1_1")), "alexnet": torchvision.models.alexnet}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, steps: int, batch: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    results = {}
    for name, build in MODELS.items():
        torch.manual_seed(0)
        model = build()
        ddp, stats = wrap_ddp(model, DistContext(rank, world, 0, torch.device("cpu")))
        opt = torch.optim.SGD(ddp.parameters(), lr=1e-4)
        x, y = torch.randn(batch, 3, 224, 224), torch.randint(0, 1000, (batch,))
        for step in range(steps + 1):
            if step == 1:  # the first step builds buckets; measure the rest
                stats.bytes, stats.seconds, stats.calls = 0, 0.0, 0
            opt.zero_grad()
            F.cross_entropy(ddp(x), y).backward()
            opt.step()
        params = sum(p.numel() for p in model.parameters())
        results[name] = {
            "params": params,
            "allreduce_bytes_per_step": stats.bytes / steps,
            "allreduce_seconds_per_step": stats.seconds / steps,
            "allreduce_calls_per_step": stats.calls / steps,
        }
    if rank == 0:
        Path(out).write_text(json.dumps(results))
    dist.destroy_process_group()


def bench_allreduce(steps: int = 3, batch: int = 2, world: int = 2) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        mp.spawn(_worker, args=(world, _free_port(), steps, batch, out), nprocs=world, join=True)
        results = json.loads(Path(out).read_text())
    sq, ax = results["squeezenet1_1"], results["alexnet"]
    return {
        "world_size": world,
        "backend": "gloo",
        "steps": steps,
        "models": results,
        "bytes_ratio_alexnet_over_squeezenet": ax["allreduce_bytes_per_step"] / sq["allreduce_bytes_per_step"],
        "seconds_ratio_alexnet_over_squeezenet": ax["allreduce_seconds_per_step"]
        / max(sq["allreduce_seconds_per_step"], 1e-12),
    }
