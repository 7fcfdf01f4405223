"""``export`` (any engine's file, verified against PyTorch, or the fastest here) and ``bench`` (speed
against a baseline in the same run)."""

from __future__ import annotations

import argparse
from typing import Any

from ..deploy.backends import BACKENDS
from ..deploy.options import ExportOptions
from ..errors import OptionError
from ..utils.options import MAX_BATCH, MAX_SIDE
from .args import (
    add_design_args,
    add_json,
    add_quiet,
    add_record,
    add_weights_args,
    config_from_args,
    dataset,
    design_from_args,
    emit,
    existing_dir,
    existing_file,
    image_file,
    integer,
    load_weights,
    record_from_args,
    split_commas,
)


def add_export(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="an engine's file (ONNX, OpenVINO IR, LiteRT, TFLite Micro, ExecuTorch; fp32 or int8), an FPGA's HLS "
        "project (hls4ml), or the fastest engine here (auto)",
    )
    add_weights_args(p)
    add_record(p, ExportOptions)
    p.add_argument(
        "--out",
        required=True,
        help="the exported file (auto: a name without suffix; the chosen engine's is added)",
    )
    add_json(p, "the report")
    add_quiet(p)
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    options = record_from_args(ExportOptions, args)
    options.check()
    options.check_out(args.out)  # before the weights are read or an image decoded
    from ..deploy.export import export

    report = export(load_weights(args), args.out, options)
    if args.json:
        emit(report.to_dict())
        return 0
    if report.auto and not args.quiet:
        for c in report.auto.candidates:
            print(
                f"  {c.backend:<18} {c.images_per_s:>8.0f} images/s  {c.latency_ms:>7.2f} ms/batch  "
                f"top-1 agreement {c.agreement:.1f}%"
            )
        print(f"chose {report.auto.reason}")
    agreement = "" if report.top1_agreement_real is None else f", top-1 agreement {report.top1_agreement_real:.1f}%"
    takes = ", takes uint8 pixels" if report.pixels else ""
    print(
        f"wrote {report.file}: {report.bytes:,} bytes ({report.backend}{takes}), max logit difference vs PyTorch "
        f"{report.max_logit_diff_random:.2e} (random inputs){agreement}"
    )
    return 0


def add_bench(sub: Any) -> None:
    p = sub.add_parser("bench", help="benchmarks against a baseline in the same run (ratios)")
    p.add_argument("--backend", help=f"inference backends, comma-separated: {','.join(BACKENDS)}")
    p.add_argument(
        "--weights",
        type=existing_file,
        help="weights or an exported file to benchmark (default: randomly initialised --arch)",
    )
    p.add_argument("--prototxt", type=existing_file, help="the deploy.prototxt of a .caffemodel")
    p.add_argument("--calib-data", type=existing_dir, help="unlabelled images for the int8 backends")
    p.add_argument(
        "--input-size", type=integer(1, MAX_SIDE), default=224, help="image side in pixels (random weights only)"
    )
    p.add_argument(
        "--peers",
        action="store_true",
        help="the peer table: torch, torch.compile, ONNX Runtime and OpenVINO with their own defaults "
        "beside our engines, in interleaved rounds (needs --calib-data)",
    )
    p.add_argument(
        "--rounds", type=integer(1, 1000), default=5, help="--peers: interleaved timing rounds (median and spread)"
    )
    p.add_argument("--data", type=dataset, help="--peers: labelled data (its val/) for each engine's top-1")
    p.add_argument("--classes", type=existing_file, help="--data's class file (wnid lines in index order), as for eval")
    p.add_argument(
        "--predict", metavar="IMAGE", type=image_file, help="end-to-end file-to-label latency on IMAGE per --backend"
    )
    p.add_argument(
        "--train", action="store_true", help="training images/s: the training loop's step vs a plain eager fp32 loop"
    )
    p.add_argument("--allreduce", action="store_true", help="2-process gloo all-reduce: SqueezeNet vs AlexNet")
    p.add_argument(
        "--batch-size",
        type=integer(1, MAX_BATCH),
        help="images per batch (default: 32 inference, the demo recipe's for training)",
    )
    p.add_argument("--steps", type=integer(1, 1_000_000), default=20, help="timed training steps")
    add_json(p, "the results")
    add_quiet(p)
    add_design_args(p)  # the randomly initialised model (and --train's)
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    if args.peers and not args.calib_data:
        raise OptionError("peers", "needs {calib_data} DIR: the int8 engines calibrate on it", "calib_data")
    if args.data and not args.peers:
        raise OptionError("data", "gives the top-1 column of {peers}; add it", "peers")
    if not (args.backend or args.peers or args.predict or args.train or args.allreduce):
        raise OptionError(
            "backend",
            "LIST, {peers}, {predict} IMAGE, {train} or {allreduce}: choose what to measure",
            "peers",
            "predict",
            "train",
            "allreduce",
        )
    if args.weights and design_from_args(args):
        raise OptionError("weights", "brings its own model: the design flags describe a random one")
    if args.input_size < 1:
        raise OptionError("input_size", f"must be at least 1, got {args.input_size}")
    from ..speed.report import format_results
    from ..speed.run import BenchRequest, run_benchmarks

    request = BenchRequest(
        backends=split_commas(args.backend),
        weights=args.weights,
        prototxt=args.prototxt,
        config=None if args.weights else config_from_args(args),
        input_size=args.input_size,
        calib_data=args.calib_data,
        peers=args.peers,
        rounds=args.rounds,
        data=args.data,
        classes=args.classes,
        predict=args.predict,
        train=args.train,
        allreduce=args.allreduce,
        batch_size=args.batch_size,
        steps=args.steps,
        arch=args.arch,
        design=design_from_args(args),
        quiet=args.quiet,
    )
    results = run_benchmarks(request)
    emit(results) if args.json else print(format_results(results))
    return 0
