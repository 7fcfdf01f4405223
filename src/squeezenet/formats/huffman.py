"""Canonical Huffman coding with vectorised encode and a batched table-driven decode.

Written here rather than taken from a package because the file stores only the code length
of each symbol (one byte each, the canonical form) and must decode a whole model in well
under a second: dahuffman pickles its code table and decodes bit by bit in Python, and
constriction's Huffman decoder is called once per symbol from Python. Decoding here splits
each stream into chunks of ``CHUNK`` symbols whose starting bit offsets are stored, and
advances every chunk of every stream at once with numpy table look-ups.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

MAX_LEN = 16  # longest code; keeps decode tables at 2**16 entries
CHUNK = 1024  # symbols between stored bit offsets


class HuffmanError(ValueError):
    """Invalid code lengths or a stream that does not decode."""


def code_lengths(counts: np.ndarray) -> np.ndarray:
    """Huffman code length per symbol (0 for absent symbols), at most ``MAX_LEN`` bits."""
    counts = np.asarray(counts, dtype=np.int64)
    present = np.flatnonzero(counts)
    lengths = np.zeros(len(counts), dtype=np.uint8)
    if len(present) == 1:
        lengths[present] = 1
        return lengths
    weights = counts[present].astype(np.float64)
    while True:
        heap = [(w, i, (i,)) for i, w in enumerate(weights)]
        heapq.heapify(heap)
        depth = np.zeros(len(weights), dtype=np.int64)
        tie = len(weights)
        while len(heap) > 1:
            w1, _, s1 = heapq.heappop(heap)
            w2, _, s2 = heapq.heappop(heap)
            for s in s1 + s2:
                depth[s] += 1
            heapq.heappush(heap, (w1 + w2, tie, s1 + s2))
            tie += 1
        if depth.max() <= MAX_LEN:
            lengths[present] = depth
            return lengths
        weights = np.floor(weights / 2) + 1  # flatten the distribution until it fits


def canonical_codes(lengths: np.ndarray) -> np.ndarray:
    """Canonical code values: shorter codes first, ties by symbol order."""
    lengths = np.asarray(lengths, dtype=np.int64)
    check_lengths(lengths)
    codes = np.zeros(len(lengths), dtype=np.int64)
    code, prev_len = 0, 0
    for sym in sorted(np.flatnonzero(lengths), key=lambda s: (lengths[s], s)):
        code <<= int(lengths[sym]) - prev_len
        codes[sym] = code
        prev_len = int(lengths[sym])
        code += 1
    return codes


def check_lengths(lengths: np.ndarray) -> None:
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.max(initial=0) > MAX_LEN:
        raise HuffmanError(f"code length over {MAX_LEN}")
    used = lengths[lengths > 0]
    if used.size == 0:
        raise HuffmanError("empty code")
    if np.sum(2.0**-used) > 1.0 + 1e-12:
        raise HuffmanError("code lengths violate the Kraft inequality")


@dataclass
class Encoded:
    data: bytes
    bits: int
    chunk_offsets: np.ndarray  # bit offset of symbol k * CHUNK, uint32


def encode(symbols: np.ndarray, lengths: np.ndarray) -> Encoded:
    symbols = np.asarray(symbols, dtype=np.int64)
    codes = canonical_codes(lengths)
    sym_len = np.asarray(lengths, dtype=np.int64)[symbols]
    if symbols.size and sym_len.min() == 0:
        raise HuffmanError("a symbol has no code")
    ends = np.cumsum(sym_len)
    starts = ends - sym_len
    total = int(ends[-1]) if symbols.size else 0
    bits = np.zeros(total, dtype=np.uint8)
    sym_code = codes[symbols]
    for j in range(int(sym_len.max(initial=0))):
        sel = sym_len > j
        bits[starts[sel] + j] = (sym_code[sel] >> (sym_len[sel] - 1 - j)) & 1
    return Encoded(np.packbits(bits).tobytes(), total, starts[::CHUNK].astype(np.uint32))


def _decode_tables(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symbol and code length for every MAX_LEN-bit window; length 0 marks an invalid code."""
    lengths = np.asarray(lengths, dtype=np.int64)
    codes = canonical_codes(lengths)
    table_sym = np.zeros(1 << MAX_LEN, dtype=np.int32)
    table_len = np.zeros(1 << MAX_LEN, dtype=np.uint8)
    for sym in np.flatnonzero(lengths):
        shift = MAX_LEN - int(lengths[sym])
        lo = int(codes[sym]) << shift
        table_sym[lo : lo + (1 << shift)] = sym
        table_len[lo : lo + (1 << shift)] = lengths[sym]
    return table_sym, table_len


@dataclass
class Stream:
    data: bytes
    bits: int
    count: int
    lengths: np.ndarray
    chunk_offsets: np.ndarray


def decode_many(streams: list[Stream]) -> list[np.ndarray]:
    """Decode several streams together: one vectorised step advances every chunk of every stream."""
    if not streams:
        return []
    tables = [_decode_tables(s.lengths) for s in streams]
    flat_sym = np.concatenate([t[0] for t in tables])
    flat_len = np.concatenate([t[1] for t in tables])
    buffer, byte_base, out_base = bytearray(), [], []
    total_out = 0
    for s in streams:
        if len(s.data) * 8 < s.bits or len(s.chunk_offsets) != -(-s.count // CHUNK):
            raise HuffmanError("stream shorter than declared or chunk table of the wrong size")
        byte_base.append(len(buffer))
        buffer += s.data
        out_base.append(total_out)
        total_out += s.count
    buf = np.frombuffer(bytes(buffer) + b"\x00" * 4, dtype=np.uint8).astype(np.uint32)
    chunk_stream = np.concatenate([np.full(len(s.chunk_offsets), i, dtype=np.int64) for i, s in enumerate(streams)])
    pos = np.concatenate([s.chunk_offsets.astype(np.int64) + 8 * byte_base[i] for i, s in enumerate(streams)])
    end = np.concatenate(
        [np.full(len(s.chunk_offsets), 8 * byte_base[i] + s.bits, dtype=np.int64) for i, s in enumerate(streams)]
    )
    out_pos = np.concatenate([out_base[i] + CHUNK * np.arange(len(s.chunk_offsets)) for i, s in enumerate(streams)])
    remaining = np.concatenate([np.minimum(CHUNK, s.count - CHUNK * np.arange(len(s.chunk_offsets))) for s in streams])
    table_base = (chunk_stream << MAX_LEN).astype(np.int64)
    out = np.zeros(total_out, dtype=np.int32)
    for _ in range(CHUNK):
        active = remaining > 0
        if not active.any():
            break
        p = pos[active]
        byte = p >> 3
        word = (buf[byte] << 24) | (buf[byte + 1] << 16) | (buf[byte + 2] << 8) | buf[byte + 3]
        window = (word >> (32 - MAX_LEN - (p & 7)).astype(np.uint32)) & ((1 << MAX_LEN) - 1)
        idx = table_base[active] + window
        length = flat_len[idx].astype(np.int64)
        if (length == 0).any() or (p + length > end[active]).any():
            raise HuffmanError("invalid code in stream")
        out[out_pos[active]] = flat_sym[idx]
        pos[active] = p + length
        out_pos[active] += 1
        remaining[active] -= 1
    return [out[b : b + s.count] for b, s in zip(out_base, streams)]
