from pathlib import Path

import pytest

from squeezenet.data.sources import build_source
from squeezenet.demo import DEMO_DESIGN, DEMO_LR, _export_stage, _micro_stage
from squeezenet.deploy.backends import BACKENDS
from squeezenet.formats.weights import load_model
from squeezenet.train.config import TrainConfig
from squeezenet.train.loop import train

pytestmark = pytest.mark.slow  # training runs and every engine built: `make check` leaves them to `make test`


def test_the_demos_export_stage_writes_the_chosen_engine_and_times_every_engine_it_built(
    tmp_path, tiny_fmnist, monkeypatch
):
    """The stage's wiring on three engines (every engine is built and timed by the auto test of
    tests/deploy/test_openvino.py): auto chooses among them, the winner is written and scored."""
    from squeezenet import demo
    from squeezenet.deploy import auto

    engines = ("onnxruntime", "onnxruntime-int8", "openvino-int8")
    monkeypatch.setattr(auto, "ENGINES", engines)
    monkeypatch.setattr(demo, "ENGINES", engines)
    run_dir = tmp_path / "train"
    train(
        TrainConfig(
            data_dir=str(tiny_fmnist),
            epochs=2,
            batch_size=64,
            lr=DEMO_LR,
            quiet=True,
            out=str(run_dir),
            design=DEMO_DESIGN,
        )
    )
    loaded = load_model(run_dir / "model.safetensors")
    source = build_source("fashion-mnist", str(tiny_fmnist))
    report = _export_stage(loaded, source, tmp_path)
    host = [name for name in engines if BACKENDS[name].auto]
    assert [r["backend"] for r in report["bench"]] == ["torch", *host]
    assert {c["backend"] for c in report["auto"]["candidates"]} == set(host)
    assert Path(report["best_file"]).exists() and (tmp_path / "model.onnx").exists()
    assert report["max_logit_diff"] < 1e-3
    # auto's budget is 5% disagreement on held-out images: the shipped engine scores as fp32 does, within it
    assert report["fp32_test_top1"] > 50 and abs(report["best_test_top1"] - report["fp32_test_top1"]) <= 5
    # the microcontroller stage: the file TFLM ran under its own arena, the planner's activations
    micro = _micro_stage(run_dir / "model.safetensors", tmp_path, source)
    if BACKENDS["tflite-micro"].available():
        assert micro["fits"] and micro["activation_bytes"] == micro["planned_activation_bytes"]
        assert (tmp_path / "model-micro.h").exists() and abs(micro["test_top1"] - report["fp32_test_top1"]) <= 5
    else:
        assert micro is None
