"""Training on your own photos: the data path decoding every photo each epoch against decoding
each once into memory (``squeezenet train``'s default, ``--no-cache`` to turn it off).

Data: ../shared/trashnet (2,521 phone photos, JPEGs with a short side of 256 px), held out as ``train`` holds it out
(20% of each class). Each way runs the same augmented batches the training loop gets (batch 64,
the default two loader processes) for ``EPOCHS`` epochs with no model, so what is timed is the
data path alone; the batches are compared (the cache must not change what training sees).
Writes docs/results/data-cache.{md,json}.
"""

import sys
import tempfile
import time
from pathlib import Path

import torch
from _shared import require_shared, write_result

from squeezenet.data.sources import build_source

shared = require_shared()
DATA = shared / "trashnet"
FOLDER = Path(tempfile.mkdtemp()) / "trashnet"
EPOCHS, BATCH = 3, 64
torch.set_num_threads(2)


def epochs(cache: bool) -> dict:
    source = build_source(str(FOLDER), input_size=224, workers=2, cache=cache)
    start = time.perf_counter()
    note = source.decode_once(1, progress=False)
    decode_s = time.perf_counter() - start
    rates, first = [], None
    for epoch in range(EPOCHS):
        start, images = time.perf_counter(), 0
        for batch in source.train_batches(epoch, 0, BATCH, 0, 1, seed=42):
            images += len(batch.images)
            first = batch.images if first is None else first
        rates.append(images / (time.perf_counter() - start))
    return {"note": note, "decode_once_s": decode_s, "images_per_s": rates, "first_batch": first}


def main() -> None:
    (FOLDER / "train").mkdir(parents=True)
    for classes in sorted(DATA.iterdir()):  # train/<class>/, as a user's folder is laid out
        (FOLDER / "train" / classes.name).symlink_to(classes)
    plain, cached = epochs(False), epochs(True)
    same = torch.equal(plain.pop("first_batch"), cached.pop("first_batch"))
    rows = [("decoded every epoch (`--no-cache`)", plain), ("decoded once (default)", cached)]
    base = sum(plain["images_per_s"]) / EPOCHS
    lines = [
        f"trashnet's training split (80% of 2,521 photos), batch {BATCH}, two loader processes, the training "
        f"loop's augmentation, no model: the data path alone, {EPOCHS} epochs each way in one run.",
        "",
        "| data path | decode once (s) | "
        + " | ".join(f"epoch {e + 1} images/s" for e in range(EPOCHS))
        + " | mean vs plain |",
        "|---|---|" + "---|" * (EPOCHS + 1),
    ]
    for name, r in rows:
        mean = sum(r["images_per_s"]) / EPOCHS
        lines.append(
            f"| {name} | {r['decode_once_s']:.1f} | "
            + " | ".join(f"{v:.0f}" for v in r["images_per_s"])
            + f" | {mean / base:.2f}x |"
        )
    lines += ["", f"{cached['note']}. The first batch is {'identical' if same else 'NOT identical'} either way."]
    write_result(
        "data-cache",
        "Own photos: decoding once",
        "\n".join(lines),
        {"plain": plain, "cached": cached, "same_batches": same},
        ".venv/bin/python benchmarks/data_cache.py",
    )


if __name__ == "__main__":
    sys.exit(main())
