"""What every reader returns: the module, with what it expects as input and what its outputs mean."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from ..models.config import SqueezeNetConfig
from ..models.squeezenet import SqueezeNet
from .checks import check_shapes
from .imagenet import folder_names
from .preprocess import Preprocess

if TYPE_CHECKING:
    from torchvision.transforms import v2


@dataclass
class LoadedModel:
    """A model read from a file, ready to run.

    Attributes:
        model: the network, in eval mode.
        preprocess: the input convention its weights were trained with (colour order, scale,
            mean and std, resize and crop); ``transform`` turns a PIL image into its input.
        source_format: where it came from (``safetensors``, ``torchvision``, ``caffe``, ``sqz``).
        classes: class names in index order, when the file knows them.
        metadata: the file's own metadata entries (safetensors), as read.

    Calling it runs the model on a batch of preprocessed images and returns the logits.
    """

    model: SqueezeNet
    preprocess: Preprocess
    source_format: str
    classes: list[str] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> SqueezeNetConfig:
        return self.model.config

    @property
    def transform(self) -> v2.Transform:
        """PIL image -> the model's input tensor (resize, centre crop, normalise)."""
        return self.preprocess.eval_transform()

    @property
    def folder_classes(self) -> list[str] | None:
        """The class names data folders are matched to (``imagenet.folder_names``)."""
        return folder_names(self.classes)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.eval()(images)


def build_checked(config: SqueezeNetConfig, state: dict[str, Any], what: str) -> SqueezeNet:
    """The module for ``config`` holding ``state`` (tensors or numpy arrays), after checking that the two fit."""
    check_shapes(config, {k: tuple(v.shape) for k, v in state.items()}, what)
    model = SqueezeNet(config)
    model.load_state_dict({k: torch.as_tensor(v).to(torch.float32) for k, v in state.items()})
    return model.eval()
