"""Per-class recall where classes differ in size, and the warning for classes too small to validate on."""

import json

import torch
from helpers import run_cli as run
from PIL import Image

from squeezenet.data.sources import small_class_note
from squeezenet.evaluation.accuracy import evaluate
from squeezenet.formats.preprocess import Preprocess
from squeezenet.formats.weights import save_model
from squeezenet.models import SqueezeNet, SqueezeNetConfig


def test_evaluate_counts_each_class_and_knows_when_they_differ_in_size():
    logits = torch.tensor([[2.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    result = evaluate(lambda x: x, [(logits, torch.tensor([0, 0, 0, 1]))], progress=False)
    assert result.class_images == [3, 1] and result.class_correct == [2, 0] and result.unbalanced
    assert result.recall() == [(0, 3, 200 / 3), (1, 1, 0.0)] and len(result.to_dict()["recall"]) == 2
    even = evaluate(lambda x: x, [(logits, torch.tensor([0, 1, 1, 0]))], progress=False)
    assert not even.unbalanced and "recall" not in even.to_dict()


def test_small_class_note_names_the_small_classes_only():
    assert small_class_note(["a", "b"], [0] * 10 + [1] * 12) == ""
    note = small_class_note(["a", "b", "c"], [0] * 10 + [1] * 3 + [2] * 9)
    assert note.startswith("warning: 2 classes") and "b (3)" in note and "c (9)" in note and "a (" not in note


def test_eval_prints_per_class_recall_on_an_unbalanced_folder(capsys, tmp_path):
    torch.manual_seed(0)
    save_model(
        SqueezeNet(SqueezeNetConfig(layout="v1_1", num_classes=2)),
        tmp_path / "w.safetensors",
        Preprocess(resize=72, crop=64),
        ["big", "small"],
    )
    for name, count in (("big", 5), ("small", 2)):
        (tmp_path / "val" / name).mkdir(parents=True)
        for i in range(count):
            Image.new("RGB", (80, 72), (40 * i, 90, 200)).save(tmp_path / "val" / name / f"{i}.png")
    code, out, err = run(capsys, "eval", "--weights", tmp_path / "w.safetensors", "--data", tmp_path, "--workers", "0")
    assert code == 0, err
    assert "per class (classes differ in size): big" in out and "% of 5" in out and "% of 2" in out
    code, out, _ = run(capsys, "eval", "--weights", tmp_path / "w.safetensors", "--data", tmp_path, "--json")
    assert [r["images"] for r in json.loads(out)["recall"]] == [5, 2]
