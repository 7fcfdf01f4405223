"""Fine-tuning from pretrained weights: head replacement, class names end to end, splits, refusals."""

import json

import pytest
import torch
from helpers import run_cli as run
from PIL import Image

from squeezenet.data.sources import stratified_split
from squeezenet.formats.weights import load_model, read_safetensors, save_model
from squeezenet.models import SqueezeNet, SqueezeNetConfig
from squeezenet.train.config import FINETUNE_RECIPE, TrainConfig
from squeezenet.zoo import load_pretrained

SMALL = dict(layout="v1_1", base_e=16, incr_e=16)
FAST = ["--input-size", "32", "--epochs", "2", "--batch-size", "8", "--workers", "0", "--quiet"]


def _photos(root, classes=("ants", "bees"), n=10):
    for k, name in enumerate(classes):
        (root / "train" / name).mkdir(parents=True)
        for i in range(n):
            colour = (230, 40 + 5 * i, 20) if k == 0 else (20, 40 + 5 * i, 230)
            Image.new("RGB", (48, 40), colour).save(root / "train" / name / f"{i}.jpg")
    return root


@pytest.fixture()
def pretrained(tmp_path):
    torch.manual_seed(3)
    path = tmp_path / "pre.safetensors"
    save_model(SqueezeNet(SqueezeNetConfig(**SMALL, num_classes=3)), path, classes=["x", "y", "z"])
    return path


def test_head_replacement_keeps_every_other_tensor_bit_for_bit(pretrained):
    loaded = load_model(pretrained)
    model = SqueezeNet(loaded.config.replace(num_classes=2))
    load_pretrained(model, loaded, keep_head=False)
    old, new = loaded.model.state_dict(), model.state_dict()
    for key, tensor in old.items():
        if key.startswith("classifier.1."):
            assert new[key].shape[0] == 2
        else:
            assert torch.equal(new[key], tensor), key
    assert new["classifier.1.bias"].abs().sum() == 0 and 0.005 < float(new["classifier.1.weight"].std()) < 0.02
    same = SqueezeNet(loaded.config)  # the same classes: the head is kept too
    load_pretrained(same, loaded, keep_head=True)
    assert torch.equal(same.state_dict()["classifier.1.weight"], old["classifier.1.weight"])


def test_val_split_is_deterministic_and_stratified():
    targets = [0] * 50 + [1] * 30 + [2] * 5
    train, held = stratified_split(targets, 0.2, seed=42)
    assert (train, held) == stratified_split(targets, 0.2, seed=42)
    assert held != stratified_split(targets, 0.2, seed=7)[1]
    assert sorted(train + held) == list(range(85)) and not set(train) & set(held)
    assert [sum(targets[i] == c for i in held) for c in range(3)] == [10, 6, 1]


@pytest.mark.slow
def test_fine_tune_then_class_names_everywhere(tmp_path, pretrained, capsys):
    data = _photos(tmp_path / "data")
    code, out, err = run(
        capsys, "train", "--weights", pretrained, "--data", data, "--out", tmp_path / "run", *FAST[:-1]
    )
    assert code == 0, err
    assert "validating on 4 of the 20 train/ images (20% of each class, seed 42)" in out
    lr = FINETUNE_RECIPE["lr"]
    rates = f"pretrained at lr {lr * FINETUNE_RECIPE['backbone_lr']:g}, conv10 at {lr:g}"
    assert "conv10 replaced for 2 classes (ants, bees)" in out and rates in out
    model = tmp_path / "run" / "model.safetensors"
    meta = read_safetensors(model)[1]
    assert json.loads(meta["classes"]) == ["ants", "bees"] and json.loads(meta["preprocess"])["crop"] == 32

    code, out, err = run(capsys, "predict", "--weights", model, data / "train" / "bees" / "0.jpg", "--top", "1")
    assert code == 0 and ("ants" in out or "bees" in out), err
    code, out, err = run(capsys, "eval", "--weights", model, "--data", data / "train", "--quiet", "--workers", "0")
    assert code == 0 and "on 20 images" in out, err  # folders matched to the model's classes by name
    (data / "train" / "wasps").mkdir()
    Image.new("RGB", (40, 40)).save(data / "train" / "wasps" / "0.jpg")
    code, _, err = run(capsys, "eval", "--weights", model, "--data", data / "train", "--quiet")
    assert code == 2 and "'wasps' is not among its 2 classes" in err and len(err.strip().splitlines()) == 1
    (data / "train" / "wasps" / "0.jpg").unlink()
    (data / "train" / "wasps").rmdir()

    code, _, err = run(
        capsys,
        "compress",
        "--weights",
        model,
        "--out",
        tmp_path / "m.sqz",
        "--bits",
        "4",
        "--data",
        data,
        "--finetune-epochs",
        "1",
        "--quiet",
    )
    assert code == 0, err
    assert load_model(tmp_path / "m.sqz").classes == ["ants", "bees"]
    code, _, err = run(capsys, "export", "--weights", tmp_path / "m.sqz", "--out", tmp_path / "m.onnx")
    import onnx

    props = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert code == 0 and json.loads(props["classes"]) == ["ants", "bees"], err


@pytest.mark.parametrize(
    "case", ["empty class", "one class", "v1.0 into squeezenet1_1", "design flag", "freeze without weights"]
)
def test_what_cannot_fine_tune_is_one_line(tmp_path, pretrained, capsys, case):
    data = _photos(tmp_path / "data", classes=("ants",) if case == "one class" else ("ants", "bees"))
    args = ["train", "--weights", pretrained, "--data", data, "--out", tmp_path / "run", *FAST]
    needle = {
        "empty class": "holds no image files",
        "one class": "needs at least 2",
        "design flag": "--sr describes a new network",
        "v1.0 into squeezenet1_1": "which --arch squeezenet1_1 is not",
        "freeze without weights": "needs --weights",
    }[case]
    if case == "empty class":
        (data / "train" / "wasps").mkdir()
    elif case == "v1.0 into squeezenet1_1":
        save_model(SqueezeNet(SqueezeNetConfig(layout="v1_0", base_e=16, incr_e=16)), tmp_path / "v10.pth")
        args[2], args[-1:] = tmp_path / "v10.pth", ["--quiet", "--arch", "squeezenet1_1"]
    elif case == "design flag":
        args.append("--sr=0.25")
    elif case == "freeze without weights":
        args = ["train", "--data", data, "--out", tmp_path / "run", "--freeze", "features", *FAST]
    code, _, err = run(capsys, *args)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_linear_probe_moves_only_the_head(tmp_path, pretrained):
    from squeezenet.train.loop import train

    data = _photos(tmp_path / "data")
    train(
        TrainConfig(
            weights=str(pretrained),
            data=str(data),
            out=str(tmp_path / "run"),
            freeze="features",
            input_size=32,
            epochs=1,
            batch_size=8,
            workers=0,
            quiet=True,
        )
    )
    before, after = (
        load_model(pretrained).model.state_dict(),
        load_model(tmp_path / "run" / "model.safetensors").model.state_dict(),
    )
    assert all(torch.equal(before[k], after[k]) for k in before if not k.startswith("classifier.1."))


def test_a_split_file_decides_the_held_out_photos(tmp_path, pretrained, capsys):
    """``--split`` (a fold of one's own): the run holds out exactly the file's photos, whatever
    ``--seed`` would draw, and writes the same split beside it."""
    from squeezenet.data.split import Split

    data = _photos(tmp_path / "data")
    held = ["ants/0.jpg", "ants/1.jpg", "ants/2.jpg", "bees/7.jpg", "bees/8.jpg"]
    every = [f"{c}/{i}.jpg" for c in ("ants", "bees") for i in range(10)]
    Split(str(data), 0.25, 0, ["ants", "bees"], [p for p in every if p not in held], held).write(tmp_path / "fold.json")
    argv = ["train", "--weights", pretrained, "--data", data, "--out", tmp_path / "run", *FAST]
    code, _, err = run(capsys, *argv, "--split", tmp_path / "fold.json", "--max-steps", "1")
    assert code == 0, err
    assert Split.read(tmp_path / "run" / "split.json").held_out == held
    code, _, err = run(capsys, *argv, "--split", tmp_path / "missing.json")
    assert code == 2 and "missing.json" in err and len(err.strip().splitlines()) == 1
