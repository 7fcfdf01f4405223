"""The training loop, top to bottom: data, model, step, resume, epochs, outputs.

Determinism: the model is initialised from ``seed``; epoch order and augmentation are pure
functions of (seed, epoch, step); the step (``train.step``) re-seeds dropout from (seed, step)
and ``GlobalBatchDropout`` draws its mask for the global batch. A checkpoint therefore needs no
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

from ..data.sources import TrainSource, build_source
from ..data.split import SPLIT_FILE, Split
from ..errors import OptionError, SqueezeNetError
from ..formats.preprocess import IMAGENET
from ..formats.weights import load_model, save_model
from ..models.config import SqueezeNetConfig
from ..models.registry import arch_config
from ..models.squeezenet import SqueezeNet
from ..utils.device import autocast_dtype, pick_device
from ..utils.metrics import Accuracy
from ..utils.progress import progress
from ..version import __version__
from ..zoo import load_pretrained
from . import distributed as D
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from .config import MODEL_FILE, RUN_FILES, TrainConfig
from .report import plot_curves, write_json, write_metrics_csv
from .step import StepOptions, Stepper, cross_entropy
from .transfer import describe, param_groups, transfer_config


class OtherRunError(SqueezeNetError):
    """``--resume`` found the checkpoint of another command (architecture or schedule)."""


def model_config_for(cfg: TrainConfig, source: TrainSource) -> SqueezeNetConfig:
    """The arch with design overrides, sized for the data (classes, channels, small-image stem)."""
    design = dict(cfg.design)
    design.setdefault("stem", "small" if source.input_size <= 64 else "imagenet")
    return arch_config(cfg.arch, **design, num_classes=source.num_classes, in_channels=source.in_channels)


@torch.no_grad()
def validate(
    model: torch.nn.Module, source: TrainSource, ctx: D.DistContext, batch_size: int, channels_last: bool
) -> dict[str, float]:
    """Loss, top-1 and top-5 on the validation images, summed over every process."""
    model.eval()
    metric = Accuracy()
    for batch in source.val_batches(batch_size, ctx.rank, ctx.world_size):
        if not len(batch.targets):
            continue
        x = batch.images.to(ctx.device)
        x = x.contiguous(memory_format=torch.channels_last) if channels_last else x
        metric.update(model(x), batch.targets.to(ctx.device))
    metric = Accuracy.from_sums(D.all_sum(metric.sums(), ctx))
    model.train()
    return {"val_loss": metric.mean_loss, "val_top1": metric.top1_percent, "val_top5": metric.top5_percent}


def train(cfg: TrainConfig) -> RunSummary:
    """Run (or resume) a training run into ``cfg.out``; returns the run summary."""
    cfg = cfg.resolved()
    ctx = D.setup(pick_device(cfg.device))
    try:
        return _train(cfg, ctx)
    finally:
        D.teardown(ctx)


@dataclass
class RunSummary:
    """What a run did (also its ``run.json``). ``stopped_early``: ``max_steps`` ended it as if killed."""

    out: str
    model_path: str | None
    config: dict[str, Any]
    model_config: dict[str, Any]
    params: int
    world_size: int
    rank: int
    history: list[dict[str, Any]]
    steps_run: int
    wall_seconds: float  # this process, resumed runs counted from the resume
    environment: dict[str, Any]
    val_top1: float | None = None
    val_top5: float | None = None
    train_seconds: float = 0.0
    images_per_s: float | None = None
    size_bytes_fp32: int = 0
    gradient_bytes_per_step: int = 0  # what data-parallel training must exchange (fp32)
    allreduce_bytes_per_step: float = 0.0  # measured, this process
    allreduce_seconds_per_step: float = 0.0
    allreduce_calls_per_step: float = 0.0
    split_path: str | None = None  # the file lists of a held-out split (folder data)
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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
    stepper: Stepper
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
            save_checkpoint(
                self.out / CHECKPOINT_NAME,
                {
                    "model": self.model.state_dict(),
                    **self.stepper.state_dict(),
                    "model_config": self.model_config.to_dict(),
                    "total_steps": self.total_steps,
                    "epoch": epoch,
                    "step": step,
                    "history": self.history,
                    "totals": dataclasses.asdict(self.totals),
                },
            )


def _train(cfg: TrainConfig, ctx: D.DistContext) -> RunSummary:
    _check_run_directory(cfg, ctx)
    run = _prepare(cfg, ctx)
    if cfg.resume and (run.out / CHECKPOINT_NAME).exists():
        _resume(run)
    run.stepper.forward, comm = D.wrap_ddp(run.model, ctx)
    steps_run, started = 0, time.perf_counter()
    for epoch in range(run.epoch, cfg.epochs):
        start_step = run.step if epoch == run.epoch else 0
        steps_run += _train_epoch(run, epoch, start_step, steps_run)
        if cfg.max_steps is not None and steps_run >= cfg.max_steps:
            return _summary(run, comm, steps_run, time.perf_counter() - started, stopped_early=True)
        _finish_epoch(run, epoch)
    summary = _summary(run, comm, steps_run, time.perf_counter() - started)
    if ctx.is_main:
        save_model(
            run.model,
            run.out / MODEL_FILE,
            run.source.preprocess,
            run.source.classes,
            extra={"val_top1": f"{summary.val_top1:.4f}", "trained_by": f"squeezenet {__version__}"},
        )
        write_json(run.out / "run.json", summary.to_dict())
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
            raise SqueezeNetError(
                f"--resume: {out} has no checkpoint to continue from, but holds {earlier[0]}; "
                "choose another --out rather than overwrite it"
            )
        if ctx.is_main:
            print(f"--resume: no checkpoint in {out} yet; starting the run from the beginning", file=sys.stderr)
    if cfg.batch_size % ctx.world_size:
        raise SqueezeNetError(f"--batch-size {cfg.batch_size} (global) must divide by the {ctx.world_size} processes")


def _prepare(cfg: TrainConfig, ctx: D.DistContext) -> _Run:
    """Data, model (seeded, or from --weights) and the step for a run from its first step."""
    pretrained = load_model(cfg.weights) if cfg.weights else None
    base = pretrained.preprocess if pretrained else IMAGENET
    source = build_source(
        cfg.data,
        cfg.data_dir,
        cfg.input_size,
        cfg.workers,
        cfg.download,
        cfg.augment,
        base,
        cfg.val_split,
        cfg.seed,
        Split.read(cfg.split) if cfg.split else None,
        cfg.cache,
    )
    if cfg.limit_train or cfg.limit_val:
        source.limit(cfg.limit_train, cfg.limit_val, cfg.seed)
    decode_once = getattr(source, "decode_once", None)  # image folders: every photo decoded once
    cache_note = decode_once(ctx.world_size, progress=ctx.is_main and not cfg.quiet) if decode_once else ""
    if pretrained is None:
        model_config = model_config_for(cfg, source)
    else:
        model_config = transfer_config(cfg, pretrained, source.in_channels, source.num_classes)
    if source.input_size < model_config.min_input_size():
        raise OptionError(
            "input_size",
            f"{source.input_size} px is below this network's smallest input, {model_config.min_input_size()} px",
        )
    split = getattr(source, "split", None)
    if split is not None and ctx.is_main:
        split.write(Path(cfg.out) / SPLIT_FILE)  # what eval --run scores
    steps_per_epoch = source.steps_per_epoch(cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch

    torch.set_flush_denormal(True)  # tiny gradients as denormals cost ~10% of CPU step time
    torch.manual_seed(cfg.seed)
    model = SqueezeNet(model_config)
    if pretrained is not None:
        replaced = pretrained.classes != source.classes  # a head is kept only for exactly its own classes
        load_pretrained(model, pretrained, keep_head=not replaced)
    if ctx.is_main and not cfg.quiet:
        for note in (
            getattr(source, "split_note", ""),
            getattr(source, "class_note", ""),
            cache_note,
            pretrained and describe(cfg, pretrained, source.classes, replaced),
        ):
            if note:
                print(note)
    model = model.to(ctx.device)
    D.use_global_batch_dropout(model, ctx)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    stepper = Stepper(
        model,
        step_options(cfg, total_steps, int(cfg.warmup_epochs * steps_per_epoch)),
        ctx.device,
        cross_entropy(cfg.label_smoothing),
        param_groups(model, cfg) if pretrained else None,
    )
    return _Run(cfg, ctx, source, model_config, model, stepper, steps_per_epoch, total_steps)


def step_options(cfg: TrainConfig, total_steps: int, warmup_steps: int) -> StepOptions:
    """The step a resolved ``TrainConfig`` trains with."""
    return StepOptions(
        optimizer=cfg.optimizer,
        lr=cfg.lr,
        momentum=cfg.momentum,
        weight_decay=cfg.weight_decay,
        grad_clip=cfg.grad_clip,
        warmup_steps=warmup_steps,
        total_steps=total_steps,
        amp=cfg.amp,
        channels_last=cfg.channels_last,
        seed=cfg.seed,
    )


def _resume(run: _Run) -> None:
    """Load everything that decides the next step; refuse a checkpoint of another command."""
    path = run.out / CHECKPOINT_NAME
    ckpt = load_checkpoint(path)
    if ckpt.get("model_config") != run.model_config.to_dict() or ckpt.get("total_steps") != run.total_steps:
        raise OtherRunError(
            f"{path} was written by a different command (architecture or schedule differ); "
            f"remove {run.out} or choose another --out"
        )
    if not isinstance(ckpt.get("totals"), dict):
        raise SqueezeNetError(f"{path} was written by an older squeezenet; start a new run")
    run.model.load_state_dict(ckpt["model"])
    run.stepper.load_state_dict(ckpt)
    run.epoch, run.step, run.history, run.totals = (
        ckpt["epoch"],
        ckpt["step"],
        ckpt["history"],
        Totals(**ckpt["totals"]),
    )
    if run.ctx.is_main and not run.cfg.quiet:
        print(f"resuming {run.out} at epoch {run.epoch + 1}, step {run.step}/{run.steps_per_epoch}")


def _train_epoch(run: _Run, epoch: int, start_step: int, steps_before: int) -> int:
    """The steps of one epoch from ``start_step``, checkpointing on the way; the steps taken
    (fewer when ``max_steps`` stops the process as if killed)."""
    cfg, ctx, totals = run.cfg, run.ctx, run.totals
    run.model.train()
    bar = progress(
        run.steps_per_epoch, f"epoch {epoch + 1}/{cfg.epochs}", quiet=cfg.quiet or not ctx.is_main, initial=start_step
    )
    epoch_start, taken = time.perf_counter(), 0
    batches = run.source.train_batches(epoch, start_step, cfg.batch_size, ctx.rank, ctx.world_size, cfg.seed)
    for step, batch in enumerate(batches, start=start_step):
        global_step = epoch * run.steps_per_epoch + step
        logits, loss = run.stepper(batch.images, batch.targets, global_step)
        y = batch.targets.to(ctx.device)
        loss_value = float(loss.detach())
        totals.loss_sum += loss_value * len(y)
        totals.correct += float((logits.detach().argmax(1) == y).sum())
        totals.seen += len(y)
        totals.skipped += batch.skipped
        taken += 1
        bar.update()
        bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{run.stepper.lr:.4f}", refresh=False)
        if step + 1 < run.steps_per_epoch and cfg.checkpoint_every and (global_step + 1) % cfg.checkpoint_every == 0:
            totals.seconds += time.perf_counter() - epoch_start
            epoch_start = time.perf_counter()
            run.checkpoint(epoch, step + 1)
        if cfg.max_steps is not None and steps_before + taken >= cfg.max_steps:
            break
    bar.close()
    totals.seconds += time.perf_counter() - epoch_start
    return taken


def _finish_epoch(run: _Run, epoch: int) -> None:
    """Validate, add the epoch's row, checkpoint, and write the run's CSV, plot and line."""
    cfg, ctx = run.cfg, run.ctx
    totals = run.totals
    loss_sum, correct, seen, skipped = D.all_sum([totals.loss_sum, totals.correct, totals.seen, totals.skipped], ctx)
    row = {
        "epoch": epoch + 1,
        "loss": loss_sum / max(seen, 1),
        "lr": run.stepper.lr,
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
        plot_curves(
            run.out / "curves.png",
            run.history,
            f"{cfg.arch or run.model_config.layout} on {cfg.data}",
            run.model_config.num_classes,
        )
        if not cfg.quiet:
            print(
                f"epoch {epoch + 1}: loss {row['loss']:.4f}  val top-1 {row['val_top1']:.2f}%  "
                f"top-5 {row['val_top5']:.2f}%  {row['images_per_s']:.0f} img/s"
                + (f"  ({int(skipped)} unreadable images skipped)" if skipped else "")
            )


def _summary(run: _Run, comm: D.CommStats, steps_run: int, seconds: float, stopped_early: bool = False) -> RunSummary:
    cfg, ctx, history = run.cfg, run.ctx, run.history
    params = sum(p.numel() for p in run.model.parameters())
    last = history[-1] if history else {}
    per_step = (lambda total: total / steps_run) if steps_run else (lambda _total: 0.0)
    return RunSummary(
        out=cfg.out,
        model_path=None if stopped_early else str(Path(cfg.out) / MODEL_FILE),
        config=cfg.to_dict(),
        model_config=run.model_config.to_dict(),
        params=params,
        world_size=ctx.world_size,
        rank=ctx.rank,
        history=history,
        steps_run=steps_run,
        wall_seconds=seconds,
        environment={
            "squeezenet": __version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "device": str(ctx.device),
            "threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "amp": str(autocast_dtype(ctx.device, cfg.amp)),
            "machine": platform.machine(),
        },
        val_top1=last.get("val_top1"),
        val_top5=last.get("val_top5"),
        train_seconds=sum(h["seconds"] for h in history),
        images_per_s=last.get("images_per_s"),
        size_bytes_fp32=4 * params,
        gradient_bytes_per_step=4 * params,
        allreduce_bytes_per_step=per_step(comm.bytes),
        allreduce_seconds_per_step=per_step(comm.seconds),
        allreduce_calls_per_step=per_step(comm.calls),
        split_path=str(Path(cfg.out) / SPLIT_FILE) if getattr(run.source, "split", None) else None,
        stopped_early=stopped_early,
    )
