"""What several commands share, defined once: the parser, flag names, argument groups, path checks.

Nothing here imports torch: ``--help``, a usage error or a missing file is answered before the
library is loaded. Ranges are checked by the library's options records (``TrainConfig``,
``CompressOptions``, ``ExportOptions``, ...), which name their fields; ``flag`` is the one map
from a field to the flag that sets it, so the CLI and the Python API refuse the same values.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from ..data import FASHION_MNIST_DATA
from ..deploy.backends import BACKENDS, FOLDER_SUFFIXES, SHIPPED_SUFFIXES
from ..errors import SqueezeNetError
from ..formats.imagenet import PUBLISHED_NAMES
from ..models.config import DESIGN_CHOICES, DESIGN_FIELDS, SqueezeNetConfig
from ..models.registry import ARCHS, DEFAULT_ARCH, arch_config

if TYPE_CHECKING:
    from ..evaluation.model import Runnable
    from ..formats.loaded import LoadedModel

# fields whose flag is not ``--`` + the field's name with dashes
FLAG_NAMES = {"bits_spec": "--bits-per-layer", "top_k": "--top", "compensate": "--no-compensate"}


def flag(field: str) -> str:
    """The command-line flag of an options field."""
    return FLAG_NAMES.get(field, "--" + field.replace("_", "-"))


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


def split_commas(values: list[str] | str | None) -> list[str]:
    """``--values 0.125,0.25 0.5`` and ``--values 0.125 0.25 0.5`` mean the same."""
    values = [values] if isinstance(values, str) else values or []
    return [v.strip() for text in values for v in text.split(",") if v.strip()]


# --- numbers, checked while parsing: finite and in range, or one line and exit 2 ----------------
INT_MAX = 2**31 - 1  # every count a flag takes fits the 32-bit fields of the files that record it


class Number:
    """The type of a numeric flag: an int or a finite float in ``[low, high]`` (``above``: low
    excluded). Every numeric flag has one (``tests/cli/test_misuse.py`` walks the parser), so nan, inf,
    a negative count or 10**30 is refused while parsing, before anything is imported or run. The
    options records (``TrainConfig``, ``CompressOptions``, ...) still check their own ranges, for
    Python callers too."""

    def __init__(self, kind: type, low: float, high: float, above: bool = False) -> None:
        self.kind, self.low, self.high, self.above = kind, low, high, above
        self.__name__ = kind.__name__  # what argparse calls the type in its messages

    def __call__(self, text: str) -> int | float:
        try:
            value = self.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'a whole number' if self.kind is int else 'a number'}"
            ) from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        if value < self.low or (self.above and value == self.low) or value > self.high:
            low, high = (f"{int(b):,}" if self.kind is int else f"{b:g}" for b in (self.low, self.high))
            raise argparse.ArgumentTypeError(
                f"{text} is out of range: {'above' if self.above else 'at least'} {low} and at most {high}"
            )
        return value


def integer(low: int = 0, high: int = INT_MAX) -> Number:
    return Number(int, low, high)


def real(low: float = 0.0, high: float = 1e9, above: bool = False) -> Number:
    return Number(float, low, high, above)


def _size(text: str) -> int:
    from ..utils.units import parse_bytes

    try:
        return parse_bytes(text)
    except (SqueezeNetError, ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 0.7MB, 512KiB)") from None


def add_record(
    parser: argparse.ArgumentParser,
    record: type,
    required: tuple[str, ...] = (),
    more_help: Callable[[str], str] = lambda name: "",
) -> None:
    """A flag for every field of an options record that has help (``utils/options.option``): its
    type bounded by the field's range, a path or size checked by its kind, its default the record's
    (``required``: no default; ``more_help``: what a field's help adds, e.g. a recipe's default)."""
    defaults = record()
    kinds = {"dir": existing_dir, "out_dir": output_dir, "file": existing_file, "data": dataset, "bytes": _size}
    for f in dataclasses.fields(record):
        meta = f.metadata
        if "help" not in meta:
            continue
        default, name, help_text = getattr(defaults, f.name), flag(f.name), meta["help"] + more_help(f.name)
        if f.type.startswith("bool"):  # --int8 and --no-compensate turn the default over; None: either way
            if name.startswith("--no-") or default is False:
                action: Any = "store_false" if name.startswith("--no-") else "store_true"
                parser.add_argument(name, dest=f.name, action=action, help=help_text)
            else:
                parser.add_argument(name, action=argparse.BooleanOptionalAction, default=default, help=help_text)
            continue
        low, high = meta.get("low"), meta.get("high")
        if "kind" in meta:
            kind: Any = kinds[meta["kind"]]
        elif f.type.startswith("int"):
            kind = integer(int(low or 0), int(high or INT_MAX))
        elif f.type.startswith("float"):
            kind = real(low or 0.0, high or 1e9, meta.get("above", False))
        else:
            kind = str
        parser.add_argument(
            name,
            dest=f.name,
            nargs="+" if f.type.startswith("list") else None,  # a list: several words after the flag
            type=kind,
            default=None if f.name in required else default,
            required=f.name in required,
            choices=meta.get("choices"),
            metavar=None if "choices" in meta else name.lstrip("-").upper().replace("-", "_"),
            help=help_text,
        )


def record_from_args(record: type, args: argparse.Namespace, **more: Any) -> Any:
    """The options record of a parsed command line: every field that has a flag, and ``more``."""
    return record(
        **{f.name: getattr(args, f.name) for f in dataclasses.fields(record) if hasattr(args, f.name)}, **more
    )


# --- paths, checked while parsing (so a typo costs no library import) ---------------------------
def _missing(path: Path) -> str:
    return f"{path}: {'not a regular file' if path.exists() else 'no such file'}"


def existing_file(text: str) -> str:
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path}: is a directory; a file is needed")
    if not path.is_file():
        raise argparse.ArgumentTypeError(_missing(path))
    return text


def _check_writable(text: str, path: Path) -> str:
    """``path``, or the nearest folder above it that exists, must be a folder this process may write into."""
    while not path.exists() and path != path.parent:
        path = path.parent
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: {path} is not a directory")
    if not os.access(path, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text}: {path} is not writable")
    return text


def output_file(text: str) -> str:
    """A file to write: not a folder, and its folder (or the nearest one that exists) writable."""
    if not text or Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a directory; a file name is needed")
    return _check_writable(text, Path(text).parent)


def output_dir(text: str) -> str:
    """A folder to write into: not a file, and it (or the nearest folder above it that exists) writable."""
    if not text or (Path(text).exists() and not Path(text).is_dir()):
        raise argparse.ArgumentTypeError(f"{text}: is a file; a folder is needed")
    return _check_writable(text, Path(text))


def image_file(text: str) -> str:
    """An existing file that Pillow recognises as an image (its header only: nothing is decoded)."""
    from PIL import Image, UnidentifiedImageError

    existing_file(text)
    try:
        with Image.open(text) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise argparse.ArgumentTypeError(f"{text}: cannot read image (not a format Pillow reads)") from None
    return text


def existing_dir(text: str) -> str:
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no such directory")
    return text


def weights_file(text: str) -> str:
    """A weight or exported file (or an exported project folder), or ``imagenet`` (torchvision's published weights)."""
    if text in PUBLISHED_NAMES or (Path(text).suffix.lower() in FOLDER_SUFFIXES and Path(text).is_dir()):
        return text
    return existing_file(text)


def dataset(text: str) -> str:
    """``fashion-mnist``, or a folder: ``train/`` and ``val/`` of class folders, or class folders."""
    return text if text == FASHION_MNIST_DATA else existing_dir(text)


# --- flag groups --------------------------------------------------------------------------------
def add_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress bars or progress lines")


def add_json(p: argparse.ArgumentParser, what: str = "the result") -> None:
    p.add_argument("--json", action="store_true", help=f"print {what} as data")


def add_design_args(
    p: argparse.ArgumentParser, fields: tuple[str, ...] = tuple(DESIGN_FIELDS), head: bool = False
) -> None:
    """``--arch`` and the Section 5/6 flags (from ``DESIGN_FIELDS``); ``head``: also the class and
    channel counts, for commands where no data decides them."""
    g = p.add_argument_group("design space (paper Sections 5-6); unset flags keep the arch's values")
    g.add_argument("--arch", choices=sorted(ARCHS), help=f"the registered architecture to start from ({DEFAULT_ARCH})")
    types = {f.name: f.type for f in dataclasses.fields(SqueezeNetConfig)}
    for name in fields:
        if name in DESIGN_CHOICES:
            g.add_argument(flag(name), choices=DESIGN_CHOICES[name], help=DESIGN_FIELDS[name])
        else:
            kind = integer(1) if types[name] == "int" else real(0.0, 1e6)  # exact ranges: SqueezeNetConfig's
            g.add_argument(flag(name), type=kind, help=DESIGN_FIELDS[name])
    if head:
        g.add_argument("--num-classes", type=integer(1, 1_000_000), help="outputs of conv10")
        g.add_argument("--in-channels", type=integer(1, 64), help="image channels (1 for grayscale)")


def design_from_args(args: argparse.Namespace, fields: tuple[str, ...] = tuple(DESIGN_FIELDS)) -> dict[str, Any]:
    return {name: getattr(args, name) for name in fields if getattr(args, name, None) is not None}


def config_from_args(args: argparse.Namespace) -> SqueezeNetConfig:
    head = {k: getattr(args, k, None) for k in ("num_classes", "in_channels")}
    return arch_config(args.arch or DEFAULT_ARCH, **design_from_args(args), **head)


def add_weights_args(p: argparse.ArgumentParser, required: bool = True, exported: bool = False) -> None:
    """``--weights`` (and how to read it); ``exported``: also the files ``export`` writes."""
    files = ".pth, .safetensors, .caffemodel or .sqz" + (
        f", or an exported {', '.join(SHIPPED_SUFFIXES)}" if exported else ""
    )
    p.add_argument("--weights", required=required, type=weights_file, help=f"a {files} file, or 'imagenet'")
    p.add_argument(
        "--arch", choices=sorted(ARCHS), help="what the weights hold, checked (read from the file when omitted)"
    )
    p.add_argument("--prototxt", type=existing_file, help="the deploy.prototxt of a .caffemodel (default: beside it)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")


def add_backend_args(p: argparse.ArgumentParser) -> None:
    names = ", ".join(f"{b.name} ({b.help})" for b in BACKENDS.values())
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        help=f"the engine that runs the model: {names} (default: torch, or the one an exported file was written for)",
    )
    p.add_argument("--calib-data", type=existing_dir, help="unlabelled images to calibrate the int8 backends")


def load_weights(args: argparse.Namespace) -> LoadedModel:
    from ..formats.weights import load_model

    arch = arch_config(args.arch) if args.arch else None
    return load_model(args.weights, arch=arch, prototxt=args.prototxt, arch_name=args.arch or DEFAULT_ARCH)


def open_weights(args: argparse.Namespace) -> Runnable:
    """The model of ``--weights`` on ``--backend``: any weight file, or a file ``export`` wrote."""
    from ..evaluation.model import open_model
    from ..utils.device import pick_device

    return open_model(args.weights, args.backend, args.calib_data, pick_device(args.device), args.arch, args.prototxt)
