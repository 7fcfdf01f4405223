"""The device exports on ImageNet SqueezeNet v1.1 and on the demo's model: what each file costs and keeps.

- fp32 LiteRT and ExecuTorch files against PyTorch (max logit difference on ``val/`` images);
- int8 of each (ours and the library's default quantizer configuration): top-1 on the 250 ``val/``
  images, top-1 agreement with fp32 and KL divergence to it, file size, the operators left;
- TFLite Micro: flash and arena measured by TFLM for the 224 px model and for the demo's model
  (``--demo RUN``: a ``make demo`` run folder, its ``model.sqz``; else the demo's design untrained,
  whose flash and arena are the same, its weights aside), against the planner and a budget;
- each extra's install size (the distributions it adds to ``squeezenet[train]``, as installed here).

Writes ``docs/results/edge.{md,json}``; ``--no-write`` prints only.
"""

import sys
from pathlib import Path

import torch
from _shared import extra_size, require_shared, write_result

from squeezenet.demo import DEMO_DESIGN
from squeezenet.deploy.footprint import peak_activations
from squeezenet.deploy.litert import operators
from squeezenet.deploy.micro import measure
from squeezenet.deploy.pte import instructions
from squeezenet.deploy.runtime import build_engine
from squeezenet.evaluation.predict import folder_loader
from squeezenet.formats.loaded import LoadedModel
from squeezenet.formats.preprocess import FASHION_MNIST
from squeezenet.formats.weights import load_model
from squeezenet.models import SqueezeNet, SqueezeNetConfig
from squeezenet.speed.peers import DEVICE_DEFAULTS

shared = require_shared()
sample = shared / "imagenet-sample"
loaded = load_model(shared / "weights" / "squeezenet1_1-imagenet.pth")
batches = list(folder_loader(loaded, sample / "val", sample / "synset_words.txt", 50, 0))
images = loaded.preprocess.normalize_pixels(torch.cat([b[0] for b in batches]))
labels = torch.cat([b[1] for b in batches])
with torch.no_grad():
    reference = loaded.model.eval()(images)
fp32_top1 = float((reference.argmax(1) == labels).float().mean()) * 100
calib = sample / "calib"

FILES = ("litert", "executorch", "litert-int8", "litert-int8-defaults", "executorch-int8", "executorch-int8-defaults")
rows = []
for name in FILES:
    engine = build_engine(loaded, {b.name: b for b in DEVICE_DEFAULTS}.get(name, name), calib)
    logits = engine.runner()(images)
    kl = torch.nn.functional.kl_div(logits.log_softmax(1), reference.log_softmax(1), log_target=True, reduction="sum")
    left = operators(engine.graph) if name.startswith("litert") else instructions(engine.graph)
    rows.append(
        {
            "backend": name,
            "bytes": len(engine.graph),
            "max_logit_diff": float((logits - reference).abs().max()),
            "top1": float((logits.argmax(1) == labels).float().mean()) * 100,
            "agreement": float((logits.argmax(1) == reference.argmax(1)).float().mean()) * 100,
            "kl": max(0.0, float(kl) / len(images)),  # rounding makes an identical fp32 file's slightly negative
            "operators": dict(left) if name.startswith("litert") else left,
        }
    )
    print(rows[-1], flush=True)


def micro_of(model: LoadedModel, calib_data: object) -> dict:
    tflite = build_engine(model, "tflite-micro", calib_data).graph
    planned, _ = peak_activations(model.model, model.preprocess.crop, 1)
    return measure(tflite, planned).to_dict()


micro_imagenet = micro_of(loaded, calib)
demo_arg = sys.argv[sys.argv.index("--demo") + 1] if "--demo" in sys.argv else None
if demo_arg:
    demo = load_model(Path(demo_arg) / "model.sqz")
    demo_what = f"the compressed model of `{demo_arg}` (its `model.sqz`)"
else:
    model = SqueezeNet(SqueezeNetConfig(layout="v1_1", in_channels=1, num_classes=10, **DEMO_DESIGN))
    demo = LoadedModel(model.eval(), FASHION_MNIST, "random")
    demo_what = "the demo's design (untrained: flash and arena depend on shapes, not values)"
micro_demo = micro_of(demo, torch.rand(64, 1, 28, 28) * 2 - 1)


sizes = {e: extra_size(e) for e in ("litert", "micro", "executorch")}

lines = [
    "SqueezeNet v1.1 (ImageNet weights), 224 px, on the 250 `val/` images; int8 calibrated on the 250 "
    f"`calib/` images. fp32 PyTorch top-1 {fp32_top1:.2f}%.",
    "",
    "| file | bytes | max logit diff vs PyTorch | top-1 | top-1 agreement | KL to fp32 |",
    "|---|---|---|---|---|---|",
    *[
        f"| {r['backend']} | {r['bytes']:,} | {r['max_logit_diff']:.2e} | {r['top1']:.2f}% | {r['agreement']:.1f}% | "
        f"{r['kl']:.4f} |"
        for r in rows
    ],
    "",
    "Operators in the int8 `.tflite` (ours): "
    + ", ".join(f"{k} {v}" for k, v in rows[2]["operators"].items())
    + "; the int8 `.pte`'s forward method: "
    + ", ".join(rows[4]["operators"])
    + " (`XnnpackBackend`: a call into an XNNPACK subgraph; any other name, a kernel run outside it).",
    "",
    "## TFLite Micro",
    "",
    "| model | flash (the .tflite) | arena (TFLM) | activations (TFLM) | planner int8 peak | persistent | "
    "fits 1 MiB flash / 256 KiB RAM |",
    "|---|---|---|---|---|---|---|",
    *[
        f"| {what} | {m['flash_bytes']:,} | {m['arena_bytes']:,} | {m['activation_bytes']:,} | "
        f"{m['planned_activation_bytes']:,} | {m['persistent_bytes']:,} | {m['fits']} |"
        for what, m in (("v1.1 ImageNet, 224 px", micro_imagenet), ("demo, 28 px", micro_demo))
    ],
    "",
    f"The demo row is {demo_what}. Flash is the dense int8 file: Deep Compression's pruning and Huffman "
    "coding (the `.sqz`) do not carry into TFLite's format, whose weights are one int8 per value.",
    "",
    "## Install sizes",
    "",
    "| extra | installed on top of `squeezenet[train]` |",
    "|---|---|",
    *[f"| `squeezenet[{e}]` | {s / 1e6:,.0f} MB |" for e, s in sizes.items()],
]
write_result(
    "edge",
    "Device exports: LiteRT, TFLite Micro, ExecuTorch",
    "\n".join(lines),
    {
        "fp32_top1": fp32_top1,
        "rows": rows,
        "micro": {"imagenet": micro_imagenet, "demo": micro_demo},
        "extras": sizes,
    },
    ".venv/bin/python benchmarks/edge.py" + (f" --demo {demo_arg}" if demo_arg else ""),
)
