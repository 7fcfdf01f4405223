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

    def add(self, logits: torch.Tensor, loss: torch.Tensor, targets: torch.Tensor, skipped: int) -> float:
        """Count one step's batch; its loss as a number."""
        value = float(loss.detach())
        self.loss_sum += value * len(targets)
        self.correct += float((logits.detach().argmax(1) == targets.to(logits.device)).sum())
        self.seen += len(targets)
        self.skipped += skipped
        return value


@dataclass
class Position:
    """Where a run is, beyond its weights and optimiser: what a checkpoint adds to resume from."""

    epoch: int = 0
    step: int = 0  # within the epoch
    history: list[dict[str, Any]] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)


def _train(cfg: TrainConfig, ctx: D.DistContext) -> RunSummary:
    out = Path(cfg.out)
    _check_run_directory(cfg, ctx)
    source, model_config, model, stepper = _prepare(cfg, ctx)
    steps_per_epoch = source.steps_per_epoch(cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    loud, title = ctx.is_main and not cfg.quiet, f"{cfg.arch or model_config.layout} on {cfg.data}"
    at = Position()
    if cfg.resume and (out / CHECKPOINT_NAME).exists():
        at = _resume(out, model, stepper, {"model_config": model_config.to_dict(), "total_steps": total_steps})
        if loud:
            print(f"resuming {out} at epoch {at.epoch + 1}, step {at.step}/{steps_per_epoch}")

    def checkpoint(epoch: int, step: int) -> None:
        if ctx.is_main:
            save_checkpoint(
                out / CHECKPOINT_NAME,
                {
                    "model": model.state_dict(),
                    **stepper.state_dict(),
                    "model_config": model_config.to_dict(),
                    "total_steps": total_steps,
                    "epoch": epoch,
                    "step": step,
                    "history": at.history,
                    "totals": dataclasses.asdict(at.totals),
                },
            )

    stepper.forward, comm = D.wrap_ddp(model, ctx)
    steps_run, started = 0, time.perf_counter()
    for epoch in range(at.epoch, cfg.epochs):
        first = at.step if epoch == at.epoch else 0
        model.train()
        bar = progress(steps_per_epoch, f"epoch {epoch + 1}/{cfg.epochs}", quiet=not loud, initial=first)
        tick = time.perf_counter()
        for step, batch in enumerate(
            source.train_batches(epoch, first, cfg.batch_size, ctx.rank, ctx.world_size, cfg.seed), start=first
        ):
            global_step = epoch * steps_per_epoch + step
            logits, loss = stepper(batch.images, batch.targets, global_step)
            loss_value = at.totals.add(logits, loss, batch.targets, batch.skipped)
            steps_run += 1
            bar.update()
            bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{stepper.lr:.4f}", refresh=False)
            if step + 1 < steps_per_epoch and cfg.checkpoint_every and (global_step + 1) % cfg.checkpoint_every == 0:
                at.totals.seconds += time.perf_counter() - tick
                tick = time.perf_counter()
                checkpoint(epoch, step + 1)
            if cfg.max_steps is not None and steps_run >= cfg.max_steps:  # stopped as if killed
                bar.close()
                return _summary(cfg, ctx, model, model_config, source, at.history, comm, steps_run, started, True)
        bar.close()
        at.totals.seconds += time.perf_counter() - tick
        val = validate(model, source, ctx, max(256, cfg.batch_size), cfg.channels_last)
        at.history.append(_epoch_row(epoch, at.totals, stepper.lr, val, ctx))
        at.totals = Totals()
        checkpoint(epoch + 1, 0)
        if ctx.is_main:
            _write_epoch(out, at.history, title, model_config.num_classes, loud)

    summary = _summary(cfg, ctx, model, model_config, source, at.history, comm, steps_run, started)
    if ctx.is_main:
        save_model(
            model,
            out / MODEL_FILE,
            source.preprocess,
            source.classes,
            extra={"val_top1": f"{summary.val_top1:.4f}", "trained_by": f"squeezenet {__version__}"},
        )
        write_json(out / "run.json", summary.to_dict())
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


def _prepare(cfg: TrainConfig, ctx: D.DistContext) -> tuple[TrainSource, SqueezeNetConfig, torch.nn.Module, Stepper]:
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

    torch.set_flush_denormal(True)  # tiny gradients as denormals slow CPU steps
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
        step_options(cfg, cfg.epochs * steps_per_epoch, int(cfg.warmup_epochs * steps_per_epoch)),
        ctx.device,
        cross_entropy(cfg.label_smoothing),
        param_groups(model, cfg) if pretrained else None,
    )
    return source, model_config, model, stepper


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


def _resume(out: Path, model: torch.nn.Module, stepper: Stepper, expected: dict[str, Any]) -> Position:
    """Load everything that decides the next step; refuse a checkpoint of another command
    (``expected``: the model config and schedule this command would write)."""
    path = out / CHECKPOINT_NAME
    ckpt = load_checkpoint(path)
    if any(ckpt.get(key) != value for key, value in expected.items()):
        raise SqueezeNetError(
            f"{path} was written by a different command (architecture or schedule differ); "
            f"remove {out} or choose another --out"
        )
    if not isinstance(ckpt.get("totals"), dict):
        raise SqueezeNetError(f"{path} was written by an older squeezenet; start a new run")
    model.load_state_dict(ckpt["model"])
    stepper.load_state_dict(ckpt)
    return Position(ckpt["epoch"], ckpt["step"], ckpt["history"], Totals(**ckpt["totals"]))


def _epoch_row(epoch: int, totals: Totals, lr: float, val: dict[str, float], ctx: D.DistContext) -> dict[str, Any]:
    """An epoch's row of ``metrics.csv``: its training figures summed over every process, then ``val``."""
    loss_sum, correct, seen, skipped = D.all_sum([totals.loss_sum, totals.correct, totals.seen, totals.skipped], ctx)
    return {
        "epoch": epoch + 1,
        "loss": loss_sum / max(seen, 1),
        "lr": lr,
        "train_top1": 100 * correct / max(seen, 1),
        **val,
        "images_per_s": seen / max(totals.seconds, 1e-9),
        "seconds": totals.seconds,
        "skipped_images": int(skipped),
    }


def _write_epoch(out: Path, history: list[dict[str, Any]], title: str, num_classes: int, loud: bool) -> None:
    """The run's CSV and curves after every epoch, and (``loud``) the epoch's line."""
    write_metrics_csv(out / "metrics.csv", history)
    plot_curves(out / "curves.png", history, title, num_classes)
    row = history[-1]
    if loud:
        print(
            f"epoch {row['epoch']}: loss {row['loss']:.4f}  val top-1 {row['val_top1']:.2f}%  "
            f"top-5 {row['val_top5']:.2f}%  {row['images_per_s']:.0f} img/s"
            + (f"  ({row['skipped_images']} unreadable images skipped)" if row["skipped_images"] else "")
        )


def _summary(
    cfg: TrainConfig,
    ctx: D.DistContext,
    model: torch.nn.Module,
    model_config: SqueezeNetConfig,
    source: TrainSource,
    history: list[dict[str, Any]],
    comm: D.CommStats,
    steps_run: int,
    started: float,
    stopped_early: bool = False,
) -> RunSummary:
    params = sum(p.numel() for p in model.parameters())
    last = history[-1] if history else {}
    per_step = (lambda total: total / steps_run) if steps_run else (lambda _total: 0.0)
    return RunSummary(
        out=cfg.out,
        model_path=None if stopped_early else str(Path(cfg.out) / MODEL_FILE),
        config=cfg.to_dict(),
        model_config=model_config.to_dict(),
        params=params,
        world_size=ctx.world_size,
        rank=ctx.rank,
        history=history,
        steps_run=steps_run,
        wall_seconds=time.perf_counter() - started,
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
        split_path=str(Path(cfg.out) / SPLIT_FILE) if getattr(source, "split", None) else None,
        stopped_early=stopped_early,
    )
