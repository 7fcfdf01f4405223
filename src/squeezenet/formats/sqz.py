"""The ``.sqz`` file: a Deep-Compression-coded SqueezeNet that loads back and runs.

Layout (all integers little-endian)::

    magic   b"SQZF"            4 bytes
    version u16 = 2            format version; readers refuse others
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
                                 index stream  Huffman-coded cluster indices
                                 gap stream    for a pruned layer only, Huffman-coded gaps
                               then every uncoded tensor (biases) as float16
    crc32   u32                over everything before it

Version 2 stores codebooks and biases in float16 (the compressor rounds them before coding,
so the file still rebuilds exactly the model it reports) and deflates the code tables
together, which takes 29 KB off an 8-bit v1.1 file (version 1: 1.019 MB, version 2: 0.990 MB).

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
from the meta device, nothing allocated); bounds every count by what the file's bytes can
encode (a symbol takes at least one bit; a sparse layer's size by its entries) before
allocating; and rebuilds exactly the weights that were coded. Every failure is a
``SqueezeNetError``.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import SqueezeNetError
from ..models.config import SqueezeNetConfig
from ..utils.atomic import write_bytes
from .huffman import CHUNK, MAX_LEN, HuffmanError, Stream, code_lengths, decode_many, encode
from .loaded import LoadedModel, build_checked, check_classes, check_shapes, imagenet_classes
from .preprocess import Preprocess

MAGIC = b"SQZF"
VERSION = 2
STORED = "<f2"  # codebooks and biases
PREFIX = struct.Struct("<4sHHI")
MAX_ELEMENTS = 1 << 26  # no SqueezeNet tensor comes near; bounds allocations from hostile headers
MAX_HEADER = 1 << 20
assert CHUNK * MAX_LEN < 1 << 16, "chunk bit lengths are stored as uint16"
MAX_TABLES = 1 << 24  # code tables of the largest allowed tensors fit well inside
MAX_FILE = 1 << 28  # bytes; a .sqz SqueezeNet is under 5 MB


@dataclass
class CodedLayer:
    key: str  # state-dict key of the weight
    name: str  # the paper's layer name
    codebook: np.ndarray  # float32, k
    index: np.ndarray  # int, weight shape
    mask: np.ndarray  # bool, weight shape
    bits: int
    gap_bits: int = 8


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


def stored(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` rounded to the file's float16, as float32: what a decoder will rebuild."""
    rounded = tensor.detach().to(torch.float16)
    if not torch.isfinite(rounded).all():
        raise SqueezeNetError("a bias or shared weight lies outside float16's range; the model cannot be coded")
    return rounded.to(torch.float32)


def _stream(symbols: np.ndarray, alphabet: int) -> tuple[bytes, bytes, dict[str, int], float]:
    """(table bytes, stream bytes, header entry, entropy in bits) for one Huffman-coded stream.

    The order-0 entropy (of the symbols' own histogram) is the floor for any coder that codes
    them independently (Huffman, ANS, arithmetic); the report sets it beside the Huffman bytes.
    """
    counts = np.bincount(symbols, minlength=alphabet)
    lengths = code_lengths(counts)
    enc = encode(symbols, lengths)
    chunk_bits = np.diff(np.append(enc.chunk_offsets.astype(np.int64), enc.bits))
    table = lengths.astype(np.uint8).tobytes() + chunk_bits.astype("<u2").tobytes()
    used = counts[counts > 0]
    entropy = float(-(used * np.log2(used / used.sum())).sum())
    return table, enc.data, {"bits": enc.bits, "bytes": len(enc.data)}, entropy


def encode_sqz(
    config: SqueezeNetConfig, preprocess: Preprocess, classes: list[str] | None,
    layers: list[CodedLayer], raw: dict[str, torch.Tensor],
) -> tuple[bytes, dict[str, Any]]:  # fmt: skip
    """The file's bytes and a byte breakdown (per layer, biases, code tables) for the Table 1 view."""
    table, tables, blobs, breakdown, entropy_bits = [], [], [], [], 0.0
    for layer in layers:
        symbols, gaps, sparse = _entries(layer)
        k = len(layer.codebook)
        entry: dict[str, Any] = {
            "key": layer.key, "name": layer.name, "shape": list(layer.index.shape), "bits": layer.bits, "k": k,
            "sparse": sparse, "gap_bits": layer.gap_bits, "entries": int(len(symbols)),
        }  # fmt: skip
        codebook = stored(torch.from_numpy(layer.codebook)).numpy()
        if not np.array_equal(codebook, layer.codebook):
            raise ValueError(f"{layer.key}: round the codebook with stored() before coding it")
        index_table, index_data, entry["index"], index_entropy = _stream(symbols, k + (1 if sparse else 0))
        entropy_bits += index_entropy
        tables.append(index_table)
        blobs += [codebook.astype(STORED).tobytes(), index_data]
        gap_data = b""
        if sparse:
            gap_table, gap_data, entry["gaps"], gap_entropy = _stream(gaps, 1 << layer.gap_bits)
            entropy_bits += gap_entropy
            tables.append(gap_table)
            blobs.append(gap_data)
        table.append(entry)
        breakdown.append({
            "name": layer.name, "bits": layer.bits, "density": float(layer.mask.mean()),
            "codebook_bytes": codebook.astype(STORED).nbytes, "index_bytes": len(index_data),
            "position_bytes": len(gap_data), "params": int(layer.mask.size),
        })  # fmt: skip
    for key, t in raw.items():
        values = stored(t)
        if not torch.equal(values, t.detach().to(torch.float32)):
            raise ValueError(f"{key}: round the tensor with stored() before coding it")
        blobs.append(values.numpy().astype(STORED).tobytes())
    header = {
        "config": config.to_dict(), "preprocess": json.loads(preprocess.to_json()),
        "classes": "imagenet" if classes and classes == imagenet_classes(len(classes)) else classes,
        "layers": table, "raw": [{"key": key, "shape": list(t.shape)} for key, t in raw.items()],
    }  # fmt: skip
    packed = zlib.compress(json.dumps(header, sort_keys=True, separators=(",", ":")).encode(), 9)
    packed_tables = zlib.compress(b"".join(tables), 9)
    body = (PREFIX.pack(MAGIC, VERSION, 0, len(packed)) + packed + struct.pack("<I", len(packed_tables))
            + packed_tables + b"".join(blobs))  # fmt: skip
    sizes = {
        "layers": breakdown,
        "bias_bytes": sum(2 * t.numel() for t in raw.values()),
        "table_bytes": len(packed_tables),
        "header_bytes": PREFIX.size + len(packed) + 4 + 4,
        "stream_entropy_bytes": round(entropy_bits / 8),
    }
    return seal(body), sizes


def write_sqz(path: str | Path, data: bytes) -> None:
    write_bytes(path, data)


# --- reading --------------------------------------------------------------------------
class _Cursor:
    def __init__(self, data: bytes, start: int) -> None:
        self.data, self.pos = data, start

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise SqueezeNetError("declares more data than it holds")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk


def _int(value: Any, lo: int, hi: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise SqueezeNetError(f"header field {what} is out of range")
    return value


def _shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= 4:
        raise SqueezeNetError("header has a malformed tensor shape")
    dims = tuple(_int(d, 1, MAX_ELEMENTS, "shape") for d in value)
    if math.prod(dims) > MAX_ELEMENTS:  # Python integers: a product cannot overflow
        raise SqueezeNetError("header declares a tensor too large for a SqueezeNet")
    return dims


def _read_stream(cur: _Cursor, tables: _Cursor, meta: Any, count: int, alphabet: int) -> Stream:
    if not isinstance(meta, dict):
        raise SqueezeNetError("header has a malformed stream entry")
    lengths = np.frombuffer(tables.take(alphabet), dtype=np.uint8)
    chunk_bits = np.frombuffer(tables.take(2 * -(-count // CHUNK)), dtype="<u2").astype(np.int64)
    nbytes = _int(meta.get("bytes"), 0, len(cur.data), "stream bytes")
    bits = _int(meta.get("bits"), 0, 8 * nbytes, "stream bits")
    if count > bits or int(chunk_bits.sum()) != bits:  # every symbol takes at least one bit
        raise SqueezeNetError("chunk table does not add up to the stream")
    offsets = (np.cumsum(chunk_bits) - chunk_bits).astype(np.uint32)
    return Stream(cur.take(nbytes), bits, count, lengths, offsets)


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


def decode_sqz(data: bytes, what: str = "file") -> tuple[SqueezeNetConfig, Preprocess, list[str] | None, dict[str, torch.Tensor]]:
    """(config, preprocessing, classes, state dict) of a .sqz file's bytes."""
    config, preprocess, classes, coded, raw = decode_coded(data, what)
    return config, preprocess, classes, {**{layer.key: layer_weight(layer) for layer in coded}, **raw}


def _decode(data: bytes) -> tuple[SqueezeNetConfig, Preprocess, list[str] | None, list[CodedLayer], dict[str, torch.Tensor]]:
    """Header, then tensors, then the coded streams: each phase checks what the next relies on."""
    cur, header, config, preprocess, classes, declared = _read_header(data)
    layers, streams, raw = _read_tensors(cur, header, declared)
    return config, preprocess, classes, _rebuild(layers, streams), {key: torch.from_numpy(v.copy()) for key, v in raw}


def _read_header(data: bytes) -> tuple[_Cursor, dict[str, Any], SqueezeNetConfig, Preprocess, list[str] | None, dict[str, tuple[int, ...]]]:
    """Prefix, checksum and header, every field checked, and the declared shapes against the config."""
    if len(data) < PREFIX.size + 4:
        raise SqueezeNetError("too short")
    magic, version, _flags, hlen = PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise SqueezeNetError("wrong magic bytes")
    if version != VERSION:
        raise SqueezeNetError(f"format version {version}; this reader knows {VERSION}")
    if zlib.crc32(data[:-4]) != struct.unpack("<I", data[-4:])[0]:
        raise SqueezeNetError("checksum mismatch: the file is damaged")
    body = data[:-4]
    cur = _Cursor(body, PREFIX.size)
    try:
        header = json.loads(_inflate(cur.take(_int(hlen, 1, MAX_HEADER, "header length")), MAX_HEADER, "header"))
    except (ValueError, RecursionError):
        raise SqueezeNetError("unreadable header") from None
    if not isinstance(header, dict) or not isinstance(header.get("config"), dict):
        raise SqueezeNetError("unreadable header")
    if not all(isinstance(header.get(k), list) for k in ("layers", "raw")):
        raise SqueezeNetError("header lacks its layer tables")
    config = SqueezeNetConfig.from_dict(header["config"])
    preprocess = Preprocess.from_json(json.dumps(header.get("preprocess")))
    classes = header.get("classes")
    classes = check_classes(imagenet_classes(config.num_classes) if classes == "imagenet" else classes, config.num_classes, "header")
    declared = {}
    for entry in header["layers"] + header["raw"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or entry["key"] in declared:
            raise SqueezeNetError("malformed tensor table")
        declared[entry["key"]] = _shape(entry.get("shape"))
    check_shapes(config, declared, "header")  # before anything is allocated
    return cur, header, config, preprocess, classes, declared


def _read_tensors(cur: _Cursor, header: dict[str, Any], declared: dict[str, tuple[int, ...]]) -> tuple[list[tuple], list[Stream], list[tuple]]:
    """Code tables, then per layer its codebook and streams (bounded by what they can encode), then the raw tensors."""
    table_bytes = struct.unpack("<I", cur.take(4))[0]
    tables = _Cursor(_inflate(cur.take(table_bytes), MAX_TABLES, "code tables"), 0)
    layers, streams = [], []
    for entry in header["layers"]:
        shape = declared[entry["key"]]
        numel = math.prod(shape)
        k = _int(entry.get("k"), 1, 256, "k")
        sparse = entry.get("sparse") is True
        gap_bits = _int(entry.get("gap_bits"), 1, 16, "gap_bits")
        entries = _int(entry.get("entries"), 0, MAX_ELEMENTS, "entries")
        if not sparse and entries != numel:
            raise SqueezeNetError("dense layer with the wrong number of entries")
        if sparse and numel > (entries + 1) << gap_bits:
            raise SqueezeNetError("sparse layer declares more weights than its entries can place")
        codebook = np.frombuffer(cur.take(2 * k), dtype=STORED).astype(np.float32)
        streams.append(_read_stream(cur, tables, entry.get("index"), entries, k + (1 if sparse else 0)))
        if sparse:
            streams.append(_read_stream(cur, tables, entry.get("gaps"), entries, 1 << gap_bits))
        name = entry.get("name") if isinstance(entry.get("name"), str) else entry["key"]
        layers.append((entry["key"], name, _int(entry.get("bits"), 1, 8, "bits"), shape, numel, k, sparse, gap_bits, codebook))
    raw = []
    for entry in header["raw"]:
        shape = declared[entry["key"]]
        values = np.frombuffer(cur.take(2 * math.prod(shape)), dtype=STORED).astype(np.float32)
        raw.append((entry["key"], values.reshape(shape)))
    if cur.pos != len(cur.data) or tables.pos != len(tables.data):
        raise SqueezeNetError("trailing bytes after the last tensor or code table")
    return layers, streams, raw


def _rebuild(layers: list[tuple], streams: list[Stream]) -> list[CodedLayer]:
    """Decode every stream at once and turn symbols (and gaps) into indices and masks."""
    decoded = iter(decode_many(streams))
    coded = []
    for key, name, bits, shape, numel, k, sparse, gap_bits, codebook in layers:
        symbols = next(decoded).astype(np.int64)
        index, mask = np.zeros(numel, dtype=np.int64), np.zeros(numel, dtype=bool)
        if sparse:
            positions = np.cumsum(next(decoded).astype(np.int64) + 1) - 1
            real = symbols < k
            if (symbols > k).any() or (positions[real] >= numel).any():
                raise SqueezeNetError(f"{key}: positions or indices out of range")
            index[positions[real]], mask[positions[real]] = symbols[real], True
        else:
            if (symbols >= k).any():
                raise SqueezeNetError(f"{key}: index out of range")
            index[:], mask[:] = symbols, True
        coded.append(CodedLayer(key, name, codebook, index.reshape(shape), mask.reshape(shape), bits, gap_bits))
    return coded


def decode_coded(data: bytes, what: str = "file") -> tuple[SqueezeNetConfig, Preprocess, list[str] | None, list[CodedLayer], dict[str, torch.Tensor]]:
    """The file as coded: each layer's codebook, indices and mask (what ``adapt`` fine-tunes), and
    the uncoded tensors."""
    try:
        return _decode(data)
    except SqueezeNetError as exc:
        raise SqueezeNetError(f"{what}: not a valid .sqz file ({exc})") from None
    except HuffmanError as exc:
        raise SqueezeNetError(f"{what}: not a valid .sqz file (coded stream: {exc})") from None


def layer_weight(layer: CodedLayer) -> torch.Tensor:
    """What a coded layer decodes to: codebook[index] where the mask keeps a weight, else 0."""
    return torch.from_numpy(np.where(layer.mask, layer.codebook[layer.index], np.float32(0)).astype(np.float32))


def sections(data: bytes, what: str = "file") -> list[bytes]:
    """A valid file cut into its parts, in file order (prefix with header; code tables; per layer
    codebook, index stream, [gap stream]; each uncoded tensor), less the closing CRC: the units
    an update patch copies, XORs or replaces. ``b"".join(parts)`` plus the CRC is the file."""
    decode_coded(data, what)  # everything below relies on a file that decodes
    hlen = PREFIX.unpack_from(data)[3]
    header = json.loads(zlib.decompress(data[PREFIX.size : PREFIX.size + hlen]))
    pos = PREFIX.size + hlen
    sizes = [4 + struct.unpack_from("<I", data, pos)[0]]
    for entry in header["layers"]:
        sizes += [2 * entry["k"], entry["index"]["bytes"]] + ([entry["gaps"]["bytes"]] if entry["sparse"] else [])
    sizes += [2 * math.prod(entry["shape"]) for entry in header["raw"]]
    parts = [data[:pos]]
    for size in sizes:
        parts.append(data[pos : pos + size])
        pos += size
    return parts


def seal(body: bytes) -> bytes:
    """Body and its closing CRC-32: the whole file."""
    return body + struct.pack("<I", zlib.crc32(body))


def load_sqz(path: str | Path) -> LoadedModel:
    path = Path(path)
    if path.stat().st_size > MAX_FILE:
        raise SqueezeNetError(f"{path}: not a valid .sqz file (larger than any compressed SqueezeNet)")
    config, preprocess, classes, state = decode_sqz(path.read_bytes(), str(path))
    return LoadedModel(build_checked(config, state, str(path)), preprocess, "sqz", classes)
