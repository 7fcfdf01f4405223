"""A weight-shared model to ``.sqz`` bytes: the last step of both ``compress`` and ``adapt``.

Codebooks and the uncoded tensors (biases) are rounded to the file's float16 in the model itself
before coding, so the model left behind computes exactly what the file decodes to.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..formats import sqz
from ..formats.preprocess import Preprocess
from ..models.names import conv_paths
from ..models.squeezenet import SqueezeNet
from .cluster import SharedWeight, unshare_weights
from .layers import named_convs


@dataclass
class CodedModel:
    data: bytes  # the .sqz file
    sizes: sqz.SqzSizes
    state: dict[str, torch.Tensor]  # the model's weights, as the file decodes them


def _round_to_stored(tensor: torch.Tensor) -> None:
    with torch.no_grad():
        tensor.copy_(torch.from_numpy(sqz.stored(tensor.detach().cpu().numpy())))


def code_model(
    model: SqueezeNet,
    shared: dict[str, SharedWeight],
    layers: list[tuple[str, int, int]],
    preprocess: Preprocess,
    classes: list[str] | None,
) -> CodedModel:
    """Code ``model``, whose convolutions ``shared`` holds as (codebook, index, mask[, scales]); ``layers``
    gives each one's (paper name, index bits, gap bits) in file order. The sharing is removed:
    ``model`` keeps the decoded weights."""
    for name in shared:
        _round_to_stored(shared[name].codebook)
        if shared[name].scale is not None:
            _round_to_stored(shared[name].scale)
    paths = conv_paths(model.config)
    coded = [
        sqz.CodedLayer(
            f"{paths[name]}.weight",
            name,
            shared[name].codebook.detach().cpu().numpy().copy(),
            shared[name].index.cpu().numpy(),
            shared[name].mask.cpu().numpy().astype(bool),
            bits,
            gap_bits,
            None if shared[name].scale is None else shared[name].scale.detach().cpu().numpy().copy(),
        )
        for name, bits, gap_bits in layers
    ]
    for conv in named_convs(model).values():
        unshare_weights(conv)
    state = model.state_dict()
    keys = {layer.key for layer in coded}
    raw = {}
    for key, tensor in state.items():
        if key not in keys:
            _round_to_stored(tensor)  # state_dict tensors share the model's storage
            raw[key] = tensor.detach().cpu().numpy()
    data, sizes = sqz.encode_sqz(model.config, preprocess, classes, coded, raw)
    return CodedModel(data, sizes, state)
