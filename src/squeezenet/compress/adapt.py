"""``squeezenet adapt``: fine-tune a compressed model without moving a single index.

Every layer keeps its cluster indices and pruning mask, as in Deep Compression's centroid
fine-tuning: only the codebooks and biases train. The new file then differs from the old in its
codebooks, biases and header, a few hundred bytes a layer, and an update patch
(``formats/sqzpatch.py``) carries only that. When the data's classes differ from the model's,
conv10 is replaced: trained dense first on the frozen compressed features (a linear probe),
then weight-shared at the base head's width; then every codebook and bias adapts at a tenth of
the head's rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from ..data.sources import build_source
from ..errors import SqueezeNetError
from ..formats import sqz
from ..formats.loaded import LoadedModel, build_checked
from ..models import SqueezeNet
from ..zoo import load_pretrained
from .cluster import nearest_assignment, share_weights, unshare_weights
from .layers import named_convs
from .retrain import labelled_batches, retrain

HEAD = "conv10"


@dataclass
class AdaptOptions:
    """Chosen on a held-out split of hymenoptera/train from the 6-bit ImageNet v1.1 base (49
    photos, AVX-512): codebooks trained at the head's rate from the start reached 67.3%; a
    linear probe first, then 3 codebook epochs 83.7% (8 head epochs 85.7%, codebooks at 0.3x
    85.7%); 5 codebook epochs 87.8%, as fine-tuning then compressing."""

    epochs: int = 5  # codebooks and biases
    head_epochs: int = 6  # a replaced head alone, before it is shared
    lr: float = 1e-3  # the new head's; codebooks and biases train at lr * codebook_lr
    codebook_lr: float = 0.1
    batch_size: int = 16
    seed: int = 42
    rate_weight: float = 1.0  # for sharing a replaced head (cluster.py)


def adapt(base_data: bytes, train_data: str, options: AdaptOptions, progress: bool = True) -> tuple[bytes, dict[str, Any]]:
    """The adapted model's .sqz bytes and a report; ``base_data`` is the .sqz it starts from."""
    if options.epochs < 1 or options.batch_size < 1 or not (math.isfinite(options.lr) and options.lr > 0):
        raise SqueezeNetError("--epochs and --batch-size must be at least 1 and --lr a positive number")
    config, preprocess, classes, coded, raw = sqz.decode_coded(base_data, "base model")
    base = LoadedModel(build_checked(config, {**{c.key: sqz.layer_weight(c) for c in coded}, **raw}, "base model"),
                       preprocess, "sqz", classes)  # fmt: skip
    folder_classes = build_source(train_data, workers=0, base=preprocess, seed=options.seed,
                                  input_size=None if train_data == "fashion-mnist" else preprocess.crop).classes  # fmt: skip
    replaced = folder_classes != classes
    torch.manual_seed(options.seed)
    model = SqueezeNet(config.replace(num_classes=len(folder_classes)))
    load_pretrained(model, base, keep_head=not replaced)
    convs, by_name = named_convs(model), {layer.name: layer for layer in coded}
    shared = {
        layer.name: share_weights(convs[layer.name], torch.from_numpy(layer.codebook.copy()), torch.from_numpy(layer.index),
                                  torch.from_numpy(layer.mask))
        for layer in coded if not (replaced and layer.name == HEAD)
    }  # fmt: skip
    batches, n = labelled_batches(train_data, options.batch_size, options.seed, LoadedModel(model, preprocess, "sqz", folder_classes))
    epoch_steps = math.ceil(n / min(options.batch_size, n))
    if replaced:  # a new head learns on the frozen features first (a linear probe), then is shared at the old width
        codebooks = [p for s in shared.values() for p in s.parameters()] + [c.bias for c in convs.values()]
        for p in codebooks:
            p.requires_grad_(False)
        retrain(model, batches, options.head_epochs * epoch_steps, options.lr, None, "train the new head", progress)
        for p in codebooks:
            p.requires_grad_(True)
        head, mask = convs[HEAD], torch.ones_like(convs[HEAD].weight, dtype=torch.bool)
        shared[HEAD] = share_weights(head, *nearest_assignment(head.weight, by_name[HEAD].bits, mask, options.rate_weight), mask)
    # every codebook and bias adapts, at a fraction of the head's rate: the features are ImageNet's
    retrain(model, batches, options.epochs * epoch_steps, options.lr * options.codebook_lr, None, "adapt codebooks", progress)
    with torch.no_grad():  # the file keeps codebooks in float16: the model is what it decodes to
        for s in shared.values():
            s.codebook.copy_(sqz.stored(s.codebook))
    layers = [
        sqz.CodedLayer(c.key, c.name, shared[c.name].codebook.detach().numpy().copy(), shared[c.name].index.numpy(),
                       shared[c.name].mask.numpy().astype(bool), c.bits, c.gap_bits)
        for c in coded
    ]  # fmt: skip
    for conv in convs.values():
        unshare_weights(conv)
    state = model.state_dict()
    uncoded = {k: v for k, v in state.items() if k not in {c.key for c in coded}}
    with torch.no_grad():
        for tensor in uncoded.values():
            tensor.copy_(sqz.stored(tensor))
    data, sizes = sqz.encode_sqz(model.config, preprocess, folder_classes, layers, uncoded)
    return data, {**sizes, "file_bytes": len(data), "head_replaced": replaced, "classes": folder_classes,
                  "steps": (options.epochs + (options.head_epochs if replaced else 0)) * epoch_steps}  # fmt: skip
