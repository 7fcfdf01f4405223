"""ExecuTorch programs (``.pte``) for phones and embedded Linux, lowered to XNNPACK.

The whole graph becomes one XNNPACK subgraph (fp32, or int8 by PT2E with XNNPACK's quantizer on
our calibration images: our recipe, ``deploy/pt2e.py``, or, as the peer table's ExecuTorch
defaults, the configuration ExecuTorch's documentation sets up,
``get_symmetric_quantization_config(is_per_channel=True)``). Input N x C x H x W float, as
the ONNX graph; batch 1, the size a device runs.

The model's config, preprocessing and class names travel as a constant method of the program
(``squeezenet_metadata``, returning one JSON string), which ExecuTorch's runtime reads like any
other method and a device ignores.
"""

from __future__ import annotations

import json
import struct
from typing import TYPE_CHECKING, Any

import torch

from ..errors import SqueezeNetError
from ..formats.loaded import LoadedModel
from ..utils.native import captured_fd
from .metadata import META_BACKEND, Runner, model_metadata
from .onnx_export import example_input
from .pt2e import OurRecipe, min_max_activations, quantize_pt2e

if TYPE_CHECKING:
    from .inputs import BuildInputs

METADATA_METHOD = "squeezenet_metadata"


def to_pte(loaded: LoadedModel, backend: str, calib: torch.Tensor | None = None, ours: bool = True) -> bytes:
    """The ``.pte`` bytes of ``loaded``: fp32, or int8 calibrated on ``calib`` (``ours``: our recipe)."""
    with captured_fd(2):  # XNNPACK's cpuinfo reports files an x86 machine lacks, on every lowering
        return _lower(loaded, backend, calib, ours)


def _lower(loaded: LoadedModel, backend: str, calib: torch.Tensor | None, ours: bool) -> bytes:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    model: torch.nn.Module = loaded.model.eval().to("cpu")
    if calib is not None:
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer,
            get_symmetric_quantization_config,
        )

        config = get_symmetric_quantization_config(is_per_channel=True)
        config = min_max_activations(config) if ours else config
        quantizer = XNNPACKQuantizer().set_global(config)
        recipe = OurRecipe(quantizer, config.output_activation) if ours else quantizer
        model = quantize_pt2e(model, recipe, calib, fold=True)
    meta = json.dumps({**model_metadata(loaded), META_BACKEND: backend}, sort_keys=True)
    program = torch.export.export(model, (example_input(loaded),))
    lowered = to_edge_transform_and_lower(
        program, partitioner=[XnnpackPartitioner()], constant_methods={METADATA_METHOD: meta}
    )
    return lowered.to_executorch().buffer


def _plan(pte: bytes) -> Any:
    """The program's structure, parsed in Python: ExecuTorch's runtime aborts the process on a
    malformed file, so every file is parsed here first."""
    from executorch.exir._serialize._program import deserialize_pte_binary

    try:
        return deserialize_pte_binary(pte).program
    except (struct.error, ValueError, IndexError, TypeError, UnicodeDecodeError):
        raise SqueezeNetError("not a readable ExecuTorch program (truncated, or not a .pte flatbuffer)") from None


def _method(pte: bytes, name: str) -> tuple[Any, Any]:
    """The loaded program and its method ``name`` (None when it has none). A method runs in its
    program's memory: the caller keeps the program (and the bytes) alive as long as the method."""
    from executorch.runtime import Runtime

    _plan(pte)
    try:
        with captured_fd(2):  # cpuinfo again, when XNNPACK initialises
            program = Runtime.get().load_program(pte)
            return program, program.load_method(name) if name in program.method_names else None
    except (RuntimeError, ValueError) as exc:
        raise SqueezeNetError(f"ExecuTorch cannot load the program: {str(exc).strip()[:200]}") from None


def read_metadata(pte: bytes) -> dict[str, str]:
    """The metadata a ``.pte`` program carries (empty when it has none)."""
    _program, method = _method(pte, METADATA_METHOD)
    return {} if method is None else json.loads(method.execute([])[0])


def instructions(pte: bytes) -> list[str]:
    """The forward method's instructions, by what each runs: ``XnnpackBackend`` for a call into an
    XNNPACK subgraph, an operator's name for a kernel ExecuTorch runs itself."""
    forward = next(p for p in _plan(pte).execution_plan if p.name == "forward")
    named = []
    for chain in forward.chains:
        for instruction in chain.instructions:
            args = instruction.instr_args
            if hasattr(args, "delegate_index"):
                named.append(forward.delegates[args.delegate_index].id)
            elif hasattr(args, "op_index"):
                named.append(forward.operators[args.op_index].name)
            else:
                named.append(type(args).__name__)
    return named


class _Forward:
    """Logits for a batch, each image through the batch-1 program. Holds the bytes and the program:
    the method runs in their memory (freed, the next call read garbage shapes)."""

    def __init__(self, pte: bytes) -> None:
        self.pte = pte
        self.program, self.method = _method(pte, "forward")
        if self.method is None:
            raise SqueezeNetError("the ExecuTorch program has no forward method")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        # each output copied at once: the next execute reuses the memory the last one returned
        return torch.cat([self.method.execute([x[i : i + 1].contiguous()])[0].clone() for i in range(len(x))])


def pte_runner(pte: bytes) -> Runner:
    return _Forward(pte)


def build(inputs: BuildInputs, name: str, int8: bool = False, ours: bool = True) -> bytes:
    return to_pte(inputs.loaded, name, inputs.calib if int8 else None, ours)
