import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import assert_a_flipped_bit_is_refused
from helpers import run_cli as run

from squeezenet.deploy.auto import Candidate, pick
from squeezenet.deploy.backends import BACKENDS, ENGINES, TABLE
from squeezenet.deploy.openvino import metadata, ov_runner, read_ir
from squeezenet.formats.preprocess import Preprocess
from squeezenet.formats.weights import load_model, save_model
from squeezenet.models import SqueezeNet, SqueezeNetConfig
from squeezenet.speed import peers

pytestmark = pytest.mark.slow  # OpenVINO and NNCF builds: `make check` leaves them to `make test`


@pytest.fixture()
def small_weights(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "small.safetensors"
    model = SqueezeNet(SqueezeNetConfig(layout="v1_1", num_classes=3))
    save_model(model, path, classes=["ant", "bee", "wasp"])
    return path


@pytest.fixture()
def calib(tmp_path):
    from PIL import Image

    folder = tmp_path / "calib"
    folder.mkdir()
    g = torch.Generator().manual_seed(0)
    for i in range(12):
        pixels = torch.randint(0, 256, (240, 260, 3), dtype=torch.uint8, generator=g).numpy()
        Image.fromarray(pixels).save(folder / f"{i}.png")
    return folder


def test_openvino_ir_carries_metadata_and_matches_pytorch_at_any_batch(tmp_path, capsys, small_weights):
    out = tmp_path / "new" / "folder" / "m.xml"  # made, as for every other output
    code, stdout, err = run(
        capsys, "export", "--weights", small_weights, "--format", "openvino", "--out", out, "--json"
    )
    assert code == 0, err
    report = json.loads(stdout)
    assert (
        report["max_logit_diff_random"] < 1e-3
        and report["bytes"] == out.stat().st_size + out.with_suffix(".bin").stat().st_size
    )
    model = read_ir(out)
    meta = metadata(model)
    assert json.loads(meta["classes"]) == ["ant", "bee", "wasp"]
    assert json.loads(meta["squeezenet_config"])["num_classes"] == 3 and "preprocess" in meta
    run_ir, loaded = ov_runner(model), load_model(small_weights)
    for batch in (1, 5, 1):  # a new batch size compiles its own static shape; an old one is reused
        x = torch.randn(batch, 3, 224, 224)
        with torch.no_grad():
            assert (run_ir(x) - loaded.model(x)).abs().max() < 1e-3
    x = torch.randn(2, 3, 224, 224)
    before = run_ir(x)
    # the request reads a batch in place only for its call: a strided view, then a freed batch, then the first again
    assert torch.allclose(run_ir(x.contiguous(memory_format=torch.channels_last)), before, atol=1e-5)
    run_ir(torch.randn(2, 3, 224, 224))
    assert torch.equal(run_ir(x), before)
    assert not list(out.parent.glob(".*.tmp")) and sorted(p.name for p in out.parent.iterdir()) == ["m.bin", "m.xml"]
    assert_a_flipped_bit_is_refused(out, out.with_suffix(".bin"))
    assert_a_flipped_bit_is_refused(out)


def test_openvino_export_refuses_wrong_suffix_and_auto_with_int8(tmp_path, capsys, small_weights):
    code, _, err = run(
        capsys, "export", "--weights", small_weights, "--format", "openvino", "--out", tmp_path / "m.onnx"
    )
    assert code == 2 and ".xml" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(
        capsys, "export", "--weights", small_weights, "--format", "auto", "--int8", "--out", tmp_path / "m"
    )
    assert code == 2 and "--int8 is tried by --format auto itself" in err
    code, _, err = run(
        capsys, "export", "--weights", small_weights, "--format", "auto", "--batch-size", "0", "--out", tmp_path / "m"
    )
    assert code == 2 and "--batch-size" in err
    assert not list(tmp_path.glob("m.*"))


def test_auto_times_every_engine_and_writes_the_fastest_within_budget(tmp_path, capsys, small_weights, calib):
    # a budget of 0%: only engines that agree with fp32 on every held-out image may be written
    code, stdout, err = run(
        capsys,
        "export",
        "--weights",
        small_weights,
        "--format",
        "auto",
        "--calib-data",
        calib,
        "--max-disagreement",
        "0",
        "--out",
        tmp_path / "best",
        "--json",
    )
    assert code == 0, err
    report = json.loads(stdout)
    candidates = {c["backend"]: Candidate(**c) for c in report["auto"]["candidates"]}
    # every recipe with a file to ship, the engines' own defaults among them: nothing faster is skipped
    assert (
        set(candidates)
        == {n for n in ENGINES if BACKENDS[n].auto}
        >= {"onnxruntime-int8-defaults", "openvino-defaults", "openvino-int8-defaults"}
    )
    exact = [c for c in candidates.values() if c.agreement == 100.0]
    assert report["auto"]["chosen"] == max(exact, key=lambda c: c.images_per_s).backend
    assert candidates["onnxruntime"].agreement == 100.0 and candidates["openvino"].agreement == 100.0
    assert report["file"].endswith(".xml" if report["auto"]["chosen"].startswith("openvino") else ".onnx")
    assert os.path.exists(report["file"]) and report["auto"]["isa"] in report["auto"]["reason"]


def test_auto_picks_the_fastest_within_the_budget_and_names_the_rest():
    exact, lossy = Candidate("exact", 10, 1, 100.0), Candidate("lossy", 30, 1, 94.0)
    fast = Candidate("fast", 20, 1, 95.0)  # exactly at the default budget: allowed
    assert pick([exact, lossy, fast], 5.0) == (fast, ["lossy"])
    assert pick([exact, lossy, fast], 0.0) == (exact, ["lossy", "fast"])
    assert pick([exact, lossy, fast], 100.0) == (lossy, [])


def test_predict_and_eval_run_on_openvino(tmp_path, capsys, small_weights, calib):
    image = next(calib.iterdir())
    code, out_t, _ = run(capsys, "predict", "--weights", small_weights, image, "--json")
    code, out_o, err = run(capsys, "predict", "--weights", small_weights, image, "--json", "--backend", "openvino")
    assert code == 0, err
    t, o = json.loads(out_t)[0]["top"], json.loads(out_o)[0]["top"]
    assert [x["label"] for x in t] == [x["label"] for x in o] and abs(t[0]["probability"] - o[0]["probability"]) < 1e-4
    code, _, err = run(capsys, "predict", "--weights", small_weights, image, "--backend", "openvino-int8")
    assert code == 2 and "--calib-data" in err


_FIDELITY = """
import sys
sys.path.insert(0, sys.argv[2])
from helpers import int8_fidelity
print(*int8_fidelity(sys.argv[1], sys.argv[3], "openvino-int8"))
"""


@pytest.mark.slow
@pytest.mark.parametrize("isa", ["native", "AVX2"])
def test_openvino_int8_follows_fp32_on_native_and_avx2_kernels(shared, imagenet_reference, isa):
    """OpenVINO's CPU plugin honours ONEDNN_MAX_CPU_ISA, so the AVX2 int8 kernels (no VNNI: the
    u8 x s8 saturation case) are checked on every machine, not only on AVX2 ones; the bounds
    leave room for the spread between kernels (the figures per CPU: docs/results/deploy-*.md)."""
    env = {**os.environ, **({"ONEDNN_MAX_CPU_ISA": "AVX2"} if isa == "AVX2" else {})}
    done = subprocess.run(
        [sys.executable, "-c", _FIDELITY, str(shared), str(Path(__file__).parents[1]), str(imagenet_reference)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    agreement, kl, fp32, int8 = map(float, done.stdout.split()[-4:])
    assert agreement >= 0.93 and kl < 0.03, (agreement, kl)
    assert int8 >= fp32 - 1.2, (fp32, int8)


PEER_TABLE = ("torch", "onnxruntime", "onnxruntime-int8-defaults", "openvino-int8", "openvino-int8-defaults")


def test_bench_peers_and_predict_latency(capsys, tmp_path, calib, monkeypatch):
    """The peer table's machinery on five engines at 64 px (the whole table is the benchmark's job,
    benchmarks/inference.py): peers and ours from two runtimes, fp32 and int8, calibrated each its
    own way, in interleaved rounds; an emulated microcontroller in the table is never timed. A
    wrong fastest peer, a ratio against one of ours, a missing or extra row, or a range that does
    not hold its median still fails here."""
    table = [b for b in TABLE if b.name in (*PEER_TABLE, "tflite-micro")]
    monkeypatch.setattr(peers, "TABLE", table)
    monkeypatch.setattr(peers, "DEVICE_DEFAULTS", ())
    small_weights = tmp_path / "small64.safetensors"
    save_model(
        SqueezeNet(SqueezeNetConfig(layout="v1_1", num_classes=3)), small_weights, Preprocess(resize=72, crop=64)
    )
    code, out, err = run(
        capsys,
        "bench",
        "--peers",
        "--rounds",
        "2",
        "--weights",
        small_weights,
        "--calib-data",
        calib,
        "--batch-size",
        "2",
        "--predict",
        next(calib.iterdir()),
        "--backend",
        "torch,openvino",
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    rows = {r["engine"]: r for r in result["peers"]["rows"]}
    assert set(rows) == {"torch", "ours: onnxruntime", "onnxruntime-int8-defaults"} | {
        "ours: openvino-int8",
        "openvino-int8-defaults",
    }
    assert not any("tflite-micro" in name for name in rows)  # an emulated microcontroller is not timed
    assert not any(name.startswith("ours: ") and name.endswith("defaults") for name in rows)
    fastest = max((r for n, r in rows.items() if not n.startswith("ours")), key=lambda r: r["images_per_s"])
    assert result["peers"]["rounds"] == 2 and all(
        r["images_per_s_range"][0] <= r["images_per_s"] for r in rows.values()
    )
    assert result["peers"]["fastest_peer"] == fastest["engine"] and fastest["vs_fastest_peer"] == 1.0
    predict = result["predict"]
    assert [r["backend"] for r in predict["rows"]] == ["torch", "openvino"]
    assert all(r["end_to_end_ms"] > r["model_ms"] > 0 for r in predict["rows"]) and predict["decode_ms"] > 0
    code, _, err = run(capsys, "bench", "--peers", "--weights", small_weights)
    assert code == 2 and "--calib-data" in err
    (calib / "bad.jpg").write_bytes(b"not a jpeg")
    for image, reason in ((calib / "bad.jpg", "cannot read image"), (calib / "absent.jpg", "no such file")):
        code, _, err = run(capsys, "bench", "--predict", image, "--weights", small_weights)
        assert code == 2 and reason in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "bench", "--data", calib, "--weights", small_weights)
    assert code == 2 and "--data gives the top-1 column of --peers" in err


def test_eval_and_predict_run_the_ir_export_wrote(tmp_path, capsys, small_weights):
    """The .xml itself, on the engine it was written for, its class names from its rt_info."""
    from PIL import Image

    out = tmp_path / "m.xml"
    assert run(capsys, "export", "--weights", small_weights, "--format", "openvino", "--out", out)[0] == 0
    for k, name in enumerate(("ant", "bee", "wasp")):
        (tmp_path / "photos" / name).mkdir(parents=True)
        Image.new("RGB", (260, 240), (80 * k, 90, 30)).save(tmp_path / "photos" / name / "0.png")
    code, stdout, err = run(capsys, "eval", "--weights", out, "--data", tmp_path / "photos", "--json", "--quiet")
    assert code == 0 and json.loads(stdout)["backend"] == "openvino" and json.loads(stdout)["images"] == 3, err
    image = tmp_path / "photos" / "bee" / "0.png"
    shipped = json.loads(run(capsys, "predict", "--weights", out, image, "--json")[1])[0]["top"]
    reference = json.loads(run(capsys, "predict", "--weights", small_weights, image, "--json")[1])[0]["top"]
    assert [t["label"] for t in shipped] == [t["label"] for t in reference]
    assert abs(shipped[0]["probability"] - reference[0]["probability"]) < 1e-3
    code, _, err = run(capsys, "eval", "--weights", out, "--backend", "onnxruntime", "--data", tmp_path / "photos")
    assert code == 2 and "it was written for openvino" in err


def test_float_first_leaves_only_the_first_convolution_in_float(small_weights, calib):
    """On CPUs without VNNI the first layer is where int8 loses (its weights need NNCF's 7-bit
    overflow fix): the recipe keeps that convolution in float and quantizes every other one."""
    from squeezenet.data.images import calibration_tensor
    from squeezenet.deploy.backends import backend
    from squeezenet.deploy.inputs import BuildInputs

    loaded = load_model(small_weights)
    inputs = BuildInputs(loaded, calibration_tensor(calib, loaded.preprocess))
    convs = [
        [op for op in backend(name).build(inputs).get_ordered_ops() if op.get_type_name() == "Convolution"]
        for name in ("openvino-int8-float-first", "openvino-int8")
    ]

    def quantized(conv) -> bool:  # int8 weights reach a quantized convolution dequantized, not as a float constant
        return conv.input_value(1).get_node().get_type_name() != "Constant"

    assert len(convs[0]) == len(convs[1]) == 26
    assert [quantized(c) for c in convs[0]] == [False] + [True] * 25
    assert all(quantized(c) for c in convs[1])
