"""A SHA-256 digest that a file carries inside its own metadata, so one flipped bit is caught on load.

ONNX, OpenVINO, ``.tflite``, ``.pte`` and ``.safetensors`` files keep their metadata as plain
strings (a protobuf string, an XML attribute, a flatbuffer buffer, a JSON header), and none of
those formats checks its own bytes: a damaged weight loads and runs. Each file we write carries
``squeezenet-sha256:`` followed by 64 hex digits among its metadata. The writer puts 64 zeros
there, hashes the whole file (and any companion file, such as an IR's ``.bin``), and writes the
digest into the same 64 bytes, so no offset moves and no format needs to learn anything. The
reader zeros the 64 bytes again and compares. Files written before the digest existed have no
marker and are read as before; a file whose metadata names a digest but whose marker is gone
(the flipped bit hit the marker itself) is refused by its reader (``check_recorded``).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..errors import SqueezeNetError

MARK = b"squeezenet-sha256:"
HEX_LENGTH = 64
PLACEHOLDER = (MARK + b"0" * HEX_LENGTH).decode()  # what a metadata record carries until the file is sealed
META_DIGEST = "squeezenet_digest"  # the metadata key whose value is the placeholder, then the digest
_SEALED = re.compile(re.escape(MARK) + rb"[0-9a-f]{%d}" % HEX_LENGTH)


def _digest(data: bytes, companions: tuple[bytes, ...]) -> bytes:
    h = hashlib.sha256(data)
    for more in companions:
        h.update(more)
    return h.hexdigest().encode()


def seal(data: bytes, *companions: bytes) -> bytes:
    """``data`` with its placeholders replaced by the digest of ``data`` (placeholders in place) and
    ``companions``; unchanged when it carries none (a file with no metadata of ours). A format that
    copies metadata (OpenVINO keeps the ONNX record beside its own) carries the same digest twice."""
    if PLACEHOLDER.encode() not in data:
        return data
    return data.replace(PLACEHOLDER.encode(), MARK + _digest(data, companions))


def verify(data: bytes, name: str, *companions: bytes) -> bool:
    """Check the digest ``data`` carries; False when it carries none (an older file). Raises a
    one-line error naming ``name`` when the bytes are not the ones that were sealed."""
    found = {m.group() for m in _SEALED.finditer(data)}
    if not found:
        return False
    if len(found) > 1:
        raise SqueezeNetError(f"{name}: damaged: it carries {len(found)} different digests where one was written")
    (value,) = found
    if _digest(data.replace(value, PLACEHOLDER.encode()), companions) != value[len(MARK) :]:
        raise SqueezeNetError(
            f"{name}: damaged: its bytes do not match the SHA-256 digest written into it "
            "(a flipped bit, a partial copy or an edit)"
        )
    return True


def check_recorded(meta: dict[str, str], name: str) -> None:
    """A file whose metadata names a digest must have carried a well-formed one (``verify`` found it)."""
    value = meta.get(META_DIGEST)
    if value is not None and (not _SEALED.fullmatch(value.encode()) or value == PLACEHOLDER):
        raise SqueezeNetError(f"{name}: damaged: its digest record is unreadable")


def recorded(data: bytes) -> str | None:
    """The digest a file carries (``squeezenet-sha256:HEX``), or None."""
    found = _SEALED.search(data)
    return found.group().decode() if found else None


def write_sealed(data: bytes, out: Path) -> int:
    """``data`` sealed and written atomically; the bytes written."""
    from .atomic import write_bytes

    sealed = seal(data)
    write_bytes(out, sealed)
    return len(sealed)


def read_sealed(path: Path) -> bytes:
    """A file's bytes, its digest checked: a damaged file is refused before any parser sees it."""
    data = path.read_bytes()
    verify(data, str(path))
    return data
