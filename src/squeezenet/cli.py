"""The ``squeezenet`` command: parses arguments and dispatches to the library. Nothing else."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .errors import SqueezeNetError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _emit(data: Any) -> None:
    print(json.dumps(data, indent=2))


# --- shared argument groups -----------------------------------------------------------------
def _add_design_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("design space (Section 5/6 of the paper); unset flags keep the arch's values")
    g.add_argument("--arch", default=None, help="squeezenet1_0 (default for info) or squeezenet1_1")
    g.add_argument("--base-e", type=int)
    g.add_argument("--incr-e", type=int)
    g.add_argument("--freq", type=int)
    g.add_argument("--pct3x3", type=float)
    g.add_argument("--sr", type=float)
    g.add_argument("--bypass", choices=["none", "simple", "complex"])
    g.add_argument("--stem", choices=["imagenet", "small"], help="small: 3x3 stride-1 conv1 for 28-64 px inputs")
    g.add_argument("--num-classes", type=int)
    g.add_argument("--in-channels", type=int)


def _config_from_args(args: argparse.Namespace, default_arch: str = "squeezenet1_0") -> Any:
    from .models import arch_config

    return arch_config(
        args.arch or default_arch,
        base_e=args.base_e,
        incr_e=args.incr_e,
        freq=args.freq,
        pct3x3=args.pct3x3,
        sr=args.sr,
        bypass=args.bypass,
        stem=args.stem,
        num_classes=args.num_classes,
        in_channels=args.in_channels,
    )


def _add_weights_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--weights", required=required, help="a .pth, .safetensors, .caffemodel or .sqz file, or 'imagenet'")
    p.add_argument("--arch", default=None, help="what the weights hold, checked (read from the file when omitted)")
    p.add_argument("--prototxt", default=None, help="the deploy.prototxt of a .caffemodel (default: beside it)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")


def _load(args: argparse.Namespace) -> Any:
    from .io.formats import load_model
    from .models import arch_config

    arch = arch_config(args.arch) if args.arch else None
    return load_model(args.weights, arch=arch, prototxt=args.prototxt, arch_name=args.arch or "squeezenet1_1")


# --- commands -------------------------------------------------------------------------------
def cmd_info(args: argparse.Namespace) -> int:
    from .models import SqueezeNet
    from .models.summary import format_table, summarize

    config = _config_from_args(args)
    summary = summarize(SqueezeNet(config), args.input_size)
    if args.json:
        _emit({"config": config.to_dict(), **summary.to_dict()})
    else:
        print(format_table(summary))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .inference import eval_folder
    from .utils.device import pick_device

    loaded = _load(args)
    result = eval_folder(
        loaded, args.data, args.classes, args.batch_size, pick_device(args.device), progress=not args.quiet, workers=args.workers
    )
    if args.json:
        _emit(result.to_dict())
    else:
        skipped = f", {result.skipped} unreadable skipped" if result.skipped else ""
        print(f"top-1 {result.top1:.2f}%  top-5 {result.top5:.2f}%  on {result.images} images{skipped}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from .inference import predict
    from .utils.device import pick_device

    results = predict(_load(args), args.images, args.top, pick_device(args.device))
    if args.json:
        _emit(results)
    else:
        for r in results:
            print(r["image"])
            for t in r["top"]:
                print(f"  {100 * t['probability']:6.2f}%  {t['label']}  ({t['index']})")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from .io.formats import save_model

    loaded = _load(args)
    save_model(loaded.model, args.out, loaded.preprocess, loaded.classes)
    print(f"wrote {args.out} ({loaded.source_format} -> {os.path.splitext(args.out)[1][1:]})")
    return 0


# --- parser ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="squeezenet", description="SqueezeNet models: build, train, compress, deploy.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("info", help="Table 1 view: per-layer shapes, params, MACs, size")
    _add_design_args(p)
    p.add_argument("--input-size", type=int, default=224)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("eval", help="top-1/top-5 on an ImageFolder directory")
    _add_weights_args(p)
    p.add_argument("--data", required=True, help="ImageFolder directory (class folders, e.g. ImageNet wnids)")
    p.add_argument("--classes", help="class file, one 'wnid names' line per class in index order")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("predict", help="class names and probabilities for images")
    _add_weights_args(p)
    p.add_argument("images", nargs="+")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("convert", help="any supported weight format to .safetensors or .pth")
    p.add_argument("src", help="source weights")
    _add_weights_args(p, required=False)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_convert)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "src", None):
        args.weights = args.src
    try:
        return args.func(args)
    except SqueezeNetError as exc:
        print(f"squeezenet: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("squeezenet: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the CLI promises one line, never a traceback
        if os.environ.get("SQUEEZENET_DEBUG"):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"squeezenet: error: {exc.__class__.__name__}: {first} (SQUEEZENET_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
