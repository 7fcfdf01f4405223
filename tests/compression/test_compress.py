import json
import time

import numpy as np
import pytest
import torch
from helpers import run_cli as run

from squeezenet.compression.cluster import _assign, kmeans_1d
from squeezenet.compression.density import parse_bits, parse_density
from squeezenet.compression.options import CompressOptions
from squeezenet.compression.pipeline import compress
from squeezenet.compression.prune import apply_pruning, density_schedule, remove_pruning
from squeezenet.compression.retrain import frozen_copy, retrain
from squeezenet.errors import SqueezeNetError
from squeezenet.formats import sqz
from squeezenet.formats.huffman import Stream, code_lengths, decode_many, encode
from squeezenet.formats.preprocess import FASHION_MNIST
from squeezenet.formats.sqz import PREFIX, VERSIONS
from squeezenet.formats.weights import load_model, read_safetensors, save_model
from squeezenet.models import SqueezeNet, SqueezeNetConfig


@pytest.fixture()
def small_model(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "m.safetensors"
    save_model(
        SqueezeNet(SqueezeNetConfig(layout="v1_1", stem="small", in_channels=1, num_classes=10)), path, FASHION_MNIST
    )
    return path


def test_huffman_round_trip_and_near_entropy():
    rng = np.random.default_rng(1)
    symbols = [
        np.minimum(rng.geometric(p, n) - 1, k - 1) for p, n, k in ((0.1, 50_000, 64), (0.5, 3000, 9), (0.3, 1, 4))
    ]
    streams = []
    for s, k in zip(symbols, (64, 9, 4)):
        counts = np.bincount(s, minlength=k)
        lengths = code_lengths(counts)
        enc = encode(s, lengths)
        probs = counts[counts > 0] / counts.sum()
        entropy_bits = -(counts[counts > 0] * np.log2(probs)).sum()
        assert enc.bits <= entropy_bits + len(s)  # Huffman is within one bit per symbol of entropy
        streams.append(Stream(enc.data, enc.bits, len(s), lengths, enc.chunk_offsets))
    for original, decoded in zip(symbols, decode_many(streams)):
        assert np.array_equal(original, decoded)


def test_kmeans_linear_init_is_exact_on_separated_clusters():
    values = np.concatenate([np.full(100, -1.0), np.full(50, 0.25), np.full(70, 2.0)])
    centroids, labels = kmeans_1d(values, 3)
    assert np.allclose(centroids, [-1.0, 0.25, 2.0]) and np.bincount(labels).tolist() == [100, 50, 70]


def test_lagrangian_assignment_is_the_exact_minimum():
    rng = np.random.default_rng(0)
    centroids = np.sort(rng.normal(size=40))
    code_bits = rng.uniform(0, 8, size=40)
    values = 2 * rng.normal(size=20_000)
    for lam in (0.0, 0.05, 1.0):
        labels = _assign(values, centroids, code_bits, lam)
        cost = (values[:, None] - centroids) ** 2 + lam * code_bits
        assert np.allclose(cost[np.arange(len(values)), labels], cost.min(axis=1))


def _entropy(labels: np.ndarray) -> float:
    p = np.bincount(labels) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def test_entropy_constrained_kmeans_trades_a_little_error_for_rate():
    values = np.random.default_rng(0).laplace(size=100_000)
    plain, plain_labels = kmeans_1d(values, 64)
    shared, labels = kmeans_1d(values, 64, rate_weight=1.0)
    assert len(plain) == 64 and len(shared) <= 64 and np.all(np.diff(shared) > 0)
    assert np.bincount(labels, minlength=len(shared)).min() > 0  # emptied clusters are dropped
    assert _entropy(labels) < _entropy(plain_labels) - 0.3
    plain_mse = np.mean((values - plain[plain_labels]) ** 2)
    assert np.mean((values - shared[labels]) ** 2) < 4 * plain_mse


@pytest.mark.parametrize("value", ["-1", "inf", "nan"])
def test_bad_rate_weight_is_refused(capsys, small_model, tmp_path, value):
    out = tmp_path / "m.sqz"
    code, _, err = run(capsys, "compress", "--weights", small_model, "--out", out, "--rate-weight", value, "--quiet")
    assert code == 2 and "--rate-weight" in err and len(err.strip().splitlines()) == 1 and not out.exists()


def test_density_and_bits_specs():
    names = ["conv1", "fire2/squeeze1x1", "fire2/expand3x3", "conv10"]
    assert parse_density("paper", names) == {
        "conv1": 1.0,
        "fire2/squeeze1x1": 1.0,
        "fire2/expand3x3": 0.33,
        "conv10": 1.0,
    }
    assert parse_density("0.5,conv10=0.9", names)["conv10"] == 0.9
    assert parse_bits(6, "conv1=8", names) == {"conv1": 8, "fire2/squeeze1x1": 6, "fire2/expand3x3": 6, "conv10": 6}
    for bad in ("expand5x5=0.3", "0", "x"):
        with pytest.raises(SqueezeNetError):
            parse_density(bad, names)
    with pytest.raises(SqueezeNetError):
        parse_bits(6, "conv1=9", names)
    with pytest.raises(SqueezeNetError, match=r"bits must be at most 8"):
        CompressOptions(bits=9).check()


def test_iterative_pruning_only_ever_shrinks_masks():
    torch.manual_seed(0)
    convs = {"a": torch.nn.Conv2d(8, 16, 3), "b": torch.nn.Conv2d(16, 4, 1)}
    final = {"a": 0.2, "b": 0.5}
    schedule = density_schedule(final, 4)
    assert schedule[-1] == final and all(schedule[i]["a"] > schedule[i + 1]["a"] for i in range(3))
    previous = None
    for densities in schedule:
        apply_pruning(convs, densities)
        with torch.no_grad():  # retraining moves the surviving weights between steps
            convs["a"].weight_orig.add_(torch.randn_like(convs["a"].weight_orig))
        mask = convs["a"].weight_mask.bool().clone()
        assert abs(mask.float().mean().item() - densities["a"]) < 1 / mask.numel() + 1e-9
        assert previous is None or not (mask & ~previous).any()  # a pruned weight never comes back
        previous = mask
    masks = remove_pruning(convs)
    assert torch.equal(masks["a"], previous) and (convs["a"].weight[~masks["a"]] == 0).all()
    assert abs(masks["b"].float().mean().item() - 0.5) < 0.01


def test_compressed_weights_are_shared_pruned_and_exact(small_model):
    loaded = load_model(small_model)
    result = compress(loaded, CompressOptions(bits=4, density="expand3x3=0.3"), progress=False)
    data, report = result.data, result.report.to_dict()
    state = result.model.model.state_dict()
    e3 = state["features.3.expand3x3.weight"]
    assert 0.28 < (e3 != 0).float().mean() < 0.32
    assert len(torch.unique(state["features.3.squeeze.weight"])) <= 16
    decoded = sqz.decode(data).state()
    assert all(torch.equal(torch.from_numpy(decoded[k]), v) for k, v in state.items())
    assert all(torch.equal(v, v.half().float()) for k, v in state.items() if k.endswith("bias"))  # stored as float16
    assert report["file_bytes"] == len(data) and report["ratio_vs_fp32"] > 8
    parts = (
        report["bias_bytes"]
        + report["table_bytes"]
        + report["header_bytes"]
        + sum(r["codebook_bytes"] + r["index_bytes"] + r["position_bytes"] for r in report["layers"])
    )
    assert parts == len(data)  # the breakdown accounts for every byte of the file
    streams = sum(r["index_bytes"] + r["position_bytes"] for r in report["layers"])
    assert report["stream_entropy_bytes"] <= streams  # Huffman cannot beat the entropy


@pytest.mark.slow
def test_cli_deterministic_round_trip_and_formats(capsys, small_model, tmp_path):
    a, b = tmp_path / "a.sqz", tmp_path / "b.sqz"
    code, out, err = run(capsys, "compress", "--weights", small_model, "--out", a, "--bits", "5", "--json", "--quiet")
    assert code == 0, err
    report = json.loads(out)
    assert run(capsys, "compress", "--weights", small_model, "--out", b, "--bits", "5", "--quiet")[0] == 0
    assert a.read_bytes() == b.read_bytes() and report["file_bytes"] == a.stat().st_size
    assert {"name", "density", "bits", "codebook_bytes", "index_bytes", "position_bytes"} <= set(report["layers"][0])
    # .sqz is a weight format like the others: convert reproduces the decoded tensors exactly
    assert run(capsys, "convert", "--weights", a, "--out", tmp_path / "c.safetensors")[0] == 0
    converted, _ = read_safetensors(tmp_path / "c.safetensors")
    sqz_model = load_model(a)
    assert all(torch.equal(converted[k], v) for k, v in sqz_model.model.state_dict().items())
    assert sqz_model.config == load_model(small_model).config and sqz_model.preprocess.color == "L"


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["empty", "truncated", "bitflip", "foreign", "header"])
def test_damaged_files_refused_with_one_line(capsys, small_model, tmp_path, damage):
    good = tmp_path / "good.sqz"
    if damage in ("truncated", "bitflip"):  # damage to a real file; the others are made from nothing
        run(capsys, "compress", "--weights", small_model, "--out", good, "--quiet")
    data = bytearray(good.read_bytes() if good.exists() else b"")
    bad = tmp_path / "bad.sqz"
    if damage == "empty":
        data = bytearray()
    elif damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "bitflip":
        data[len(data) // 3] ^= 0x10
    elif damage == "foreign":
        data = bytearray(b"PK\x03\x04" + bytes(200))
    else:  # a valid checksum over a header that lies about sizes
        import struct
        import zlib

        header = zlib.compress(json.dumps({"config": {}, "layers": [{"key": "x", "shape": [1 << 30]}]}).encode())
        body = PREFIX.pack(b"SQZF", VERSIONS[0], 0, len(header)) + header
        data = bytearray(body + struct.pack("<I", zlib.crc32(body)))
    bad.write_bytes(bytes(data))
    (tmp_path / "images" / "a").mkdir(parents=True)
    code, _, err = run(capsys, "eval", "--weights", bad, "--data", tmp_path / "images")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "sqz" in err


def test_epochs_without_images_is_refused(capsys, small_model, tmp_path):
    code, _, err = run(capsys, "compress", "--weights", small_model, "--out", tmp_path / "m.sqz", "--epochs", "2")
    assert code == 2 and err.count("\n") == 1 and "--calib-data or --data" in err
    assert not (tmp_path / "m.sqz").exists()


def test_prune_stages_without_retraining_is_refused(capsys, small_model, tmp_path):
    code, _, err = run(capsys, "compress", "--weights", small_model, "--out", tmp_path / "m.sqz", "--prune-stages", "3")
    assert code == 2 and err.count("\n") == 1 and "--epochs" in err
    assert not (tmp_path / "m.sqz").exists()


@pytest.mark.slow
def test_distilled_iterative_pruning_reaches_the_density(capsys, small_model, tmp_path):
    from PIL import Image

    calib = tmp_path / "calib"
    calib.mkdir()
    rng = np.random.default_rng(0)
    for i in range(16):
        Image.fromarray(rng.integers(0, 255, (28, 28), dtype=np.uint8), "L").save(calib / f"{i}.png")
    out = tmp_path / "m.sqz"
    argv = (
        "compress",
        "--weights",
        small_model,
        "--out",
        out,
        "--calib-data",
        calib,
        "--density",
        "expand3x3=0.25",
        "--epochs",
        "1",
        "--finetune-epochs",
        "1",
        "--prune-stages",
        "2",
        "--batch-size",
        "4",
        "--quiet",
        "--json",
    )
    code, stdout, err = run(capsys, *argv)
    assert code == 0, err
    report = json.loads(stdout)
    assert report["retrain_steps"] == 4 and report["finetune_steps"] == 4
    e3 = load_model(out).model.state_dict()["features.3.expand3x3.weight"]
    assert abs((e3 != 0).float().mean().item() - 0.25) < 0.01
    first = out.read_bytes()
    assert run(capsys, *argv)[0] == 0 and out.read_bytes() == first  # retraining is deterministic too


def test_centroid_gradient_is_the_per_cluster_sum_in_a_fixed_order():
    from squeezenet.compression.cluster import SharedWeight

    torch.manual_seed(0)
    index = torch.randint(0, 16, (256, 64, 3, 3))
    grads = []
    for _ in range(3):
        shared = SharedWeight(torch.randn(16), index, torch.ones(index.shape))
        shared(None).mul(torch.linspace(-1, 1, index.numel()).view(index.shape)).sum().backward()
        grads.append(shared.codebook.grad)
    reference = torch.bincount(index.flatten(), torch.linspace(-1, 1, index.numel()).double(), minlength=16)
    assert torch.allclose(grads[0].double(), reference, atol=0.05)  # float32 sums of 147,456 terms
    assert all(torch.equal(grads[0], g) for g in grads[1:])  # bitwise: same sums in the same order


@pytest.mark.slow
def test_size_budget_is_a_bound(tmp_path):
    """The estimate guides the bit choice; the file's real size decides (re-coded until it fits)."""
    from PIL import Image

    from squeezenet.formats.loaded import LoadedModel

    calib = tmp_path / "calib"
    calib.mkdir()
    for i in range(16):
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (28, 28), dtype=np.uint8)).save(calib / f"{i}.png")
    torch.manual_seed(0)
    config = SqueezeNetConfig(layout="v1_1", stem="small", in_channels=1, num_classes=10, base_e=32, incr_e=32)
    loaded = LoadedModel(SqueezeNet(config).eval(), FASHION_MNIST, "safetensors")
    wide = compress(loaded, CompressOptions(bits=8, calib_data=calib), progress=False).data
    budget = int(0.72 * len(wide))
    # widths only (no per-channel scales to measure): what is tested is the bound, not the choice
    fitted = compress(
        loaded, CompressOptions(calib_data=calib, size_budget=budget, channel_scales=False), progress=False
    )
    assert len(fitted.data) <= budget and fitted.report.file_bytes == len(fitted.data)
    assert min(fitted.report.bits.values()) < 8  # it had to narrow some layers
    with pytest.raises(SqueezeNetError, match=r"no bit allocation fits|could not be met"):
        compress(
            loaded, CompressOptions(calib_data=calib, size_budget=len(wide) // 5, channel_scales=False), progress=False
        )
    start = time.perf_counter()  # below one bit a weight: refused before a layer is measured
    with pytest.raises(SqueezeNetError, match=r"at one bit per weight"):
        compress(loaded, CompressOptions(calib_data=calib, size_budget=len(wide) // 20), progress=False)
    assert time.perf_counter() - start < 2.0


def test_retraining_runs_one_channel_models_channels_last_and_hands_them_back_contiguous():
    torch.manual_seed(0)
    model = SqueezeNet(SqueezeNetConfig(layout="v1_1", stem="strided", num_classes=10, in_channels=1))
    teacher = frozen_copy(model)
    formats = []  # per forward: conv1's output is channels-last (and not also NCHW)
    hook = lambda m, i, o: formats.append(o.is_contiguous(memory_format=torch.channels_last) and not o.is_contiguous())  # noqa: E731
    model.features[0].register_forward_hook(hook)
    batches = iter([(torch.randn(4, 1, 28, 28), torch.randint(0, 10, (4,)))] * 2)
    retrain(model, batches, 2, 1e-3, teacher, "test", 42, torch.device("cpu"), progress=False)
    assert formats == [True, True]  # a 1-channel image's layout is ambiguous: the weights make it channels-last
    for net in (model, teacher):
        assert all(t.is_contiguous() for t in [*net.parameters(), *net.buffers()])
