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
from .formats.preprocess import IMAGENET, Preprocess
from .formats.sqz import write_sqz
from .formats.weights import load_model as _load_model
from .formats.weights import save_model as _save_model
from .models.registry import DEFAULT_ARCH, arch_config
from .models.registry import list_models as _list_models
from .models.squeezenet import SqueezeNet
from .zoo import create_model as _create_model


def create_model(
    name: str = DEFAULT_ARCH, pretrained: bool | str | Path = False, num_classes: int | None = None, **overrides: Any
) -> SqueezeNet:
    """A registered architecture, randomly initialised or with pretrained weights (timm's signature).

    Args:
        name: a name from ``list_models()``.
        pretrained: False (random weights), True (torchvision's ImageNet weights, downloaded once)
            or the path of any weight file the toolkit reads.
        num_classes: the head's classes; when it differs from the weights', conv10 is replaced
            (N(0, 0.01), as the paper's release initialises it) and every other tensor kept.
        **overrides: design-space fields (``sr``, ``pct3x3``, ``bypass``, ``stem``, ...).
    """
    return _create_model(name, pretrained=pretrained, num_classes=num_classes, **overrides)


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
        preprocess: the input convention (default: the loaded model's, else ImageNet's).
        classes: class names in index order (default: the loaded model's).
    """
    if isinstance(model, LoadedModel):
        preprocess, classes, model = preprocess or model.preprocess, classes or model.classes, model.model
    _save_model(model, path, preprocess or IMAGENET, classes)


def compress(
    model: LoadedModel | str | Path, out: str | Path | None = None, progress: bool = False, **options: Any
) -> Compressed:
    """Deep Compression: prune, share weights, Huffman-code, to ``.sqz`` bytes that load back and run.

    Args:
        model: a loaded model, or the path of any weight file.
        out: where to write the ``.sqz`` file (None: only returned).
        progress: show progress bars.
        **options: fields of ``CompressOptions`` (``bits``, ``density``, ``calib_data``, ``data``,
            ``epochs``, ``size_budget``, ...).

    Returns:
        ``Compressed``: ``.data`` (the file's bytes), ``.report`` (where the bytes went),
        ``.model`` (what the file decodes to).
    """
    loaded = model if isinstance(model, LoadedModel) else _load_model(model)
    result = _compress(loaded, CompressOptions(**options), progress)
    if out is not None:
        write_sqz(out, result.data)
    return result


def export(model: LoadedModel | str | Path, out: str | Path, format: str = "onnx", **options: Any) -> ExportReport:
    """Write an inference engine's file (ONNX, OpenVINO IR; fp32 or int8), verified against PyTorch first.

    Args:
        model: a loaded model, or the path of any weight file.
        out: the file (``format="auto"``: a name without suffix; the chosen engine's is added).
        format: ``onnx``, ``openvino`` or ``auto`` (the fastest engine on this CPU).
        **options: fields of ``ExportOptions`` (``int8``, ``calib_data``, ``batch_size``,
            ``max_disagreement``).
    """
    loaded = model if isinstance(model, LoadedModel) else _load_model(model)
    return _export(loaded, out, ExportOptions(format=format, **options))
