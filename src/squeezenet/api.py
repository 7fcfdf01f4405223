"""The Python API in one place: what ``import squeezenet`` offers (see the package docstring)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .compression.options import CompressOptions
from .compression.pipeline import Compressed
from .compression.pipeline import compress as _compress
from .deploy.export import ExportReport
from .deploy.export import export as _export
from .deploy.options import ExportOptions
from .formats.loaded import LoadedModel
from .formats.preprocess import FASHION_MNIST, IMAGENET, Preprocess
from .formats.weights import load_model as _load_model
from .formats.weights import save_model as _save_model
from .models.registry import DEFAULT_ARCH, arch_config
from .models.registry import list_models as _list_models
from .models.squeezenet import SqueezeNet
from .utils.atomic import write_bytes
from .zoo import create_model as _create_model


def create_model(
    name: str = DEFAULT_ARCH,
    pretrained: bool | str | Path = False,
    num_classes: int | None = None,
    weights: str | Path | None = None,
    **overrides: Any,
) -> SqueezeNet:
    """A registered architecture, randomly initialised or with pretrained weights (timm's signature,
    and torchvision's ``weights=``). ``compress``, ``export`` and ``save_model`` take what it returns.

    Args:
        name: a name from ``list_models()``.
        pretrained: False (random weights), True (torchvision's ImageNet weights, downloaded once)
            or the path of any weight file the toolkit reads.
        num_classes: the head's classes; when it differs from the weights', conv10 is replaced
            (N(0, 0.01), as the paper's release initialises it) and every other tensor kept.
        weights: the same as ``pretrained`` in torchvision's word (a path, ``"DEFAULT"``,
            ``"IMAGENET1K_V1"`` or ``"imagenet"``).
        **overrides: design-space fields (``sr``, ``pct3x3``, ``bypass``, ``stem``, ...).

    Returns:
        The module; a pretrained one carries ``.preprocess``, ``.transform`` and ``.classes``.
    """
    return _create_model(name, pretrained=pretrained, num_classes=num_classes, weights=weights, **overrides)


def _as_loaded(model: SqueezeNet | LoadedModel | str | Path) -> LoadedModel:
    """Any model the API takes, as one object: a module carries its preprocessing and classes
    (``create_model`` sets them; a module without them takes ImageNet's convention, or
    Fashion-MNIST's for one input channel), a path is read."""
    if isinstance(model, LoadedModel):
        return model
    if isinstance(model, SqueezeNet):
        default = IMAGENET if model.config.in_channels == 3 else FASHION_MNIST
        return LoadedModel(model, getattr(model, "preprocess", default), "module", getattr(model, "classes", None))
    return _load_model(model)


def list_models(pattern: str = "*") -> list[str]:
    """Registered architecture names matching a shell-style ``pattern``.

    Args:
        pattern: e.g. ``"squeezenet1_*"``.
    """
    return _list_models(pattern)


def load_model(path: str | Path, arch: str | None = None) -> LoadedModel:
    """Any weight file (.pth, .safetensors, .caffemodel, .sqz, or ``"imagenet"``) as a ready model.

    Args:
        path: the file; the architecture is read from its metadata or its tensor shapes.
        arch: what the file should hold, checked (a mismatch is an error).

    Returns:
        A ``LoadedModel``: call it on a preprocessed batch for logits; ``.transform`` turns a PIL
        image into that input; ``.classes`` names the outputs.
    """
    return _load_model(path, arch=arch_config(arch) if arch else None, arch_name=arch or DEFAULT_ARCH)


def save_model(
    model: SqueezeNet | LoadedModel,
    path: str | Path,
    preprocess: Preprocess | None = None,
    classes: list[str] | None = None,
) -> None:
    """Write weights atomically: ``.safetensors`` with config, preprocessing and classes, or ``.pth``.

    Args:
        model: the network (a training-time batch norm is folded in), or a loaded model.
        path: the file to write.
        preprocess: the input convention (default: the model's own, else ImageNet's).
        classes: class names in index order (default: the model's own).
    """
    loaded = _as_loaded(model)
    _save_model(loaded.model, path, preprocess or loaded.preprocess, classes or loaded.classes)


def compress(
    model: SqueezeNet | LoadedModel | str | Path, out: str | Path | None = None, progress: bool = False, **options: Any
) -> Compressed:
    """Deep Compression: prune, share weights, Huffman-code, to ``.sqz`` bytes that load back and run.

    Args:
        model: what ``create_model`` or ``load_model`` returns, or the path of any weight file.
        out: where to write the ``.sqz`` file (None: only returned).
        progress: show progress bars.
        **options: fields of ``CompressOptions`` (``bits``, ``density``, ``calib_data``, ``data``,
            ``epochs``, ``size_budget``, ...).

    Returns:
        ``Compressed``: ``.data`` (the file's bytes), ``.report`` (where the bytes went),
        ``.model`` (what the file decodes to).
    """
    result = _compress(_as_loaded(model), CompressOptions(**options), progress)
    if out is not None:
        write_bytes(out, result.data)
    return result


def export(
    model: SqueezeNet | LoadedModel | str | Path, out: str | Path, format: str = "onnx", **options: Any
) -> ExportReport:
    """Write an engine's file, run through its own runtime against PyTorch before it is written.

    Args:
        model: what ``create_model`` or ``load_model`` returns, or the path of any weight file.
        out: the file (``format="auto"``: a name without suffix; the chosen engine's is added).
        format: one of ``EXPORT_FORMATS`` (``onnx``, ``openvino``, ``litert``, ``tflite-micro``,
            ``executorch``, ``hls4ml``) or ``auto`` (the fastest engine on this CPU).
        **options: fields of ``ExportOptions`` (``int8``, ``calib_data``, ``batch_size``,
            ``max_disagreement``, ``fixed_bits``).
    """
    return _export(_as_loaded(model), out, ExportOptions(format=format, **options))
