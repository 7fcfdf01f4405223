"""Starting a run from pretrained weights: the architecture from the file (a new head when the
classes differ is ``zoo.load_pretrained``), and two learning rates (or a frozen body).
"""

from __future__ import annotations

from typing import Any

from ..errors import SqueezeNetError
from ..formats.loaded import LoadedModel
from ..models import SqueezeNet, SqueezeNetConfig, arch_config
from ..models.names import CONV10
from .config import TrainConfig


def transfer_config(cfg: TrainConfig, pretrained: LoadedModel, in_channels: int, num_classes: int) -> SqueezeNetConfig:
    """The pretrained architecture with a head for ``num_classes``; refuses what cannot transfer."""
    config = pretrained.config
    if cfg.design:
        raise SqueezeNetError(
            f"--{next(iter(cfg.design)).replace('_', '-')} describes a new network; with --weights "
            "the architecture comes from the file"
        )
    if cfg.arch is not None and arch_config(cfg.arch).layout != config.layout:
        raise SqueezeNetError(
            f"{cfg.weights} holds layout {config.layout}, which --arch {cfg.arch} is not; "
            "drop --arch to fine-tune what the file holds"
        )
    if config.in_channels != in_channels:
        raise SqueezeNetError(f"{cfg.weights} takes {config.in_channels}-channel images, the data has {in_channels}")
    return config.replace(num_classes=num_classes)


def param_groups(model: SqueezeNet, cfg: TrainConfig) -> list[dict[str, Any]]:
    """The head at ``lr``; the pretrained body at ``lr * backbone_lr``, or frozen (``--freeze features``)."""
    head = list(model.final_conv.parameters())
    body = [p for name, p in model.named_parameters() if not name.startswith(f"{CONV10}.")]
    if cfg.freeze == "features":
        for p in body:
            p.requires_grad_(False)
        return [{"params": head, "lr": cfg.lr}]
    return [{"params": body, "lr": cfg.lr * cfg.backbone_lr}, {"params": head, "lr": cfg.lr}]


def describe(cfg: TrainConfig, pretrained: LoadedModel, classes: list[str], replaced: bool) -> str:
    """One line saying what a fine-tuning run does, for the log."""
    names = ", ".join(classes[:5]) + (", ..." if len(classes) > 5 else "")
    head = (
        f"conv10 replaced for {len(classes)} classes ({names})" if replaced else f"conv10 kept ({len(classes)} classes)"
    )
    if cfg.freeze == "features":
        strategy = f"features frozen, conv10 trains at lr {cfg.lr:g}"
    else:
        strategy = f"every layer trains: pretrained at lr {cfg.lr * cfg.backbone_lr:g}, conv10 at {cfg.lr:g}"
    return (
        f"fine-tuning {pretrained.config.layout} from {cfg.weights}: {head}; {strategy}; {cfg.optimizer}, "
        f"{cfg.epochs} epochs, batch {cfg.batch_size}, warm-up {cfg.warmup_epochs:g} epochs"
    )
