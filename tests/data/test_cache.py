"""Training photos decoded once into memory: the same batches as decoding every epoch, and a
plain note (no cache) when the set would not fit."""

import numpy as np
import torch
from PIL import Image

from squeezenet.data import sources
from squeezenet.data.sources import build_source


def folder(tmp_path):
    rng = np.random.default_rng(0)
    for name, count in (("a", 6), ("b", 5)):
        (tmp_path / "train" / name).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (60 + i, 80, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "train" / name / f"{i}.{'jpg' if i % 2 else 'png'}")
    (tmp_path / "train" / "b" / "broken.jpg").write_bytes(b"not a jpeg")
    for name in ("a", "b"):  # a val/ folder: every train/ photo is trained on, the broken one included
        (tmp_path / "val" / name).mkdir(parents=True)
        Image.new("RGB", (40, 40)).save(tmp_path / "val" / name / "0.png")
    return tmp_path


def batches(source):
    return [(b.images, b.targets, b.skipped) for b in source.train_batches(0, 0, 4, 0, 1, seed=3)]


def test_decoded_once_gives_the_batches_decoding_every_epoch_gives(tmp_path):
    data = folder(tmp_path)
    plain = build_source(str(data), input_size=32, workers=0, cache=False)
    cached = build_source(str(data), input_size=32, workers=0)
    assert plain.decode_once() == "" and "decoded the 12 training photos once" in cached.decode_once(progress=False)
    for (x, y, s), (cx, cy, cs) in zip(batches(plain), batches(cached), strict=True):
        assert torch.equal(x, cx) and torch.equal(y, cy) and s == cs
    assert sum(s for _, _, s in batches(cached)) == 1  # the unreadable photo is skipped and counted, cached or not


def test_a_set_too_large_for_memory_is_decoded_every_epoch_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "CACHE_SHARE", 1e-9)
    source = build_source(str(folder(tmp_path)), input_size=32, workers=0)
    assert source.decode_once(progress=False).startswith("photos decoded every epoch")
    assert not source._decoded.items and len(batches(source)) == 3
