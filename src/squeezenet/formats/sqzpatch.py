"""The ``.sqzpatch`` file: what turns one ``.sqz`` model into another, to send instead of a whole file.

A device holding ``BASE.sqz`` receives a patch and rebuilds ``NEW.sqz`` byte for byte. Both files
are cut into their sections (``sqz.sections``: header, code tables, each layer's codebook, index
and gap streams, each uncoded tensor); for every section of NEW the patch says one of:

    COPY  i        the bytes of BASE's section i (an index stream whose indices did not move)
    XOR   i data   BASE's section i XOR data, same length (a codebook or bias whose float16
                   values moved a little: mostly zero bytes, which deflate then squeezes)
    DATA  data     the bytes themselves (a new header, new code tables, a replaced layer)

Layout (integers little-endian)::

    magic    b"SQZP"          4 bytes
    version  u16 = 1          readers refuse others
    flags    u16 = 0          reserved
    base     32 bytes         SHA-256 of BASE.sqz: a patch applies to that file only
    result   32 bytes         SHA-256 of NEW.sqz: checked after rebuilding, before writing
    blen     u32              length of the deflated body
    body     zlib(ops)        u32 op count, then per op: u8 kind (0 COPY, 1 XOR, 2 DATA),
                              u32 base section (COPY, XOR), u32 length and bytes (XOR, DATA)
    crc32    u32              over everything before it

The reader checks the CRC, version and base hash before inflating; inflates at most
``MAX_BODY`` bytes; bounds every count and length by the bytes that remain before allocating;
and refuses a result whose hash differs. Every failure is a ``SqueezeNetError``.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

from ..errors import SqueezeNetError
from . import sqz

MAGIC = b"SQZP"
VERSION = 1
PREFIX = struct.Struct("<4sHH32s32sI")
COPY, XOR, DATA = 0, 1, 2
MAX_BODY = sqz.MAX_FILE  # a rebuilt file is never larger than a .sqz may be


def make_patch(base: bytes, new: bytes, names: tuple[str, str] = ("base model", "new model")) -> bytes:
    """The patch that turns ``base`` into ``new`` (both valid .sqz files)."""
    old_parts, new_parts = sqz.sections(base, names[0]), sqz.sections(new, names[1])
    where = {part: i for i, part in reversed(list(enumerate(old_parts)))}
    ops = [struct.pack("<I", len(new_parts))]
    for i, part in enumerate(new_parts):
        if part in where:
            ops.append(struct.pack("<BI", COPY, where[part]))
        elif i < len(old_parts) and len(old_parts[i]) == len(part):
            delta = bytes(a ^ b for a, b in zip(part, old_parts[i]))
            ops.append(struct.pack("<BII", XOR, i, len(delta)) + delta)
        else:
            ops.append(struct.pack("<BI", DATA, len(part)) + part)
    body = zlib.compress(b"".join(ops), 9)
    head = PREFIX.pack(MAGIC, VERSION, 0, _sha(base), _sha(new), len(body))
    return head + body + struct.pack("<I", zlib.crc32(head + body))


def apply_patch(base: bytes, patch: bytes, what: str = "patch") -> bytes:
    """The file ``patch`` makes of ``base``, verified against the hash it promises."""
    try:
        return _apply(base, patch)
    except SqueezeNetError as exc:
        raise SqueezeNetError(f"{what}: {exc}") from None


def _apply(base: bytes, patch: bytes) -> bytes:
    if len(patch) < PREFIX.size + 4 or patch[:4] != MAGIC:
        raise SqueezeNetError("not a .sqzpatch file")
    if zlib.crc32(patch[:-4]) != struct.unpack("<I", patch[-4:])[0]:
        raise SqueezeNetError("checksum mismatch: the patch is damaged")
    _, version, _, base_hash, result_hash, blen = PREFIX.unpack_from(patch)
    if version != VERSION:
        raise SqueezeNetError(f"format version {version}; this reader knows {VERSION}")
    if base_hash != _sha(base):
        raise SqueezeNetError("made for another base model (its SHA-256 differs from this file's)")
    if PREFIX.size + blen + 4 != len(patch):
        raise SqueezeNetError("declares more data than it holds")
    inflater = zlib.decompressobj()
    try:
        body = inflater.decompress(patch[PREFIX.size : PREFIX.size + blen], MAX_BODY)
    except zlib.error:
        raise SqueezeNetError("unreadable body") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise SqueezeNetError("unreadable body")
    old_parts = sqz.sections(base)
    parts, pos = [], 4
    count = _u32(body, 0)
    if count > len(body):  # every op takes at least one byte
        raise SqueezeNetError("declares more sections than it holds")
    for _ in range(count):
        kind = body[pos] if pos < len(body) else -1
        if kind == COPY:
            parts.append(old_parts[_section(_u32(body, pos + 1), old_parts)])
            pos += 5
        elif kind in (XOR, DATA):
            head = 9 if kind == XOR else 5
            length = _u32(body, pos + head - 4)
            if pos + head + length > len(body):
                raise SqueezeNetError("declares more data than it holds")
            data = body[pos + head : pos + head + length]
            if kind == XOR:
                old = old_parts[_section(_u32(body, pos + 1), old_parts)]
                if len(old) != length:
                    raise SqueezeNetError("a delta does not match its base section")
                data = bytes(a ^ b for a, b in zip(data, old))
            parts.append(data)
            pos += head + length
        else:
            raise SqueezeNetError("unknown operation")
    if pos != len(body):
        raise SqueezeNetError("trailing bytes after the last operation")
    result = sqz.seal(b"".join(parts))
    if _sha(result) != result_hash:
        raise SqueezeNetError("the rebuilt model is not the one the patch promises")
    return result


def _u32(data: bytes, pos: int) -> int:
    if pos + 4 > len(data):
        raise SqueezeNetError("declares more data than it holds")
    return struct.unpack_from("<I", data, pos)[0]


def _section(i: int, parts: list[bytes]) -> int:
    if i >= len(parts):
        raise SqueezeNetError("refers to a section the base model does not have")
    return i


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
