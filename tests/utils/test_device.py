import pytest
import torch

from squeezenet.train.loop import autocast_dtype
from squeezenet.utils.device import ISA_CAP_VARIABLES, cpu_isa, native_bf16

CPU = torch.device("cpu")


@pytest.fixture()
def bf16_cpu(monkeypatch):
    """A CPU with AVX-512 VNNI, BF16 and AMX, its kernels uncapped, whatever this machine has."""
    monkeypatch.setattr(torch.cpu, "_is_vnni_supported", lambda: True)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    for name in ISA_CAP_VARIABLES:  # ATEN_CPU_CAPABILITY is read at start-up; only cpu_isa() looks again
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_training_autocasts_to_bf16_only_where_the_kernels_compute_it_natively(bf16_cpu):
    assert native_bf16() and autocast_dtype(CPU, "auto") == torch.bfloat16
    bf16_cpu.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")  # a cap that keeps bf16
    assert native_bf16()
    bf16_cpu.setenv("ONEDNN_MAX_CPU_ISA", "avx2")  # reproducing an AVX2-only machine: bf16 would be emulated
    assert not native_bf16() and autocast_dtype(CPU, "auto") is None
    assert "(kernels set by ONEDNN_MAX_CPU_ISA=avx2; the CPU has VNNI, bf16, AMX)" in cpu_isa()
    assert autocast_dtype(CPU, "bf16") == torch.bfloat16  # asked for explicitly, it is still given


def test_an_aten_capability_below_avx512_or_a_cpu_without_bf16_units_trains_in_fp32(bf16_cpu):
    bf16_cpu.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert not native_bf16()
    bf16_cpu.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    bf16_cpu.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    bf16_cpu.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert not native_bf16() and autocast_dtype(CPU, "auto") is None
