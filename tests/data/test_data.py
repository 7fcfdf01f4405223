import pytest
import torch
from PIL import Image

from squeezenet.data.fashion_mnist import load_fashion_mnist
from squeezenet.data.images import RobustImageFolder, collate_skipping_bad, open_image, read_class_file
from squeezenet.data.sources import TensorSource, build_source, epoch_order
from squeezenet.errors import SqueezeNetError
from squeezenet.io.preprocess import IMAGENET


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
    images, targets, skipped = collate_skipping_bad([folder[0], folder[1]])
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
