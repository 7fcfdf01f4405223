"""The pixel path ``predict`` and ``eval`` take: decode, resize to uint8 pixels, normalise in the
engine's graph; it must give what torchvision's reference transform gives, on every engine."""

import dataclasses

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from squeezenet.data.images import decode_image, open_image
from squeezenet.deploy.runtime import build_engine
from squeezenet.evaluation.model import runnable
from squeezenet.evaluation.predict import Predictor, StageTimes, predict
from squeezenet.formats.loaded import LoadedModel
from squeezenet.formats.preprocess import CAFFE, FASHION_MNIST, IMAGENET
from squeezenet.models import SqueezeNet, SqueezeNetConfig


def photo(path, size=(333, 250), seed=0):
    """A smooth random photo (JPEG quality 90), so resizing has something to interpolate."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    Image.fromarray(small).resize(size, Image.Resampling.BICUBIC).save(path, quality=90)
    return path


def reference(pre):
    steps = [v2.Resize(pre.resize, antialias=True)] if pre.resize else []
    return v2.Compose([*steps, v2.CenterCrop(pre.crop), v2.ToImage(), pre.normalize()])


@pytest.mark.parametrize("pre", [IMAGENET, CAFFE], ids=["imagenet", "caffe"])
def test_pixels_normalised_are_torchvisions_reference_input(tmp_path, pre):
    image = open_image(photo(tmp_path / "a.jpg"), pre.mode, pre.decode_side)
    pixels = pre.pixels(image)
    assert pixels.dtype == torch.uint8 and pixels.shape == (3, pre.crop, pre.crop)
    got, want = pre.normalize_pixels(pixels[None])[0], reference(pre)(image)
    level = max(pre.scale / 255 / s for s in pre.std)  # one uint8 step, normalised
    assert (got - want).abs().max() <= 1.01 * level  # at most a level of rounding apart
    assert (got - want).abs().mean() <= 0.01 * level  # and that in a few pixels in a thousand


def test_grayscale_pixels_and_images_smaller_than_the_crop(tmp_path):
    Image.new("L", (20, 24), 128).save(tmp_path / "small.png")
    pixels = FASHION_MNIST.pixels(open_image(tmp_path / "small.png", "L"))
    assert (
        pixels.shape == (1, 28, 28) and pixels[0, 0, 0] == 0 and pixels[0, 14, 14] == 128
    )  # padded as CenterCrop does


def test_decode_image_is_open_images_pixels_and_refuses_a_damaged_jpeg(tmp_path):
    path = photo(tmp_path / "a.jpg")
    assert torch.equal(decode_image(path, "RGB", 256), v2.functional.pil_to_tensor(open_image(path, "RGB", 256)))
    Image.open(path).save(tmp_path / "a.png")
    assert decode_image(tmp_path / "a.png", "RGB").shape == (3, 250, 333)
    (tmp_path / "cut.jpg").write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(OSError):
        decode_image(tmp_path / "cut.jpg", "RGB", 256)


@pytest.mark.parametrize(
    ("backend", "pre"), [("onnxruntime", IMAGENET), ("openvino", CAFFE)], ids=["ort-rgb", "ov-bgr"]
)
def test_engines_normalising_in_graph_match_the_host(backend, pre):
    torch.manual_seed(0)
    pre = dataclasses.replace(pre, resize=72, crop=64)  # small: the graph's first nodes are what is tested
    model = SqueezeNet(SqueezeNetConfig(layout="v1_1", num_classes=10))
    loaded = LoadedModel(model.eval(), pre, "test")
    engine = build_engine(loaded, backend)
    assert engine.backend.pixel_graph is not None
    pixels = torch.randint(0, 256, (2, 3, pre.crop, pre.crop), dtype=torch.uint8)
    in_graph = engine.pixel_runner(pre)(pixels)
    host = engine.runner()(pre.normalize_pixels(pixels))
    torch.testing.assert_close(in_graph, host, rtol=1e-4, atol=1e-4)


def test_predict_streams_in_order_reads_ahead_boundedly_and_reports_stage_times(tmp_path, monkeypatch):
    torch.manual_seed(0)
    small = dataclasses.replace(IMAGENET, resize=72, crop=64)
    loaded = LoadedModel(SqueezeNet(SqueezeNetConfig(layout="v1_1", num_classes=3)).eval(), small, "test")
    model = runnable(loaded)
    files = [photo(tmp_path / f"{i:02d}.jpg", (96 + i, 80), seed=i) for i in range(24)]
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    files.insert(5, tmp_path / "bad.jpg")
    reads = []
    original = Predictor.read
    monkeypatch.setattr(Predictor, "read", lambda self, path: reads.append(path) or original(self, path))
    times = StageTimes()
    stream = predict(model, files, top_k=2, batch_size=4, workers=2, times=times)
    first = next(stream)
    assert len(reads) <= 3 * 4  # two batches ahead of the one being run, never the whole folder
    results = [first, *stream]
    assert [r["image"] for r in results] == [str(f) for f in files]
    assert "error" in results[5] and all("top" in r for i, r in enumerate(results) if i != 5)
    assert set(results[0]["ms"]) == {"read", "inference", "postprocess"}
    assert times.images == 24 and times.read > 0 and times.inference > 0 and "24 images" in times.line()
    alone = Predictor(model, 2)([files[0]])[0]  # one photo in this thread: the same answer
    assert [t["index"] for t in alone["top"]] == [t["index"] for t in results[0]["top"]]
    assert [t["probability"] for t in alone["top"]] == pytest.approx([t["probability"] for t in results[0]["top"]])


def test_eval_data_gives_pixels_and_float_batches_that_score_alike(tmp_path):
    """``eval`` runs pixels; the peer table's float runners take the same images normalised."""
    from squeezenet.evaluation.accuracy import evaluate
    from squeezenet.evaluation.predict import eval_data, eval_model

    for name in ("a", "b"):
        (tmp_path / "val" / name).mkdir(parents=True)
        for i in range(3):
            photo(tmp_path / "val" / name / f"{i}.jpg", (90, 80), seed=i + 10 * len(name))
    torch.manual_seed(0)
    small = dataclasses.replace(IMAGENET, resize=72, crop=64)
    model = runnable(LoadedModel(SqueezeNet(SqueezeNetConfig(layout="v1_1", num_classes=2)).eval(), small, "test"))
    data = eval_data(model, tmp_path, workers=0)
    assert data.pixels and next(iter(data.batches))[0].dtype == torch.uint8
    floats, pixels = evaluate(model.run, data.float_batches(small), progress=False), eval_model(model, data, False)
    assert floats.images == pixels.images == 6 and floats.loss == pytest.approx(pixels.loss, rel=1e-5)
