"""``make demo``: the toolkit end to end on Fashion-MNIST, summarised in runs/demo/report.*.

1. train: SqueezeNet v1.1 with the paper's simple bypass, a strided stem and batch norm after
   each squeeze (``DEMO_DESIGN``) on the 60,000 training images, measured on the 10,000 test
   images; the saved file is the plain SqueezeNet with the batch norm folded in;
2. compress: Deep Compression with labelled retraining, to a .sqz file, measured again;
3. export: ONNX fp32, and the fastest engine on this CPU (``export --format auto``: every engine,
   fp32 or int8 calibrated on training images) with its test accuracy beside fp32's; every
   engine's speed against torch eager, and the on-chip footprint;
4. microcontroller: the compressed model as a TFLite Micro file and C header, its flash and arena
   measured by TFLM against a 1 MiB flash / 256 KiB RAM budget, its test accuracy on the file;
5. FPGA (experimental): the same model (its 2x2 pools are the ones hls4ml streams), written as
   an hls4ml project with profiled fixed point, and its C simulation scored against PyTorch on a
   sample of the test images.
Each stage's figures go into the same report. Rerunning resumes an interrupted training run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import torch

from .compression.options import CompressOptions
from .compression.pipeline import compress
from .data import FASHION_MNIST_DATA
from .data.sources import TensorSource, build_source
from .deploy.backends import BACKENDS, ENGINES
from .deploy.export import REAL_CHECK_IMAGES, export, write_verified
from .deploy.footprint import footprint
from .deploy.options import ExportOptions
from .deploy.runtime import build_engine
from .evaluation.accuracy import evaluate
from .formats.weights import load_model
from .speed.inference import bench_inference
from .train.config import MODEL_FILE, TrainConfig
from .train.loop import train
from .train.report import write_json
from .utils.atomic import write_bytes, write_text
from .utils.device import cpu_isa

# Compression: the paper's density (3x3 expand filters at 33%, 1x1 dense), 5-bit shared weights,
# error-compensated assignment on training images, then a tenth of an epoch of retraining (labels
# and distillation) after pruning and a tenth of centroid fine-tuning: the paper's Deep Compression,
# with the library's entropy-constrained codebooks (docs/results/demo.md has the file it makes).
DEMO_COMPRESSION = CompressOptions(bits=5, density="paper", data=FASHION_MNIST_DATA, epochs=0.1, lr=2e-4, batch_size=64)
# The model: v1.1 with the paper's Section 6 simple bypass, a strided 3x3 conv1 in place of conv1
# and its max-pool (a quarter of the stem's work), batch norm after each squeeze convolution
# while training (folded into it when saved: the file is a plain SqueezeNet), which lets the
# learning rate double, and 2x2 max-pools (``--pool 2x2``): the FPGA stage streams this very model
# through hls4ml instead of training a variant of its own. docs/results/training.md and
# docs/results/fpga.md have the variants measured against it.
DEMO_DESIGN = {"bypass": "simple", "stem": "strided", "norm": "squeeze", "pool": "2x2"}
DEMO_LR = 6e-3


def demo_training(
    run_dir: Path, epochs: int | None, quiet: bool, data_dir: str | None = None, **design: Any
) -> TrainConfig:
    """The demo's training run on Fashion-MNIST (resumable), its design changed by ``design``."""
    return TrainConfig(
        arch="squeezenet1_1",
        data=FASHION_MNIST_DATA,
        data_dir=data_dir,
        out=str(run_dir),
        epochs=epochs,
        resume=True,
        quiet=quiet,
        design={**DEMO_DESIGN, **design},
        lr=DEMO_LR,
    )


def _test_batches(source: TensorSource) -> Any:
    return ((b.images, b.targets) for b in source.val_batches(500, 0, 1))


def run_demo(out: str | Path = "runs/demo", epochs: int | None = None, quiet: bool = False) -> dict[str, Any]:
    out = Path(out)
    start = time.perf_counter()
    run_dir = out / "train"
    summary = train(demo_training(run_dir, epochs, quiet))
    weights = run_dir / MODEL_FILE
    loaded = load_model(weights)
    params = sum(p.numel() for p in loaded.model.parameters())  # as saved: the batch norm folded in
    source = build_source(FASHION_MNIST_DATA)
    report: dict[str, Any] = {
        "dataset": "Fashion-MNIST (60,000 train / 10,000 test, 28x28 grayscale)",
        "model": "squeezenet1_1, simple bypass, strided stem, squeeze batch norm (folded when saved), 2x2 pools",
        "test_top1": summary.val_top1,
        "test_top5": summary.val_top5,
        "params": params,
        "size_bytes_fp32": 4 * params,
        "weights_file_bytes": weights.stat().st_size,
        "train_seconds": summary.train_seconds,
        "train_images_per_s": summary.images_per_s,
        "epochs": len(summary.history),
        "machine": f"{cpu_isa()}, {torch.get_num_threads()} threads, " + _precision(summary.environment["amp"]),
    }
    report["compression"] = _compress_stage(loaded, weights, source, out, quiet)
    export_start = time.perf_counter()
    report["export"] = _export_stage(loaded, source, out)
    report["export"]["seconds"] = time.perf_counter() - export_start
    report["micro"] = _micro_stage(out / "model.sqz", out, source)
    report["fpga"] = _fpga_stage(loaded, out, source)
    report["total_seconds"] = time.perf_counter() - start
    write_json(out / "report.json", report)
    write_text(out / "report.md", render_markdown(report))
    return report


def _compress_stage(loaded: Any, weights: Path, source: TensorSource, out: Path, quiet: bool) -> dict[str, Any]:
    start = time.perf_counter()
    compressed = compress(loaded, DEMO_COMPRESSION, progress=not quiet)
    write_bytes(out / "model.sqz", compressed.data)
    from_disk = load_model(out / "model.sqz")  # measure what was written, decoded from disk
    result = evaluate(from_disk.model, _test_batches(source), progress=False)
    return {
        "file": str(out / "model.sqz"),
        "file_bytes": len(compressed.data),
        "ratio_vs_fp32_file": weights.stat().st_size / len(compressed.data),
        "test_top1": result.top1,
        "test_top5": result.top5,
        "bits": DEMO_COMPRESSION.bits,
        "density": DEMO_COMPRESSION.density,
        "seconds": time.perf_counter() - start,
        "decode_seconds": compressed.report.decode_seconds,
    }


def _export_stage(loaded: Any, source: TensorSource, out: Path) -> dict[str, Any]:
    """fp32 ONNX (the portable file), then ``export --format auto``: every engine timed here at
    batch 1 and checked on held-out training images, the fastest written and measured on test
    beside the fp32 model on the same batches; the same engines (not rebuilt) timed at batch 32
    against torch eager for the table."""
    calib = next(source.train_batches(0, 0, 256, 0, 1, seed=0)).images
    onnx_file = export(loaded, out / "model.onnx", ExportOptions(format="onnx", calib_data=calib))
    best = export(loaded, out / "model-best", ExportOptions(format="auto", calib_data=calib))
    choice = best.auto
    fp32_result = evaluate(loaded.model, _test_batches(source), progress=False)
    best_result = evaluate(choice.engines[choice.chosen].runner(), _test_batches(source), progress=False)
    runners = {name: engine.runner() for name, engine in choice.engines.items()}
    host = [name for name in ENGINES if BACKENDS[name].auto]  # the device files have their own stage
    bench = bench_inference(loaded, ["torch", *host], 32, calib, repeats=10, latency_repeats=50, runners=runners)
    return {
        "onnx_bytes": onnx_file.bytes,
        "max_logit_diff": max(onnx_file.max_logit_diff_random, onnx_file.max_logit_diff_real),
        "best_file": best.file,
        "best_bytes": best.bytes,
        "best_test_top1": best_result.top1,
        "fp32_test_top1": fp32_result.top1,
        "auto": choice.to_dict(),
        "bench": bench["results"],
        "footprint": {p: footprint(loaded.model, 28, p, 10_000_000).to_dict() for p in ("fp32", "int8")},
    }


def _micro_stage(model_file: Path, out: Path, source: TensorSource) -> dict[str, Any] | None:
    """The compressed model (``model_file``) as a microcontroller takes it: int8 ``.tflite`` and C header, calibrated
    on training images, checked by TFLM under the arena it declares; test top-1 on that file
    (LiteRT's interpreter, which agrees with TFLM's within two output steps). None without the
    ``micro`` extra."""
    if not BACKENDS["tflite-micro"].available():
        print("demo: microcontroller stage skipped: pip install 'squeezenet[micro]'", file=sys.stderr)
        return None
    from .deploy.litert import litert_runner

    start = time.perf_counter()
    compressed = load_model(model_file)
    calib = next(source.train_batches(0, 0, 256, 0, 1, seed=0)).images
    written = export(compressed, out / "model-micro.tflite", ExportOptions("tflite-micro", True, calib))
    result = evaluate(litert_runner(Path(written.file).read_bytes()), _test_batches(source), progress=False)
    seconds = time.perf_counter() - start
    return {"file": written.file, **(written.device or {}), "test_top1": result.top1, "seconds": seconds}


def _fpga_stage(loaded: Any, out: Path, source: TensorSource) -> dict[str, Any] | None:
    """The demo's model as an hls4ml project (fixed point profiled on training images), its C
    simulation checked against PyTorch on test images before it is written (the check export runs
    on every file, here on images profiling never saw). None without the ``fpga`` extra."""
    if not BACKENDS["hls4ml"].available():
        print("demo: FPGA stage skipped: pip install 'squeezenet[fpga]'", file=sys.stderr)
        return None
    start = time.perf_counter()
    calib = next(source.train_batches(0, 0, 256, 0, 1, seed=0)).images
    engine = build_engine(loaded, "hls4ml", calib)
    batch = next(source.val_batches(REAL_CHECK_IMAGES, 0, 1))
    written = write_verified(loaded, engine, out / "model-fpga.hls4ml", batch.images)
    with torch.no_grad():
        reference = loaded.model.eval()(batch.images).argmax(1)
    return {
        "file": written.file,
        "bytes": written.bytes,
        "layers": written.device["layers"],
        "integer_bits": written.device["integer_bits"],
        "fixed_bits": written.device["fixed_bits"],
        "sample": len(batch.targets),
        "sample_top1_pytorch": 100.0 * float((reference == batch.targets).float().mean()),
        "sample_agreement": written.top1_agreement_real,
        "sample_max_logit_diff": written.max_logit_diff_real,
        "seconds": time.perf_counter() - start,
    }


def render_markdown(report: dict[str, Any]) -> str:
    c, e = report["compression"], report["export"]
    lines = [
        "# squeezenet demo report",
        "",
        f"{report['model']} trained on {report['dataset']}.",
        f"Measured on this machine: {report.get('machine', 'not recorded')}.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| test top-1 / top-5 | {report['test_top1']:.2f}% / {report['test_top5']:.2f}% |",
        f"| parameters | {report['params']:,} |",
        f"| fp32 weights file | {report['weights_file_bytes'] / 1e6:.2f} MB |",
        f"| training | {report['epochs']} epochs, {report['train_seconds']:.0f} s, "
        f"{report['train_images_per_s']:.0f} images/s |",
        f"| Deep Compression ({c['bits']}-bit, density {c['density']}) | {c['file_bytes'] / 1e3:.1f} KB, "
        f"{c['ratio_vs_fp32_file']:.1f}x smaller, test top-1 {c['test_top1']:.2f}% |",
        f"| ONNX fp32 | {e['onnx_bytes'] / 1e6:.2f} MB |",
        f"| fastest engine here (`export --format auto`, batch 1) | {e['auto']['chosen']}: "
        f"{Path(e['best_file']).name}, "
        f"{e['best_bytes'] / 1e6:.2f} MB, test top-1 {e['best_test_top1']:.2f}% (fp32 {e['fp32_test_top1']:.2f}%) |",
        f"| demo wall time | {report['total_seconds']:.0f} s (training {report['train_seconds']:.0f} s, compression "
        f"{c['seconds']:.0f} s, export {e['seconds']:.0f} s{_stage_seconds(report)}) |",
        "",
        "| backend | images/s (batch 32) | vs torch | batch-1 latency (ms) |",
        "|---|---|---|---|",
        *[
            f"| {r['backend']} | {r['images_per_s']:.0f} | {r['ratio_vs_torch']:.2f}x | {r['latency_ms_bs1']:.2f} |"
            for r in e["bench"]
        ],
        "",
        "| precision | weights | peak activations | total | fits 10 MB |",
        "|---|---|---|---|---|",
        *[
            f"| {p} | {f['weight_bytes'] / 1e3:.0f} KB | {f['peak_activation_bytes'] / 1e3:.0f} KB | "
            f"{f['total_bytes'] / 1e3:.0f} KB | {f['fits']} |"
            for p, f in e["footprint"].items()
        ],
        "",
        *_micro_lines(report.get("micro")),
        *_fpga_lines(report.get("fpga")),
        "![learning curves](train/curves.png)",
        "",
    ]
    return "\n".join(lines)


def _stage_seconds(report: dict[str, Any]) -> str:
    """The optional stages' share of the wall time (each needs its extra)."""
    stages = (("microcontroller", report.get("micro")), ("FPGA", report.get("fpga")))
    return "".join(f", {name} {stage['seconds']:.0f} s" for name, stage in stages if stage)


def _micro_lines(m: dict[str, Any] | None) -> list[str]:
    if not m:
        return []
    return [
        f"On a microcontroller (TFLite Micro, `{Path(m['file']).name}` and its `.h`): "
        f"flash {m['flash_bytes'] / 1024:.0f} KiB, tensor arena {m['arena_bytes'] / 1024:.0f} KiB "
        f"(activations {m['activation_bytes']:,} B, the "
        f"planner's int8 peak {m['planned_activation_bytes']:,} B), against a budget of "
        f"{m['budget_flash_bytes'] // 1024} KiB flash and {m['budget_ram_bytes'] // 1024} KiB RAM: "
        f"{'fits' if m['fits'] else 'does not fit'}; test top-1 of the int8 file {m['test_top1']:.2f}%.",
        "",
    ]


def _fpga_lines(f: dict[str, Any] | None) -> list[str]:
    if not f:
        return []
    return [
        f"On an FPGA (experimental; hls4ml, `{Path(f['file']).name}`): the model above (2x2 pools), "
        f"as an HLS project of {f['layers']} layers in "
        f"{f['fixed_bits']}-bit fixed point, integer bits {f['integer_bits'][0]} to {f['integer_bits'][-1]} by "
        f"profiling; on {f['sample']} test images (PyTorch's top-1 {f['sample_top1_pytorch']:.2f}%) its C "
        f"simulation gives PyTorch's answer on {f['sample_agreement']:.1f}%, the largest logit difference "
        f"{f['sample_max_logit_diff']:.3f}.",
        "",
    ]


def _precision(amp: str) -> str:
    """How training computed: run.json records the autocast dtype, ``None`` where it ran fp32."""
    return "fp32 (no autocast)" if amp == "None" else f"{amp} autocast"
