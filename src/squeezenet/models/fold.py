"""Batch norm folded into the convolution before it: a trained ``norm="squeeze"`` model becomes
the plain SqueezeNet of the same design (``norm="none"``), the function its eval mode computes.

Why: batch norm is a training aid here (a higher learning rate on a network that has none), not
part of the deployed network. Folded, a saved model has torchvision's keys and every reader,
compressor and exporter of the toolkit handles it unchanged.
"""

from __future__ import annotations

import torch
from torch.nn.utils.fusion import fuse_conv_bn_weights

from .fire import Fire
from .squeezenet import SqueezeNet


@torch.no_grad()
def fold_batch_norm(model: SqueezeNet) -> SqueezeNet:
    """A new ``norm="none"`` model equal to ``model.eval()``; ``model`` itself is untouched."""
    if model.config.norm == "none":
        return model
    with torch.device("meta"):  # no allocation, no draw from the global RNG: the weights come from ``model``
        plain = SqueezeNet(model.config.replace(norm="none"))
    state = {k: v.clone() for k, v in model.state_dict().items() if ".squeeze_bn." not in k}
    for prefix, fire in model.named_modules():
        if isinstance(fire, Fire) and fire.squeeze_bn is not None:
            bn, conv = fire.squeeze_bn, fire.squeeze
            weight, bias = fuse_conv_bn_weights(
                conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
            )
            state[f"{prefix}.squeeze.weight"], state[f"{prefix}.squeeze.bias"] = weight.detach(), bias.detach()
    plain.load_state_dict(state, assign=True)
    return plain.train(model.training)
