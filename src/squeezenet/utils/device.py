"""Device auto-selection: CUDA when present, else the CPU; never required."""

from __future__ import annotations

import torch

from ..errors import SqueezeNetError


def pick_device(name: str | None = None) -> torch.device:
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise SqueezeNetError(f"unknown device {name!r} (use auto, cpu or cuda)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SqueezeNetError("--device cuda was asked for but no CUDA device is available")
    return device


def has_vnni() -> bool:
    """AVX-512 VNNI (or AVX-VNNI): int8 dot products without the 16-bit saturation of AVX2's."""
    return bool(torch.cpu._is_vnni_supported())


def has_amx() -> bool:
    """AMX tiles (Sapphire Rapids and later): int8 and bf16 matrix units."""
    return bool(torch.cpu._is_amx_tile_supported())


def cpu_isa() -> str:
    """What this CPU offers the kernels, detected at run time: e.g. ``AVX512 (VNNI, bf16, AMX)``."""
    features = [name for name, has in (("VNNI", torch.cpu._is_vnni_supported), ("bf16", torch.cpu._is_avx512_bf16_supported),
                                       ("AMX", has_amx)) if has()]  # fmt: skip
    capability = torch.backends.cpu.get_cpu_capability()
    return f"{capability} ({', '.join(features)})" if features else capability
