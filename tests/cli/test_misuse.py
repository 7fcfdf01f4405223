"""Misuse of every command, walked from the parser: each refusal is one line, exit 2, fast, and leaves nothing.

The contract (``cli/exits.py``): 0 done, 1 "the answer is no" where documented, 2 refused,
3 stale update metadata, 4 a bug, 130 interrupted, 143 terminated. No message names an exception
class of Python's or a library's.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import run_cli
from PIL import Image

from squeezenet.cli import build_parser
from squeezenet.cli.args import Number, existing_file, image_file, output_file, weights_file
from squeezenet.cli.exits import CONTRACT, REFUSED, failure
from squeezenet.errors import SqueezeNetError

EDGES = ("0", "-1", "nan", "inf", "-inf", "1" + "0" * 30, "abc", "0.5", "")
FILE_TYPES = (existing_file, weights_file, image_file, output_file)
EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception|Exit|Interrupt)\b")
FAST_S = 5.0


def commands() -> dict[str, argparse.ArgumentParser]:
    return build_parser()._subparsers._group_actions[0].choices


def flags(kind) -> list[tuple[str, argparse.Action]]:
    return [
        (name, action)
        for name, sub in commands().items()
        for action in sub._actions
        if action.option_strings and kind(action)
    ]


def assert_refused(code: int, err: str, seconds: float, what: str) -> None:
    lines = err.strip().splitlines()
    assert code == REFUSED, (what, code, err)
    assert len(lines) == 1 and lines[0].startswith("squeezenet"), (what, err)
    assert not EXCEPTION_NAME.search(err), (what, err)
    assert seconds < FAST_S, (what, seconds)


def test_every_numeric_flag_is_bounded_while_parsing():
    """Before: 46 flags took a bare int or float, so nan, inf, -5 and 10**30 reached the library."""
    numeric = flags(lambda a: a.type in (int, float) or isinstance(a.type, Number))
    assert len(numeric) > 40
    assert [f"{c} {a.option_strings[0]}" for c, a in numeric if not isinstance(a.type, Number)] == []


def test_each_edge_value_a_flag_refuses_is_one_line_and_exit_2(capsys):
    refused = 0
    for command, action in flags(lambda a: isinstance(a.type, Number)):
        for value in EDGES:
            try:
                action.type(value)
                continue  # a value this flag accepts is no argument-level mistake
            except argparse.ArgumentTypeError:
                pass
            start = time.monotonic()
            code, _, err = run_cli(capsys, command, f"{action.option_strings[0]}={value}")
            assert_refused(code, err, time.monotonic() - start, f"{command} {action.option_strings[0]}={value}")
            assert action.option_strings[0] in err
            refused += 1
    assert refused > 300


def test_a_directory_where_a_file_is_needed_is_one_line(capsys, tmp_path):
    walked = 0
    for command, action in flags(lambda a: a.type in FILE_TYPES):
        start = time.monotonic()
        code, _, err = run_cli(capsys, command, f"{action.option_strings[0]}={tmp_path}")
        assert_refused(code, err, time.monotonic() - start, f"{command} {action.option_strings[0]}")
        walked += 1
    assert walked >= 15
    assert list(tmp_path.iterdir()) == []  # nothing left behind


@pytest.fixture()
def small_weights(tmp_path):
    from squeezenet.formats.preprocess import Preprocess
    from squeezenet.formats.weights import save_model
    from squeezenet.models import SqueezeNet, SqueezeNetConfig

    model = SqueezeNet(SqueezeNetConfig(layout="v1_1", base_e=16, incr_e=16, num_classes=2))
    save_model(model, tmp_path / "m.safetensors", Preprocess(crop=32, resize=36), ["a", "b"])
    photos = tmp_path / "photos" / "train"
    for k, name in enumerate(("a", "b")):
        (photos / name).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (48, 40), (80 * k, 40 * i, 90)).save(photos / name / f"{i}.jpg")
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_mistakes_known_from_the_arguments_are_refused_before_the_work(capsys, small_weights):
    """Each of these once ran for 20-80 s (or five minutes) before failing, or escaped as a raw
    exception name with exit 1."""
    d = small_weights
    w = d / "m.safetensors"
    cases = {
        "wrong --out suffix": ["export", "--weights", w, "--format", "onnx", "--out", d / "m.tflite"],
        "hls4ml on the paper's pools": [
            "export", "--weights", w, "--format", "hls4ml", "--calib-data", d / "photos", "--out", d / "m.hls4ml"
        ],
        "a calibration folder without images (export)": [
            "export", "--weights", w, "--int8", "--calib-data", d / "empty", "--out", d / "q.onnx"
        ],
        "a calibration folder without images (compress)": [
            "compress", "--weights", w, "--calib-data", d / "empty", "--out", d / "m.sqz"
        ],
        "a size budget no file can meet": [
            "compress", "--weights", w, "--calib-data", d / "photos", "--size-budget", "1KB", "--out", d / "m.sqz"
        ],
        "predict --top 0": ["predict", "--weights", w, "--top", "0", d / "photos"],
        "bench --predict on a non-image": ["bench", "--weights", w, "--predict", d / "notes.txt"],
        "bench --train --steps 0": ["bench", "--train", "--steps", "0"],
        "bench --batch-size 0": ["bench", "--batch-size", "0"],
        "eval --workers 1000": ["eval", "--weights", w, "--data", d / "photos", "--workers", "1000"],
        "eval --run on a data folder": ["eval", "--run", d / "photos"],
        "predict --csv DIR": ["predict", "--weights", w, d / "photos", "--csv", d / "empty"],
        "train below the network's smallest input": [
            "train", "--data", d / "photos", "--input-size", "4", "--out", d / "run", "--quiet"
        ],
        "update --init --confirm": ["update", "--state", d / "dev", "--init", "--confirm"],
        "update --deadline nan": ["update", "--state", d / "dev", "--deadline", "nan"],
        "update --deadline inf": ["update", "--state", d / "dev", "--deadline", "inf"],
        "update --release -5": ["update", "--state", d / "dev", "--release=-5"],
        "update --release 10**30": ["update", "--state", d / "dev", "--release", "1" + "0" * 30],
        "publish --probe-count 1e8": [
            "publish", "--repo", d / "repo", "--keys", d, "--model", "m", "--weights", w, "--probe-count", "100000000"
        ],
    }  # fmt: skip
    before = sorted(p.name for p in d.rglob("*"))
    for what, argv in cases.items():
        start = time.monotonic()
        code, _, err = run_cli(capsys, *argv)
        assert_refused(code, err, time.monotonic() - start, what)
    assert sorted(p.name for p in d.rglob("*")) == before  # no temporary file, no half-written output


def test_an_unwritable_output_names_the_users_file_not_the_temporary_one(capsys, small_weights):
    """/sys refuses writes even to root, whom the parser's access check lets through: the write then
    fails inside utils.atomic's temporary file, and the message names the file asked for."""
    code, _, err = run_cli(capsys, "convert", "--weights", small_weights / "m.safetensors", "--out", "/sys/m.pth")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "/sys/m.pth" in err and ".tmp" not in err
    if os.geteuid() == 0:
        assert err.strip() == "squeezenet: error: /sys/m.pth: permission denied"


def test_failures_map_to_the_contract():
    tmp = "/x/.m.onnx.4242.ab12cd.tmp"
    assert failure(PermissionError(13, "Permission denied", tmp), str) == (2, "/x/m.onnx: permission denied")
    assert failure(IsADirectoryError(21, "Is a directory", "/x/out"), str) == (2, "/x/out: is a directory")
    assert failure(MemoryError(), str)[0] == 2
    assert failure(SqueezeNetError("a.sqz: damaged"), str) == (2, "a.sqz: damaged")
    code, line = failure(ValueError("unexpected"), str)
    assert code == 4 and "bug" in line and "ValueError" not in line
    assert set(CONTRACT) == {0, 1, 2, 3, 4, 130, 143}


SIGTERM_SCRIPT = """
import sys, time
from squeezenet.cli import main, models
from squeezenet.utils.atomic import atomic_path

def slow_write(args):
    with atomic_path(sys.argv[1]) as tmp:
        tmp.write_bytes(b"x" * 5_000_000)
        print("writing", flush=True)
        time.sleep(60)
    return 0

models.cmd_info = slow_write
sys.exit(main(["info"]))
"""


def test_sigterm_during_a_write_unwinds_exit_143_and_leaves_no_temporary_file(tmp_path):
    """Before: SIGTERM killed the process mid-write and left a 5 MB .model.h.PID.tmp behind."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_SCRIPT, str(tmp_path / "model.h")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and err.strip() == "squeezenet: terminated"
    assert list(Path(tmp_path).iterdir()) == []
