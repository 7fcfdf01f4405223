"""PyTorch itself as a backend: the eager module, or compiled by ``torch.compile`` (Inductor)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from .metadata import Runner

if TYPE_CHECKING:
    from .inputs import BuildInputs


def module(inputs: BuildInputs) -> torch.nn.Module:
    return inputs.loaded.model.eval().to(inputs.device or "cpu")


def compiled(inputs: BuildInputs) -> Any:
    from ..utils.device import quiet_missing_cuda

    quiet_missing_cuda()
    return torch.compile(module(inputs))


def runner(net: Any) -> Runner:
    """Logits on the module's own device, returned on the CPU."""
    device = next(p.device for p in (net._orig_mod if hasattr(net, "_orig_mod") else net).parameters())

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return net(x.to(device)).cpu()

    return run
