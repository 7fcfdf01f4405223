"""The CPU class a result page is named by: what the kernels run as. Under an ISA cap in the
environment the class it caps to, marked ``-capped``: a capped run emulates an older CPU's kernels
(ONNX Runtime's do not follow the cap), so it never overwrites the page of a CPU of that class."""

import os

from squeezenet.utils.device import has_amx, has_vnni


def cpu_class() -> str:
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    if cap:
        return ("avx2" if cap.startswith("AVX2") else "avx512-vnni" if "VNNI" in cap else cap.lower()) + "-capped"
    return "amx" if has_amx() else "avx512-vnni" if has_vnni() else "avx2"
