"""``squeezenet adapt``: fine-tune a compressed model without moving a single index.

Every layer keeps its cluster indices and pruning mask, as in Deep Compression's centroid
fine-tuning: only the codebooks and biases train. The new file then differs from the old in its
codebooks, biases and header, a few hundred bytes a layer, and an update patch
(``formats/sqzpatch.py``) carries only that. When the data's classes differ from the model's,
conv10 is replaced: trained dense first on the frozen compressed features (a linear probe),
then weight-shared at the base head's width; then every codebook and bias adapts at a fraction
(``codebook_lr``) of the head's rate.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch

from ..data import FASHION_MNIST_DATA
from ..data.sources import build_source
from ..formats import sqz
from ..formats.loaded import LoadedModel, build_checked
from ..models.squeezenet import SqueezeNet
from ..utils.device import pick_device
from ..zoo import load_pretrained
from .cluster import share_weights
from .coding import code_model
from .compensate import nearest_layer
from .layers import named_convs
from .options import AdaptOptions
from .retrain import held_out_top1, labelled_batches, retrain

HEAD = "conv10"


@dataclass
class AdaptReport:
    file_bytes: int
    head_replaced: bool
    classes: list[str]
    steps: int
    sizes: sqz.SqzSizes
    held_out_images: int
    held_out_top1: float  # the adapted model
    base_held_out_top1: float  # the base model (with the replaced head trained alone, when replaced)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def adapt(base_data: bytes, train_data: str, options: AdaptOptions, progress: bool = True) -> tuple[bytes, AdaptReport]:
    """The adapted model's .sqz bytes and a report; ``base_data`` is the .sqz it starts from."""
    options.check()
    contents = sqz.decode(base_data, "base model")
    config, preprocess = contents.config, contents.preprocess
    base = LoadedModel(build_checked(config, contents.state(), "base model"), preprocess, "sqz", contents.classes)
    folder_classes = build_source(
        train_data,
        workers=0,
        base=preprocess,
        seed=options.seed,
        input_size=None if train_data == FASHION_MNIST_DATA else preprocess.crop,
    ).classes
    replaced = folder_classes != contents.classes
    device = pick_device(options.device)
    torch.manual_seed(options.seed)
    model = SqueezeNet(config.replace(num_classes=len(folder_classes)))
    load_pretrained(model, base, keep_head=not replaced)
    convs, by_name = named_convs(model), {layer.name: layer for layer in contents.layers}
    shared = {
        layer.name: share_weights(
            convs[layer.name],
            torch.from_numpy(layer.codebook.copy()),
            torch.from_numpy(layer.index),
            torch.from_numpy(layer.mask),
            None if layer.scale is None else torch.from_numpy(layer.scale.copy()),
        )
        for layer in contents.layers
        if not (replaced and layer.name == HEAD)
    }
    batches, n = labelled_batches(
        train_data, options.batch_size, options.seed, LoadedModel(model, preprocess, "sqz", folder_classes)
    )
    epoch_steps = math.ceil(n / min(options.batch_size, n))
    evaluate = lambda: held_out_top1([model], train_data, options.seed, preprocess)[0][0]  # noqa: E731
    base_top1 = None if replaced else evaluate()
    if replaced:  # a new head learns on the frozen features first (a linear probe), then is shared at the old width
        codebooks = [p for s in shared.values() for p in s.parameters()] + [c.bias for c in convs.values()]
        for p in codebooks:
            p.requires_grad_(False)
        retrain(
            model,
            batches,
            options.head_epochs * epoch_steps,
            options.lr,
            None,
            "train the new head",
            options.seed,
            device,
            progress,
        )
        for p in codebooks:
            p.requires_grad_(True)
        base_top1 = evaluate()
        head, mask = convs[HEAD], torch.ones_like(convs[HEAD].weight, dtype=torch.bool)
        rounded = nearest_layer(head.weight, mask, by_name[HEAD].bits, options.rate_weight, channel_scales=False)
        shared[HEAD] = share_weights(head, rounded.codebook, rounded.index, mask)
    # every codebook and bias adapts, at a fraction of the head's rate: the features are ImageNet's
    retrain(
        model,
        batches,
        options.epochs * epoch_steps,
        options.lr * options.codebook_lr,
        None,
        "adapt codebooks",
        options.seed,
        device,
        progress,
    )
    layers = [(layer.name, layer.bits, layer.gap_bits) for layer in contents.layers]
    coded = code_model(model, shared, layers, preprocess, folder_classes)
    steps = (options.epochs + (options.head_epochs if replaced else 0)) * epoch_steps
    (top1,), images = held_out_top1([model], train_data, options.seed, preprocess)
    return coded.data, AdaptReport(
        len(coded.data), replaced, folder_classes, steps, coded.sizes, images, top1, base_top1
    )
