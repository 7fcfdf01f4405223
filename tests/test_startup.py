"""A command imports only what it runs: help, usage errors and option errors answer before torch loads."""

import json
import subprocess
import sys

HEAVY = ("torch", "torchvision", "onnx", "onnxruntime", "openvino", "nncf")

SCRIPT = """
import json, sys
from squeezenet.cli import build_parser, main
commands = list(build_parser()._subparsers._group_actions[0].choices)
argvs = [["--help"], *[[c, "--help"] for c in commands], *json.loads(sys.argv[1])]
codes = []
for argv in argvs:
    try:
        codes.append(main(argv))
    except SystemExit as exc:
        codes.append(exc.code)
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
print(json.dumps({"codes": codes, "commands": commands, "heavy": heavy}))
"""


def test_help_usage_and_option_errors_load_no_torch(tmp_path):
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"")
    refused = [
        ["eval", "--weights", str(tmp_path / "missing.pth"), "--data", str(tmp_path)],  # a missing file
        ["eval", "--weights", str(weights), "--data", str(tmp_path / "missing")],  # a missing folder
        ["train", "--out", str(tmp_path / "run"), "--epochs", "0"],  # a range
        ["compress", "--weights", str(weights), "--out", str(tmp_path / "m.sqz"), "--bits", "9"],
        ["export", "--weights", str(weights), "--out", str(tmp_path / "m.onnx"), "--int8"],
        ["info", "--precision", "sqz"],
        ["bench"],
    ]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(refused), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    helps = len(result["commands"]) + 1
    assert result["codes"][:helps] == [0] * helps and result["codes"][helps:] == [2] * len(refused)
    assert result["heavy"] == [], result["heavy"]
    assert not list(tmp_path.glob("m.*")) and not (tmp_path / "run").exists()


def test_importtime_of_help_lists_no_torch():
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "squeezenet", "--help"], capture_output=True, text=True, timeout=60
    )
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert done.returncode == 0 and "squeezenet" in imported and not imported & set(HEAVY), imported & set(HEAVY)


def test_the_package_and_its_options_records_load_no_torch():
    code = (
        "import sys, squeezenet; from squeezenet.compression.options import CompressOptions; "
        "from squeezenet.deploy.options import ExportOptions; from squeezenet.train.config import TrainConfig; "
        "from squeezenet.models import SqueezeNetConfig, list_models; list_models(); SqueezeNetConfig(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:])))"
    )
    done = subprocess.run([sys.executable, "-c", code, *HEAVY], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]", (done.stdout, done.stderr[-1000:])
