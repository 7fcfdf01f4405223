"""The training loop, top to bottom: data, model, optimiser, resume, steps, epochs, outputs.

Determinism: the model is initialised from ``seed``; epoch order and augmentation are pure
functions of (seed, epoch, step); dropout is re-seeded from (seed, step) before every step and
draws its mask for the global batch (``GlobalBatchDropout``). A checkpoint therefore needs no
RNG state, a resumed run retraces the uninterrupted one bit for bit on the CPU, and N processes
take the same steps as one, up to the order in which gradients are summed; with ``--norm
squeeze`` not quite: its batch norm takes each process's share of the batch for statistics.
"""

from __future__ import annotations

import dataclasses
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .. import __version__
from ..data.sources import TrainSource, build_source, mix_seed
from ..errors import SqueezeNetError
from ..formats.preprocess import IMAGENET
from ..formats.weights import load_model, save_model
from ..models import SqueezeNet, SqueezeNetConfig, arch_config
from ..utils.device import native_bf16, pick_device
from ..utils.progress import progress_off
from ..zoo import load_pretrained
from . import distributed as D
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .report import plot_curves, write_json, write_metrics_csv
from .transfer import describe, param_groups, transfer_config

RUN_FILES = ("model.safetensors", "metrics.csv", "run.json")  # what a run writes besides its checkpoint


class OtherRunError(SqueezeNetError):
    """``--resume`` found the checkpoint of another command (architecture or schedule)."""


def model_config_for(cfg: TrainConfig, source: TrainSource) -> SqueezeNetConfig:
    """The arch with design overrides, sized for the data (classes, channels, small-image stem)."""
    design = dict(cfg.design)
    design.setdefault("stem", "small" if source.input_size <= 64 else "imagenet")
    return arch_config(cfg.arch, **design, num_classes=source.num_classes, in_channels=source.in_channels)


def autocast_dtype(device: torch.device, amp: str) -> torch.dtype | None:
    """bf16/fp16 where the hardware computes it natively; on CPUs without bf16 units it is slower."""
    if amp == "off":
        return None
    if amp == "bf16":
        return torch.bfloat16
    if amp == "fp16":
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if native_bf16() else None


def make_optimizer(cfg: TrainConfig, params: Any) -> torch.optim.Optimizer:
    """``params``: the model's parameters, or groups with their own learning rates."""
    # fused: one kernel per step for all parameters instead of a loop of small ops (CPU and CUDA)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, fused=True)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    raise SqueezeNetError(f"unknown optimizer {cfg.optimizer!r}; use sgd or adamw")


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then the release's "poly" power-1 schedule: linear decay to zero."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


@torch.no_grad()
def validate(model: torch.nn.Module, source: TrainSource, ctx: D.DistContext, batch_size: int, channels_last: bool) -> dict[str, float]:
    model.eval()
    sums = [0.0, 0.0, 0.0, 0.0]  # loss, top1, top5, n
    for batch in source.val_batches(batch_size, ctx.rank, ctx.world_size):
        if not len(batch.targets):
            continue
        x = batch.images.to(ctx.device)
        x = x.contiguous(memory_format=torch.channels_last) if channels_last else x
        y = batch.targets.to(ctx.device)
        logits = model(x).float()
        top5 = logits.topk(min(5, logits.shape[1]), dim=1).indices
        sums[0] += float(F.cross_entropy(logits, y, reduction="sum"))
        sums[1] += float((top5[:, 0] == y).sum())
        sums[2] += float((top5 == y[:, None]).any(dim=1).sum())
        sums[3] += len(y)
    loss, top1, top5, n = D.all_sum(sums, ctx)
    model.train()
    return {"val_loss": loss / max(n, 1), "val_top1": 100 * top1 / max(n, 1), "val_top5": 100 * top5 / max(n, 1)}


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Run (or resume) a training run into ``cfg.out``; returns the run summary."""
    cfg = cfg.resolved()
    ctx = D.setup(pick_device(cfg.device))
    try:
        return _train(cfg, ctx)
    finally:
        D.teardown(ctx)


@dataclass
class Totals:
    """What the current epoch has added up; checkpointed, so a resumed epoch reports as a whole one."""

    loss_sum: float = 0.0
    correct: float = 0.0
    seen: float = 0.0
    skipped: float = 0.0
    seconds: float = 0.0  # training time before the last checkpoint of this epoch


@dataclass
class _Run:
    """Everything the steps of one run share."""

    cfg: TrainConfig
    ctx: D.DistContext
    source: TrainSource
    model_config: SqueezeNetConfig
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    dtype: torch.dtype | None
    steps_per_epoch: int
    total_steps: int
    epoch: int = 0
    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)

    @property
    def out(self) -> Path:
        return Path(self.cfg.out)

    def checkpoint(self, epoch: int, step: int) -> None:
        if self.ctx.is_main:
            save_checkpoint(self.out / CHECKPOINT_NAME, {
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
                "model_config": self.model_config.to_dict(), "total_steps": self.total_steps,
                "epoch": epoch, "step": step, "history": self.history, "totals": dataclasses.asdict(self.totals),
            })  # fmt: skip


def _train(cfg: TrainConfig, ctx: D.DistContext) -> dict[str, Any]:
    _check_run_directory(cfg, ctx)
    run = _prepare(cfg, ctx)
    if cfg.resume and (run.out / CHECKPOINT_NAME).exists():
        _resume(run)
    ddp_model, comm = D.wrap_ddp(run.model, ctx)
    steps_run, session_start = 0, time.perf_counter()
    for epoch in range(run.epoch, cfg.epochs):
        start_step = run.step if epoch == run.epoch else 0
        steps_run += _train_epoch(run, ddp_model, epoch, start_step, steps_run)
        if cfg.max_steps is not None and steps_run >= cfg.max_steps:
            return {"stopped_early": True, "steps_run": steps_run}
        _finish_epoch(run, epoch)
    summary = _summary(cfg, ctx, run.model, run.model_config, run.history, comm, steps_run, time.perf_counter() - session_start)
    if ctx.is_main:
        save_model(run.model, run.out / "model.safetensors", run.source.preprocess, run.source.classes,
                   extra={"val_top1": f"{summary['val_top1']:.4f}", "trained_by": f"squeezenet {__version__}"})  # fmt: skip
        write_json(run.out / "run.json", summary)
    D.barrier(ctx)
    return summary


def _check_run_directory(cfg: TrainConfig, ctx: D.DistContext) -> None:
    """A new run never overwrites an old one; ``--resume`` without a checkpoint says so."""
    out = Path(cfg.out)
    if (out / CHECKPOINT_NAME).exists() and not cfg.resume:
        raise SqueezeNetError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    if cfg.resume and not (out / CHECKPOINT_NAME).exists():
        earlier = [name for name in RUN_FILES if (out / name).exists()]
        if earlier:
            raise SqueezeNetError(f"--resume: {out} has no checkpoint to continue from, but holds {earlier[0]}; "
                                  "choose another --out rather than overwrite it")  # fmt: skip
        if ctx.is_main:
            print(f"--resume: no checkpoint in {out} yet; starting the run from the beginning", file=sys.stderr)
    if cfg.batch_size % ctx.world_size:
        raise SqueezeNetError(f"--batch-size {cfg.batch_size} (global) must divide by the {ctx.world_size} processes")


def _prepare(cfg: TrainConfig, ctx: D.DistContext) -> _Run:
    """Data, model (seeded, or from --weights), optimiser, schedule and precision for a run from its first step."""
    pretrained = load_model(cfg.weights) if cfg.weights else None
    base = pretrained.preprocess if pretrained else IMAGENET
    source = build_source(cfg.data, cfg.data_dir, cfg.input_size, cfg.workers, cfg.download, cfg.augment, base,
                          cfg.val_split, cfg.seed)  # fmt: skip
    if cfg.limit_train or cfg.limit_val:
        source.limit(cfg.limit_train, cfg.limit_val, cfg.seed)
    steps_per_epoch = source.steps_per_epoch(cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    warmup_steps = int(cfg.warmup_epochs * steps_per_epoch)

    torch.set_flush_denormal(True)  # tiny gradients as denormals cost ~10% of CPU step time
    torch.manual_seed(cfg.seed)
    if pretrained is None:
        model_config = model_config_for(cfg, source)
        model = SqueezeNet(model_config)
    else:
        model_config = transfer_config(cfg, pretrained, source.in_channels, source.num_classes)
        model = SqueezeNet(model_config)
        replaced = pretrained.classes != source.classes  # a head is kept only for exactly its own classes
        load_pretrained(model, pretrained, keep_head=not replaced)
    if ctx.is_main and not cfg.quiet:
        for note in (getattr(source, "split_note", ""), pretrained and describe(cfg, pretrained, source.classes, replaced)):
            if note:
                print(note)
    model = model.to(ctx.device)
    D.use_global_batch_dropout(model, ctx)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(cfg, param_groups(model, cfg) if pretrained else model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total_steps, warmup_steps))
    dtype = autocast_dtype(ctx.device, cfg.amp)
    scaler = torch.amp.GradScaler(ctx.device.type, enabled=dtype == torch.float16)
    return _Run(cfg, ctx, source, model_config, model, optimizer, scheduler, scaler, dtype, steps_per_epoch, total_steps)


def _resume(run: _Run) -> None:
    """Load everything that decides the next step; refuse a checkpoint of another command."""
    path = run.out / CHECKPOINT_NAME
    ckpt = load_checkpoint(path)
    if ckpt.get("model_config") != run.model_config.to_dict() or ckpt.get("total_steps") != run.total_steps:
        raise OtherRunError(f"{path} was written by a different command (architecture or schedule differ); "
                            f"remove {run.out} or choose another --out")  # fmt: skip
    if not isinstance(ckpt.get("totals"), dict):
        raise SqueezeNetError(f"{path} was written by an older squeezenet; start a new run")
    run.model.load_state_dict(ckpt["model"])
    run.optimizer.load_state_dict(ckpt["optimizer"])
    run.scheduler.load_state_dict(ckpt["scheduler"])
    run.scaler.load_state_dict(ckpt["scaler"])
    run.epoch, run.step, run.history, run.totals = ckpt["epoch"], ckpt["step"], ckpt["history"], Totals(**ckpt["totals"])
    if run.ctx.is_main and not run.cfg.quiet:
        print(f"resuming {run.out} at epoch {run.epoch + 1}, step {run.step}/{run.steps_per_epoch}")


def _train_epoch(run: _Run, ddp_model: torch.nn.Module, epoch: int, start_step: int, steps_before: int) -> int:
    """The steps of one epoch from ``start_step``, checkpointing on the way; the steps taken
    (fewer when ``max_steps`` stops the process as if killed)."""
    cfg, ctx, totals = run.cfg, run.ctx, run.totals
    run.model.train()
    bar = tqdm(total=run.steps_per_epoch, initial=start_step, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="step",
               disable=progress_off(cfg.quiet or not ctx.is_main), dynamic_ncols=True)  # fmt: skip
    epoch_start, taken = time.perf_counter(), 0
    batches = run.source.train_batches(epoch, start_step, cfg.batch_size, ctx.rank, ctx.world_size, cfg.seed)
    for step, batch in enumerate(batches, start=start_step):
        global_step = epoch * run.steps_per_epoch + step
        # dropout masks for this step, the same on every rank (the 0 keeps 1-process runs as they were)
        torch.manual_seed(mix_seed(cfg.seed, 0, global_step))
        y = batch.targets.to(ctx.device, non_blocking=True)
        logits, loss = _step(run, ddp_model, batch.images, y)
        loss_value = float(loss.detach())
        totals.loss_sum += loss_value * len(y)
        totals.correct += float((logits.detach().argmax(1) == y).sum())
        totals.seen += len(y)
        totals.skipped += batch.skipped
        taken += 1
        bar.update()
        bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{run.scheduler.get_last_lr()[0]:.4f}", refresh=False)
        if step + 1 < run.steps_per_epoch and cfg.checkpoint_every and (global_step + 1) % cfg.checkpoint_every == 0:
            totals.seconds += time.perf_counter() - epoch_start
            epoch_start = time.perf_counter()
            run.checkpoint(epoch, step + 1)
        if cfg.max_steps is not None and steps_before + taken >= cfg.max_steps:
            break
    bar.close()
    totals.seconds += time.perf_counter() - epoch_start
    return taken


def _step(run: _Run, ddp_model: torch.nn.Module, images: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimisation step (mixed precision where native, clipped, scheduled): (logits, loss)."""
    cfg = run.cfg
    x = images.to(run.ctx.device, non_blocking=True)
    x = x.contiguous(memory_format=torch.channels_last) if cfg.channels_last else x
    with torch.autocast(run.ctx.device.type, dtype=run.dtype or torch.bfloat16, enabled=run.dtype is not None):
        logits = ddp_model(x)
        loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    if cfg.grad_clip:
        run.scaler.unscale_(run.optimizer)
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.grad_clip)
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.scheduler.step()
    return logits, loss


def _finish_epoch(run: _Run, epoch: int) -> None:
    """Validate, add the epoch's row, checkpoint, and write the run's CSV, plot and line."""
    cfg, ctx = run.cfg, run.ctx
    totals = run.totals
    loss_sum, correct, seen, skipped = D.all_sum([totals.loss_sum, totals.correct, totals.seen, totals.skipped], ctx)
    row = {
        "epoch": epoch + 1,
        "loss": loss_sum / max(seen, 1),
        "lr": run.scheduler.get_last_lr()[0],
        "train_top1": 100 * correct / max(seen, 1),
        **validate(run.model, run.source, ctx, max(256, cfg.batch_size), cfg.channels_last),
        "images_per_s": seen / max(totals.seconds, 1e-9),
        "seconds": totals.seconds,
        "skipped_images": int(skipped),
    }
    run.history.append(row)
    run.totals = Totals()
    run.checkpoint(epoch + 1, 0)
    if ctx.is_main:
        write_metrics_csv(run.out / "metrics.csv", run.history)
        plot_curves(run.out / "curves.png", run.history, f"{cfg.arch or run.model_config.layout} on {cfg.data}",
                    run.model_config.num_classes)  # fmt: skip
        if not cfg.quiet:
            print(f"epoch {epoch + 1}: loss {row['loss']:.4f}  val top-1 {row['val_top1']:.2f}%  "
                  f"top-5 {row['val_top5']:.2f}%  {row['images_per_s']:.0f} img/s"
                  + (f"  ({int(skipped)} unreadable images skipped)" if skipped else ""))  # fmt: skip


def _summary(
    cfg: TrainConfig, ctx: D.DistContext, model: torch.nn.Module, model_config: SqueezeNetConfig,
    history: list[dict[str, Any]], comm: D.CommStats, steps_run: int, seconds: float,
) -> dict[str, Any]:  # fmt: skip
    params = sum(p.numel() for p in model.parameters())
    last = history[-1] if history else {}
    return {
        "config": cfg.to_dict(),
        "model_config": model_config.to_dict(),
        "params": params,
        "size_bytes_fp32": 4 * params,
        "world_size": ctx.world_size,
        "rank": ctx.rank,
        "model_path": str(Path(cfg.out) / "model.safetensors"),
        "val_top1": last.get("val_top1"),
        "val_top5": last.get("val_top5"),
        "train_seconds": sum(h["seconds"] for h in history),
        "images_per_s": last.get("images_per_s"),
        "gradient_bytes_per_step": 4 * params,  # what data-parallel training must exchange (fp32)
        "allreduce_bytes_per_step": comm.bytes / steps_run if steps_run else 0.0,  # measured, this process
        "allreduce_seconds_per_step": comm.seconds / steps_run if steps_run else 0.0,
        "allreduce_calls_per_step": comm.calls / steps_run if steps_run else 0.0,
        "session_seconds": seconds,
        "history": history,
        "environment": {
            "squeezenet": __version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "device": str(ctx.device),
            "threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "amp": str(autocast_dtype(ctx.device, cfg.amp)),
            "machine": platform.machine(),
        },
    }
