"""What several commands share, defined once: the parser class, argument groups, loading weights.

Ranges are checked by the library (a config, a ``TrainConfig``, the function called), so the
CLI and the Python API refuse the same values with the same words; here only parsing happens.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any, NoReturn

from ..deploy.runtime import BACKENDS
from ..formats.loaded import LoadedModel
from ..formats.weights import load_model
from ..models import ARCHS, SqueezeNetConfig, arch_config
from ..models.config import DESIGN_CHOICES, DESIGN_FIELDS


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except the None of options whose default the recipe or the file decides."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is argparse.SUPPRESS or isinstance(action.default, bool):
            return action.help or ""
        return super()._get_help_string(action) or ""


def emit(data: Any) -> None:
    print(json.dumps(data, indent=2))


def split_commas(values: list[str] | None) -> list[str]:
    """``--values 0.125,0.25 0.5`` and ``--values 0.125 0.25 0.5`` mean the same."""
    return [v for text in values or [] for v in text.split(",") if v.strip()]


# --- the design space -------------------------------------------------------------------------
def add_design_args(p: argparse.ArgumentParser, fields: tuple[str, ...] = tuple(DESIGN_FIELDS), head: bool = False) -> None:
    """``--arch`` and the Section 5/6 flags (from ``DESIGN_FIELDS``); ``head``: also the class and
    channel counts, for commands where no data decides them."""
    g = p.add_argument_group("design space (paper Sections 5-6); unset flags keep the arch's values")
    g.add_argument("--arch", choices=sorted(ARCHS), help="the registered architecture to start from")
    types = {f.name: f.type for f in dataclasses.fields(SqueezeNetConfig)}
    for name in fields:
        flag = "--" + name.replace("_", "-")
        if name in DESIGN_CHOICES:
            g.add_argument(flag, choices=DESIGN_CHOICES[name], help=DESIGN_FIELDS[name])
        else:
            g.add_argument(flag, type=int if types[name] == "int" else float, help=DESIGN_FIELDS[name])
    if head:
        g.add_argument("--num-classes", type=int, help="outputs of conv10")
        g.add_argument("--in-channels", type=int, help="image channels (1 for grayscale)")


def design_from_args(args: argparse.Namespace, fields: tuple[str, ...] = tuple(DESIGN_FIELDS)) -> dict[str, Any]:
    return {name: getattr(args, name) for name in fields if getattr(args, name, None) is not None}


def config_from_args(args: argparse.Namespace, default_arch: str) -> SqueezeNetConfig:
    head = {k: getattr(args, k, None) for k in ("num_classes", "in_channels")}
    return arch_config(args.arch or default_arch, **design_from_args(args), **head)


# --- weights and backends ---------------------------------------------------------------------
def add_weights_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--weights", required=required, help="a .pth, .safetensors, .caffemodel or .sqz file, or 'imagenet'")
    p.add_argument("--arch", choices=sorted(ARCHS), help="what the weights hold, checked (read from the file when omitted)")
    p.add_argument("--prototxt", help="the deploy.prototxt of a .caffemodel (default: beside it)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")


def load_weights(args: argparse.Namespace) -> LoadedModel:
    arch = arch_config(args.arch) if args.arch else None
    return load_model(args.weights, arch=arch, prototxt=args.prototxt, arch_name=args.arch or "squeezenet1_1")


def add_backend_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default="torch", choices=BACKENDS, help="the engine that runs the model")
    p.add_argument("--calib-data", help="unlabelled images to calibrate the int8 backends")
