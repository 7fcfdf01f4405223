"""Size/accuracy curve of Deep Compression on ImageNet SqueezeNet v1.1 (post-training, no labels).

Each point compresses the shared v1.1 weights with the given options, writes the .sqz, and
measures the decoded file on the held-out val/ images: top-1/top-5 against the labels, and,
since 250 images move top-1 in 0.4-point steps, two label-free figures that tell methods apart:
top-1 agreement with the uncompressed model and the mean KL divergence from its outputs.
Methods: "nearest" rounds every weight to the nearest centroid of its layer's codebook, without
images (Deep Compression without retraining); "compensated, layer codebook" shares one codebook
per layer with error compensation on the calib/ images (labels never read); "compensated,
channel scales" stretches that codebook per output channel; "compensated, size budget" (``--size-budget``)
chooses each layer's width and scales by measured damage per byte. Codebooks come from
entropy-constrained k-means (rate weight 1, the default) unless a point says "plain k-means".
Writes docs/results/compression.{md,json,csv,png};
``--plot-only`` redraws the page and plot from an existing compression.csv.
"""

import csv
import io
import sys
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from _shared import RESULTS, require_shared, write_result
from tqdm import tqdm

from squeezenet.compression.options import CompressOptions
from squeezenet.compression.pipeline import compress
from squeezenet.data.images import calibration_tensor, read_class_file
from squeezenet.formats.weights import load_model
from squeezenet.utils.atomic import write_text
from squeezenet.utils.plots import new_figure, save_figure

shared = require_shared()
sample = shared / "imagenet-sample"
out = RESULTS
out.mkdir(parents=True, exist_ok=True)
CSV, PNG = out / "compression.csv", out / "compression.png"

CALIB = str(sample / "calib")
NEAREST, LAYER, CHANNEL = "nearest", "compensated, layer codebook", "compensated, channel scales"
BUDGET = "compensated, size budget"  # widths and scales chosen per layer by measured damage per byte
POINTS = [
    (NEAREST, "8-bit", CompressOptions(bits=8, channel_scales=False)),
    (NEAREST, "6-bit", CompressOptions(bits=6, channel_scales=False)),
    (NEAREST, "4-bit", CompressOptions(bits=4, channel_scales=False)),
    (LAYER, "8-bit", CompressOptions(bits=8, channel_scales=False, calib_data=CALIB)),
    (LAYER, "6-bit", CompressOptions(bits=6, channel_scales=False, calib_data=CALIB)),
    (
        LAYER,
        "5-bit, conv10 4-bit",
        CompressOptions(bits=5, bits_spec="conv10=4", channel_scales=False, calib_data=CALIB),
    ),
    (LAYER, "4-bit", CompressOptions(bits=4, channel_scales=False, calib_data=CALIB)),
    (LAYER, "3-bit", CompressOptions(bits=3, channel_scales=False, calib_data=CALIB)),
    (CHANNEL, "8-bit", CompressOptions(bits=8, channel_scales=True, calib_data=CALIB)),
    (CHANNEL, "6-bit", CompressOptions(bits=6, channel_scales=True, calib_data=CALIB)),
    (CHANNEL, "5-bit", CompressOptions(bits=5, channel_scales=True, calib_data=CALIB)),
    (CHANNEL, "4-bit", CompressOptions(bits=4, channel_scales=True, calib_data=CALIB)),
    (CHANNEL, "4-bit, plain k-means", CompressOptions(bits=4, rate_weight=0.0, channel_scales=True, calib_data=CALIB)),
    (CHANNEL, "3-bit", CompressOptions(bits=3, channel_scales=True, calib_data=CALIB)),
    (BUDGET, "0.47 MB", CompressOptions(size_budget=470_000, calib_data=CALIB)),
    (BUDGET, "0.40 MB", CompressOptions(size_budget=400_000, calib_data=CALIB)),
]


@torch.no_grad()
def logits(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    model.eval()
    return torch.cat([model(images[i : i + 50]) for i in range(0, len(images), 50)])


def scores(out: torch.Tensor, reference: torch.Tensor, labels: torch.Tensor) -> dict:
    """top-1/top-5 against the labels; agreement with and KL from the uncompressed model's outputs."""
    top5 = out.topk(5, dim=1).indices
    kl = F.kl_div(F.log_softmax(out, 1), F.log_softmax(reference, 1), log_target=True, reduction="batchmean")
    return {
        "top1": 100 * float((top5[:, 0] == labels).float().mean()),
        "top5": 100 * float((top5 == labels[:, None]).any(1).float().mean()),
        "agreement": 100 * float((out.argmax(1) == reference.argmax(1)).float().mean()),
        "kl": float(kl),
    }


def measure() -> list[dict]:
    torch.manual_seed(0)
    weights = shared / "weights" / "squeezenet1_1-imagenet.pth"
    loaded = load_model(weights)
    wnids = read_class_file(sample / "synset_words.txt")
    images = calibration_tensor(sample / "val", loaded.preprocess, max_images=1000)
    labels = torch.tensor([wnids.index(p.parent.name) for p in sorted((sample / "val").rglob("*.JPEG"))])
    reference = logits(loaded.model, images)
    base = scores(reference, reference, labels)
    rows = [
        {
            "method": "fp32",
            "point": "uncompressed",
            "bytes": 4 * sum(p.numel() for p in loaded.model.state_dict().values()),
            **base,
            "top1_lost": 0.0,
            "compress_s": 0.0,
            "decode_s": 0.0,
        }
    ]
    for method, label, options in tqdm(POINTS, desc="curve", unit="point"):
        compressed = compress(loaded, options, progress=False)
        data, report = compressed.data, compressed.report
        with tempfile.TemporaryDirectory() as tmp:  # the written file is measured, as a user loads it
            path = Path(tmp) / "point.sqz"
            path.write_bytes(data)
            result = scores(logits(load_model(path).model, images), reference, labels)
        rows.append(
            {
                "method": method,
                "point": label,
                "bytes": len(data),
                **result,
                "top1_lost": base["top1"] - result["top1"],
                "compress_s": round(report.compress_seconds, 2),
                "decode_s": round(report.decode_seconds, 3),
            }
        )
        tqdm.write(f"{method}, {label}: {len(data):,} bytes, top-1 {result['top1']:.2f}%, KL {result['kl']:.4f}")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_text(CSV, buffer.getvalue())
    return rows


def read_rows() -> list[dict]:
    if not (CSV).exists():
        sys.exit(f"{CSV} does not exist: run without --plot-only first")
    with open(CSV, newline="") as f:
        return [{k: v if k in ("method", "point") else float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def report(rows: list[dict]) -> None:
    base = rows[0]
    lines = [
        "| method | point | file (MB) | top-1 (%) | lost (points) | top-5 (%) | agreement (%) | KL | compress (s) "
        "| decode (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['method']} | {r['point']} | {r['bytes'] / 1e6:.3f} | {r['top1']:.2f} | {r['top1_lost']:.2f} | "
        f"{r['top5']:.2f} | {r['agreement']:.1f} | {r['kl']:.4f} | {r['compress_s']:g} | {r['decode_s']:g} |"
        for r in sorted(rows, key=lambda r: -r["bytes"])
    ]
    lines += [
        "",
        "Agreement: the share of val/ images whose top-1 class is the uncompressed model's; KL: the mean "
        "KL divergence of the compressed model's class probabilities from the uncompressed model's. "
        "Both need no labels, and tell two methods apart where 250 labelled images cannot.",
        "",
        "![size against held-out top-1 and KL](compression.png)",
    ]
    fig, (ax, kl_ax) = new_figure(1, 2, (13, 5.5))
    ax.axhline(base["top1"], color="grey", ls="--", label=f"fp32 ({base['bytes'] / 1e6:.2f} MB)")
    for axis in (ax, kl_ax):
        axis.axvline(0.47, color="tab:red", ls=":", label="paper: 0.47 MB")
    for method, marker in ((BUDGET, "*"), (CHANNEL, "o"), (LAYER, "s"), (NEAREST, "x")):
        chosen = sorted((r for r in rows[1:] if r["method"] == method), key=lambda r: r["bytes"])
        sizes = [r["bytes"] / 1e6 for r in chosen]
        ax.plot(sizes, [r["top1"] for r in chosen], marker=marker, ls="", label=method)
        kl_ax.plot(sizes, [r["kl"] for r in chosen], marker=marker, ls="", label=method)
    kl_ax.set_yscale("log")
    kl_ax.set_xlabel(".sqz file size (MB)")
    kl_ax.set_ylabel("mean KL from the fp32 model (log)")
    kl_ax.legend(fontsize=8)
    ax.set_xlabel(".sqz file size (MB)")
    ax.set_ylabel("top-1 on held-out images (%)")
    ax.set_title("SqueezeNet v1.1, Deep Compression without retraining (250 held-out images)")
    ax.legend(fontsize=8, loc="lower right")
    save_figure(fig, PNG)
    write_result(
        "compression",
        "Deep Compression of ImageNet SqueezeNet v1.1 without retraining or labels",
        "\n".join(lines),
        {"points": rows},
        ".venv/bin/python benchmarks/compression_curve.py",
    )


report(read_rows() if "--plot-only" in sys.argv else measure())
