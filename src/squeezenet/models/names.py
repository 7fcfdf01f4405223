"""The paper's layer names and where each sits in the module tree, from the config alone.

The one table behind every name mapping in the toolkit: the authors' Caffe blobs
(``fire2/squeeze1x1``) to state-dict prefixes (``features.3.squeeze``), compression's
per-layer names, the footprint report's block names, recovering a layout from a state dict,
and every tensor a config's module holds (``tensor_shapes``: what a file is checked against
before anything is allocated, with no torch needed).
"""

from __future__ import annotations

from .config import LAYOUTS, NUM_FIRE, SqueezeNetConfig

# Caffe's part names inside a Fire module -> the attribute names of ``Fire`` (torchvision's)
FIRE_PARTS = {"squeeze1x1": "squeeze", "expand1x1": "expand1x1", "expand3x3": "expand3x3", "shortcut": "shortcut"}
CONV1, CONV10 = "features.0", "classifier.1"
HEAD_WEIGHT = f"{CONV10}.weight"  # its first dimension is the class count


def fire_positions(layout: str) -> list[int]:
    """Positions of fire2..fire9 inside ``features`` (conv1, relu, [pool], fires and pools)."""
    pools = LAYOUTS[layout]["pool_after"]
    index = 2 + (1 if "conv1" in pools else 0)
    positions = []
    for n in range(2, 2 + NUM_FIRE):
        positions.append(index)
        index += 2 if f"fire{n}" in pools else 1
    return positions


def conv_paths(config: SqueezeNetConfig) -> dict[str, str]:
    """Every convolution, in forward order: paper name -> module path (``conv1`` -> ``features.0``,
    ``fire2/squeeze1x1`` -> ``features.3.squeeze``, ``fire3/shortcut`` where a bypass has one,
    ``conv10`` -> ``classifier.1``)."""
    paths = {"conv1": CONV1}
    for name, position in zip(config.fire_names(), fire_positions(config.layout)):
        for part, attribute in FIRE_PARTS.items():
            if part != "shortcut" or config.bypass_kind(name) == "conv":
                paths[f"{name}/{part}"] = f"features.{position}.{attribute}"
    paths["conv10"] = CONV10
    return paths


def block_names(config: SqueezeNetConfig) -> dict[str, str]:
    """Top-level module path -> the paper's block name (``features.5`` -> ``fire4``, the pool after
    it -> ``maxpool4``); conv1's and conv10's ReLUs carry their convolution's name."""
    names = {CONV1: "conv1", "features.1": "conv1", CONV10: "conv10", "classifier.2": "conv10"}
    pools = LAYOUTS[config.layout]["pool_after"]
    if "conv1" in pools:
        names["features.2"] = "maxpool1"
    for name, position in zip(config.fire_names(), fire_positions(config.layout)):
        names[f"features.{position}"] = name
        if name in pools:
            names[f"features.{position + 1}"] = f"maxpool{name.removeprefix('fire')}"
    return names


def tensor_shapes(config: SqueezeNetConfig) -> dict[str, tuple[int, ...]]:
    """Every state-dict key of the module ``config`` builds and its shape, in state-dict order,
    by arithmetic (``tests/models`` checks it against the module itself)."""
    kernel = config.conv1_geometry()[0]
    shapes: dict[str, tuple[int, ...]] = {
        f"{CONV1}.weight": (config.conv1_filters, config.in_channels, kernel, kernel),
        f"{CONV1}.bias": (config.conv1_filters,),
    }
    fires = zip(config.fire_names(), config.fire_inputs(), config.fire_widths(), fire_positions(config.layout))
    for name, inp, (s, e1, e3), position in fires:
        prefix = f"features.{position}"
        shapes[f"{prefix}.squeeze.weight"], shapes[f"{prefix}.squeeze.bias"] = (s, inp, 1, 1), (s,)
        if config.norm == "squeeze":
            for part in ("weight", "bias", "running_mean", "running_var"):
                shapes[f"{prefix}.squeeze_bn.{part}"] = (s,)
            shapes[f"{prefix}.squeeze_bn.num_batches_tracked"] = ()
        shapes[f"{prefix}.expand1x1.weight"], shapes[f"{prefix}.expand1x1.bias"] = (e1, s, 1, 1), (e1,)
        shapes[f"{prefix}.expand3x3.weight"], shapes[f"{prefix}.expand3x3.bias"] = (e3, s, 3, 3), (e3,)
        if config.bypass_kind(name) == "conv":
            shapes[f"{prefix}.shortcut.weight"], shapes[f"{prefix}.shortcut.bias"] = (e1 + e3, inp, 1, 1), (e1 + e3,)
    last = config.fire_widths()[-1]
    shapes[HEAD_WEIGHT], shapes[f"{CONV10}.bias"] = (config.num_classes, last[1] + last[2], 1, 1), (config.num_classes,)
    return shapes
