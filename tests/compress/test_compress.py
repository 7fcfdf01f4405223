import json

import numpy as np
import pytest
import torch

from squeezenet.cli import main
from squeezenet.compress.cluster import kmeans_1d
from squeezenet.compress.density import parse_bits, parse_density
from squeezenet.compress.huffman import Stream, code_lengths, decode_many, encode
from squeezenet.compress.pipeline import CompressOptions, compress
from squeezenet.compress.sqz import decode_sqz
from squeezenet.errors import SqueezeNetError
from squeezenet.io.formats import load_model, read_safetensors, save_model
from squeezenet.io.preprocess import FASHION_MNIST
from squeezenet.models import SqueezeNet, SqueezeNetConfig


@pytest.fixture()
def small_model(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "m.safetensors"
    save_model(SqueezeNet(SqueezeNetConfig(layout="v1_1", stem="small", in_channels=1, num_classes=10)), path, FASHION_MNIST)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_huffman_round_trip_and_near_entropy():
    rng = np.random.default_rng(1)
    symbols = [np.minimum(rng.geometric(p, n) - 1, k - 1) for p, n, k in ((0.1, 50_000, 64), (0.5, 3000, 9), (0.3, 1, 4))]
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


def test_density_and_bits_specs():
    names = ["conv1", "fire2/squeeze1x1", "fire2/expand3x3", "conv10"]
    assert parse_density("paper", names) == {"conv1": 1.0, "fire2/squeeze1x1": 1.0, "fire2/expand3x3": 0.33, "conv10": 1.0}
    assert parse_density("0.5,conv10=0.9", names)["conv10"] == 0.9
    assert parse_bits(6, "conv1=8", names) == {"conv1": 8, "fire2/squeeze1x1": 6, "fire2/expand3x3": 6, "conv10": 6}
    for bad in ("expand5x5=0.3", "0", "x"):
        with pytest.raises(SqueezeNetError):
            parse_density(bad, names)
    with pytest.raises(SqueezeNetError):
        parse_bits(9, None, names)


def test_compressed_weights_are_shared_pruned_and_exact(small_model):
    loaded = load_model(small_model)
    data, report, compressed = compress(loaded, CompressOptions(bits=4, density="expand3x3=0.3"), progress=False)
    state = compressed.model.state_dict()
    e3 = state["features.3.expand3x3.weight"]
    assert 0.28 < (e3 != 0).float().mean() < 0.32
    assert len(torch.unique(state["features.3.squeeze.weight"])) <= 16
    _, _, _, decoded = decode_sqz(data)
    assert all(torch.equal(decoded[k], v) for k, v in state.items())
    assert report["file_bytes"] == len(data) and report["ratio_vs_fp32"] > 8


def test_cli_deterministic_round_trip_and_formats(capsys, small_model, tmp_path):
    a, b = tmp_path / "a.sqz", tmp_path / "b.sqz"
    code, out, err = run(capsys, "compress", "--weights", small_model, "--out", a, "--bits", "5", "--json", "--quiet")
    assert code == 0, err
    report = json.loads(out)
    assert run(capsys, "compress", "--weights", small_model, "--out", b, "--bits", "5", "--quiet")[0] == 0
    assert a.read_bytes() == b.read_bytes() and report["file_bytes"] == a.stat().st_size
    assert {"name", "density", "bits", "codebook_bytes", "index_bytes", "position_bytes"} <= set(report["layers"][0])
    # .sqz is a weight format like the others: convert reproduces the decoded tensors exactly
    assert run(capsys, "convert", a, "--out", tmp_path / "c.safetensors")[0] == 0
    converted, _ = read_safetensors(tmp_path / "c.safetensors")
    sqz_model = load_model(a)
    assert all(torch.equal(converted[k], v) for k, v in sqz_model.model.state_dict().items())
    assert sqz_model.config == load_model(small_model).config and sqz_model.preprocess.color == "L"


@pytest.mark.parametrize("damage", ["empty", "truncated", "bitflip", "foreign", "header"])
def test_damaged_files_refused_with_one_line(capsys, small_model, tmp_path, damage):
    good = tmp_path / "good.sqz"
    run(capsys, "compress", "--weights", small_model, "--out", good, "--quiet")
    data = bytearray(good.read_bytes())
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
        body = b"SQZF" + struct.pack("<HHI", 1, 0, len(header)) + header
        data = bytearray(body + struct.pack("<I", zlib.crc32(body)))
    bad.write_bytes(bytes(data))
    code, _, err = run(capsys, "eval", "--weights", bad, "--data", tmp_path)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "sqz" in err


def test_epochs_without_images_is_refused(capsys, small_model, tmp_path):
    code, _, err = run(capsys, "compress", "--weights", small_model, "--out", tmp_path / "m.sqz", "--epochs", "2")
    assert code == 2 and err.count("\n") == 1 and "--calib-data or --train-data" in err
    assert not (tmp_path / "m.sqz").exists()
