"""Over-the-air updates: bytes sent per update against held-out accuracy, and a real TUF update, in one run.

Base: ImageNet v1.1 compressed post-training to 6 bits with calib/ (what a fleet already holds).
New task: ants and bees (hymenoptera/train; the 20% a run holds out, stratified, seed 42). Sent:
the fine-tuned fp32 file, the fine-tuned model compressed to .sqz, or the patch of
``squeezenet adapt`` + ``diff``. Then both .sqz releases are published into a TUF repository served
on 127.0.0.1 and a provisioned device runs ``update`` and ``--confirm``: every byte it fetched and
the time each took. Writes ``docs/results/ota.{md,json,png}``.
"""

import functools
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import torch
from _shared import RESULTS, require_shared, write_result

from squeezenet.compression.adapt import adapt
from squeezenet.compression.options import AdaptOptions, CompressOptions
from squeezenet.compression.pipeline import compress
from squeezenet.data.images import open_image
from squeezenet.data.sources import build_source
from squeezenet.formats import sqz
from squeezenet.formats.loaded import build_checked
from squeezenet.formats.sqzpatch import apply_patch, make_patch
from squeezenet.formats.weights import load_model
from squeezenet.ota.device import Device
from squeezenet.ota.keys import KeyStore, init_keys
from squeezenet.ota.publish import Repository
from squeezenet.train.config import MODEL_FILE, TrainConfig
from squeezenet.train.loop import train
from squeezenet.utils.plots import new_figure, save_figure

shared = require_shared()
DATA, WEIGHTS = shared / "hymenoptera", shared / "weights" / "squeezenet1_1-imagenet.pth"
held = build_source(str(DATA), workers=0).split.labelled("held_out")


def top1(model: torch.nn.Module, preprocess) -> float:
    images = torch.stack([preprocess.eval_transform()(open_image(p, min_side=preprocess.decode_side)) for p, _ in held])
    with torch.no_grad():
        predicted = model.eval()(images).argmax(1)
    return float((predicted == torch.tensor([y for _, y in held])).float().mean()) * 100


def of_sqz(data: bytes) -> float:
    contents = sqz.decode(data)
    return top1(build_checked(contents.config, contents.state(), "model"), contents.preprocess)


def tuf_update(base: bytes, new: bytes, work: Path) -> dict:
    """Publish base and new as releases 1 and 2, serve them, update a device holding base."""
    init_keys(work / "keys", root_keys=3, root_threshold=2)
    keys, repo = KeyStore(work / "keys"), Repository(work / "repo")
    repo.publish(keys, "ants-bees", base)
    published = repo.publish(keys, "ants-bees", new)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(work / "repo"))
    handler.log_message = lambda *a: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        device = Device(work / "device")
        device.provision(work / "repo" / "metadata" / "root.json", base, release=1)
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = device.update(url, "ants-bees")
        start = time.monotonic()
        confirmed = device.confirm()
        confirm_s = time.monotonic() - start
        again = device.update(url, "ants-bees")
    finally:
        server.shutdown()
    return {
        "patch_bytes": published.patches.get(1),
        "via": result.via,
        "bytes_fetched": result.bytes_fetched,
        "target_bytes": result.target_bytes,
        "metadata_bytes": result.bytes_fetched - result.target_bytes,
        "update_s": result.seconds,
        "confirm": confirmed.status,
        "confirm_s": confirm_s,
        "check_when_current_bytes": again.bytes_fetched,
        "check_when_current_s": again.seconds,
    }


start = time.perf_counter()
base = compress(
    load_model(WEIGHTS), CompressOptions(bits=6, calib_data=shared / "imagenet-sample" / "calib"), progress=False
).data
with tempfile.TemporaryDirectory() as tmp:
    train(TrainConfig(data=str(DATA), weights=str(WEIGHTS), out=tmp, quiet=True, workers=0))
    fine = load_model(Path(tmp) / MODEL_FILE)
    fp32 = {"bytes": (Path(tmp) / MODEL_FILE).stat().st_size, "top1": top1(fine.model, fine.preprocess)}
    compressed = compress(fine, CompressOptions(bits=6, data=str(DATA)), progress=False).data
adapted, report = adapt(base, str(DATA), AdaptOptions(), progress=False)
patch = make_patch(base, adapted)
assert apply_patch(base, patch) == adapted
rows = {
    "whole fp32 file (fine-tuned)": fp32,
    "whole .sqz (fine-tuned, then compressed)": {"bytes": len(compressed), "top1": of_sqz(compressed)},
    "whole .sqz (adapted)": {"bytes": len(adapted), "top1": of_sqz(adapted)},
    ".sqzpatch (adapt + diff)": {"bytes": len(patch), "top1": of_sqz(adapted)},
}
with tempfile.TemporaryDirectory() as tmp:
    update = tuf_update(base, adapted, Path(tmp))
lines = [
    f"Base: ImageNet v1.1, 6-bit .sqz, {len(base):,} bytes; new task: ants/bees, {len(held)} held-out photos.",
    "",
    "| update sent | bytes | base file / update | held-out top-1 (%) |",
    "|---|---|---|---|",
    *[f"| {k} | {r['bytes']:,} | {len(base) / r['bytes']:.2f} | {r['top1']:.2f} |" for k, r in rows.items()],
    "",
    "A device holding the base (release 1) updates to the adapted model (release 2) from a TUF repository on "
    f"127.0.0.1: `update` fetched **{update['bytes_fetched']:,} bytes** ({update['target_bytes']:,} of targets by "
    f"{update['via']}, {update['metadata_bytes']:,} of metadata) in {update['update_s']:.2f} s; `update confirm` "
    f"({update['confirm']}, the probe set on ONNX Runtime) took {update['confirm_s']:.2f} s; a check with nothing new "
    f"fetched {update['check_when_current_bytes']:,} bytes in {update['check_when_current_s']:.2f} s.",
    "",
    "![bytes per update](ota.png)",
]
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
save_figure(fig, RESULTS / "ota.png")
write_result(
    "ota",
    "Over-the-air updates in kilobytes",
    "\n".join(lines),
    {
        "base_bytes": len(base),
        "held_out_images": len(held),
        "seconds": time.perf_counter() - start,
        "updates": rows,
        "tuf_update": update,
        "adapt": report.to_dict(),
    },
    ".venv/bin/python benchmarks/ota.py",
)
