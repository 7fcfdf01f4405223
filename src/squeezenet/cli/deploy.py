"""``export`` (ONNX, optionally int8, verified against PyTorch) and ``bench`` (speed against a baseline)."""

from __future__ import annotations

import argparse
from typing import Any

from ..deploy.export import FORMATS, export
from ..deploy.runtime import BACKENDS
from ..errors import SqueezeNetError
from ..formats.loaded import LoadedModel
from ..formats.preprocess import Preprocess
from ..models import ARCHS, SqueezeNet, arch_config
from ..speed.allreduce import bench_allreduce
from ..speed.inference import bench_inference
from ..speed.report import format_results
from ..speed.training import bench_train
from .args import add_weights_args, emit, load_weights, split_commas


def add_export(sub: Any) -> None:
    p = sub.add_parser("export", help="ONNX (optionally int8), verified against PyTorch before it is written")
    add_weights_args(p)
    p.add_argument("--format", choices=FORMATS, default="onnx", help="the file format to write")
    p.add_argument("--int8", action="store_true", help="static int8 quantization with ONNX Runtime (needs --calib-data)")
    p.add_argument("--calib-data", help="unlabelled images for int8 calibration")
    p.add_argument("--out", required=True, help="the exported file")
    p.add_argument("--json", action="store_true", help="print the report as data")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    report = export(load_weights(args), args.out, args.format, args.int8, args.calib_data)
    if args.json:
        emit(report)
    else:
        print(f"wrote {args.out}: {report['bytes']:,} bytes, max logit difference vs PyTorch "
              f"{report['max_logit_diff_random']:.2e} (random inputs)")  # fmt: skip
    return 0


def add_bench(sub: Any) -> None:
    p = sub.add_parser("bench", help="benchmarks against a baseline in the same run (ratios)")
    p.add_argument("--backends", help=f"inference backends, comma-separated: {','.join(BACKENDS)}")
    p.add_argument("--weights", help="weights to benchmark (default: randomly initialised --arch)")
    p.add_argument("--prototxt", help="the deploy.prototxt of a .caffemodel")
    p.add_argument("--calib-data", help="unlabelled images for onnxruntime-int8")
    p.add_argument("--input-size", type=int, default=224, help="image side in pixels (random weights only)")
    p.add_argument("--train", action="store_true", help="training images/s vs a plain eager fp32 loop")
    p.add_argument("--allreduce", action="store_true", help="2-process gloo all-reduce: SqueezeNet vs AlexNet")
    p.add_argument("--arch", choices=sorted(ARCHS), help="the architecture (default squeezenet1_1)")
    p.add_argument("--batch-size", type=int, help="images per batch (default: 32 inference, 128 training)")
    p.add_argument("--steps", type=int, default=20, help="timed training steps")
    p.add_argument("--json", action="store_true", help="print the results as data")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    if not (args.backends or args.train or args.allreduce):
        raise SqueezeNetError("choose what to measure: --backends LIST, --train and/or --allreduce")
    results: dict[str, Any] = {}
    if args.backends:
        args.device = "cpu"
        loaded = load_weights(args) if args.weights else _random_model(args.arch or "squeezenet1_1", args.input_size)
        results["inference"] = bench_inference(loaded, split_commas([args.backends]), args.batch_size or 32, args.calib_data)
    if args.train:
        results["train"] = bench_train(args.arch or "squeezenet1_1", args.batch_size or 128, args.steps)
    if args.allreduce:
        results["allreduce"] = bench_allreduce()
    emit(results) if args.json else print(format_results(results))
    return 0


def _random_model(arch: str, input_size: int) -> LoadedModel:
    """A randomly initialised ``arch``, for benchmarks that only need the compute."""
    if input_size < 1:
        raise SqueezeNetError(f"--input-size must be at least 1, got {input_size}")
    return LoadedModel(SqueezeNet(arch_config(arch)).eval(), Preprocess(crop=input_size, resize=None), "random")
