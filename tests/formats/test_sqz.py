"""The .sqz format's versions: channel scales (version 3) round trip; files without them stay version 2."""

import json
import struct
import zlib

import numpy as np
import pytest

from squeezenet.errors import SqueezeNetError
from squeezenet.formats.preprocess import IMAGENET
from squeezenet.formats.sqz import CRC, PREFIX, CodedLayer, decode, encode_sqz, stored
from squeezenet.models import SqueezeNet, SqueezeNetConfig

KEY = "classifier.1.weight"


def _encode(scale: np.ndarray | None) -> tuple[bytes, dict[str, np.ndarray], CodedLayer]:
    config = SqueezeNetConfig(layout="v1_1", num_classes=3)
    state = SqueezeNet(config).state_dict()
    shape = tuple(state[KEY].shape)
    rng = np.random.default_rng(0)
    layer = CodedLayer(
        KEY,
        "conv10",
        stored(np.array([-1.0, -0.25, 0.25, 1.0])),
        rng.integers(0, 4, shape),
        np.ones(shape, dtype=bool),
        2,
        scale=scale,
    )
    raw = {k: stored(v.numpy()) for k, v in state.items() if k != KEY}
    return encode_sqz(config, IMAGENET, None, [layer], raw)[0], raw, layer


def test_channel_scales_round_trip_as_version_3():
    scale = stored(np.linspace(0.01, 2.0, 3))
    data, raw, layer = _encode(scale)
    assert PREFIX.unpack_from(data)[1] == 3
    contents = decode(data)
    (decoded,) = contents.layers
    assert np.array_equal(decoded.scale, scale) and contents.header.layers[0].scaled
    weight = contents.state()[KEY]
    assert np.array_equal(weight, layer.codebook[layer.index] * scale[:, None, None, None])
    assert not np.array_equal(weight[0], weight[2])  # each channel its own range
    assert all(np.array_equal(contents.state()[k], v) for k, v in raw.items())


def test_a_file_without_scales_is_version_2_and_claims_of_scales_in_it_are_refused():
    data, _, layer = _encode(None)
    assert PREFIX.unpack_from(data)[1] == 2
    assert decode(data).layers[0].scale is None
    assert np.array_equal(decode(data).state()[KEY], layer.weight())
    # a version-2 header that claims scales: refused, not misread
    _, _, _, hlen = PREFIX.unpack_from(data)
    header = json.loads(zlib.decompress(data[PREFIX.size : PREFIX.size + hlen]))
    header["layers"][0]["scaled"] = True
    packed = zlib.compress(json.dumps(header).encode())
    body = PREFIX.pack(b"SQZF", 2, 0, len(packed)) + packed + data[PREFIX.size + hlen : -CRC.size]
    forged = body + struct.pack("<I", zlib.crc32(body))
    with pytest.raises(SqueezeNetError, match="channel scales"):
        decode(forged)


def test_unrounded_or_misshapen_scales_are_refused_when_writing():
    with pytest.raises(ValueError, match="stored"):
        _encode(np.array([0.1234567, 1.0, 1.0], dtype=np.float32))
    with pytest.raises(ValueError, match="one scale per output channel"):
        _encode(stored(np.ones(4)))
