import csv
import json

import pytest
from helpers import formula_params

from squeezenet.cli import main
from squeezenet.errors import SqueezeNetError
from squeezenet.explore import sweep as sweep_mod
from squeezenet.explore.points import design_points, parse_shard
from squeezenet.explore.results import read_rows
from squeezenet.explore.sweep import run_sweep
from squeezenet.models import SqueezeNetConfig
from squeezenet.train.config import TrainConfig

BASE = dict(epochs=1, batch_size=64, limit_train=256, limit_val=64, checkpoint_every=0)


def base(tiny_fmnist) -> TrainConfig:
    return TrainConfig(data_dir=str(tiny_fmnist), **BASE)


def test_sr_sweep_rows_sizes_and_views(tmp_path, tiny_fmnist, capsys):
    code = main(
        [
            "explore",
            "sr",
            "--values",
            "0.125",
            "0.25",
            "--data-dir",
            str(tiny_fmnist),
            "--epochs",
            "1",
            "--limit-train",
            "256",
            "--limit-val",
            "64",
            "--batch-size",
            "64",
            "--seeds",
            "2",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 0, capsys.readouterr().err
    rows = read_rows(tmp_path / "results.csv")
    assert len(rows) == 4 and {r["seed"] for r in rows} == {"42", "43"}
    runs = [json.loads(path.read_text()) for path in (tmp_path / "runs").glob("*/run.json")]
    assert len(runs) == 4
    for r in rows:
        config = SqueezeNetConfig(layout="v1_1", stem="small", in_channels=1, num_classes=10, sr=float(r["sr"]))
        assert int(r["params"]) == formula_params(config)
        assert int(r["size_bytes"]) == 4 * formula_params(config)
        # each row is its own job's run: the same design point and seed, the same accuracy
        job = [j for j in runs if j["model_config"]["sr"] == float(r["sr"]) and j["config"]["seed"] == int(r["seed"])]
        assert (
            len(job) == 1
            and float(r["top1"]) == pytest.approx(job[0]["val_top1"])
            and job[0]["params"] == int(r["params"])
        )
    assert (tmp_path / "sr.png").is_file()
    assert "± " in (tmp_path / "sr.md").read_text()


def test_killed_sweep_resumes_without_redoing_points(tmp_path, tiny_fmnist, monkeypatch):
    points = design_points("sr", ["0.125", "0.25", "0.5"], [], [])
    real_train = sweep_mod.train
    calls = []

    def dies_on_second(cfg):
        calls.append(cfg.design["sr"])
        if len(calls) == 2:
            raise KeyboardInterrupt  # the sweep is killed while the second point trains
        return real_train(cfg)

    monkeypatch.setattr(sweep_mod, "train", dies_on_second)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(points, base(tiny_fmnist), tmp_path, quiet=True)
    assert len(read_rows(tmp_path / "results.csv")) == 1

    calls.clear()
    monkeypatch.setattr(sweep_mod, "train", lambda cfg: calls.append(cfg.design["sr"]) or real_train(cfg))
    run_sweep(points, base(tiny_fmnist), tmp_path, quiet=True)
    assert calls == [0.25, 0.5]  # the finished point was skipped
    assert len(read_rows(tmp_path / "results.csv")) == 3


def test_two_shards_fill_one_file_without_duplicates(tmp_path, tiny_fmnist):
    points = design_points("bypass", ["none", "simple", "complex"], [], [])
    run_sweep(points, base(tiny_fmnist), tmp_path, shard=(0, 2), quiet=True)
    run_sweep(points, base(tiny_fmnist), tmp_path, shard=(1, 2), quiet=True)
    run_sweep(points, base(tiny_fmnist), tmp_path, shard=(1, 2), quiet=True)  # a repeated shard adds nothing
    rows = read_rows(tmp_path / "results.csv")
    assert sorted(r["bypass"] for r in rows) == ["complex", "none", "simple"]
    sizes = {r["bypass"]: int(r["size_bytes"]) for r in rows}
    assert sizes["simple"] == sizes["none"] < sizes["complex"]
    with open(tmp_path / "results.csv") as f:
        assert next(csv.reader(f))[:6] == ["sr", "pct3x3", "base_e", "incr_e", "freq", "bypass"]


def test_pct3x3_sweep_holds_sr_at_half_and_grid_is_a_product():
    assert design_points("pct3x3", ["0.25"], [], []) == [{"pct3x3": 0.25, "sr": 0.5}]
    assert len(design_points("grid", [], [0.25, 0.5], [0.25, 0.5, 0.75])) == 6


@pytest.mark.parametrize("text", ["2/2", "x", "1-2", "-1/3"])
def test_bad_shard_is_refused(text):
    with pytest.raises(SqueezeNetError):
        parse_shard(text)


def test_the_sweeps_flags_reach_the_run_each_point_starts_from(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(sweep_mod, "run_sweep", lambda points, base, *rest: seen.update(points=points, base=base))
    monkeypatch.setattr("squeezenet.explore.plots.write_views", lambda *a: [])
    monkeypatch.setattr("squeezenet.explore.results.read_rows", lambda path: [])
    args = ["explore", "sr", "--values", "0.25,0.5", "--arch", "squeezenet1_0", "--base-e", "64", "--full"]
    assert main([*args, "--epochs", "3", "--out", str(tmp_path / "sweep")]) == 0
    base = seen["base"]
    assert seen["points"] == [{"sr": 0.25}, {"sr": 0.5}]
    assert (base.arch, base.design, base.epochs, base.limit_train) == ("squeezenet1_0", {"base_e": 64}, 3, None)
