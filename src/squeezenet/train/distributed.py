"""torch.distributed wiring (torchrun sets the environment) and all-reduce accounting.

The paper's first argument for small models is that data-parallel training all-reduces
every gradient every step. A DDP communication hook counts those bytes and times each
all-reduce, so run.json reports what crossed the wire, not a formula.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

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


class GlobalBatchDropout(nn.Module):
    """Dropout whose mask is drawn for the whole global batch, then sliced to this rank's rows.

    ``nn.Dropout`` draws a mask for the local batch from each rank's own stream, so N processes
    train a different model than one process on the same global batches. Drawing the global
    mask from a seed every rank shares (the loop re-seeds before each step) and taking rows
    ``rank * b .. (rank + 1) * b`` gives every world size the same masks (the batch is the
    outermost dimension in both NCHW and channels-last order).

    Hand-written rather than ``nn.Dropout`` for speed as well: the CPU generator draws one number
    at a time, and ``bernoulli_`` draws one per element (SqueezeNet's mask at batch 256 has
    millions: a sizeable share of a bf16 training step). Here each 64-bit draw gives eight random
    bytes, and a byte below ``keep`` keeps its element: 8x fewer draws, keep probability in
    steps of 1/256 (exact for the 0.5 of every SqueezeNet), scaled by 256/keep so the expected
    activation is unchanged.
    """

    def __init__(self, p: float, rank: int = 0, world_size: int = 1) -> None:
        super().__init__()
        self.p, self.rank, self.world_size = p, rank, world_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep = round(256 * (1 - self.p))
        if not self.training or keep == 256:
            return x
        if keep == 0:
            return x * 0
        b, n = x.shape[0], self.world_size * x.numel()
        words = torch.randint(-(2**63), 2**63 - 1, (-(-n // 8),), dtype=torch.int64, device=x.device)
        noise = (words.view(torch.uint8)[:n] < keep).to(x.dtype).mul_(256 / keep)
        channels_last = x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
        if channels_last:  # fill in memory order, so the mask has x's strides
            noise = noise.view(self.world_size * b, x.shape[2], x.shape[3], x.shape[1]).permute(0, 3, 1, 2)
        else:
            noise = noise.view(self.world_size * b, *x.shape[1:])
        return x * noise[self.rank * b : (self.rank + 1) * b]


def use_global_batch_dropout(model: nn.Module, ctx: DistContext) -> None:
    """Swap every ``nn.Dropout`` in ``model`` for a world-size-invariant ``GlobalBatchDropout``."""
    for parent in model.modules():
        for name, child in parent.named_children():
            if type(child) is nn.Dropout:
                setattr(parent, name, GlobalBatchDropout(child.p, ctx.rank, ctx.world_size))


def all_sum(values: list[float], ctx: DistContext) -> list[float]:
    if not ctx.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()
