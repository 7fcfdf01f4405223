"""Load any supported weight file into a ready module; save ours as safetensors or .pth.

``load_model`` is the one entry point: it picks the reader by file type, rebuilds the
architecture (from metadata, from tensor shapes, or from a Caffe prototxt), checks the
weights fit it, and returns the module with the input convention it expects.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..errors import SqueezeNetError
from ..models.config import SqueezeNetConfig
from ..models.fold import fold_batch_norm
from ..models.names import HEAD_WEIGHT
from ..models.registry import DEFAULT_ARCH, arch_config
from ..models.squeezenet import SqueezeNet
from ..utils.atomic import atomic_path
from ..utils.seal import META_DIGEST, PLACEHOLDER, check_recorded, seal, verify
from . import caffe
from .architecture import config_from_state_dict
from .checks import check_classes
from .hub import imagenet_state_dict
from .imagenet import PUBLISHED_NAMES, imagenet_classes
from .loaded import LoadedModel, build_checked
from .preprocess import CAFFE, IMAGENET, Preprocess
from .sqz import read_sqz

FORMAT_VERSION = "1"


def _json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise SqueezeNetError(f"{path}: metadata is not valid JSON") from None


def _check_zip(path: Path) -> None:
    """torch.load does not verify the zip CRCs of a .pth: a flipped byte would load silently."""
    try:
        if not zipfile.is_zipfile(path):
            return  # the legacy (pre-1.6) format has no checksums to verify
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise SqueezeNetError(f"{path}: damaged PyTorch file ({exc.__class__.__name__})") from None
    if damaged is not None:
        raise SqueezeNetError(f"{path}: damaged PyTorch file (checksum mismatch in {damaged})")


def _read_pth(path: Path) -> dict[str, torch.Tensor]:
    _check_zip(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for non-checkpoint bytes
        raise SqueezeNetError(f"{path}: not a loadable PyTorch state dict ({exc.__class__.__name__})") from None
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise SqueezeNetError(f"{path}: does not hold a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata; the digest our files carry (``utils.seal``) checked first."""
    verify(path.read_bytes(), str(path))
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open is not iterable
    except (SafetensorError, OSError, ValueError, KeyError) as exc:  # a lying header: get_tensor can miss a listed key
        raise SqueezeNetError(f"{path}: not a readable safetensors file ({exc})") from None
    check_recorded(metadata, str(path))
    return tensors, metadata


def _from_state(state: dict[str, torch.Tensor], arch_config: SqueezeNetConfig | None, what: str) -> SqueezeNetConfig:
    if arch_config is None:
        return config_from_state_dict(state)
    classes = state.get(HEAD_WEIGHT)
    if classes is not None and classes.shape[0] != arch_config.num_classes:
        arch_config = arch_config.replace(num_classes=classes.shape[0])
    return arch_config


def load_model(
    path: str | Path,
    arch: SqueezeNetConfig | None = None,
    prototxt: str | Path | None = None,
    arch_name: str = DEFAULT_ARCH,
) -> LoadedModel:
    """Rebuild the right module from any supported weight file, or ``"imagenet"`` (also torchvision's
    ``"DEFAULT"`` and ``"IMAGENET1K_V1"``: its published weights).

    ``arch`` (optional) is what the user claims the file holds; a mismatch is an error.
    """
    if str(path) in PUBLISHED_NAMES:
        config = arch or arch_config(arch_name)
        state = imagenet_state_dict(arch_name)
        return LoadedModel(build_checked(config, state, "imagenet"), IMAGENET, "torchvision", imagenet_classes(1000))
    path = Path(path)
    if path.is_dir():
        raise SqueezeNetError(f"{path}: is a directory; --weights takes a weight file")
    if not path.is_file():
        raise SqueezeNetError(f"{path}: {'not a regular file' if path.exists() else 'no such file'}")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        state, meta = read_safetensors(path)
        if "squeezenet_config" in meta:
            config = SqueezeNetConfig.from_json(meta["squeezenet_config"])
            if arch is not None and arch.replace(num_classes=config.num_classes) != config:
                raise SqueezeNetError(f"{path}: holds a different architecture than the one asked for")
        else:
            config = _from_state(state, arch, str(path))
        preprocess = Preprocess.from_json(meta["preprocess"]) if "preprocess" in meta else IMAGENET
        classes = (
            check_classes(_json(meta["classes"], path), config.num_classes, str(path))
            if "classes" in meta
            else imagenet_classes(config.num_classes)
        )
        return LoadedModel(build_checked(config, state, str(path)), preprocess, "safetensors", classes, meta)
    if suffix in (".pth", ".pt"):
        state = _read_pth(path)
        config = _from_state(state, arch, str(path))
        return LoadedModel(
            build_checked(config, state, str(path)), IMAGENET, "torchvision", imagenet_classes(config.num_classes)
        )
    if suffix == ".caffemodel":
        prototxt = Path(prototxt) if prototxt else path.with_name("deploy.prototxt")
        if not prototxt.is_file():
            raise SqueezeNetError(f"{path}: Caffe weights need their prototxt; pass --prototxt (looked for {prototxt})")
        config = caffe.config_from_prototxt(caffe.read_prototxt(prototxt))
        if arch is not None and arch.layout != config.layout:
            raise SqueezeNetError(f"{path}: the prototxt describes layout {config.layout}, not {arch.layout}")
        state = caffe.caffe_state_dict(caffe.read_caffemodel(path), config)
        return LoadedModel(
            build_checked(config, state, str(path)), CAFFE, "caffe", imagenet_classes(config.num_classes)
        )
    if suffix == ".sqz":
        contents = read_sqz(path)
        model = build_checked(contents.config, contents.state(), str(path))
        return LoadedModel(model, contents.preprocess, "sqz", contents.classes)
    raise SqueezeNetError(
        f"{path}: unsupported weight format {suffix or '(no suffix)'}; use .pth, .safetensors, .caffemodel or .sqz"
    )


def save_model(
    model: SqueezeNet,
    path: str | Path,
    preprocess: Preprocess = IMAGENET,
    classes: list[str] | None = None,
    extra: dict[str, str] | None = None,
) -> None:
    """Write weights atomically: ``.safetensors`` with the config in metadata, or a plain ``.pth``.
    A model trained with batch norm is written folded: the plain network it computes."""
    path = Path(path)
    model = fold_batch_norm(model)
    if preprocess.channels != model.config.in_channels:
        raise SqueezeNetError(
            f"preprocessing gives {preprocess.channels} channels but the model takes {model.config.in_channels}"
        )
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        if path.suffix == ".safetensors":
            metadata = {
                "format": "squeezenet",
                "format_version": FORMAT_VERSION,
                "squeezenet_config": model.config.to_json(),
                "preprocess": preprocess.to_json(),
                **({"classes": json.dumps(classes)} if classes else {}),
                **(extra or {}),
                META_DIGEST: PLACEHOLDER,
            }
            save_file(state, str(tmp), metadata=metadata)
            tmp.write_bytes(seal(tmp.read_bytes()))
        elif path.suffix in (".pth", ".pt"):
            torch.save(state, tmp)
        else:
            raise SqueezeNetError(f"{path}: can write .safetensors or .pth, not {path.suffix or '(no suffix)'}")
