"""The ``.sqz`` file: a Deep-Compression-coded SqueezeNet that loads back and runs.

Layout (all integers little-endian)::

    magic   b"SQZF"            4 bytes
    version u16 = 2 or 3       format version: 3 when a layer has channel scales, else 2;
                               readers refuse others
    flags   u16 = 0            reserved
    hlen    u32                length of the compressed header
    header  zlib(JSON)         config, preprocessing, classes, and a table of layers
    tlen    u32                length of the compressed code tables
    tables  zlib(...)          for every coded stream, in stream order: its canonical Huffman
                               code length per symbol (uint8) and the bit length of every
                               CHUNK-symbol chunk (uint16; a chunk holds at most
                               CHUNK * MAX_LEN = 16,384 bits), which lets the decoder start
                               every chunk at once
    blobs                      per coded layer, in table order:
                                 codebook      k x float16 (the shared weight values)
                                 scales        version 3, a layer marked "scaled" only:
                                               float16 per output channel
                                 index stream  Huffman-coded cluster indices
                                 gap stream    for a pruned layer only, Huffman-coded gaps
                               then every uncoded tensor (biases) as float16
    crc32   u32                over everything before it

A scaled layer's weight is scale[out channel] x codebook[index]: one codebook shared by every
channel of the layer, stretched per channel, which keeps one code table a layer while each
filter gets its own range (error-compensated sharing fits it; ``compression/compensate.py``).

Codebooks, scales and biases are float16: the compressor rounds them (``stored``) before coding, so the
file rebuilds exactly the model it reports. The code tables are deflated together.

Updates: ``formats/sqzpatch.py`` (beside this module) specifies the ``.sqzpatch`` file, which
rebuilds one ``.sqz`` from another section by section (``sections`` below cuts a file into them).

A pruned layer lists its surviving weights in row-major order as (gap, index) entries: gap
is the distance to the previous survivor minus one, in ``gap_bits`` bits; a larger distance
inserts filler entries (gap 2**gap_bits - 1, index symbol k, no weight), as Deep Compression
does; fillers also carry the position on past the last survivor, so that fewer than
2**gap_bits pruned weights follow the last entry, and a layer of N weights has at least
N / 2**gap_bits - 1 entries. Index and gap streams are each Huffman-coded. A dense layer
stores indices only.

The reader verifies the checksum before parsing anything; checks every header field's type
and range, and that the tensors it lists are exactly those its config builds (shapes come
by arithmetic, nothing allocated); bounds every count by what the file's bytes can
encode (a symbol takes at least one bit; a sparse layer's size by its entries) before
allocating; and rebuilds exactly the weights that were coded. Every failure is a
``SqueezeNetError``.

This module needs numpy only (no torch): a device verifies, patches and decodes a file with it;
``formats.weights.load_model`` turns the decoded tensors into a module.
"""

from __future__ import annotations

import contextlib
import json
import math
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SqueezeNetError
from ..models.config import SqueezeNetConfig
from .checks import check_classes, check_shapes
from .huffman import CHUNK, MAX_LEN, HuffmanError, Stream, code_lengths, decode_many, encode
from .imagenet import IMAGENET_MARKER, imagenet_classes
from .preprocess import Preprocess

MAGIC = b"SQZF"
VERSIONS = (2, 3)  # 3 adds per-channel scales; a file without them is written as 2, byte for byte as before
STORED = "<f2"  # codebooks, channel scales and biases
STORED_BYTES = np.dtype(STORED).itemsize
PREFIX = struct.Struct("<4sHHI")
TABLES_LENGTH = struct.Struct("<I")
CRC = struct.Struct("<I")
MAX_ELEMENTS = 1 << 26  # no SqueezeNet tensor comes near; bounds allocations from hostile headers
MAX_HEADER = 1 << 20
assert CHUNK * MAX_LEN < 1 << 16, "chunk bit lengths are stored as uint16"
MAX_TABLES = 1 << 24  # code tables of the largest allowed tensors fit well inside
MAX_FILE = 1 << 28  # bytes; a .sqz SqueezeNet is under 5 MB


@dataclass
class CodedLayer:
    """One weight-shared layer as the file holds it."""

    key: str  # state-dict key of the weight
    name: str  # the paper's layer name
    codebook: np.ndarray  # float32, k
    index: np.ndarray  # int, weight shape
    mask: np.ndarray  # bool, weight shape
    bits: int
    gap_bits: int = 8
    scale: np.ndarray | None = None  # float32 per output channel, or None: the codebook as it is

    def weight(self) -> np.ndarray:
        """What the layer decodes to: [scale x] codebook[index] where the mask keeps a weight, else 0."""
        values = self.codebook[self.index]
        if self.scale is not None:
            values = values * self.scale.reshape((-1,) + (1,) * (values.ndim - 1))
        return np.where(self.mask, values, np.float32(0)).astype(np.float32)


def stored(values: np.ndarray) -> np.ndarray:
    """``values`` rounded to the file's float16, as float32: what a decoder will rebuild."""
    with np.errstate(over="ignore"):
        rounded = np.asarray(values, dtype=np.float32).astype(STORED)
    if not np.isfinite(rounded).all():
        raise SqueezeNetError("a bias or shared weight lies outside float16's range; the model cannot be coded")
    return rounded.astype(np.float32)


# --- writing ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerBytes:
    """Where one coded layer's bytes go, for the Table 1 view of a compressed model."""

    name: str
    bits: int
    density: float
    codebook_bytes: int
    index_bytes: int
    position_bytes: int
    params: int
    scaled: bool = False  # codebook_bytes then include a float16 scale per output channel


@dataclass(frozen=True)
class SqzSizes:
    """A file's byte breakdown; the streams' order-0 entropy is the floor for any coder that
    codes their symbols independently (Huffman, ANS, arithmetic)."""

    layers: list[LayerBytes]
    bias_bytes: int
    table_bytes: int
    header_bytes: int
    stream_entropy_bytes: int


def _entries(layer: CodedLayer) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """(index symbols, stored gaps or None, sparse?) for one layer."""
    mask = layer.mask.reshape(-1)
    index = layer.index.reshape(-1).astype(np.int64)
    if mask.all():
        return index, None, False
    k, span = len(layer.codebook), 1 << layer.gap_bits
    positions = np.flatnonzero(mask)
    trailing = (len(mask) - 1 - (positions[-1] if len(positions) else -1)) // span
    positions = np.append(positions, (positions[-1] if len(positions) else -1) + span * np.arange(1, trailing + 1))
    gaps = np.diff(positions, prepend=-1)  # >= 1
    fillers = (gaps - 1) // span
    per_entry = fillers + 1
    starts = np.cumsum(per_entry) - per_entry
    total = int(per_entry.sum())
    symbols = np.full(total, k, dtype=np.int64)
    coded_gaps = np.full(total, span - 1, dtype=np.int64)
    last = starts + fillers
    symbols[last] = index[positions]
    coded_gaps[last] = gaps - fillers * span - 1
    if trailing:  # the appended positions are fillers too: they only carry the position on
        symbols[last[-trailing:]] = k
    return symbols, coded_gaps, True


def _stream(symbols: np.ndarray, alphabet: int) -> tuple[bytes, bytes, dict[str, int], float]:
    """(table bytes, stream bytes, header entry, order-0 entropy in bits) for one coded stream."""
    counts = np.bincount(symbols, minlength=alphabet)
    lengths = code_lengths(counts)
    enc = encode(symbols, lengths)
    chunk_bits = np.diff(np.append(enc.chunk_offsets.astype(np.int64), enc.bits))
    table = lengths.astype(np.uint8).tobytes() + chunk_bits.astype("<u2").tobytes()
    used = counts[counts > 0]
    entropy = float(-(used * np.log2(used / used.sum())).sum())
    return table, enc.data, {"bits": enc.bits, "bytes": len(enc.data)}, entropy


def encode_sqz(
    config: SqueezeNetConfig,
    preprocess: Preprocess,
    classes: list[str] | None,
    layers: list[CodedLayer],
    raw: dict[str, np.ndarray],
) -> tuple[bytes, SqzSizes]:
    """The file's bytes and their breakdown. Codebooks and ``raw`` tensors must already be
    ``stored`` values: the file then rebuilds exactly the model its caller holds."""
    table, tables, blobs, breakdown, entropy_bits = [], [], [], [], 0.0
    for layer in layers:
        symbols, gaps, sparse = _entries(layer)
        k = len(layer.codebook)
        entry: dict[str, object] = {
            "key": layer.key,
            "name": layer.name,
            "shape": list(layer.index.shape),
            "bits": layer.bits,
            "k": k,
            "sparse": sparse,
            "gap_bits": layer.gap_bits,
            "entries": len(symbols),
        }
        stored_parts = [layer.codebook] if layer.scale is None else [layer.codebook, layer.scale]
        if not all(np.array_equal(stored(part), part) for part in stored_parts):
            raise ValueError(f"{layer.key}: round the codebook and scales with stored() before coding them")
        if layer.scale is not None:
            if layer.scale.shape != layer.index.shape[:1]:
                raise ValueError(f"{layer.key}: one scale per output channel, got shape {layer.scale.shape}")
            entry["scaled"] = True
        codebook = b"".join(part.astype(STORED).tobytes() for part in stored_parts)
        index_table, index_data, entry["index"], index_entropy = _stream(symbols, k + (1 if sparse else 0))
        entropy_bits += index_entropy
        tables.append(index_table)
        blobs += [codebook, index_data]
        gap_data = b""
        if sparse:
            gap_table, gap_data, entry["gaps"], gap_entropy = _stream(gaps, 1 << layer.gap_bits)
            entropy_bits += gap_entropy
            tables.append(gap_table)
            blobs.append(gap_data)
        table.append(entry)
        breakdown.append(
            LayerBytes(
                layer.name,
                layer.bits,
                float(layer.mask.mean()),
                len(codebook),
                len(index_data),
                len(gap_data),
                int(layer.mask.size),
                layer.scale is not None,
            )
        )
    for key, values in raw.items():
        if not np.array_equal(stored(values), values):
            raise ValueError(f"{key}: round the tensor with stored() before coding it")
        blobs.append(np.asarray(values).astype(STORED).tobytes())
    header = {
        "config": config.to_dict(),
        "preprocess": json.loads(preprocess.to_json()),
        "classes": IMAGENET_MARKER if classes and classes == imagenet_classes(len(classes)) else classes,
        "layers": table,
        "raw": [{"key": key, "shape": list(np.shape(values))} for key, values in raw.items()],
    }
    packed = zlib.compress(json.dumps(header, sort_keys=True, separators=(",", ":")).encode(), 9)
    packed_tables = zlib.compress(b"".join(tables), 9)
    version = VERSIONS[1] if any(layer.scale is not None for layer in layers) else VERSIONS[0]
    body = b"".join(
        [
            PREFIX.pack(MAGIC, version, 0, len(packed)),
            packed,
            TABLES_LENGTH.pack(len(packed_tables)),
            packed_tables,
            *blobs,
        ]
    )
    sizes = SqzSizes(
        breakdown,
        bias_bytes=sum(STORED_BYTES * int(np.size(v)) for v in raw.values()),
        table_bytes=len(packed_tables),
        header_bytes=PREFIX.size + len(packed) + TABLES_LENGTH.size + CRC.size,
        stream_entropy_bytes=round(entropy_bits / 8),
    )
    return seal(body), sizes


def seal(body: bytes) -> bytes:
    """Body and its closing CRC-32: the whole file."""
    return body + CRC.pack(zlib.crc32(body))


# --- the header -------------------------------------------------------------------------------
@dataclass(frozen=True)
class StreamEntry:
    bits: int
    nbytes: int


@dataclass(frozen=True)
class LayerEntry:
    """A coded layer as the header declares it, every field checked."""

    key: str
    name: str
    shape: tuple[int, ...]
    bits: int
    k: int
    sparse: bool
    gap_bits: int
    entries: int
    index: StreamEntry
    gaps: StreamEntry | None
    scaled: bool = False  # a float16 scale per output channel follows the codebook, in its section

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def codebook_values(self) -> int:
        """float16 values in the codebook section: the codebook, then any channel scales."""
        return self.k + (self.shape[0] if self.scaled else 0)

    def section_sizes(self) -> list[int]:
        """Codebook [and scales], index stream, [gap stream]: the layer's sections in file order."""
        return [STORED_BYTES * self.codebook_values, self.index.nbytes] + ([self.gaps.nbytes] if self.gaps else [])


@dataclass(frozen=True)
class SqzHeader:
    """What a file declares, checked against itself and against the architecture it names."""

    config: SqueezeNetConfig
    preprocess: Preprocess
    class_spec: list[str] | str | None  # a list of names, IMAGENET_MARKER, or None
    layers: tuple[LayerEntry, ...]
    raw: tuple[tuple[str, tuple[int, ...]], ...]
    header_end: int  # offset of the code tables' length
    tables_bytes: int

    @property
    def classes(self) -> list[str] | None:
        if self.class_spec == IMAGENET_MARKER:
            return imagenet_classes(self.config.num_classes)
        return self.class_spec  # type: ignore[return-value]

    def section_sizes(self) -> list[int]:
        """Every section of the file, in file order, less the closing CRC: prefix with header;
        code tables; per layer codebook, index stream, [gap stream]; each uncoded tensor. The one
        list behind the reader, ``sections`` and the patch format."""
        sizes = [self.header_end, TABLES_LENGTH.size + self.tables_bytes]
        for layer in self.layers:
            sizes += layer.section_sizes()
        return sizes + [STORED_BYTES * math.prod(shape) for _, shape in self.raw]


def _int(value: object, lo: int, hi: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise SqueezeNetError(f"header field {what} is out of range")
    return value


def _shape(value: object) -> tuple[int, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= 4:
        raise SqueezeNetError("header has a malformed tensor shape")
    dims = tuple(_int(d, 1, MAX_ELEMENTS, "shape") for d in value)
    if math.prod(dims) > MAX_ELEMENTS:  # Python integers: a product cannot overflow
        raise SqueezeNetError("header declares a tensor too large for a SqueezeNet")
    return dims


def _stream_entry(meta: object, file_bytes: int) -> StreamEntry:
    if not isinstance(meta, dict):
        raise SqueezeNetError("header has a malformed stream entry")
    nbytes = _int(meta.get("bytes"), 0, file_bytes, "stream bytes")
    return StreamEntry(_int(meta.get("bits"), 0, 8 * nbytes, "stream bits"), nbytes)


def _layer_entry(entry: dict, shape: tuple[int, ...], file_bytes: int, version: int) -> LayerEntry:
    numel = math.prod(shape)
    scaled = entry.get("scaled") is True
    if scaled and version < VERSIONS[1]:
        raise SqueezeNetError(f"header declares channel scales, which version {version} files do not have")
    k = _int(entry.get("k"), 1, 256, "k")
    sparse = entry.get("sparse") is True
    gap_bits = _int(entry.get("gap_bits"), 1, 16, "gap_bits")
    entries = _int(entry.get("entries"), 0, MAX_ELEMENTS, "entries")
    if not sparse and entries != numel:
        raise SqueezeNetError("dense layer with the wrong number of entries")
    if sparse and numel > (entries + 1) << gap_bits:
        raise SqueezeNetError("sparse layer declares more weights than its entries can place")
    index = _stream_entry(entry.get("index"), file_bytes)
    gaps = _stream_entry(entry.get("gaps"), file_bytes) if sparse else None
    for stream in (index, gaps):
        if stream is not None and entries > stream.bits:  # every symbol takes at least one bit
            raise SqueezeNetError("chunk table does not add up to the stream")
    name = entry["name"] if isinstance(entry.get("name"), str) else entry["key"]
    return LayerEntry(
        entry["key"],
        name,
        shape,
        _int(entry.get("bits"), 1, 8, "bits"),
        k,
        sparse,
        gap_bits,
        entries,
        index,
        gaps,
        scaled,
    )


def _inflate(data: bytes, limit: int, what: str) -> bytes:
    """zlib-decompress at most ``limit`` bytes: a hostile stream cannot balloon in memory."""
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(data, limit)
    except zlib.error:
        raise SqueezeNetError(f"unreadable {what}") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise SqueezeNetError(f"unreadable {what}")
    return text


def _parse_header(data: bytes) -> SqzHeader:
    """Prefix, checksum, header (every field checked, the declared shapes against the config)
    and the section sizes against the file's length."""
    if len(data) < PREFIX.size + CRC.size:
        raise SqueezeNetError("too short")
    magic, version, _flags, hlen = PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise SqueezeNetError("wrong magic bytes")
    if version not in VERSIONS:
        raise SqueezeNetError(f"format version {version}; this reader knows {' and '.join(map(str, VERSIONS))}")
    if zlib.crc32(data[: -CRC.size]) != CRC.unpack(data[-CRC.size :])[0]:
        raise SqueezeNetError("checksum mismatch: the file is damaged")
    body_end = len(data) - CRC.size
    header_end = PREFIX.size + _int(hlen, 1, MAX_HEADER, "header length")
    if header_end + TABLES_LENGTH.size > body_end:
        raise SqueezeNetError("declares more data than it holds")
    try:
        header = json.loads(_inflate(data[PREFIX.size : header_end], MAX_HEADER, "header"))
    except (ValueError, RecursionError):
        raise SqueezeNetError("unreadable header") from None
    if not isinstance(header, dict) or not isinstance(header.get("config"), dict):
        raise SqueezeNetError("unreadable header")
    if not all(isinstance(header.get(k), list) for k in ("layers", "raw")):
        raise SqueezeNetError("header lacks its layer tables")
    config = SqueezeNetConfig.from_dict(header["config"])
    preprocess = Preprocess.from_json(json.dumps(header.get("preprocess")))
    class_spec = header.get("classes")
    if class_spec != IMAGENET_MARKER or config.num_classes != 1000:
        check_classes(class_spec, config.num_classes, "header")
    declared: dict[str, tuple[int, ...]] = {}
    for entry in header["layers"] + header["raw"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or entry["key"] in declared:
            raise SqueezeNetError("malformed tensor table")
        declared[entry["key"]] = _shape(entry.get("shape"))
    check_shapes(config, declared, "header")  # before anything is allocated
    layers = tuple(_layer_entry(e, declared[e["key"]], len(data), version) for e in header["layers"])
    raw = tuple((e["key"], declared[e["key"]]) for e in header["raw"])
    tables_bytes = TABLES_LENGTH.unpack_from(data, header_end)[0]
    parsed = SqzHeader(config, preprocess, class_spec, layers, raw, header_end, tables_bytes)
    total = sum(parsed.section_sizes())
    if total > body_end:
        raise SqueezeNetError("declares more data than it holds")
    if total < body_end:
        raise SqueezeNetError("trailing bytes after the last tensor or code table")
    return parsed


# --- reading ----------------------------------------------------------------------------------
@dataclass
class SqzContents:
    """A decoded file: its header, each coded layer (codebook, indices, mask: what ``adapt``
    fine-tunes) and the uncoded tensors, as numpy arrays."""

    header: SqzHeader
    layers: list[CodedLayer]
    raw: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def config(self) -> SqueezeNetConfig:
        return self.header.config

    @property
    def preprocess(self) -> Preprocess:
        return self.header.preprocess

    @property
    def classes(self) -> list[str] | None:
        return self.header.classes

    def state(self) -> dict[str, np.ndarray]:
        """Every tensor of the model, by state-dict key, as the file rebuilds it."""
        return {**{layer.key: layer.weight() for layer in self.layers}, **self.raw}


def _split(data: bytes, header: SqzHeader) -> list[bytes]:
    parts, pos = [], 0
    for size in header.section_sizes():
        parts.append(data[pos : pos + size])
        pos += size
    return parts


def _decode(data: bytes) -> SqzContents:
    """Header, then code tables and streams (bounded by what they can encode), then indices."""
    header = _parse_header(data)
    parts = iter(_split(data, header)[1:])
    tables_part = next(parts)
    tables = _inflate(tables_part[TABLES_LENGTH.size :], MAX_TABLES, "code tables")
    offset, streams, codebooks = 0, [], []

    def stream(entry: StreamEntry, count: int, alphabet: int, payload: bytes) -> Stream:
        nonlocal offset
        chunks = -(-count // CHUNK)
        need = alphabet + 2 * chunks
        if offset + need > len(tables):
            raise SqueezeNetError("declares more data than it holds")
        lengths = np.frombuffer(tables, dtype=np.uint8, count=alphabet, offset=offset)
        chunk_bits = np.frombuffer(tables, dtype="<u2", count=chunks, offset=offset + alphabet).astype(np.int64)
        offset += need
        if int(chunk_bits.sum()) != entry.bits:
            raise SqueezeNetError("chunk table does not add up to the stream")
        return Stream(payload, entry.bits, count, lengths, (np.cumsum(chunk_bits) - chunk_bits).astype(np.uint32))

    for layer in header.layers:
        values = np.frombuffer(next(parts), dtype=STORED).astype(np.float32)
        if not np.isfinite(values).all():
            raise SqueezeNetError(f"{layer.key}: codebook or scales not finite")
        codebooks.append((values[: layer.k], values[layer.k :] if layer.scaled else None))
        streams.append(stream(layer.index, layer.entries, layer.k + layer.sparse, next(parts)))
        if layer.gaps is not None:
            streams.append(stream(layer.gaps, layer.entries, 1 << layer.gap_bits, next(parts)))
    if offset != len(tables):
        raise SqueezeNetError("trailing bytes after the last tensor or code table")
    raw = {key: np.frombuffer(next(parts), dtype=STORED).astype(np.float32).reshape(shape) for key, shape in header.raw}
    decoded = iter(decode_many(streams))
    layers = [_rebuild(layer, *shared, decoded) for layer, shared in zip(header.layers, codebooks)]
    return SqzContents(header, layers, raw)


def _rebuild(
    layer: LayerEntry, codebook: np.ndarray, scale: np.ndarray | None, decoded: Iterator[np.ndarray]
) -> CodedLayer:
    """A layer's decoded symbols (and gaps) as indices and a mask."""
    symbols = next(decoded).astype(np.int64)
    index, mask = np.zeros(layer.numel, dtype=np.int64), np.zeros(layer.numel, dtype=bool)
    if layer.sparse:
        positions = np.cumsum(next(decoded).astype(np.int64) + 1) - 1
        real = symbols < layer.k
        if (symbols > layer.k).any() or (positions[real] >= layer.numel).any():
            raise SqueezeNetError(f"{layer.key}: positions or indices out of range")
        index[positions[real]], mask[positions[real]] = symbols[real], True
    else:
        if (symbols >= layer.k).any():
            raise SqueezeNetError(f"{layer.key}: index out of range")
        index[:], mask[:] = symbols, True
    return CodedLayer(
        layer.key,
        layer.name,
        codebook,
        index.reshape(layer.shape),
        mask.reshape(layer.shape),
        layer.bits,
        layer.gap_bits,
        scale,
    )


@contextlib.contextmanager
def _file_errors(what: str) -> Iterator[None]:
    """Any failure as one error naming the file."""
    try:
        yield
    except SqueezeNetError as exc:
        raise SqueezeNetError(f"{what}: not a valid .sqz file ({exc})") from None
    except HuffmanError as exc:
        raise SqueezeNetError(f"{what}: not a valid .sqz file (coded stream: {exc})") from None


def read_header(data: bytes, what: str = "file") -> SqzHeader:
    """The checked header of a file (checksum, fields, shapes, section sizes); no stream decoded."""
    with _file_errors(what):
        return _parse_header(data)


def decode(data: bytes, what: str = "file") -> SqzContents:
    """Everything a file holds, every check made."""
    with _file_errors(what):
        return _decode(data)


def sections(data: bytes, what: str = "file") -> list[bytes]:
    """A valid file cut into its sections (``SqzHeader.section_sizes``), less the closing CRC:
    the units an update patch copies, XORs or replaces. ``b"".join(parts)`` plus the CRC is the file."""
    return _split(data, decode(data, what).header)


def read_sqz(path: str | Path) -> SqzContents:
    """A file from disk, refused before reading when larger than any compressed SqueezeNet."""
    path = Path(path)
    if path.stat().st_size > MAX_FILE:
        raise SqueezeNetError(f"{path}: not a valid .sqz file (larger than any compressed SqueezeNet)")
    return decode(path.read_bytes(), str(path))
