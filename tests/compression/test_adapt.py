"""adapt / diff / patch: over-the-air updates of a compressed model."""

import numpy as np
import pytest
import torch
from helpers import run_cli as run
from PIL import Image

from squeezenet.compression.options import CompressOptions
from squeezenet.compression.pipeline import compress
from squeezenet.errors import SqueezeNetError
from squeezenet.formats import sqz
from squeezenet.formats.loaded import LoadedModel
from squeezenet.formats.preprocess import IMAGENET
from squeezenet.formats.sqzpatch import apply_patch, make_patch
from squeezenet.models import SqueezeNet, SqueezeNetConfig

pytestmark = pytest.mark.slow  # fine-tuning runs: `make check` leaves them to `make test`


@pytest.fixture()
def setup(tmp_path):
    torch.manual_seed(0)
    model = SqueezeNet(SqueezeNetConfig(layout="v1_1", base_e=16, incr_e=16, num_classes=3))
    base = compress(
        LoadedModel(model.eval(), IMAGENET.__class__(crop=32, resize=36), "x", ["x", "y", "z"]),
        CompressOptions(bits=4),
        progress=False,
    ).data
    (tmp_path / "base.sqz").write_bytes(base)
    for k, name in enumerate(("ants", "bees")):
        (tmp_path / "data" / "train" / name).mkdir(parents=True)
        for i in range(8):
            Image.new("RGB", (40, 36), (220, 30 + 9 * i, 20) if k == 0 else (20, 30 + 9 * i, 220)).save(
                tmp_path / "data" / "train" / name / f"{i}.png"
            )
    return tmp_path


def test_adapt_keeps_indices_and_the_patch_round_trips_exactly(setup, capsys):
    flags = ["--data", setup / "data", "--epochs", "1", "--batch-size", "4", "--quiet"]
    for out in ("new.sqz", "again.sqz"):
        code, _, err = run(capsys, "adapt", "--weights", setup / "base.sqz", "--out", setup / out, *flags)
        assert code == 0, err
    base, new = (setup / "base.sqz").read_bytes(), (setup / "new.sqz").read_bytes()
    assert new == (setup / "again.sqz").read_bytes()  # deterministic
    old_layers, new_layers = sqz.decode(base).layers, sqz.decode(new).layers
    for a, b in zip(old_layers, new_layers):
        if a.name != "conv10":  # replaced: 3 classes -> ants, bees
            assert (
                np.array_equal(a.index, b.index)
                and np.array_equal(a.mask, b.mask)
                and not np.array_equal(a.codebook, b.codebook)
            )
    assert sqz.decode(new).classes == ["ants", "bees"]

    code, out, err = run(
        capsys, "diff", "--base", setup / "base.sqz", "--new", setup / "new.sqz", "--out", setup / "u.sqzpatch"
    )
    assert code == 0, err
    patch = (setup / "u.sqzpatch").read_bytes()
    assert len(patch) < len(new) / 3  # index streams travel as references
    code, _, err = run(
        capsys, "patch", "--base", setup / "base.sqz", "--patch", setup / "u.sqzpatch", "--out", setup / "new2.sqz"
    )
    assert code == 0 and (setup / "new2.sqz").read_bytes() == new, err


def test_patch_for_another_base_or_damaged_is_refused(setup, capsys):
    base = (setup / "base.sqz").read_bytes()
    other = compress(sqz_model(base), CompressOptions(bits=3), progress=False).data
    patch = make_patch(base, other)
    assert apply_patch(base, patch) == other
    with pytest.raises(SqueezeNetError, match="another base model"):
        apply_patch(other, patch)
    (setup / "u.sqzpatch").write_bytes(patch)
    code, _, err = run(
        capsys,
        "patch",
        "--base",
        setup / "new-base-missing.sqz",
        "--patch",
        setup / "u.sqzpatch",
        "--out",
        setup / "x.sqz",
    )
    assert code == 2 and "no such file" in err
    (setup / "other.sqz").write_bytes(other)
    code, _, err = run(
        capsys, "patch", "--base", setup / "other.sqz", "--patch", setup / "u.sqzpatch", "--out", setup / "x.sqz"
    )
    assert (
        code == 2
        and "another base model" in err
        and len(err.strip().splitlines()) == 1
        and not (setup / "x.sqz").exists()
    )
    rng = np.random.default_rng(0)
    damaged = [patch[:n] for n in (0, 10, len(patch) // 2, len(patch) - 1)]
    damaged += [
        bytes(b ^ (1 << int(rng.integers(8))) if i == j else b for i, b in enumerate(patch))
        for j in rng.integers(0, len(patch), 40)
    ]
    damaged += [b"PK\x03\x04" + bytes(100), sqz.seal(b"x" * 100)]
    for bad in damaged:
        with pytest.raises(SqueezeNetError):
            apply_patch(base, bad)


def sqz_model(data: bytes) -> LoadedModel:
    contents = sqz.decode(data)
    model = SqueezeNet(contents.config)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in contents.state().items()})
    return LoadedModel(model.eval(), contents.preprocess, "sqz", contents.classes)


def test_adapt_beats_the_base_on_held_out_photos_after_the_camera_changed(shared, imagenet_weights, tmp_path):
    """A fleet fine-tuned on ants/bees photos, compressed; then its cameras turn grayscale. Adapting the
    codebooks and biases (indices frozen, the head kept) on the new photos must score the held-out
    share of them better than the deployed model does."""
    from PIL import ImageOps

    from squeezenet.compression.adapt import adapt
    from squeezenet.compression.options import AdaptOptions
    from squeezenet.formats.weights import load_model
    from squeezenet.train.config import TrainConfig
    from squeezenet.train.loop import train

    photos = shared / "hymenoptera"
    train(
        TrainConfig(
            data=str(photos),
            weights=str(imagenet_weights),
            out=str(tmp_path / "run"),
            input_size=128,
            epochs=4,
            lr=1e-3,  # a short run at a higher rate than the default: the fleet's model, not a tuned one
            quiet=True,
            workers=0,
        )
    )
    for path in (photos / "train").rglob("*.jpg"):
        gray = tmp_path / "gray" / "train" / path.parent.name / path.name
        gray.parent.mkdir(parents=True, exist_ok=True)
        image = Image.open(path).convert("RGB")
        image.thumbnail((160, 160))
        ImageOps.grayscale(image).convert("RGB").save(gray)
    base = compress(load_model(tmp_path / "run" / "model.safetensors"), CompressOptions(bits=6), progress=False).data
    _, report = adapt(base, str(tmp_path / "gray"), AdaptOptions(epochs=2, codebook_lr=1.0), progress=False)
    assert not report.head_replaced and report.held_out_images > 40
    assert report.held_out_top1 >= report.base_held_out_top1 + 8, (report.base_held_out_top1, report.held_out_top1)
