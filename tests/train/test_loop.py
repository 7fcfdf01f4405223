import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from squeezenet.cli import main
from squeezenet.errors import SqueezeNetError
from squeezenet.formats.weights import load_model, read_safetensors
from squeezenet.train.config import TrainConfig
from squeezenet.train.loop import train
from squeezenet.train.step import lr_factor

SMALL = ["--epochs", "2", "--batch-size", "64", "--checkpoint-every", "3", "--seed", "7", "--quiet"]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "squeezenet", "train", *args]


def weights(run: Path) -> dict[str, torch.Tensor]:
    return read_safetensors(run / "model.safetensors")[0]


@pytest.mark.slow
def test_sigkill_then_resume_is_bitwise_identical(tmp_path, tiny_fmnist):
    design = ["--bypass", "simple", "--stem", "strided", "--norm", "squeeze"]  # the demo's: batch norm resumes too
    common = ["--data-dir", str(tiny_fmnist), *SMALL, *design]
    subprocess.run(cli("--out", str(tmp_path / "straight"), *common), check=True, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(cli("--out", str(killed), *common), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (killed / "last.ckpt").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (killed / "last.ckpt").exists() and not (killed / "model.safetensors").exists()
    subprocess.run(cli("--out", str(killed), *common, "--resume"), check=True, capture_output=True)

    a, b = weights(tmp_path / "straight"), weights(killed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    straight_csv = (tmp_path / "straight" / "metrics.csv").read_text().splitlines()
    killed_csv = (killed / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[:7] for r in straight_csv] == [r.split(",")[:7] for r in killed_csv]


@pytest.mark.slow
def test_run_directory_contents_and_learning(tmp_path, tiny_fmnist):
    out = tmp_path / "run"
    # the loop, not the demo recipe, is under test: hyperparameters that learn this tiny set in 48 steps
    summary = train(
        TrainConfig(
            out=str(out), data_dir=str(tiny_fmnist), epochs=3, batch_size=64, lr=0.002, label_smoothing=0.0, quiet=True
        )
    )
    for name in ("model.safetensors", "last.ckpt", "metrics.csv", "run.json", "curves.png"):
        assert (out / name).is_file(), name
    run = json.loads((out / "run.json").read_text())
    assert run["world_size"] == 1 and run["val_top1"] == summary.val_top1
    assert run["gradient_bytes_per_step"] == 4 * run["params"]
    assert len((out / "metrics.csv").read_text().splitlines()) == 4
    assert run["val_top1"] > 50  # chance is 10%
    loaded = load_model(out / "model.safetensors")
    assert loaded.config.num_classes == 10 and loaded.config.stem == "small" and loaded.preprocess.color == "L"


def test_existing_run_needs_resume_and_matching_command(tmp_path, tiny_fmnist):
    out = tmp_path / "run"
    base = dict(
        out=str(out), data_dir=str(tiny_fmnist), epochs=1, batch_size=64, quiet=True, max_steps=4, checkpoint_every=2
    )
    train(TrainConfig(**base))
    with pytest.raises(SqueezeNetError, match="--resume"):
        train(TrainConfig(**base))
    with pytest.raises(SqueezeNetError, match="different command"):
        train(TrainConfig(**{**base, "epochs": 3}, resume=True))


def test_lr_schedule_warms_up_then_decays_linearly_to_zero():
    assert lr_factor(0, 100, 10) == pytest.approx(0.1)
    assert lr_factor(9, 100, 10) == pytest.approx(1.0)
    assert lr_factor(55, 100, 10) == pytest.approx(0.5)
    assert lr_factor(100, 100, 10) == 0.0
    assert lr_factor(0, 100, 0) == 1.0


def _image_tree(root: Path) -> None:
    """Two classes of good images plus every kind of bad file the loader must survive."""
    for split in ("train", "val"):
        for k, colour in enumerate(((250, 10, 10), (10, 10, 250))):
            d = root / split / f"class{k}"
            d.mkdir(parents=True)
            for i in range(12):
                Image.new("RGB", (40, 36), tuple(max(0, c - 3 * i) for c in colour)).save(d / f"{i}.jpg")
    bad = root / "train" / "class0"
    (bad / "zero.jpg").write_bytes(b"")
    (bad / "text.jpg").write_text("not an image")
    good = (bad / "0.jpg").read_bytes()
    (bad / "truncated.jpg").write_bytes(good[: len(good) // 3])
    Image.new("CMYK", (40, 36), (0, 200, 200, 0)).save(bad / "cmyk.jpg")
    Image.new("L", (40, 36), 128).save(bad / "gray.png")
    Image.new("P", (40, 36), 3).save(bad / "palette.png")


def test_folder_training_survives_bad_images(tmp_path, capsys):
    _image_tree(tmp_path / "data")
    code = main(
        [
            "train",
            "--data",
            str(tmp_path / "data"),
            "--out",
            str(tmp_path / "run"),
            "--input-size",
            "32",
            "--epochs",
            "1",
            "--batch-size",
            "10",
            "--lr",
            "0.001",
            "--optimizer",
            "adamw",
            "--workers",
            "0",
            "--quiet",
        ]
    )
    assert code == 0, capsys.readouterr().err
    row = json.loads((tmp_path / "run" / "run.json").read_text())["history"][0]
    assert row["skipped_images"] >= 2  # zero bytes and text at least; the truncated JPEG may decode partially
    assert load_model(tmp_path / "run" / "model.safetensors").config.num_classes == 2


def test_missing_fashion_mnist_is_one_clear_line(tmp_path, capsys):
    code = main(["train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "IDX files" in err and len(err.strip().splitlines()) == 1


def _torchrun(out: Path, *flags: str) -> None:
    """``squeezenet train`` in two processes under torchrun, one thread each."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "squeezenet"]
    done = subprocess.run(
        [*launcher, "train", "--out", str(out), *flags], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]


def _one_thread(out: Path, *flags: str) -> None:
    """``squeezenet train`` in this process on one thread: a torchrun rank's arithmetic."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["train", "--out", str(out), *flags]) == 0
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
def test_torchrun_two_processes_train_like_one(tmp_path, real_fmnist):
    """Over an epoch the two-process run learns (sampler, epoch end, validation, all-reduce
    accounting), and its first step is one process's to float rounding: sharding, dropout masks,
    loss and gradient averaging and clipping (per-rank dropout streams alone made it differ by
    ~1e-3). The runs are not compared at the epoch's end: AdamW amplifies the all-reduce's
    summation order chaotically, the weights drifting apart step by step, and equally valid runs
    then end many top-1 points apart."""
    flags = ["--epochs", "1", "--limit-train", "4000", "--limit-val", "500", "--batch-size", "64", "--quiet"]
    _torchrun(tmp_path / "two", *flags)
    two = json.loads((tmp_path / "two" / "run.json").read_text())
    assert two["world_size"] == 2 and two["val_top1"] > 45  # chance is 10%
    # every step all-reduces each fp32 gradient once
    assert two["allreduce_bytes_per_step"] == pytest.approx(two["gradient_bytes_per_step"], rel=0.01)
    assert two["allreduce_seconds_per_step"] > 0
    steps = ["--amp", "off", "--max-steps", "1", "--checkpoint-every", "1"]
    _one_thread(tmp_path / "one1", *flags, *steps)
    _torchrun(tmp_path / "two1", *flags, *steps)
    a, b = (torch.load(tmp_path / r / "last.ckpt", weights_only=True)["model"] for r in ("one1", "two1"))
    diff = sum(float((a[k] - b[k]).norm() ** 2) for k in a) ** 0.5 / sum(float(a[k].norm() ** 2) for k in a) ** 0.5
    assert diff < 1e-6, diff


def test_resume_without_checkpoint_says_so_or_refuses(tmp_path, tiny_fmnist, capsys):
    out = tmp_path / "run"
    flags = [
        "train",
        "--data-dir",
        str(tiny_fmnist),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--quiet",
    ]
    assert main([*flags, "--resume", "--max-steps", "2", "--checkpoint-every", "0"]) == 0
    assert "no checkpoint" in capsys.readouterr().err  # nothing to continue: a fresh start, said aloud
    out.mkdir(exist_ok=True)
    (out / "metrics.csv").write_text("epoch\n1\n")  # an earlier run's results, but no checkpoint
    assert main([*flags, "--resume"]) == 2
    assert "overwrite" in capsys.readouterr().err and (out / "metrics.csv").read_text() == "epoch\n1\n"


def test_global_batch_dropout_is_fair_and_the_same_for_every_world_size():
    from squeezenet.train.distributed import GlobalBatchDropout

    x = torch.ones(8, 6, 4, 4).contiguous(memory_format=torch.channels_last)
    torch.manual_seed(3)
    whole = GlobalBatchDropout(0.5)(x)
    assert whole.is_contiguous(memory_format=torch.channels_last)
    assert set(whole.unique().tolist()) == {0.0, 2.0} and abs(float(whole.mean()) - 1.0) < 0.1
    parts = []
    for rank in range(2):
        torch.manual_seed(3)
        parts.append(GlobalBatchDropout(0.5, rank, 2)(x[rank * 4 : (rank + 1) * 4]))
    assert torch.equal(torch.cat(parts), whole)
    big = GlobalBatchDropout(0.3)(torch.ones(64, 1000))
    assert abs(float((big > 0).float().mean()) - 0.7) < 0.01 and abs(float(big.mean()) - 1.0) < 0.02
    layer = GlobalBatchDropout(0.5).eval()
    assert layer(x) is x
