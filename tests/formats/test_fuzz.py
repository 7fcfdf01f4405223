import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import save_file

from squeezenet.errors import SqueezeNetError
from squeezenet.formats.weights import load_model, read_safetensors, save_model
from squeezenet.models import SqueezeNet, SqueezeNetConfig
from squeezenet.utils.seal import META_DIGEST

HARNESS = Path(__file__).with_name("fuzz_readers.py")


@pytest.mark.slow
def test_fuzzed_weight_files_give_only_our_error_in_bounded_memory_and_time():
    """~1,000 seeded hostile .sqz / .safetensors / .pth files under a 1 GiB address-space cap
    (set above what the process holds after a warm-up load): each ends in success or a
    SqueezeNetError within a second. Before the schema checks, 60 of twice as many cases escaped:
    about 30 of these would still."""
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(HARNESS), "20261127", "400", str(1 << 30)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["cases"] > 1000 and summary["refused"] > 500
    assert summary["failed"] == 0, summary["failures"]
    assert summary["slowest_s"] < 1.0


@pytest.fixture()
def small(tmp_path):
    model = SqueezeNet(SqueezeNetConfig(layout="v1_1", num_classes=3, base_e=16, incr_e=16))
    return model, tmp_path


def test_pth_with_a_flipped_byte_is_refused(small):
    model, tmp = small
    save_model(model, tmp / "m.pth")
    data = bytearray((tmp / "m.pth").read_bytes())
    data[len(data) // 2] ^= 0x04  # inside a tensor's bytes: torch.load alone would not notice
    (tmp / "bad.pth").write_bytes(bytes(data))
    load_model(tmp / "m.pth")
    with pytest.raises(SqueezeNetError, match="damaged"):
        load_model(tmp / "bad.pth")


def test_safetensors_with_a_flipped_bit_or_edited_metadata_is_refused(small):
    """Before the digest, a flipped bit in a weight loaded and ran."""
    model, tmp = small
    save_model(model, tmp / "m.safetensors", classes=["a", "b", "c"])
    data = (tmp / "m.safetensors").read_bytes()
    for at, change in ((len(data) * 2 // 3, 0x08), (data.index(b'"classes"') + 12, 0x01)):
        damaged = bytearray(data)
        damaged[at] ^= change
        (tmp / "bad.safetensors").write_bytes(bytes(damaged))
        with pytest.raises(SqueezeNetError, match=r"bad\.safetensors: damaged"):
            load_model(tmp / "bad.safetensors")
    assert load_model(tmp / "m.safetensors").classes == ["a", "b", "c"]


@pytest.mark.parametrize(
    "key,value,message",
    [
        ("classes", "[", "not valid JSON"),
        ("classes", '["a"]', "1 class names for a head of 3"),
        ("preprocess", '{"crop": "x"}', "exactly the fields"),
        ("squeezenet_config", '{"num_classes": 1048576}', "num_classes"),
        ("squeezenet_config", '{"sr": "0.5"}', "finite number"),
        ("squeezenet_config", "[" * 10000, "not valid JSON"),
    ],
)
def test_hostile_safetensors_metadata_is_one_error(small, key, value, message):
    model, tmp = small
    save_model(model, tmp / "m.safetensors", classes=["a", "b", "c"])
    tensors, meta = read_safetensors(tmp / "m.safetensors")
    meta.pop(META_DIGEST)  # a file without a digest is read as before: its metadata is still checked
    save_file(tensors, str(tmp / "bad.safetensors"), metadata={**meta, key: value})
    with pytest.raises(SqueezeNetError, match=message):
        load_model(tmp / "bad.safetensors")


def test_preprocess_crop_zero_refused(small):
    model, tmp = small
    save_model(model, tmp / "m.safetensors")
    tensors, meta = read_safetensors(tmp / "m.safetensors")
    meta.pop(META_DIGEST)
    pre = json.loads(meta["preprocess"])
    save_file(tensors, str(tmp / "bad.safetensors"), metadata={**meta, "preprocess": json.dumps({**pre, "crop": 0})})
    with pytest.raises(SqueezeNetError, match="crop"):
        load_model(tmp / "bad.safetensors")


def test_directory_and_fifo_as_weights_say_what_they_are(tmp_path):
    with pytest.raises(SqueezeNetError, match="is a directory"):
        load_model(tmp_path)
    os.mkfifo(tmp_path / "pipe.pth")
    with pytest.raises(SqueezeNetError, match="not a regular file"):
        load_model(tmp_path / "pipe.pth")


def test_sparse_layer_with_long_pruned_tail_round_trips():
    """The encoder's trailing fillers: a layer whose last 1,000 weights are pruned still decodes."""
    import numpy as np

    from squeezenet.formats.preprocess import IMAGENET
    from squeezenet.formats.sqz import CodedLayer, decode, encode_sqz

    config = SqueezeNetConfig(layout="v1_1", num_classes=3)  # conv10: 1,536 weights
    state = SqueezeNet(config).state_dict()
    key = "classifier.1.weight"
    shape = tuple(state[key].shape)
    mask = np.zeros(shape, dtype=bool).reshape(-1)
    mask[:5] = True
    layer = CodedLayer(
        key, "conv10", np.array([-0.5, 0.5], dtype=np.float32), np.ones(shape, dtype=np.int64), mask.reshape(shape), 1
    )
    raw = {k: v.half().float().numpy() for k, v in state.items() if k != key}
    data, _ = encode_sqz(config, IMAGENET, None, [layer], raw)
    decoded = decode(data).state()[key].reshape(-1)
    assert (decoded[:5] == 0.5).all() and not decoded[5:].any() and decoded.size > 1000
