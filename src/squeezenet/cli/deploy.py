"""``export`` (ONNX, optionally int8, verified against PyTorch) and ``bench`` (speed against a baseline)."""

from __future__ import annotations

import argparse
from typing import Any

from ..deploy.auto import MAX_DISAGREEMENT
from ..deploy.export import FORMATS, export
from ..deploy.runtime import BACKENDS
from ..errors import SqueezeNetError
from ..evaluation.predict import folder_loader
from ..formats.loaded import LoadedModel
from ..formats.preprocess import Preprocess
from ..models import SqueezeNet, SqueezeNetConfig
from ..speed.allreduce import bench_allreduce
from ..speed.endtoend import bench_predict
from ..speed.inference import bench_inference
from ..speed.peers import bench_peers
from ..speed.report import format_results
from ..speed.training import bench_train
from .args import (
    add_design_args,
    add_weights_args,
    config_from_args,
    design_from_args,
    emit,
    load_weights,
    split_commas,
)


def add_export(sub: Any) -> None:
    p = sub.add_parser("export", help="ONNX or OpenVINO IR (optionally int8), or the fastest engine here (auto)")
    add_weights_args(p)
    p.add_argument("--format", choices=FORMATS, default="onnx",
                   help="onnx (.onnx), openvino (IR .xml + .bin), or auto: time every engine on this CPU "
                        "and write the fastest within --max-disagreement")  # fmt: skip
    p.add_argument("--int8", action="store_true",
                   help="static int8: ONNX Runtime's quantizer for onnx, NNCF for openvino (needs --calib-data)")
    p.add_argument("--calib-data", help="unlabelled images for int8 calibration (auto: also its accuracy check)")
    p.add_argument("--batch-size", type=int, default=1, help="auto: the batch size to be fastest at")
    p.add_argument("--max-disagreement", type=float, default=MAX_DISAGREEMENT,
                   help="auto: %% of held-out calibration images whose top-1 may differ from fp32")
    p.add_argument("--out", required=True, help="the exported file (auto: its suffix follows the chosen engine)")
    p.add_argument("--json", action="store_true", help="print the report as data")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise SqueezeNetError(f"--batch-size must be at least 1, got {args.batch_size}")
    if not 0 <= args.max_disagreement <= 100:
        raise SqueezeNetError(f"--max-disagreement is a percentage (0-100), got {args.max_disagreement}")
    report = export(load_weights(args), args.out, args.format, args.int8, args.calib_data, args.batch_size, args.max_disagreement)
    if args.json:
        emit(report)
        return 0
    for c in report.get("auto", {}).get("candidates", []):
        print(f"  {c['backend']:<18} {c['images_per_s']:>8.0f} images/s  {c['latency_ms']:>7.2f} ms/batch  "
              f"top-1 agreement {c['agreement']:.1f}%")  # fmt: skip
    if "auto" in report:
        print(f"chose {report['auto']['reason']}")
    print(f"wrote {report['file']}: {report['bytes']:,} bytes, max logit difference vs PyTorch "
          f"{report['max_logit_diff_random']:.2e} (random inputs)")  # fmt: skip
    return 0


def add_bench(sub: Any) -> None:
    p = sub.add_parser("bench", help="benchmarks against a baseline in the same run (ratios)")
    p.add_argument("--backends", help=f"inference backends, comma-separated: {','.join(BACKENDS)}")
    p.add_argument("--weights", help="weights to benchmark (default: randomly initialised --arch)")
    p.add_argument("--prototxt", help="the deploy.prototxt of a .caffemodel")
    p.add_argument("--calib-data", help="unlabelled images for the int8 backends")
    p.add_argument("--input-size", type=int, default=224, help="image side in pixels (random weights only)")
    p.add_argument("--peers", action="store_true",
                   help="the peer table: torch, torch.compile, ONNX Runtime and OpenVINO with their own defaults "
                        "beside our engines (needs --calib-data)")  # fmt: skip
    p.add_argument("--val-data", help="--peers: labelled ImageFolder for each engine's top-1")
    p.add_argument("--classes", help="--val-data's class file (wnid lines in index order), as for eval")
    p.add_argument("--predict", metavar="IMAGE", help="end-to-end file-to-label latency of predict on IMAGE per --backends")
    p.add_argument("--train", action="store_true", help="training images/s vs a plain eager fp32 loop")
    p.add_argument("--allreduce", action="store_true", help="2-process gloo all-reduce: SqueezeNet vs AlexNet")
    p.add_argument("--batch-size", type=int, help="images per batch (default: 32 inference, the demo recipe's for training)")
    p.add_argument("--steps", type=int, default=20, help="timed training steps")
    p.add_argument("--json", action="store_true", help="print the results as data")
    add_design_args(p)  # the randomly initialised model (and --train's); default squeezenet1_1
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    if args.peers and not args.calib_data:
        raise SqueezeNetError("--peers needs --calib-data DIR: the int8 engines calibrate on it")
    if args.val_data and not args.peers:
        raise SqueezeNetError("--val-data gives the top-1 column of --peers; add --peers")
    if not (args.backends or args.peers or args.predict or args.train or args.allreduce):
        raise SqueezeNetError("choose what to measure: --backends LIST, --peers, --predict IMAGE, --train and/or --allreduce")
    if args.weights and design_from_args(args):
        raise SqueezeNetError("the design flags describe a random model; --weights brings its own")
    results: dict[str, Any] = {}
    if args.backends or args.peers or args.predict:
        args.device = "cpu"
        loaded = load_weights(args) if args.weights else _random_model(config_from_args(args, "squeezenet1_1"), args.input_size)
        backends = split_commas([args.backends]) if args.backends else ["torch"]
    if args.backends:
        results["inference"] = bench_inference(loaded, backends, args.batch_size or 32, args.calib_data)
    if args.peers:
        val = (lambda: folder_loader(loaded, args.val_data, args.classes, 50, 0)) if args.val_data else None
        results["peers"] = bench_peers(loaded, args.calib_data, val, args.batch_size or 32)
    if args.predict:
        results["predict"] = bench_predict(loaded, args.predict, backends, args.calib_data)
    if args.train:
        results["train"] = bench_train(args.arch or "squeezenet1_1", args.batch_size, args.steps, design=design_from_args(args))
    if args.allreduce:
        results["allreduce"] = bench_allreduce()
    emit(results) if args.json else print(format_results(results))
    return 0


def _random_model(config: SqueezeNetConfig, input_size: int) -> LoadedModel:
    """A randomly initialised model, for benchmarks that only need the compute."""
    if input_size < 1:
        raise SqueezeNetError(f"--input-size must be at least 1, got {input_size}")
    return LoadedModel(SqueezeNet(config).eval(), Preprocess(crop=input_size, resize=None), "random")
