"""Size/accuracy curve of Deep Compression on ImageNet SqueezeNet v1.1 (post-training).

Each point compresses the shared v1.1 weights with the given options, writes the .sqz, and
measures top-1/top-5 of the decoded file on the held-out val/ images (the calibration images
are only used where an option needs images). Writes docs/compression/curve.{csv,md,png}.
"""

import csv
import sys
from pathlib import Path

from _shared import REPO, require_shared

from squeezenet.compress.pipeline import CompressOptions, compress
from squeezenet.inference import eval_folder
from squeezenet.io.formats import load_model
from squeezenet.utils.atomic import write_text
from squeezenet.utils.plots import new_figure, save_figure

shared = require_shared()
sample = shared / "imagenet-sample"
out = REPO / "docs" / "compression"
out.mkdir(parents=True, exist_ok=True)
loaded = load_model(shared / "weights" / "squeezenet1_1-imagenet.pth")
baseline = eval_folder(loaded, sample / "val", sample / "synset_words.txt", progress=False)

POINTS = [
    ("8-bit dense", CompressOptions(bits=8, density="dense")),
    ("8-bit dense, conv10 7-bit", CompressOptions(bits=8, density="dense", bits_spec="conv10=7")),
    ("7-bit dense", CompressOptions(bits=7, density="dense")),
    ("6-bit dense", CompressOptions(bits=6, density="dense")),
    ("5-bit dense", CompressOptions(bits=5, density="dense")),
    ("6-bit, 3x3 at 80%", CompressOptions(bits=6, density="expand3x3=0.8")),
    ("5-bit, 3x3 at 80%", CompressOptions(bits=5, density="expand3x3=0.8")),
    ("4-bit dense", CompressOptions(bits=4, density="dense")),
    ("6-bit, paper density (3x3 at 33%)", CompressOptions(bits=6, density="paper")),
]
rows = []
for label, options in POINTS:
    data, report, _ = compress(loaded, options, progress=False)
    path = out / "point.sqz"
    path.write_bytes(data)
    result = eval_folder(load_model(path), sample / "val", sample / "synset_words.txt", progress=False)
    path.unlink()
    rows.append({"point": label, "bytes": len(data), "top1": result.top1, "top5": result.top5,
                 "top1_lost": baseline.top1 - result.top1, "compress_s": round(report["compress_seconds"], 2),
                 "decode_s": round(report["decode_seconds"], 3)})  # fmt: skip
    print(rows[-1], file=sys.stderr)

with open(out / "curve.csv", "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
lines = [f"Baseline (fp32, 4.94 MB): top-1 {baseline.top1:.2f}%, top-5 {baseline.top5:.2f}% on {baseline.images} val images.", "",
         "| point | file (MB) | top-1 (%) | lost (points) | top-5 (%) | compress (s) | decode (s) |", "|---|---|---|---|---|---|---|"]  # fmt: skip
lines += [f"| {r['point']} | {r['bytes'] / 1e6:.3f} | {r['top1']:.2f} | {r['top1_lost']:.2f} | {r['top5']:.2f} | {r['compress_s']} | {r['decode_s']} |"
          for r in sorted(rows, key=lambda r: -r["bytes"])]  # fmt: skip
write_text(out / "curve.md", "\n".join(lines) + "\n")
fig, ax = new_figure(1, 1, (7, 4.5))
ax.axhline(baseline.top1, color="grey", ls="--", label="fp32 (4.94 MB)")
ax.axvline(0.47, color="tab:red", ls=":", label="paper: 0.47 MB")
ax.plot([r["bytes"] / 1e6 for r in rows], [r["top1"] for r in rows], "o")
for r in rows:
    ax.annotate(r["point"], (r["bytes"] / 1e6, r["top1"]), textcoords="offset points", xytext=(4, 4), fontsize=7)
ax.set_xlabel(".sqz file size (MB)")
ax.set_ylabel("top-1 on held-out images (%)")
ax.set_title("SqueezeNet v1.1, Deep Compression without retraining")
ax.legend()
save_figure(fig, out / "curve.png")
print((out / "curve.md").read_text())
