"""torch.distributed wiring (torchrun sets the environment) and all-reduce accounting.

The paper's first argument for small models is that data-parallel training all-reduces
every gradient every step. A DDP communication hook counts those bytes and times each
all-reduce, so run.json reports what crossed the wire, not a formula.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device: torch.device) -> DistContext:
    """Join the process group torchrun describes (gloo on CPU, NCCL on GPU), if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(device=device)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(dist.get_rank(), dist.get_world_size(), local_rank, device)


def teardown(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()


@dataclass
class CommStats:
    bytes: int = 0
    seconds: float = 0.0
    calls: int = 0


def _timed_allreduce_hook(stats, bucket):  # type: ignore[no-untyped-def]
    # No annotations: DDP compares ``bucket``'s annotation with dist.GradBucket, and postponed
    # (string) annotations fail that check.
    buffer = bucket.buffer()
    world = dist.get_world_size()
    start = time.perf_counter()
    fut = dist.all_reduce(buffer, async_op=True).get_future()

    def finish(f: torch.futures.Future) -> torch.Tensor:
        stats.seconds += time.perf_counter() - start
        stats.bytes += buffer.numel() * buffer.element_size()
        stats.calls += 1
        return f.value()[0].div_(world)

    return fut.then(finish)


def wrap_ddp(model: torch.nn.Module, ctx: DistContext) -> tuple[torch.nn.Module, CommStats]:
    stats = CommStats()
    if not ctx.enabled:
        return model, stats
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    ddp = DistributedDataParallel(model, device_ids=ids)
    ddp.register_comm_hook(stats, _timed_allreduce_hook)
    return ddp, stats


def all_sum(values: list[float], ctx: DistContext) -> list[float]:
    if not ctx.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()
