"""From a photo file to its label, and through folders, on the engine ``export --format auto`` picks.

In one run, on this CPU: the engine chosen as ``export --format auto`` chooses it (batch 1,
calibrated on ``calib/``); one photo's file-to-label latency by stage against the model's own
batch-1 latency, with the float path (torchvision's reference transform, normalised on the host,
the float graph) as the baseline; ``predict`` over a folder of 1,000 photos of mixed sizes
(ImageNet ``val/`` and ``calib/``, hymenoptera, trashnet) against the engine's batch-32
throughput on preprocessed tensors and against the float path in batches of 32; ``val/`` top-1
both ways with their agreement; and the peak memory of ``squeezenet predict`` on the exported
file over 1,000 and 10,000 photos (the same photos copied ten times).
Writes docs/results/predict.{md,json}.
"""

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from _shared import REPO, require_shared, write_result

from squeezenet.data.images import open_image
from squeezenet.deploy.auto import choose_engine
from squeezenet.evaluation.model import Runnable
from squeezenet.evaluation.predict import StageTimes, eval_data, eval_model, predict
from squeezenet.formats.weights import load_model
from squeezenet.speed.endtoend import bench_predict, format_predict, reference_transform
from squeezenet.utils.device import cpu_isa
from squeezenet.utils.timing import median, time_calls

shared = require_shared()
sample = shared / "imagenet-sample"
WEIGHTS = shared / "weights" / "squeezenet1_1-imagenet.pth"
BATCH = 32


def mixed_folder(root: Path) -> list[Path]:
    """1,000 photos of mixed sizes as links: val/ and calib/ (about 500x375), hymenoptera (up to
    2592x1944), every ninth trashnet photo (341x256)."""
    sources = [
        *sorted((sample / "val").rglob("*.JPEG")),
        *sorted((sample / "calib").rglob("*.JPEG")),
        *sorted((shared / "hymenoptera" / "train").rglob("*.jpg")),
        *sorted((shared / "trashnet").rglob("*.jpg"))[::9],
    ][:1000]
    root.mkdir(parents=True)
    links = []
    for i, source in enumerate(sources):
        links.append(root / f"{i:04d}{source.suffix}")
        links[-1].symlink_to(source)
    return links


def float_path(model: Runnable, files: list[Path]) -> float:
    """The baseline over a folder: decode, the reference transform, the float graph, batch by batch."""
    reference, pre = reference_transform(model.preprocess), model.preprocess
    start = time.perf_counter()
    for i in range(0, len(files), BATCH):
        batch = torch.stack([reference(open_image(f, pre.mode, pre.decode_side)) for f in files[i : i + BATCH]])
        torch.softmax(model.run(batch), dim=1).topk(5)
    return len(files) / (time.perf_counter() - start)


def peak_rss_mb(weights: Path, folder: Path, out: Path) -> tuple[float, float]:
    """Peak resident memory (MB) and wall seconds of ``squeezenet predict`` over ``folder``, in a process of its own."""
    command = [sys.executable, "-m", "squeezenet", "predict", "--weights", str(weights), str(folder)]
    measure = (  # a child of its own: RUSAGE_CHILDREN is the peak over every child a process has had
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - t)"
    )
    done = subprocess.run(
        [sys.executable, "-c", measure, *command, "--csv", str(out), "--quiet"],
        check=True,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    rss, seconds = map(float, done.stdout.split())
    return rss, seconds


def main() -> None:
    loaded = load_model(WEIGHTS)
    print("choosing the engine as export --format auto does ...", flush=True)
    choice = choose_engine(loaded, sample / "calib")
    name, engine = choice.chosen, choice.engines[choice.chosen]
    run = engine.runner()
    model = Runnable(run, engine.pixel_runner(loaded.preprocess, run), name, loaded.config, loaded.preprocess, None, "")
    image = sorted((sample / "val").rglob("*.JPEG"))[0]
    one = bench_predict(loaded, image, [name], engines={name: engine}, repeats=100)
    print(format_predict(one), flush=True)

    val = eval_data(model, sample, classes_file=sample / "synset_words.txt", batch_size=50, workers=0)
    reference, labels, ours = reference_transform(loaded.preprocess), [], []
    for pixels, targets, _ in val.batches:
        ours.append(model.pixels(pixels).argmax(1))
        labels.append(targets)
    files = val.batches.dataset.samples
    floats = torch.stack([reference(open_image(p, "RGB", loaded.preprocess.decode_side)) for p, _ in files])
    old, ours, labels = run(floats).argmax(1), torch.cat(ours), torch.cat(labels)
    accuracy = {
        "float_path_top1": 100 * float((old == labels).float().mean()),
        "pixel_path_top1": 100 * float((ours == labels).float().mean()),
        "agreement": 100 * float((old == ours).float().mean()),
        "eval_top1": eval_model(model, eval_data(model, sample, classes_file=sample / "synset_words.txt"), False).top1,
    }
    print(accuracy, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        folder = mixed_folder(Path(tmp) / "photos")
        x = torch.randn(BATCH, 3, loaded.preprocess.crop, loaded.preprocess.crop)
        engine_rate = BATCH / median(time_calls(lambda: run(x), 30, warmup=5))
        times = StageTimes()
        start = time.perf_counter()
        results = list(predict(model, folder, batch_size=BATCH, progress=True, times=times))
        predict_rate = len(results) / (time.perf_counter() - start)
        unread = [r["error"] for r in results if "error" in r]
        baseline_rate = float_path(model, folder)
        print(f"engine {engine_rate:.0f}/s, predict {predict_rate:.0f}/s, float path {baseline_rate:.0f}/s", flush=True)
        exported = Path(tmp) / f"model{engine.backend.suffix}"
        engine.save(exported)
        big = Path(tmp) / "ten-thousand"
        for copy in range(10):  # copies: the folder walk reads a file reached twice through links once
            shutil.copytree(Path(tmp) / "photos", big / str(copy), symlinks=False)
        rss_1k, wall_1k = peak_rss_mb(exported, Path(tmp) / "photos", Path(tmp) / "1k.csv")
        rss_10k, wall_10k = peak_rss_mb(exported, big, Path(tmp) / "10k.csv")
    folder_result = {
        "photos": len(results),
        "unreadable": unread,
        "engine_batch32_images_per_s": engine_rate,
        "predict_images_per_s": predict_rate,
        "float_path_images_per_s": baseline_rate,
        "stage_ms": times.to_dict(),
        "cli_1000": {"peak_rss_mb": rss_1k, "seconds": wall_1k},
        "cli_10000": {"peak_rss_mb": rss_10k, "seconds": wall_10k},
    }
    row = one["rows"][0]
    lines = [
        f"Engine: `{name}`, as `export --format auto` chose it on this CPU ({cpu_isa()}): {choice.reason}.",
        "",
        "## One photo, file to label",
        "",
        "| stage | ms |",
        "|---|---|",
        f"| decode ({one['pixels'][0]}x{one['pixels'][1]} JPEG; libjpeg-turbo through TorchCodec) | "
        f"{one['decode_ms']:.2f} |",
        f"| decode with Pillow (the float path's) | {one['reference_decode_ms']:.2f} |",
        f"| resize and crop to uint8 pixels | {one['resize_ms']:.2f} |",
        f"| torchvision's reference transform (the float path's resize, crop, normalise) | "
        f"{one['reference_preprocess_ms']:.2f} |",
        f"| the engine on a float tensor (the model's batch-1 latency) | {row['model_ms']:.2f} |",
        f"| the engine on uint8 pixels, normalising in its graph | {row['pixels_model_ms']:.2f} |",
        f"| **file to label, `predict`'s path** | **{row['end_to_end_ms']:.2f}** "
        f"({row['end_to_end_ms'] / row['model_ms']:.2f}x the model) |",
        f"| file to label, the float path (baseline) | {row['float_path_ms']:.2f} "
        f"({row['float_path_ms'] / row['model_ms']:.2f}x the model) |",
        "",
        "## A folder of 1,000 photos of mixed sizes",
        "",
        "| what | images/s | vs the engine |",
        "|---|---|---|",
        f"| the engine alone, batch {BATCH}, preprocessed tensors | {engine_rate:.0f} | 1.00x |",
        f"| `predict` (decode in threads beside the engine, batch {BATCH}) | {predict_rate:.0f} | "
        f"{predict_rate / engine_rate:.2f}x |",
        f"| the float path, batch {BATCH} (baseline) | {baseline_rate:.0f} | {baseline_rate / engine_rate:.2f}x |",
        "",
        f"`predict`'s stage times on the folder: {times.line()}"
        + (f"; {len(unread)} unreadable: {unread[0]}" if unread else "")
        + ".",
        "",
        "| `squeezenet predict` on the exported file | photos | seconds | peak RSS (MB) |",
        "|---|---|---|---|",
        f"| one folder | 1,000 | {wall_1k:.1f} | {rss_1k:.0f} |",
        f"| ten copies of it | 10,000 | {wall_10k:.1f} | {rss_10k:.0f} |",
        "",
        "## Same predictions",
        "",
        f"ImageNet `val/` (250 images): the float path {accuracy['float_path_top1']:.2f}% top-1, `predict`'s "
        f"pixel path {accuracy['pixel_path_top1']:.2f}%, the same top-1 class on {accuracy['agreement']:.1f}% of "
        f"images; `squeezenet eval` on this engine {accuracy['eval_top1']:.2f}%.",
    ]
    write_result(
        "predict",
        "From a photo to its label",
        "\n".join(lines),
        {"engine": name, "choice": choice.to_dict(), "one_photo": one, "folder": folder_result, "val": accuracy},
        ".venv/bin/python benchmarks/predict.py",
    )


if __name__ == "__main__":
    sys.exit(main())
