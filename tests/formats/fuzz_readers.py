"""Fuzz the weight-file readers with damaged and hostile files; print a JSON summary.

Run as a script (``test_fuzz.py`` starts it) so that the address-space limit, set after the
imports and a warm-up load, binds this process alone. Each case must end in success or a
``SqueezeNetError`` within a second, without exceeding the limit. Mutations fix up the
``.sqz`` checksum so they reach the parser, and rewrite headers structurally (wrong types,
huge numbers, deep nesting, lying shapes), not only random bytes that the checksum catches.
"""

from __future__ import annotations

import json
import random
import resource
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from squeezenet.compression.options import CompressOptions
from squeezenet.compression.pipeline import compress
from squeezenet.errors import SqueezeNetError
from squeezenet.formats.loaded import LoadedModel
from squeezenet.formats.preprocess import FASHION_MNIST
from squeezenet.formats.sqz import PREFIX, VERSIONS
from squeezenet.formats.sqzpatch import PREFIX as PATCH
from squeezenet.formats.sqzpatch import apply_patch, make_patch
from squeezenet.formats.weights import load_model, save_model
from squeezenet.models import SqueezeNet, SqueezeNetConfig

HOSTILE: list[Any] = [
    0,
    -1,
    1,
    2**20,
    2**26,
    2**31,
    2**63,
    2**70,
    -(2**63),
    0.5,
    float("nan"),
    float("inf"),
    1e308,
    True,
    None,
    "",
    "x",
    "[",
    "imagenet",
    [],
    [0],
    [2**26],
    [2**26, 2**26, 2**26, 2**26],
    [[1]],
    {},
    {"a": 1},
    "\u0000" * 10,
]


def sqz_parts(data: bytes) -> tuple[dict[str, Any], bytes]:
    """(header, everything after it) of a .sqz file."""
    _, _, _, hlen = PREFIX.unpack_from(data)
    header = json.loads(zlib.decompress(data[PREFIX.size : PREFIX.size + hlen]))
    return header, data[PREFIX.size + hlen : -4]


def sqz_bytes(header: Any, rest: bytes, raw_header: bytes | None = None) -> bytes:
    packed = zlib.compress(raw_header if raw_header is not None else json.dumps(header).encode())
    body = PREFIX.pack(b"SQZF", VERSIONS[0], 0, len(packed)) + packed + rest
    return body + struct.pack("<I", zlib.crc32(body))


def with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def mutate_value(rng: random.Random, obj: Any, depth: int = 0) -> Any:
    """``obj`` with one randomly chosen value inside it replaced, deleted or duplicated."""
    if isinstance(obj, dict) and obj and depth < 6 and rng.random() < 0.8:
        key = rng.choice(sorted(obj))
        out = dict(obj)
        roll = rng.random()
        if roll < 0.1:
            del out[key]
        else:
            out[key] = mutate_value(rng, obj[key], depth + 1)
        return out
    if isinstance(obj, list) and obj and depth < 6 and rng.random() < 0.8:
        out = list(obj)
        i = rng.randrange(len(out))
        roll = rng.random()
        if roll < 0.1:
            del out[i]
        elif roll < 0.2:
            out.insert(i, out[i])
        else:
            out[i] = mutate_value(rng, obj[i], depth + 1)
        return out
    return rng.choice(HOSTILE)


def sqz_cases(rng: random.Random, good: bytes, n: int) -> list[tuple[str, bytes]]:
    header, rest = sqz_parts(good)
    cases: list[tuple[str, bytes]] = []
    layer = header["layers"][-1]
    crafted = {
        "20 sparse 2^26 layers": {
            **header,
            "layers": [{**layer, "key": f"k{i}", "shape": [1 << 26], "sparse": True, "entries": 1} for i in range(20)],
        },
        "8500 one-element layers": {
            **header,
            "layers": [{**layer, "key": f"k{i}", "shape": [1], "entries": 1} for i in range(8500)],
        },
        "2^20 classes": {**header, "config": {**header["config"], "num_classes": 1 << 20}},
        "shape product overflows int64": {**header, "layers": [{**layer, "shape": [1 << 26] * 4}]},
        "classes shorter than the head": {**header, "classes": ["a"]},
    }
    cases += [(name, sqz_bytes(h, rest)) for name, h in crafted.items()]
    cases.append(("nested arrays", sqz_bytes(None, rest, b"[" * 100_000 + b"]" * 100_000)))
    cases.append(("header not an object", sqz_bytes(None, rest, b"17")))
    body = good[:-4]
    for i in range(n):
        kind = i % 4
        if kind == 0:  # a structural header lie
            cases.append(("header", sqz_bytes(mutate_value(rng, header), rest)))
        elif kind == 1:  # bytes of the body changed, checksum fixed up
            b = bytearray(body)
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(PREFIX.size, len(b))] = rng.randrange(256)
            cases.append(("bytes", with_crc(bytes(b))))
        elif kind == 2:  # cut or grown, checksum fixed up
            cut = rng.randrange(len(body))
            cases.append(("cut", with_crc(body[:cut] + (bytes(rng.randrange(64)) if rng.random() < 0.3 else b""))))
        else:  # random bytes without fixing the checksum (must all be caught by it)
            b = bytearray(good)
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            cases.append(("crc", bytes(b)))
    return cases


def safetensors_cases(rng: random.Random, good: Path, n: int) -> list[tuple[str, bytes]]:
    with safe_open(str(good), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - not iterable
    raw = good.read_bytes()
    header_len = struct.unpack("<Q", raw[:8])[0]
    crafted = {"classes": "[", "preprocess": '{"crop": "x"}', "squeezenet_config": '{"num_classes": 1048576}'}
    cases: list[tuple[str, bytes]] = []

    def saved(metadata: dict[str, str]) -> bytes:
        with tempfile.NamedTemporaryFile(suffix=".safetensors") as tmp:
            save_file(tensors, tmp.name, metadata=metadata)
            return Path(tmp.name).read_bytes()

    for key, value in crafted.items():
        cases.append((f"meta {key}", saved({**meta, key: value})))
    # without its config the reader infers one from tensor names and shapes, which may lie too
    bare = {k: v for k, v in meta.items() if k != "squeezenet_config"}
    keys = sorted(tensors)
    for i in range(n // 20):
        renamed = dict(tensors)
        victim = keys[rng.randrange(len(keys))]
        new_name = rng.choice(
            [victim.replace("weight", "weigh"), victim.replace(".", "x", 1), "features.x.squeeze.weight"]
        )
        renamed[new_name] = renamed.pop(victim)
        if i % 3 == 0:
            renamed[keys[rng.randrange(len(keys))]] = torch.zeros(rng.choice([(0,), (3,), (0, 1, 1, 1)]))
        with tempfile.NamedTemporaryFile(suffix=".safetensors") as tmp:
            save_file({k: v.contiguous() for k, v in renamed.items()}, tmp.name, metadata=bare)
            cases.append(("renamed tensors", Path(tmp.name).read_bytes()))
    for i in range(n):
        kind = i % 3
        if kind == 0:  # one metadata entry rewritten (JSON values inside it mutated, or replaced)
            key = rng.choice(sorted(meta))
            try:
                value = json.dumps(mutate_value(rng, json.loads(meta[key])))
            except ValueError:
                value = rng.choice(["", "[", "x", "0", "[" * 5000])
            cases.append((f"meta {key}", saved({**meta, key: value})))
        elif kind == 1:  # bytes of the JSON header changed
            b = bytearray(raw)
            for _ in range(rng.randint(1, 3)):
                b[8 + rng.randrange(header_len)] = rng.randrange(32, 127)
            cases.append(("header bytes", bytes(b)))
        else:
            cases.append(("cut", raw[: rng.randrange(len(raw))]))
    return cases


def patch_cases(rng: random.Random, base: bytes, new: bytes, n: int) -> list[tuple[str, bytes]]:
    """Update patches with their ops rewritten (re-deflated, checksum fixed up) or bytes changed."""
    good = make_patch(base, new)
    head, body = good[: PATCH.size], zlib.decompress(good[PATCH.size : -4])
    cases: list[tuple[str, bytes]] = []

    def sealed(ops: bytes) -> bytes:
        packed = zlib.compress(ops)
        h = PATCH.pack(*PATCH.unpack(head)[:5], len(packed))
        return h + packed + struct.pack("<I", zlib.crc32(h + packed))

    cases.append(("patch huge count", sealed(struct.pack("<I", 2**31) + body[4:])))
    cases.append(("patch huge length", sealed(body[:4] + struct.pack("<BI", 2, 2**31))))
    for i in range(n):
        b = bytearray(body)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        cases.append(("patch ops", sealed(bytes(b)) if i % 2 else sealed(bytes(b[: rng.randrange(len(b))]))))
    return cases


def pth_cases(rng: random.Random, good: Path, n: int) -> list[tuple[str, bytes]]:
    raw = good.read_bytes()
    cases = []
    for _ in range(n):
        b = bytearray(raw)
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        cases.append(("flip", bytes(b)))
    return cases


def main(seed: int, n: int, limit_extra: int) -> dict[str, Any]:
    torch.manual_seed(0)
    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp())
    config = SqueezeNetConfig(layout="v1_1", stem="small", in_channels=1, num_classes=4, base_e=16, incr_e=16)
    model = SqueezeNet(config)
    st, pth = tmp / "good.safetensors", tmp / "good.pth"
    save_model(model, st, FASHION_MNIST, ["a", "b", "c", "d"])
    save_model(model, pth, FASHION_MNIST)
    loaded = LoadedModel(model, FASHION_MNIST, "safetensors", ["a", "b", "c", "d"])
    dense = compress(loaded, CompressOptions(bits=4), progress=False).data
    sparse = compress(loaded, CompressOptions(bits=3, density="0.02"), progress=False).data
    cases = [(".sqz", name, data) for good in (dense, sparse) for name, data in sqz_cases(rng, good, n)]
    cases += [(".safetensors", name, data) for name, data in safetensors_cases(rng, st, n // 4)]
    cases += [(".pth", name, data) for name, data in pth_cases(rng, pth, n // 10)]
    cases += [(".sqzpatch", name, data) for name, data in patch_cases(rng, dense, sparse, n // 4)]
    for suffix, data in ((".sqz", dense), (".sqz", sparse)):  # warm up, then cap the address space
        (tmp / f"warm{suffix}").write_bytes(data)
        load_model(tmp / f"warm{suffix}")
    status = Path("/proc/self/status").read_text().splitlines()
    vm = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + limit_extra, resource.RLIM_INFINITY))

    failures, slowest, counts = [], 0.0, {"loaded": 0, "refused": 0}
    for i, (suffix, name, data) in enumerate(cases):
        path = tmp / f"case{i % 8}{suffix}"
        path.write_bytes(data)
        start = time.perf_counter()
        try:
            apply_patch(dense, data) if suffix == ".sqzpatch" else load_model(path)
            counts["loaded"] += 1
        except SqueezeNetError:
            counts["refused"] += 1
        except BaseException as exc:
            failures.append(f"{suffix} {name}: {exc.__class__.__name__}: {str(exc)[:120]}")
        seconds = time.perf_counter() - start
        slowest = max(slowest, seconds)
        if seconds > 1.0:
            failures.append(f"{suffix} {name}: took {seconds:.2f} s")
    return {"cases": len(cases), **counts, "slowest_s": slowest, "failures": failures[:20], "failed": len(failures)}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))))
