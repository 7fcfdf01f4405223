import pytest

from squeezenet.errors import SqueezeNetError
from squeezenet.utils.seal import META_DIGEST, PLACEHOLDER, check_recorded, recorded, seal, verify

FILE = b"header " + PLACEHOLDER.encode() + b" weights " + bytes(range(256)) * 4


def test_a_sealed_file_verifies_and_every_flipped_bit_is_caught():
    sealed = seal(FILE)
    assert len(sealed) == len(FILE) and PLACEHOLDER.encode() not in sealed
    assert verify(sealed, "m.onnx") is True
    for at in range(0, len(sealed), 37):  # the marker, the digest and the weights alike
        damaged = bytearray(sealed)
        damaged[at] ^= 0x10
        with pytest.raises(SqueezeNetError, match=r"m\.onnx: damaged"):
            if not verify(bytes(damaged), "m.onnx"):  # the marker itself was hit: the record says so
                check_recorded({META_DIGEST: recorded(sealed)[:-1] + "x"}, "m.onnx")


def test_the_digest_covers_the_companion_file():
    sealed = seal(FILE, b"weights.bin")
    assert verify(sealed, "m.xml", b"weights.bin")
    with pytest.raises(SqueezeNetError, match="damaged"):
        verify(sealed, "m.xml", b"weights.bin from another export")


def test_a_copied_record_is_sealed_alike_and_an_older_file_reads_as_before():
    twice = seal(FILE + PLACEHOLDER.encode())  # OpenVINO keeps the ONNX record beside its own
    assert verify(twice, "m.xml")
    assert verify(b"an older file without a digest", "old.onnx") is False
    assert seal(b"no placeholder") == b"no placeholder"


def test_an_unsealed_placeholder_or_a_mangled_record_is_refused():
    with pytest.raises(SqueezeNetError, match="digest record"):
        check_recorded({META_DIGEST: PLACEHOLDER}, "m.safetensors")
    check_recorded({}, "m.safetensors")
    check_recorded({META_DIGEST: recorded(seal(FILE))}, "m.safetensors")
