"""Devices and what they compute natively: CUDA when present, else the CPU (never required), the
CPU's ISA detected at run time, and the one precision policy of training."""

from __future__ import annotations

import os

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


# Environment variables that cap the kernels' ISA below the CPU's, and the oneDNN caps under
# which its convolutions have no bf16 dot products.
ISA_CAP_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")
_ONEDNN_CAPS_WITHOUT_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI")


def native_bf16() -> bool:
    """bf16 that the CPU computes natively (AVX-512 BF16 or AMX) and the kernels may use: not when
    ``ATEN_CPU_CAPABILITY`` or ``ONEDNN_MAX_CPU_ISA`` caps them below it, as when reproducing an
    AVX2-only machine on a newer one. There bf16 is emulated: 0.22x fp32's training speed."""
    if not (torch.cpu._is_avx512_bf16_supported() or has_amx()):
        return False
    onednn_cap = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "").strip().upper()
    return torch.backends.cpu.get_cpu_capability().startswith("AVX512") and onednn_cap not in _ONEDNN_CAPS_WITHOUT_BF16


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it (``platform.processor`` is often empty on Linux)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def cpu_isa() -> str:
    """What this CPU offers the kernels, detected at run time: e.g. ``AVX512 (VNNI, bf16, AMX)``;
    with the kernels' ISA set in the environment, says how: the features are then the CPU's, not theirs."""
    features = [
        name
        for name, has in (
            ("VNNI", torch.cpu._is_vnni_supported),
            ("bf16", torch.cpu._is_avx512_bf16_supported),
            ("AMX", has_amx),
        )
        if has()
    ]
    capability = torch.backends.cpu.get_cpu_capability()
    caps = [f"{name}={os.environ[name]}" for name in ISA_CAP_VARIABLES if os.environ.get(name)]
    if caps:
        has = ", ".join(features) or "no VNNI, bf16 or AMX"
        return f"{capability} (kernels set by {', '.join(caps)}; the CPU has {has})"
    return f"{capability} ({', '.join(features)})" if features else capability


def autocast_dtype(device: torch.device, amp: str = "auto") -> torch.dtype | None:
    """The autocast precision for ``amp`` (auto, bf16, fp16, off): under ``auto``, bf16 or fp16
    where the hardware computes it natively, else None (fp32): emulated, it is slower."""
    if amp == "off":
        return None
    if amp == "bf16":
        return torch.bfloat16
    if amp == "fp16":
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if native_bf16() else None


def quiet_missing_cuda() -> None:
    """``torch.utils.cpp_extension`` (imported by NNCF and torch.compile) warns "No CUDA runtime is
    found" on every CPU-only machine; nothing is wrong there, so that one logger is quietened."""
    if not torch.cuda.is_available():
        import logging

        logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)


def machine() -> str:
    """The CPU, what its kernels run and the date, for a line under a measured figure."""
    from datetime import datetime, timezone

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    return f"{cpu_model()} ({cpu_isa()}, {torch.get_num_threads()} threads), {stamp}"
