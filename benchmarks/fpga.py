"""The FPGA path on the demo's model: what its 2x2 pools cost, and how narrow its fixed point can go.

- the demo's model (``--pool 2x2``, the pools hls4ml streams) and the same design with the paper's
  3x3 pools, both trained with the demo's recipe and epochs: their Fashion-MNIST test top-1;
- the demo's model exported by ``export --format hls4ml`` at several widths, each layer's integer bits
  profiled: the C simulation's top-1 and its agreement with PyTorch on the first ``SAMPLE`` test
  images, the largest logit difference, the project's size and the time to write and compile it;
- the ``fpga`` extra's install size.

Writes ``docs/results/fpga.{md,json,png}``; ``--no-write`` prints only.
"""

import time
from pathlib import Path

import torch
from _shared import RESULTS, WRITE, extra_size, write_result

from squeezenet.data.sources import build_source
from squeezenet.demo import demo_training
from squeezenet.deploy.export import write_verified
from squeezenet.deploy.inputs import BuildInputs
from squeezenet.deploy.runtime import build_engine
from squeezenet.formats.weights import load_model
from squeezenet.train.config import MODEL_FILE
from squeezenet.train.loop import train
from squeezenet.utils.plots import new_figure, save_figure

WIDTHS = (16, 12, 10, 8)
SAMPLE = 300  # test images through each C simulation (about 0.2 s each)
OUT = Path("runs/fpga-bench")

run_dir = OUT / "train"
summary = train(demo_training(run_dir, None, quiet=True))
loaded = load_model(run_dir / MODEL_FILE)
paper = train(demo_training(OUT / "train-3x3", None, quiet=True, pool="3x3"))  # the paper's pools, for the cost

source = build_source("fashion-mnist")
calib = next(source.train_batches(0, 0, 256, 0, 1, seed=0)).images
batch = next(source.val_batches(SAMPLE, 0, 1))
with torch.no_grad():
    reference = loaded.model.eval()(batch.images)
pytorch_top1 = 100.0 * float((reference.argmax(1) == batch.targets).float().mean())

rows = []
for bits in WIDTHS:
    start = time.perf_counter()
    engine = build_engine(loaded, "hls4ml", calib, BuildInputs(loaded, fixed_bits=bits))
    written = write_verified(loaded, engine, OUT / f"model-{bits}bit.hls4ml", calib)
    seconds = time.perf_counter() - start
    logits = engine.runner()(batch.images)
    rows.append(
        {
            "bits": bits,
            "top1": 100.0 * float((logits.argmax(1) == batch.targets).float().mean()),
            "agreement": 100.0 * float((logits.argmax(1) == reference.argmax(1)).float().mean()),
            "max_logit_diff": float((logits - reference).abs().max()),
            "integer_bits": written.device["integer_bits"],
            "project_bytes": written.bytes,
            "write_seconds": seconds,
        }
    )
    print(rows[-1], flush=True)


extra = extra_size("fpga")

fig, ax = new_figure()
ax.plot([r["bits"] for r in rows], [r["agreement"] for r in rows], "o-", label="top-1 agreement with PyTorch")
ax.plot([r["bits"] for r in rows], [r["top1"] for r in rows], "s--", label="top-1 (C simulation)")
ax.axhline(pytorch_top1, color="gray", lw=0.8, label=f"top-1 (PyTorch fp32) {pytorch_top1:.1f}%")
ax.set_xlabel("fixed-point width (bits; integer bits profiled per layer)")
ax.set_ylabel(f"% of {SAMPLE} Fashion-MNIST test images")
ax.set_title("hls4ml C simulation of the 2x2-pool SqueezeNet, 28 px")
ax.invert_xaxis()
ax.legend()
if WRITE:
    save_figure(fig, RESULTS / "fpga.png")

lines = [
    f"The demo's model (v1.1, simple bypass, strided stem, squeeze batch norm, 2x2 pools: `--pool 2x2`), "
    f"trained {len(summary.history)} epochs with the demo's recipe: Fashion-MNIST test top-1 {summary.val_top1:.2f}%; "
    f"the same design with the paper's 3x3 pools, trained alike: {paper.val_top1:.2f}%.",
    "",
    f"`export --format hls4ml` at each width, calibrated on 256 training images; the C simulation (hls4ml "
    f"1.3, Vivado backend, `io_stream`, built by g++) on the first {SAMPLE} test images, where PyTorch fp32 "
    f"scores {pytorch_top1:.2f}%.",
    "",
    "| width | integer bits (profiled) | C-sim top-1 | agreement with PyTorch | max logit diff | project | "
    "write + compile |",
    "|---|---|---|---|---|---|---|",
    *[
        f"| {r['bits']} | {r['integer_bits'][0]} to {r['integer_bits'][1]} | {r['top1']:.2f}% | "
        f"{r['agreement']:.1f}% | {r['max_logit_diff']:.3f} | {r['project_bytes'] / 1e6:.1f} MB | "
        f"{r['write_seconds']:.0f} s |"
        for r in rows
    ],
    "",
    "![agreement against width](fpga.png)",
    "",
    "Synthesis (Vivado or Vitis HLS) is not run here: the FPGA resources and latency of these projects "
    "are unmeasured. hls4ml's defaults (Latency strategy, reuse factor 1) fully unroll every layer; a "
    "model of this size needs a larger reuse factor (`hls4ml_config.yml`) to fit a device.",
    "",
    f"The `fpga` extra installs {extra / 1e6:.0f} MB on top of `squeezenet[train]` (hls4ml and its "
    "dependencies; the C simulation needs g++).",
]
write_result(
    "fpga",
    "FPGA (experimental): hls4ml C simulation",
    "\n".join(lines),
    {
        "variant_test_top1": summary.val_top1,
        "paper_pools_test_top1": paper.val_top1,
        "sample": SAMPLE,
        "pytorch_sample_top1": pytorch_top1,
        "rows": rows,
        "extra_bytes": extra,
    },
    ".venv/bin/python benchmarks/fpga.py",
)
