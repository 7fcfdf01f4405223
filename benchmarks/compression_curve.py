"""Size/accuracy curve of Deep Compression on ImageNet SqueezeNet v1.1 (post-training).

Each point compresses the shared v1.1 weights with the given options, writes the .sqz, and
measures top-1/top-5 of the decoded file on the held-out val/ images. "compensated" points use
the calib/ images (error-compensated weight sharing, and for "distilled" points centroid
fine-tuning by distillation from the original on them); "nearest" points round every weight to
its nearest centroid, without images. Codebooks come from entropy-constrained k-means (the
default, rate weight 1) unless the point says "plain k-means" (Deep Compression's, rate weight 0).
Writes docs/results/compression.{md,json,csv,png};
``--plot-only`` redraws the page and plot from an existing compression.csv.
"""

import csv
import io
import sys
import tempfile
from pathlib import Path

from _shared import RESULTS, require_shared, write_result
from tqdm import tqdm

from squeezenet.compression.options import CompressOptions
from squeezenet.compression.pipeline import compress
from squeezenet.evaluation.model import open_model
from squeezenet.evaluation.predict import eval_data, eval_model
from squeezenet.formats.weights import load_model
from squeezenet.utils.atomic import write_text
from squeezenet.utils.plots import new_figure, save_figure

shared = require_shared()
sample = shared / "imagenet-sample"
out = RESULTS
out.mkdir(parents=True, exist_ok=True)
CSV, PNG = out / "compression.csv", out / "compression.png"

CALIB = str(sample / "calib")
COMPENSATED = [
    ("8-bit", CompressOptions(bits=8, calib_data=CALIB)),
    ("8-bit, distilled 2 epochs", CompressOptions(bits=8, calib_data=CALIB, finetune_epochs=2)),
    ("6-bit", CompressOptions(bits=6, calib_data=CALIB)),
    ("6-bit, conv10 5-bit", CompressOptions(bits=6, bits_spec="conv10=5", calib_data=CALIB)),
    ("6-bit, distilled 2 epochs", CompressOptions(bits=6, calib_data=CALIB, finetune_epochs=2)),
    ("5-bit, conv10 4-bit", CompressOptions(bits=5, bits_spec="conv10=4", calib_data=CALIB)),
    ("4-bit", CompressOptions(bits=4, calib_data=CALIB)),
    ("4-bit, conv10 3-bit", CompressOptions(bits=4, bits_spec="conv10=3", calib_data=CALIB)),
    ("4-bit, 3x3 at 50%", CompressOptions(bits=4, density="expand3x3=0.5", calib_data=CALIB)),
    ("3-bit", CompressOptions(bits=3, calib_data=CALIB)),
    ("6-bit, paper density", CompressOptions(bits=6, density="paper", calib_data=CALIB)),
    ("6-bit, rate weight 2", CompressOptions(bits=6, rate_weight=2.0, calib_data=CALIB)),
    ("8-bit, plain k-means", CompressOptions(bits=8, rate_weight=0.0, calib_data=CALIB)),
    ("6-bit, plain k-means", CompressOptions(bits=6, rate_weight=0.0, calib_data=CALIB)),
    ("4-bit, plain k-means", CompressOptions(bits=4, rate_weight=0.0, calib_data=CALIB)),
]
NEAREST = [
    (label, CompressOptions(bits=bits)) for label, bits in (("8-bit", 8), ("6-bit", 6), ("5-bit", 5), ("4-bit", 4))
]
POINTS = [("compensated", *p) for p in COMPENSATED] + [("nearest", *p) for p in NEAREST]


def held_out(path) -> object:
    """Top-1 / top-5 of a weight file on the val/ images."""
    model = open_model(path)
    return eval_model(model, eval_data(model, sample, classes_file=sample / "synset_words.txt"), progress=False)


def measure() -> list[dict]:
    weights = shared / "weights" / "squeezenet1_1-imagenet.pth"
    loaded = load_model(weights)
    base = held_out(weights)
    rows = [
        {
            "method": "fp32",
            "point": "uncompressed",
            "bytes": 4 * sum(p.numel() for p in loaded.model.state_dict().values()),
            "top1": base.top1,
            "top5": base.top5,
            "top1_lost": 0.0,
            "compress_s": 0.0,
            "decode_s": 0.0,
        }
    ]
    for method, label, options in tqdm(POINTS, desc="curve", unit="point"):
        compressed = compress(loaded, options, progress=False)
        data, report = compressed.data, compressed.report
        with tempfile.TemporaryDirectory() as tmp:  # the decoded file is measured, never kept
            path = Path(tmp) / "point.sqz"
            path.write_bytes(data)
            result = held_out(path)
        rows.append(
            {
                "method": method,
                "point": label,
                "bytes": len(data),
                "top1": result.top1,
                "top5": result.top5,
                "top1_lost": base.top1 - result.top1,
                "compress_s": round(report.compress_seconds, 2),
                "decode_s": round(report.decode_seconds, 3),
            }
        )
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


STAGGER = ((0, -34), (0, 22), (0, -60))  # label offsets (points) for neighbours on the main series


def report(rows: list[dict]) -> None:
    base = rows[0]
    lines = [
        "| method | point | file (MB) | top-1 (%) | lost (points) | top-5 (%) | compress (s) | decode (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['method']} | {r['point']} | {r['bytes'] / 1e6:.3f} | {r['top1']:.2f} | {r['top1_lost']:.2f} | "
        f"{r['top5']:.2f} | {r['compress_s']:g} | {r['decode_s']:g} |"
        for r in sorted(rows, key=lambda r: -r["bytes"])
    ]
    lines += ["", "![size against held-out top-1](compression.png)"]
    fig, ax = new_figure(1, 1, (9, 5.5))
    ax.axhline(base["top1"], color="grey", ls="--", label=f"fp32 ({base['bytes'] / 1e6:.2f} MB)")
    ax.axvline(0.47, color="tab:red", ls=":", label="paper: 0.47 MB")

    def kind(r: dict) -> str:
        if r["method"] != "compensated":
            return r["method"]
        if "distilled" in r["point"]:
            return "distilled"
        return "pruned" if "%" in r["point"] or "paper" in r["point"] else "plain" if "plain" in r["point"] else "dense"

    series = (
        ("compensated, dense", "o", "-", "dense"),
        ("compensated, pruned", "s", "", "pruned"),
        ("compensated, plain k-means", "^", ":", "plain"),
        ("compensated, distilled 2 epochs", "D", "", "distilled"),
        ("nearest, dense", "x", "-", "nearest"),
    )
    for label, marker, line, wanted in series:
        chosen = sorted((r for r in rows[1:] if kind(r) == wanted), key=lambda r: r["bytes"])
        ax.plot([r["bytes"] / 1e6 for r in chosen], [r["top1"] for r in chosen], marker=marker, ls=line, label=label)
        # Only the main series is labelled (short names on staggered offsets: its points crowd near
        # 0.6-0.7 MB); the legend names the others, and the page lists every point.
        for i, r in enumerate(chosen if wanted == "dense" else ()):
            short = r["point"].replace("rate weight", "rw").replace(", ", "\n")
            ax.annotate(
                short,
                (r["bytes"] / 1e6, r["top1"]),
                textcoords="offset points",
                xytext=STAGGER[i % 3],
                fontsize=7,
                ha="center",
                arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "grey"},
            )
    ax.set_ylim(top=max(r["top1"] for r in rows) + 9)  # room for the labels above the top points
    ax.set_xlabel(".sqz file size (MB)")
    ax.set_ylabel("top-1 on held-out images (%)")
    ax.set_title("SqueezeNet v1.1, Deep Compression without retraining (250 held-out images)")
    ax.legend(fontsize=8, loc="lower right")
    save_figure(fig, PNG)
    write_result(
        "compression",
        "Deep Compression of ImageNet SqueezeNet v1.1 without retraining",
        "\n".join(lines),
        {"points": rows},
        ".venv/bin/python benchmarks/compression_curve.py",
    )


report(read_rows() if "--plot-only" in sys.argv else measure())
