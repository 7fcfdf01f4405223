"""Recover a ``SqueezeNetConfig`` from what a weight file holds (shapes and layer order).

Files of our own carry their config; torchvision ``.pth`` state dicts and Caffe prototxts do
not, so the architecture is read back from tensor shapes and pool positions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import torch

from ..errors import SqueezeNetError
from ..models.config import LAYOUTS, NUM_FIRE, SqueezeNetConfig
from ..models.names import fire_positions


def metaparameters_from_widths(widths: Sequence[tuple[int, int, int]]) -> dict[str, float | int]:
    """base_e, incr_e, freq, pct3x3, sr that reproduce the given (s, e1, e3) per Fire module."""
    totals = [e1 + e3 for _, e1, e3 in widths]
    base_e = totals[0]
    changes = [i for i in range(1, len(totals)) if totals[i] != totals[i - 1]]
    freq = changes[0] if changes else NUM_FIRE
    incr_e = totals[freq] - base_e if changes else 0
    s0, _, e3_0 = widths[0]
    return {"base_e": base_e, "incr_e": incr_e, "freq": freq, "pct3x3": e3_0 / base_e, "sr": s0 / base_e}


def config_from_widths(widths: Sequence[tuple[int, int, int]], *, what: str, **fields: object) -> SqueezeNetConfig:
    """A config with these Fire widths, or a clear error if no metaparameters produce them."""
    if len(widths) != NUM_FIRE:
        raise SqueezeNetError(f"{what} has {len(widths)} Fire modules; SqueezeNet has {NUM_FIRE}")
    if any(w < 1 for triple in widths for w in triple):
        raise SqueezeNetError(f"{what} has a Fire module with an empty layer")
    config = SqueezeNetConfig(**metaparameters_from_widths(widths), **fields)  # type: ignore[arg-type]
    if config.fire_widths() != list(widths):
        raise SqueezeNetError(f"{what} has Fire widths outside the SqueezeNet design space: {list(widths)}")
    return config


def config_from_state_dict(state: Mapping[str, torch.Tensor]) -> SqueezeNetConfig:
    """Read the architecture off a torchvision-layout state dict (names and shapes may lie: every
    key read is checked to be there and to hold a convolution's 4-D weight)."""
    found = sorted(int(m.group(1)) for k in state if (m := re.fullmatch(r"features\.(\d+)\.squeeze\.weight", k)))
    layout = next((name for name in LAYOUTS if fire_positions(name) == found), None)
    if layout is None:
        raise SqueezeNetError(
            f"not a SqueezeNet state dict: Fire modules at features positions {found[:9]} match no layout"
        )
    parts = ("squeeze", "expand1x1", "expand3x3")
    needed = ["features.0.weight", "classifier.1.weight", *(f"features.{i}.{p}.weight" for i in found for p in parts)]
    for key in needed:
        if key not in state:
            raise SqueezeNetError(f"not a SqueezeNet state dict (no {key})")
        if state[key].dim() != 4:
            raise SqueezeNetError(f"not a SqueezeNet state dict ({key} is not a convolution's weight)")
    conv1 = state["features.0.weight"]
    filters, in_channels, kernel = conv1.shape[0], conv1.shape[1], conv1.shape[2]
    if filters != LAYOUTS[layout]["conv1"][0]:
        raise SqueezeNetError(f"conv1 has {filters} filters; layout {layout} has {LAYOUTS[layout]['conv1'][0]}")
    stem = "imagenet" if kernel == LAYOUTS[layout]["conv1"][1] else "small"
    widths = [tuple(state[f"features.{i}.{p}.weight"].shape[0] for p in parts) for i in found]
    has_shortcuts = any(k.endswith(".shortcut.weight") for k in state)
    return config_from_widths(
        widths,
        what="the state dict",
        layout=layout,
        stem=stem,
        bypass="complex" if has_shortcuts else "none",
        num_classes=state["classifier.1.weight"].shape[0],
        in_channels=in_channels,
    )
