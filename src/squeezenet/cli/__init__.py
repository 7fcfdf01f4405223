"""The ``squeezenet`` command: parses arguments and dispatches to the library. Nothing else.

Each command's arguments sit beside its ``cmd_`` function, in the module of its pipeline stage;
what several commands share (flag names, the design flags, weights, backends) is defined once in
``args``. Every ``cmd_`` imports the library it runs inside itself: ``--help`` and a usage error
never load torch.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence

from ..errors import SqueezeNetError
from ..version import __version__
from . import compress, deploy, evaluate, models, ota, train
from .args import HelpFormatter, Parser, flag
from .exits import INTERRUPTED, REFUSED, TERMINATED, failure, on_sigterm_unwind

COMMANDS = (
    models.add_info,
    evaluate.add_eval,
    evaluate.add_predict,
    train.add_train,
    train.add_demo,
    deploy.add_bench,
    deploy.add_export,
    train.add_explore,
    compress.add_compress,
    compress.add_adapt,
    compress.add_diff,
    compress.add_patch,
    ota.add_keys,
    ota.add_publish,
    ota.add_update,
    models.add_convert,
)


# The extra that brings a missing library; commands whose whole job is one extra's name it.
EXTRA_OF_MODULE = {
    **dict.fromkeys(("torch", "torchvision", "safetensors", "google", "matplotlib"), "train"),
    **dict.fromkeys(("onnx", "onnxruntime", "onnxscript", "openvino", "nncf"), "deploy"),
    **dict.fromkeys(("tuf", "urllib3"), "device"),
    **dict.fromkeys(("securesystemslib", "cryptography"), "publish"),
    **dict.fromkeys(("litert_torch", "ai_edge_litert", "torchao"), "litert"),
    "executorch": "executorch",
    "tflite_micro": "micro",
    "hls4ml": "fpga",
}
EXTRA_OF_COMMAND = {"update": "device", "keys": "publish", "publish": "publish"}


def missing_extra(command: str, module: str) -> str | None:
    """The one line for a command that needs a library this installation lacks."""
    top = module.split(".")[0]
    if top not in EXTRA_OF_MODULE:
        return None
    extra = EXTRA_OF_COMMAND.get(command, EXTRA_OF_MODULE[top])
    return f"squeezenet {command} needs {top}, which is not installed: pip install 'squeezenet[{extra}]'"


def build_parser() -> Parser:
    parser = Parser(prog="squeezenet", description="SqueezeNet models: build, train, compress, deploy, update.")
    parser.add_argument("--version", action="version", version=f"squeezenet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for add in COMMANDS:
        add(sub)
    for command in sub.choices.values():
        command.formatter_class = HelpFormatter
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, dispatch, and turn every failure into one line and a code of ``exits.CONTRACT``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.command_line = " ".join(["squeezenet", *argv])  # for pages that name the command that made them
    previous = on_sigterm_unwind() if threading.current_thread() is threading.main_thread() else None
    try:
        return args.func(args)
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        missing = isinstance(exc, ModuleNotFoundError) and missing_extra(args.command, exc.name or "")
        if missing:
            print(f"squeezenet: error: {missing}", file=sys.stderr)
            return REFUSED
        code, line = failure(exc, flag)
        if os.environ.get("SQUEEZENET_DEBUG") and not isinstance(exc, SqueezeNetError):
            raise
        print(
            f"squeezenet: {line}" if code in (INTERRUPTED, TERMINATED) else f"squeezenet: error: {line}",
            file=sys.stderr,
        )
        return code
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
