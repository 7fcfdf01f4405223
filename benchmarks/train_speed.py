"""Training images/s of the step ``squeezenet train`` runs against a plain eager fp32 loop, same run:
v1.1 as released (small-image stem) at the small recipe's batch and a larger one, and the demo's
model. Real Fashion-MNIST images where Debian's package is installed. Writes
``docs/results/training-CLASS.{md,json}`` (CLASS as ``benchmarks/inference.py`` names it)."""

import os

from _shared import write_result
from inference_class import cpu_class

from squeezenet.data.fashion_mnist import load_fashion_mnist
from squeezenet.demo import DEMO_DESIGN
from squeezenet.errors import SqueezeNetError
from squeezenet.speed.report import format_results
from squeezenet.speed.training import bench_train

try:
    train, _, _ = load_fashion_mnist()
except SqueezeNetError:
    train = None  # synthetic images of the same shape
results = [
    bench_train("squeezenet1_1", batch, steps=20, data=train, design=design)
    for batch, design in ((None, None), (256, None), (None, DEMO_DESIGN))
]
lines = [
    "| model | batch | plain eager fp32 loop (images/s) | squeezenet train's step (images/s) | ratio | precision |",
    "|---|---|---|---|---|---|",
]
for r in results:
    model = "v1.1, small stem" + (f" ({', '.join(f'{k} {v}' for k, v in r['design'].items())})" if r["design"] else "")
    lines.append(
        f"| {model} | {r['batch_size']} | {r['baseline_images_per_s']:.0f} | {r['ours_images_per_s']:.0f} | "
        f"**{r['ratio']:.2f}x** | {r['ours_amp']} |"
    )
lines += ["", "```", *(format_results({"train": r}) for r in results), "```"]
caps = " ".join(f"{k}={os.environ[k]}" for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA") if k in os.environ)
write_result(
    f"training-{cpu_class()}",
    f"Training throughput ({cpu_class()})",
    "\n".join(lines),
    {"runs": results},
    (caps + " " if caps else "") + ".venv/bin/python benchmarks/train_speed.py",
)
