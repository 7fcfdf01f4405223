from squeezenet.demo import DEMO_DESIGN, _train_stage
from squeezenet.formats.weights import load_model
from squeezenet.train.config import TrainConfig
from squeezenet.train.loop import train


def test_an_earlier_demos_run_is_moved_aside_not_a_dead_end(tmp_path, tiny_fmnist, capsys):
    run_dir = tmp_path / "demo" / "train"
    common = {"data_dir": str(tiny_fmnist), "epochs": 1, "batch_size": 128, "quiet": True, "out": str(run_dir)}
    train(TrainConfig(**common, design={"bypass": "simple"}))  # what an earlier version of the demo trained
    summary = _train_stage(TrainConfig(**common, design=DEMO_DESIGN, resume=True))
    assert "moved to" in capsys.readouterr().err
    assert load_model(tmp_path / "demo" / "train.previous" / "model.safetensors").config.stem == "small"
    assert load_model(run_dir / "model.safetensors").config.stem == "strided"
    assert summary["model_config"]["norm"] == "squeeze"
    again = _train_stage(TrainConfig(**common, design=DEMO_DESIGN, resume=True))  # the same demo: resumed, nothing moved
    assert again["val_top1"] == summary["val_top1"] and "moved" not in capsys.readouterr().err
