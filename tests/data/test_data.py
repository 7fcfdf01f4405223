import os

import pytest
import torch
from PIL import Image
from torchvision.transforms.v2.functional import pil_to_tensor

from squeezenet.data.fashion_mnist import load_fashion_mnist
from squeezenet.data.images import RobustImageFolder, collate_skipping_bad, decode_image, open_image, read_class_file
from squeezenet.data.sources import TensorSource, build_source, epoch_order
from squeezenet.errors import SqueezeNetError
from squeezenet.formats.preprocess import IMAGENET


def test_fashion_mnist_from_a_data_dir(tiny_fmnist):
    train, test, classes = load_fashion_mnist(tiny_fmnist)
    assert train.images.shape == (1024, 1, 28, 28) and train.images.dtype == torch.uint8
    assert test.labels.shape == (256,) and len(classes) == 10 and classes[0] == "T-shirt/top"


def test_fashion_mnist_real_counts(real_fmnist):
    train, test, _ = load_fashion_mnist()
    assert len(train.labels) == 60_000 and len(test.labels) == 10_000


@pytest.mark.parametrize("mode", ["CMYK", "L", "P", "RGBA", "I;16"])
def test_odd_image_modes_convert(tmp_path, mode):
    path = tmp_path / ("x.tif" if mode == "I;16" else "x.png" if mode != "CMYK" else "x.jpg")
    Image.new(mode, (20, 10)).save(path)
    assert open_image(path).mode == "RGB" and open_image(path, "L").size == (20, 10)


def test_robust_folder_skips_and_counts(tmp_path):
    (tmp_path / "a").mkdir()
    Image.new("RGB", (30, 30), (200, 0, 0)).save(tmp_path / "a" / "good.png")
    (tmp_path / "a" / "bad.png").write_bytes(b"\x89PNG broken")
    folder = RobustImageFolder(tmp_path, IMAGENET.eval_transform())
    images, _targets, skipped = collate_skipping_bad([folder[0], folder[1]])
    assert images.shape == (1, 3, 224, 224) and skipped == 1


def test_class_file_and_empty_folder(tmp_path):
    (tmp_path / "classes.txt").write_text("n01 tench, Tinca tinca\nn02 goldfish\n")
    assert read_class_file(tmp_path / "classes.txt") == ["n01", "n02"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(SqueezeNetError):
        RobustImageFolder(tmp_path / "empty", IMAGENET.eval_transform())


def test_batches_are_pure_functions_of_seed_epoch_step(tiny_fmnist):
    source = build_source("fashion-mnist", str(tiny_fmnist))
    first = list(source.train_batches(1, 0, 64, 0, 1, seed=3))
    resumed = list(source.train_batches(1, 5, 64, 0, 1, seed=3))
    assert all(torch.equal(a.images, b.images) for a, b in zip(first[5:], resumed))
    halves = [list(source.train_batches(1, 0, 64, r, 2, seed=3)) for r in (0, 1)]
    whole = torch.cat([halves[0][2].images, halves[1][2].images])
    assert torch.equal(whole, first[2].images)  # ranks split the same global batch
    assert not torch.equal(epoch_order(100, 3, 0), epoch_order(100, 3, 1))


def test_augmentation_shifts_and_flips_within_bounds(tiny_fmnist):
    source = build_source("fashion-mnist", str(tiny_fmnist))
    assert isinstance(source, TensorSource)
    x = source.train.images[:64]
    out = source._augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == torch.uint8 and not torch.equal(out, x)


def _tree(root):
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (40, 30), (60 * i, 100, 0)).save(root / c / f"{i}.png")


def test_symlink_loop_fifo_and_duplicates_are_walked_once(tmp_path, capsys):
    from squeezenet.cli import main
    from squeezenet.formats.weights import save_model
    from squeezenet.models import SqueezeNet, SqueezeNetConfig

    _tree(tmp_path / "data")
    (tmp_path / "data" / "a" / "loop").symlink_to(tmp_path / "data")  # a link back up the tree
    (tmp_path / "data" / "b" / "again.png").symlink_to(tmp_path / "data" / "b" / "0.png")
    os.mkfifo(tmp_path / "data" / "b" / "pipe.JPEG")  # would block a reader forever
    folder = RobustImageFolder(tmp_path / "data", IMAGENET.eval_transform())
    assert len(folder) == 6 and len(folder.walk.not_regular) == 1 and len(folder.walk.revisits) >= 2
    save_model(
        SqueezeNet(SqueezeNetConfig(layout="v1_1", num_classes=2, base_e=16, incr_e=16)), tmp_path / "m.safetensors"
    )
    code = main(
        [
            "eval",
            "--weights",
            str(tmp_path / "m.safetensors"),
            "--data",
            str(tmp_path / "data"),
            "--quiet",
            "--workers",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "on 6 images" in out and "1 non-regular file (" in out and "pipe.JPEG" in out


def test_fifo_as_class_file_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "classes.txt")
    with pytest.raises(SqueezeNetError, match="not a regular file"):
        read_class_file(tmp_path / "classes.txt")


def test_huge_images_are_refused_and_jpegs_decode_at_reduced_scale(tmp_path, monkeypatch):
    from squeezenet.data import images

    Image.new("RGB", (2000, 1600), (10, 20, 30)).save(tmp_path / "big.jpg")
    assert open_image(tmp_path / "big.jpg", min_side=200).size == (500, 400)  # 1/4 scale, still >= 2 x 200
    assert open_image(tmp_path / "big.jpg", min_side=256).size == (1000, 800)  # 1/4 would leave < 2 x 256
    assert open_image(tmp_path / "big.jpg", min_side=500).size == (2000, 1600)  # under 4x: exact decode
    Image.new("RGB", (2000, 1600)).save(tmp_path / "big.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 1_000_000)
    with pytest.raises(Image.DecompressionBombError):
        open_image(tmp_path / "big.png", min_side=256)  # PNG has no reduced-scale decode


def _jpegs(tmp_path):
    """Noise JPEGs (so the decoders' rounding shows): colour, grayscale, CMYK, progressive, and one big
    enough for a reduced-scale decode."""

    def noise(w, h, c):
        return torch.randint(0, 256, (h, w, c), dtype=torch.uint8, generator=torch.Generator().manual_seed(w))

    images = {
        "rgb.jpg": (Image.fromarray(noise(333, 250, 3).numpy()), {}),
        "gray.jpg": (Image.fromarray(noise(120, 90, 1)[..., 0].numpy()), {}),
        "cmyk.jpg": (Image.fromarray(noise(64, 48, 4).numpy(), "CMYK"), {}),
        "progressive.jpg": (Image.fromarray(noise(200, 150, 3).numpy()), {"progressive": True}),
        "big.jpg": (Image.fromarray(noise(1100, 1040, 3).numpy()), {}),
    }
    for name, (image, options) in images.items():
        image.save(tmp_path / name, quality=90, **options)
    return [tmp_path / name for name in images]


def _same_pixels_as_pillow(paths):
    for path in paths:
        for mode, side in (("RGB", None), ("RGB", 256), ("L", None), ("L", 256)):
            expected = pil_to_tensor(open_image(path, mode, side))
            assert torch.equal(decode_image(path, mode, side), expected), (path, mode, side)


def test_decode_image_gives_pillows_pixels_whichever_decoder_runs(tmp_path):
    _same_pixels_as_pillow(_jpegs(tmp_path))
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes((tmp_path / "rgb.jpg").read_bytes()[:3000])
    with pytest.raises(OSError):
        decode_image(truncated)


def test_decode_image_gives_pillows_pixels_on_real_photos(shared):
    _same_pixels_as_pillow(sorted((shared / "imagenet-sample" / "val").rglob("*.JPEG"))[::10])


def test_a_runs_split_file_decides_the_held_out_photos_not_the_seed(tmp_path):
    """compress --data once rebuilt the held-out share from its own --seed: on a run trained with
    another seed it scored training photos as held-out. Given the run's split file, the source
    holds out exactly the photos the file lists, whatever seed it is asked for."""
    from squeezenet.cli.compress import _run_split
    from squeezenet.data.split import SPLIT_FILE, Split

    for name in ("a", "b"):
        (tmp_path / "photos" / "train" / name).mkdir(parents=True)
        for i in range(10):
            Image.new("RGB", (40, 40), (25 * i, 90, 0)).save(tmp_path / "photos" / "train" / name / f"{i}.jpg")
    drawn = build_source(str(tmp_path / "photos"), input_size=32, workers=0, seed=42).split
    listed = sorted(p for p in drawn.train + drawn.held_out if p not in drawn.held_out)[:4]  # photos seed 42 trains on
    run = Split(str(tmp_path / "photos"), 0.2, 7, ["a", "b"], sorted(set(drawn.train) - set(listed)), listed)
    (tmp_path / "run").mkdir()
    run.write(tmp_path / "run" / SPLIT_FILE)
    split = _run_split(str(tmp_path / "run" / "model.safetensors"), str(tmp_path / "photos"))
    assert split == str(tmp_path / "run" / SPLIT_FILE)
    source = build_source(str(tmp_path / "photos"), input_size=32, workers=0, seed=42, split=Split.read(split))
    assert sorted(source.split.held_out) == listed and sorted(source.split.train) == sorted(run.train)
    assert _run_split(str(tmp_path / "run" / "model.safetensors"), "fashion-mnist") is None
