"""Over-the-air updates: bytes sent per update against held-out accuracy, in one run.

Base: ImageNet v1.1 compressed post-training to 6 bits with calib/ (what a fleet already
holds). New task: ants and bees (hymenoptera/train, 20% held out, stratified, seed 42). Sent:
(a) the fine-tuned fp32 file, (b) the fine-tuned model compressed to .sqz, (c) a patch from
`squeezenet adapt` + `squeezenet diff`, applied with `squeezenet patch`. Writes
docs/ota/results.{json,md} and docs/ota/ota.png.
"""

import json
import tempfile
import time
from pathlib import Path

import torch
from _shared import REPO, require_shared

from squeezenet.compression.adapt import adapt
from squeezenet.compression.options import AdaptOptions, CompressOptions
from squeezenet.compression.pipeline import compress
from squeezenet.data.images import open_image
from squeezenet.data.sources import build_source
from squeezenet.formats import sqz
from squeezenet.formats.loaded import build_checked
from squeezenet.formats.sqzpatch import apply_patch, make_patch
from squeezenet.formats.weights import load_model
from squeezenet.train.config import TrainConfig
from squeezenet.train.loop import train
from squeezenet.utils.atomic import write_text
from squeezenet.utils.device import cpu_isa
from squeezenet.utils.plots import new_figure, save_figure

shared = require_shared()
DATA, OUT = shared / "hymenoptera", REPO / "docs" / "ota"
held = build_source(str(DATA), workers=0).split.labelled("held_out")


def top1(state_or_model: torch.nn.Module, preprocess) -> float:
    images = torch.stack([preprocess.eval_transform()(open_image(p, min_side=preprocess.decode_side)) for p, _ in held])
    with torch.no_grad():
        return (
            float((state_or_model.eval()(images).argmax(1) == torch.tensor([y for _, y in held])).float().mean()) * 100
        )


def of_sqz(data: bytes) -> float:
    contents = sqz.decode(data)
    return top1(build_checked(contents.config, contents.state(), "model"), contents.preprocess)


start = time.perf_counter()
base = compress(
    load_model(shared / "weights" / "squeezenet1_1-imagenet.pth"),
    CompressOptions(bits=6, calib_data=shared / "imagenet-sample" / "calib"),
    progress=False,
).data
with tempfile.TemporaryDirectory() as tmp:
    train(
        TrainConfig(
            data=str(DATA),
            weights=str(shared / "weights" / "squeezenet1_1-imagenet.pth"),
            out=tmp,
            quiet=True,
            workers=0,
        )
    )
    fp32_path = Path(tmp) / "model.safetensors"
    fine = load_model(fp32_path)
    fp32 = {"bytes": fp32_path.stat().st_size, "top1": top1(fine.model, fine.preprocess)}
    compressed = compress(fine, CompressOptions(bits=6, data=str(DATA)), progress=False).data
adapted, _ = adapt(base, str(DATA), AdaptOptions(), progress=False)
patch = make_patch(base, adapted)
assert apply_patch(base, patch) == adapted
rows = {
    "whole fp32 file (fine-tuned)": fp32,
    "whole .sqz (fine-tuned, then compressed)": {"bytes": len(compressed), "top1": of_sqz(compressed)},
    "whole .sqz (adapted)": {"bytes": len(adapted), "top1": of_sqz(adapted)},
    ".sqzpatch (adapt + diff)": {"bytes": len(patch), "top1": of_sqz(adapted)},
}
results = {
    "isa": cpu_isa(),
    "base_bytes": len(base),
    "held_out_images": len(held),
    "seconds": time.perf_counter() - start,
    "updates": rows,
}
OUT.mkdir(parents=True, exist_ok=True)
write_text(OUT / "results.json", json.dumps(results, indent=2) + "\n")
lines = [
    f"Base: ImageNet v1.1, 6-bit .sqz, {len(base):,} bytes; new task: ants/bees, {len(held)} held-out photos "
    f"({cpu_isa()})",
    "",
    "| update sent | bytes | base file / update | held-out top-1 (%) |",
    "|---|---|---|---|",
]
lines += [f"| {k} | {r['bytes']:,} | {len(base) / r['bytes']:.2f} | {r['top1']:.2f} |" for k, r in rows.items()]
write_text(OUT / "results.md", "\n".join(lines) + "\n")
fig, ax = new_figure(1, 1, (7.5, 4.5))
for (name, r), marker in zip(rows.items(), "osD^"):
    ax.scatter(r["bytes"] / 1e3, r["top1"], s=60, marker=marker, label=f"{name}: {r['bytes'] / 1e3:,.1f} KB")
ax.set_xscale("log")
ax.set_xlabel("bytes sent per update (KB, log scale)")
ax.set_ylabel(f"top-1 on {len(held)} held-out photos (%)")
ax.set_ylim(50, 100)
ax.set_title("Over-the-air update to a new task (ImageNet v1.1 -> ants/bees)")
ax.legend(fontsize=8, loc="lower right")
ax.grid(alpha=0.3)
save_figure(fig, OUT / "ota.png")
print("\n".join(lines))
