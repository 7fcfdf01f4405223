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


def _add_backend_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default="torch", choices=["torch", "onnxruntime", "onnxruntime-int8"])
    p.add_argument("--calib-data", help="unlabelled images to calibrate int8 (onnxruntime-int8)")


def _random_model(args: argparse.Namespace) -> Any:
    """A randomly initialised --arch, for benchmarks that only need the compute."""
    from .io.formats import LoadedModel
    from .io.preprocess import IMAGENET
    from .models import SqueezeNet, arch_config

    preprocess = IMAGENET.__class__(crop=args.input_size, resize=None)
    return LoadedModel(SqueezeNet(arch_config(args.arch or "squeezenet1_1")).eval(), preprocess, "random")


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
    model = SqueezeNet(config)
    summary = summarize(model, args.input_size)
    data: dict[str, Any] = {"config": config.to_dict(), **summary.to_dict()}
    if args.footprint:
        from .deploy.footprint import footprint
        from .utils.units import parse_bytes

        budget = parse_bytes(args.budget) if args.budget else None
        data["footprint"] = footprint(model, args.input_size, args.precision, budget, args.sqz).to_dict()
    if args.json:
        _emit(data)
        return 0
    print(format_table(summary))
    if args.footprint:
        from .deploy.footprint import format_footprint

        print(format_footprint(data["footprint"]))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .inference import eval_folder
    from .utils.device import pick_device

    loaded = _load(args)
    result = eval_folder(
        loaded, args.data, args.classes, args.batch_size, pick_device(args.device), progress=not args.quiet,
        workers=args.workers, backend=args.backend, calib_data=args.calib_data,
    )  # fmt: skip
    if args.json:
        _emit(result.to_dict())
    else:
        skipped = f", {result.skipped} unreadable skipped" if result.skipped else ""
        print(f"top-1 {result.top1:.2f}%  top-5 {result.top5:.2f}%  on {result.images} images{skipped}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from .inference import predict
    from .utils.device import pick_device

    results = predict(_load(args), args.images, args.top, pick_device(args.device), args.backend, args.calib_data)
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


def cmd_train(args: argparse.Namespace) -> int:
    from .train.config import TrainConfig
    from .train.loop import train

    design = {k: getattr(args, k) for k in ("base_e", "incr_e", "freq", "pct3x3", "sr", "bypass", "stem") if getattr(args, k) is not None}
    fields = {k: getattr(args, k) for k in TrainConfig.__dataclass_fields__ if k not in ("design", "arch") and hasattr(args, k)}
    summary = train(TrainConfig(arch=args.arch or "squeezenet1_1", design=design, **fields))
    if args.json and summary.get("rank", 0) == 0:  # under torchrun, one report, not one per process
        _emit({k: v for k, v in summary.items() if k != "history"})
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    report = run_demo(args.out, args.epochs, args.quiet)
    print(f"demo done: test top-1 {report['test_top1']:.2f}%; report in {args.out}/report.md")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .deploy.export import export

    report = export(_load(args), args.out, args.int8, args.calib_data)
    if args.json:
        _emit(report)
    else:
        print(f"wrote {args.out}: {report['bytes']:,} bytes, max logit difference vs PyTorch "
              f"{report['max_logit_diff_random']:.2e} (random inputs)")  # fmt: skip
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    results: dict[str, Any] = {}
    if args.backends:
        from .bench.inference import bench_inference

        loaded = _load(args) if args.weights else _random_model(args)
        results["inference"] = bench_inference(loaded, args.backends.split(","), args.batch_size or 32, args.calib_data)
    if args.train:
        from .bench.train_speed import bench_train

        results["train"] = bench_train(args.arch or "squeezenet1_1", args.batch_size or 128, args.steps)
    if args.allreduce:
        from .bench.allreduce import bench_allreduce

        results["allreduce"] = bench_allreduce()
    if not results:
        raise SqueezeNetError("choose what to measure: --backends LIST, --train and/or --allreduce")
    if args.json:
        _emit(results)
    else:
        from .bench.report import format_results

        print(format_results(results))
    return 0


def cmd_explore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .explore.plots import write_views
    from .explore.points import design_points, parse_shard
    from .explore.results import read_rows
    from .explore.sweep import run_sweep
    from .train.config import TrainConfig

    points = design_points(args.kind, args.values or [], args.sr_values or [], args.pct3x3_values or [])
    if not points:
        raise SqueezeNetError(f"explore {args.kind} needs --values")
    base = TrainConfig(
        arch=args.base_arch, data=args.data, data_dir=args.data_dir, epochs=args.epochs, batch_size=args.batch_size,
        lr=args.lr, limit_train=None if args.full else args.limit_train, limit_val=None if args.full else args.limit_val,
        seed=args.seed, workers=args.workers, checkpoint_every=args.checkpoint_every,
        design={k: getattr(args, k) for k in ("base_e", "incr_e", "freq") if getattr(args, k) is not None},
    )  # fmt: skip
    run_sweep(points, base, args.out, args.seeds, parse_shard(args.shard), args.quiet)
    written = write_views(read_rows(Path(args.out) / "results.csv"), args.kind, Path(args.out))
    print(f"results in {args.out}/results.csv; views: {', '.join(str(p) for p in written)}")
    return 0


def cmd_compress(args: argparse.Namespace) -> int:
    from .compress.pipeline import CompressOptions, compress, format_report
    from .compress.sqz import write_sqz
    from .utils.units import parse_bytes

    if not args.out.endswith(".sqz"):
        raise SqueezeNetError(f"{args.out}: the compressed file must end in .sqz")
    if args.calib_data and args.train_data:
        raise SqueezeNetError("choose one of --calib-data (distillation) and --train-data (labels)")
    options = CompressOptions(
        bits=args.bits, bits_spec=args.bits_per_layer, density=args.density, calib_data=args.calib_data,
        train_data=args.train_data, epochs=args.epochs, finetune_epochs=args.finetune_epochs,
        prune_stages=args.prune_stages, lr=args.lr, batch_size=args.batch_size, seed=args.seed,
        size_budget=parse_bytes(args.size_budget) if args.size_budget else None, compensate=not args.no_compensate,
        rate_weight=args.rate_weight,
    )  # fmt: skip
    data, report, _ = compress(_load(args), options, progress=not args.quiet)
    write_sqz(args.out, data)
    _emit(report) if args.json else print(format_report(report))
    return 0


# --- parser ---------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="squeezenet", description="SqueezeNet models: build, train, compress, deploy.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("info", help="Table 1 view: per-layer shapes, params, MACs, size")
    _add_design_args(p)
    p.add_argument("--input-size", type=int, default=224)
    p.add_argument("--footprint", action="store_true", help="weights + peak activations against an on-chip budget")
    p.add_argument("--precision", choices=["fp32", "fp16", "int8", "sqz"], default="fp32")
    p.add_argument("--sqz", help="with --precision sqz: the compressed file whose size counts")
    p.add_argument("--budget", default="10MB", help="on-chip memory budget, e.g. 10MB (default), 512KiB")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("eval", help="top-1/top-5 on an ImageFolder directory")
    _add_weights_args(p)
    p.add_argument("--data", required=True, help="ImageFolder directory (class folders, e.g. ImageNet wnids)")
    p.add_argument("--classes", help="class file, one 'wnid names' line per class in index order")
    _add_backend_args(p)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("predict", help="class names and probabilities for images")
    _add_weights_args(p)
    p.add_argument("images", nargs="+")
    _add_backend_args(p)
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("train", help="train on Fashion-MNIST or an ImageNet-layout folder (torchrun for many processes)")
    _add_design_args(p)
    p.add_argument("--data", default="fashion-mnist", help="fashion-mnist, or a directory with train/ and val/ class folders")
    p.add_argument("--data-dir", help="folder with the Fashion-MNIST IDX files (default: Debian's package)")
    p.add_argument("--download", action="store_true", help="fetch Fashion-MNIST with torchvision if absent (needs internet)")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, help="global batch, split across processes (the lr follows it)")
    p.add_argument("--lr", type=float)
    p.add_argument("--optimizer", choices=["sgd", "adamw"], help="sgd: the paper's; adamw: the small-data default")
    p.add_argument("--momentum", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--warmup-epochs", type=float)
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--grad-clip", type=float, help="max gradient norm (0: off)")
    p.add_argument("--input-size", type=int)
    p.add_argument("--limit-train", type=int)
    p.add_argument("--limit-val", type=int)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--checkpoint-every", type=int, default=200, help="steps between checkpoints (0: epoch ends only)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--amp", choices=["auto", "bf16", "fp16", "off"], default="auto")
    p.add_argument("--no-channels-last", dest="channels_last", action="store_false")
    p.add_argument("--augment", dest="augment", action="store_true", default=None, help="force augmentation on")
    p.add_argument("--no-augment", dest="augment", action="store_false", help="force augmentation off")
    p.add_argument("--max-steps", type=int, help=argparse.SUPPRESS)
    p.add_argument("--quiet", action="store_true", help="no progress bars (for logs)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("demo", help="the main job: train on Fashion-MNIST and write runs/demo/report.*")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--epochs", type=int)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("bench", help="benchmarks against a baseline in the same run (ratios)")
    p.add_argument("--backends", help="inference backends, e.g. torch,torch-compile,onnxruntime,onnxruntime-int8")
    p.add_argument("--weights", help="weights to benchmark (default: randomly initialised --arch)")
    p.add_argument("--prototxt", default=None)
    p.add_argument("--calib-data", help="unlabelled images for onnxruntime-int8")
    p.add_argument("--input-size", type=int, default=224)
    p.add_argument("--train", action="store_true", help="training images/s vs a plain eager fp32 loop")
    p.add_argument("--allreduce", action="store_true", help="2-process gloo all-reduce: SqueezeNet vs AlexNet")
    p.add_argument("--arch", default=None)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("export", help="ONNX (optionally int8), verified against PyTorch")
    _add_weights_args(p)
    p.add_argument("--format", choices=["onnx"], default="onnx")
    p.add_argument("--int8", action="store_true", help="static int8 quantization with ONNX Runtime (needs --calib-data)")
    p.add_argument("--calib-data", help="unlabelled images for int8 calibration")
    p.add_argument("--out", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("explore", help="design-space sweeps (paper Sections 5-6) with Figure-2 style plots")
    p.add_argument("kind", choices=["sr", "pct3x3", "bypass", "grid"])
    p.add_argument("--values", nargs="+", help="the swept values (sr, pct3x3 or bypass kinds)")
    p.add_argument("--sr-values", nargs="+", type=float, help="grid: squeeze ratios")
    p.add_argument("--pct3x3-values", nargs="+", type=float, help="grid: 3x3 shares")
    p.add_argument("--base-arch", choices=["squeezenet1_0", "squeezenet1_1"], default="squeezenet1_1")
    p.add_argument("--base-e", type=int)
    p.add_argument("--incr-e", type=int)
    p.add_argument("--freq", type=int)
    p.add_argument("--data", default="fashion-mnist")
    p.add_argument("--data-dir")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--limit-train", type=int, default=10000)
    p.add_argument("--limit-val", type=int, default=2000)
    p.add_argument("--full", action="store_true", help="the paper's scale: all data (use with --epochs and ImageNet)")
    p.add_argument("--seeds", type=int, default=1, help="seeds per point (mean and spread)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--checkpoint-every", type=int, default=200)
    p.add_argument("--out", required=True)
    p.add_argument("--shard", help="I/N: run every N-th job starting at I (for several machines)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_explore)

    p = sub.add_parser("compress", help="Deep Compression to a .sqz file (prune, trained quantization, Huffman)")
    _add_weights_args(p)
    p.add_argument("--out", required=True, help="FILE.sqz")
    p.add_argument("--bits", type=int, default=6, help="index bits per weight, 1-8 (default 6)")
    p.add_argument("--bits-per-layer", help="overrides, e.g. conv1=8,expand3x3=5")
    p.add_argument("--density", help="paper | dense | 0.5 | expand3x3=0.33,conv10=0.5,default=1 "
                   "(default: paper with --epochs, else dense)")
    p.add_argument("--size-budget", help="e.g. 0.7MB: pick bits per layer by measured sensitivity to fit it")
    p.add_argument("--calib-data", help="unlabelled images: error-compensated sharing, and distillation with --epochs")
    p.add_argument("--no-compensate", action="store_true",
                   help="round each weight to its nearest centroid even when images are given")
    p.add_argument("--rate-weight", type=float, default=1.0,
                   help="entropy-constrained k-means: weight of code length against error (default 1; "
                        "0: plain k-means as Deep Compression, larger: smaller files)")
    p.add_argument("--train-data", help="labelled data: fashion-mnist or an ImageNet-layout folder")
    p.add_argument("--epochs", type=int, default=0, help="retraining epochs after pruning (0: post-training only)")
    p.add_argument("--finetune-epochs", type=int, help="centroid fine-tuning epochs after sharing (default: --epochs)")
    p.add_argument("--prune-stages", type=int, default=1,
                   help="iterative pruning: reach the density in N prune-retrain steps (cubic schedule; default 1)")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compress)

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
