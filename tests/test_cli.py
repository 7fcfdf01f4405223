import json
import subprocess
import sys

import pytest
import torch
import torchvision
from helpers import run_cli as run

from squeezenet.formats.caffe import caffe_to_torch_names, write_caffemodel
from squeezenet.formats.weights import read_safetensors as read_tensors
from squeezenet.models import SqueezeNetConfig


def test_info_json_totals(capsys):
    code, out, _ = run(capsys, "info", "--arch", "squeezenet1_1", "--json")
    data = json.loads(out)
    assert code == 0 and data["total_params"] == 1_235_496 and data["size_bytes"] == 4 * 1_235_496
    assert [layer["name"] for layer in data["layers"]][:2] == ["conv1", "fire2"]
    assert data["total_macs"] == sum(layer["macs"] for layer in data["layers"])


def test_info_design_point_table(capsys):
    from helpers import formula_params

    code, out, _ = run(capsys, "info", "--sr", "0.75", "--pct3x3", "0.5")
    total = formula_params(SqueezeNetConfig(layout="v1_1", sr=0.75, pct3x3=0.5))
    assert code == 0 and "fire2" in out and "AlexNet 240 MB" in out
    assert f"{total:,}" in out and total > 1_235_496  # the wider squeeze layers, counted
    code, out, _ = run(capsys, "info", "--sr", "0.75", "--json")
    assert json.loads(out)["total_params"] == total


def test_info_on_a_weight_file_describes_the_file(capsys, tmp_path):
    from squeezenet.compression.options import CompressOptions
    from squeezenet.compression.pipeline import compress
    from squeezenet.formats.loaded import LoadedModel
    from squeezenet.formats.preprocess import Preprocess
    from squeezenet.models import SqueezeNet
    from squeezenet.utils.atomic import write_bytes

    config = SqueezeNetConfig(layout="v1_1", num_classes=2, base_e=32, incr_e=32)
    model = LoadedModel(SqueezeNet(config).eval(), Preprocess(crop=64, resize=72), "x", ["ants", "bees"])
    write_bytes(tmp_path / "m.sqz", compress(model, CompressOptions(bits=4), progress=False).data)
    code, out, err = run(capsys, "info", "--weights", tmp_path / "m.sqz", "--footprint", "--precision", "sqz", "--json")
    data = json.loads(out)
    assert code == 0, err
    assert data["total_params"] == config.param_count() and data["input_size"] == 64  # the file's, not v1.0's
    assert data["footprint"]["weight_bytes"] == (tmp_path / "m.sqz").stat().st_size


def test_eval_matches_torchvision_accuracy(capsys, shared, imagenet_weights):
    code, out, _ = run(
        capsys,
        "eval",
        "--weights",
        str(imagenet_weights),
        "--data",
        str(shared / "imagenet-sample" / "val"),
        "--classes",
        str(shared / "imagenet-sample" / "synset_words.txt"),
        "--json",
        "--quiet",
    )
    data = json.loads(out)
    assert code == 0 and data["images"] == 250
    assert data["top1"] == pytest.approx(64.4, abs=0.01) and data["top5"] == pytest.approx(85.6, abs=0.01)


def test_predict_names_the_object(capsys, shared, imagenet_weights):
    image = next((shared / "imagenet-sample" / "val" / "n01484850").iterdir())  # a great white shark
    code, out, _ = run(capsys, "predict", "--weights", str(imagenet_weights), str(image), "--json")
    top = json.loads(out)[0]["top"][0]
    assert code == 0 and top["label"] == "great white shark" and top["probability"] > 0.5


def test_convert_caffe_to_safetensors_exact(capsys, shared, tmp_path):
    tv = torchvision.models.squeezenet1_0()
    state = tv.state_dict()
    blobs = {c: [state[f"{t}.weight"], state[f"{t}.bias"]] for c, t in caffe_to_torch_names(SqueezeNetConfig()).items()}
    write_caffemodel(tmp_path / "w.caffemodel", blobs)
    out_path = tmp_path / "w.safetensors"
    code, _, err = run(
        capsys,
        "convert",
        "--weights",
        str(tmp_path / "w.caffemodel"),
        "--prototxt",
        str(shared / "caffe" / "SqueezeNet_v1.0" / "deploy.prototxt"),
        "--out",
        str(out_path),
    )
    assert code == 0, err
    converted, meta = read_tensors(out_path)
    assert all(torch.equal(converted[k], v) for k, v in state.items())
    assert json.loads(meta["squeezenet_config"])["conv10_pad"] == 1


def test_convert_pth_round_trip(capsys, tmp_path):
    state = torchvision.models.squeezenet1_1().state_dict()
    torch.save(state, tmp_path / "a.pth")
    assert (
        run(capsys, "convert", "--weights", str(tmp_path / "a.pth"), "--out", str(tmp_path / "b.safetensors"))[0] == 0
    )
    assert (
        run(capsys, "convert", "--weights", str(tmp_path / "b.safetensors"), "--out", str(tmp_path / "c.pth"))[0] == 0
    )
    back = torch.load(tmp_path / "c.pth", weights_only=True)
    assert all(torch.equal(back[k], v) for k, v in state.items())


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["eval", "--weights", "missing.pth", "--data", "."], "no such file"),
        (["predict", "--weights", "missing.safetensors", "x.jpg"], "no such file"),
        (["info", "--sr", "0"], "sr must be"),
        (["info", "--arch", "resnet50"], "invalid choice: 'resnet50'"),
        (["convert", "--weights", "missing.pth", "--out", "x.onnx"], "no such file"),
    ],
)
def test_errors_are_one_line(capsys, argv, needle):
    code, _out, err = run(capsys, *argv)
    assert code != 0 and needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_image_and_wrong_output_suffix(capsys, tmp_path):
    torch.save(torchvision.models.squeezenet1_1().state_dict(), tmp_path / "w.pth")
    (tmp_path / "empty.jpg").write_bytes(b"")
    code, _, err = run(capsys, "predict", "--weights", str(tmp_path / "w.pth"), str(tmp_path / "empty.jpg"))
    assert code == 2 and "cannot read image" in err
    code, _, err = run(capsys, "convert", "--weights", str(tmp_path / "w.pth"), "--out", str(tmp_path / "w.bin"))
    assert code == 2 and not (tmp_path / "w.bin").exists()
    assert not list(tmp_path.glob(".w.bin*"))  # no temporary file left behind


def test_eval_folder_with_bad_images_and_uncovered_classes(capsys, tmp_path, shared, imagenet_weights):
    data = tmp_path / "data"
    (data / "n01440764").mkdir(parents=True)
    (data / "n01440764" / "zero.JPEG").write_bytes(b"")
    src = next((shared / "imagenet-sample" / "calib").iterdir())
    (data / src.name).mkdir()
    img = next(src.iterdir())
    (data / src.name / img.name).write_bytes(img.read_bytes())
    classes = shared / "imagenet-sample" / "synset_words.txt"
    code, out, err = run(
        capsys,
        "eval",
        "--weights",
        str(imagenet_weights),
        "--data",
        str(data),
        "--classes",
        str(classes),
        "--json",
        "--quiet",
    )
    assert code == 0, err
    assert json.loads(out)["images"] == 1 and json.loads(out)["skipped"] == 1
    (data / "not_a_wnid").mkdir()
    (data / "not_a_wnid" / "a.JPEG").write_bytes(img.read_bytes())
    code, _, err = run(
        capsys, "eval", "--weights", str(imagenet_weights), "--data", str(data), "--classes", str(classes)
    )
    assert code == 2 and "does not cover" in err


@pytest.mark.slow
def test_python_dash_m_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "squeezenet", "info", "--json"], capture_output=True, text=True, check=True
    )
    assert json.loads(proc.stdout)["total_params"] == 1_235_496  # v1.1, the default everywhere


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["info", "--input-size", "0"], "--input-size: 0 is out of range"),
        (["info", "--arch", "squeezenet1_1", "--input-size", "8"], "too small for this architecture"),
        (["train", "--out", "OUT", "--epochs", "0"], "--epochs: 0 is out of range: at least 1"),
        (["train", "--out", "OUT", "--batch-size", "0"], "--batch-size: 0 is out of range"),
        (["train", "--out", "OUT", "--lr", "nan"], "--lr: nan is not a finite number"),
        (
            ["train", "--out", "OUT", "--limit-train", "0"],
            "--limit-train: 0 is out of range: at least 1 and at most 2,147,483,6",
        ),
        (["train", "--out", "OUT", "--label-smoothing", "1.5"], "--label-smoothing must be"),
        (["train", "--out", "OUT", "--epochs", "x"], "--epochs: 'x' is not a whole number"),
        (["explore", "sr", "--values", "0.125,x", "--out", "OUT"], "--values takes numbers"),
        (["explore", "sr", "--values", "0.125", "--out", "OUT", "--lr", "-1"], "--lr: -1 is out of range"),
        (["bench"], "choose what to measure"),
        (["bench", "--backend", "torch,tensorflow"], "unknown backend 'tensorflow'"),
        (["bench", "--train", "--weights", "WEIGHTS", "--norm", "squeeze"], "the design flags describe a random one"),
        (["info", "--weights", "WEIGHTS", "--sr", "0.5"], "leave out the design flags"),
        (["info", "--precision", "sqz"], "--precision sqz counts a real file's bytes: it needs --weights"),
        (["eval", "--weights", "WEIGHTS"], "one of the arguments --data --run is required"),
        (["compress", "--weights", "WEIGHTS", "--out", "OUT.onnx"], "ends in .sqz"),
        (["compress", "--weights", "WEIGHTS", "--out", "OUT.sqz", "--bits", "9"], "--bits: 9 is out of range"),
        (
            ["export", "--weights", "WEIGHTS", "--out", "OUT.onnx", "--int8"],
            "--int8 calibrates on images: it needs --calib-data",
        ),
        (
            ["export", "--weights", "WEIGHTS", "--out", "OUT.onnx", "--batch-size", "0"],
            "--batch-size: 0 is out of range",
        ),
        (["train", "--out", "OUT", "--stem", "wide"], "invalid choice: 'wide'"),
    ],
)
def test_every_misuse_is_one_line_and_nonzero(capsys, tmp_path, argv, needle):
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"")  # never read: every misuse is refused first
    argv = [a.replace("OUT", str(tmp_path / "out")).replace("WEIGHTS", str(weights)) for a in argv]
    code, _out, err = run(capsys, *argv)
    assert code == 2 and needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not list(tmp_path.glob("out*"))  # refused before anything was written


def test_eval_and_predict_refuse_bad_sizes(capsys, tmp_path):
    weights = tmp_path / "w.pth"
    torch.save(torchvision.models.squeezenet1_1().state_dict(), weights)
    code, _, err = run(capsys, "eval", "--weights", weights, "--data", tmp_path, "--batch-size", "0")
    assert code == 2 and "--batch-size: 0 is out of range" in err
    code, _, err = run(capsys, "predict", "--weights", weights, "--top", "-3", weights)
    assert code == 2 and "--top" in err


def test_predict_prints_the_good_images_and_names_the_bad(capsys, tmp_path):
    from PIL import Image

    weights = tmp_path / "w.pth"
    torch.save(torchvision.models.squeezenet1_1().state_dict(), weights)
    Image.new("RGB", (64, 48), (200, 30, 30)).save(tmp_path / "good.png")
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    code, out, err = run(
        capsys, "predict", "--weights", weights, tmp_path / "good.png", tmp_path / "bad.jpg", "--top", "2"
    )
    assert code == 2 and "good.png" in out and out.count("%") == 2
    error, speed = err.strip().splitlines()  # one line per bad image, then the stage times
    assert "bad.jpg: cannot read image" in error and speed.startswith("Speed: ") and "(1 image)" in speed


def test_predict_folder_to_csv(capsys, tmp_path):
    import csv

    from PIL import Image

    weights = tmp_path / "w.pth"
    torch.save(torchvision.models.squeezenet1_1().state_dict(), weights)
    for i, sub in enumerate(["a", "a/b", "c"]):
        (tmp_path / "imgs" / sub).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 40), (20 * i, 0, 0)).save(tmp_path / "imgs" / sub / f"{i}.jpg")
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    code, out, err = run(
        capsys, "predict", "--weights", weights, tmp_path / "imgs", "--csv", tmp_path / "out.csv", "--top", "3"
    )
    rows = list(csv.reader((tmp_path / "out.csv").open()))
    assert code == 0, err
    assert rows[0] == ["path", "label1", "probability1", "label2", "probability2", "label3", "probability3"]
    assert len(rows) == 4 and "3 images; not read: 1 file that is not an image (" in out and "notes.txt" in out


def test_version_and_help_texts(capsys):
    from squeezenet import __version__
    from squeezenet.train.config import FINETUNE_RECIPE, PAPER_RECIPE, SMALL_RECIPE

    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"squeezenet {__version__}"
    code, out, _ = run(capsys, "train", "--help")
    epochs = f"{FINETUNE_RECIPE['epochs']}fine-tuningwith--weights,{SMALL_RECIPE['epochs']}onfashion-mnist,"
    assert code == 0 and f"{epochs}{PAPER_RECIPE['epochs']}fromscratchonafolder" in "".join(out.split())
    import argparse

    from squeezenet.cli import build_parser

    for name, command in build_parser()._subparsers._group_actions[0].choices.items():
        undocumented = [a.dest for a in command._actions if a.help is None and not isinstance(a, argparse._HelpAction)]
        assert not undocumented, (name, undocumented)


def test_predict_writes_no_csv_when_no_image_can_be_read(capsys, tmp_path):
    weights = tmp_path / "w.pth"
    torch.save(torchvision.models.squeezenet1_1().state_dict(), weights)
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    code, _, err = run(capsys, "predict", "--weights", weights, tmp_path / "bad.jpg", "--csv", tmp_path / "out.csv")
    assert code == 2 and "bad.jpg: cannot read image" in err and not (tmp_path / "out.csv").exists()
