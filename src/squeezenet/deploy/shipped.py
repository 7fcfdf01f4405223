"""Files that ``export`` wrote, read back to run: the engine, and what the file says about itself.

Every exported file carries the model's config, its preprocessing record, its class names and
the backend it was written for, so it runs (``eval``, ``predict``, ``bench``, your own app)
without the weights it came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import SqueezeNetError
from ..formats.checks import check_classes
from ..formats.preprocess import Preprocess
from ..models.config import SqueezeNetConfig
from ..utils.seal import check_recorded
from .backends import BACKENDS, for_suffix
from .metadata import META_BACKEND, META_CLASSES, META_CONFIG, META_INPUT, META_PREPROCESS
from .runtime import Engine


@dataclass
class Shipped:
    """An exported file read back: its engine and the records its metadata carries. Not a
    ``LoadedModel``, which holds a PyTorch module: an exported file holds a graph for its runtime."""

    engine: Engine
    config: SqueezeNetConfig
    preprocess: Preprocess
    classes: list[str] | None


def is_shipped(path: str | Path) -> bool:
    return bool(for_suffix(Path(path).suffix))


def read_shipped(path: str | Path) -> Shipped:
    path = Path(path)
    candidates = for_suffix(path.suffix)
    if not candidates:
        raise SqueezeNetError(
            f"{path}: not a file export writes ({', '.join(sorted({b.suffix for b in BACKENDS.values() if b.suffix}))})"
        )
    graph = candidates[0].read(path)
    meta = candidates[0].metadata(graph)
    if META_CONFIG not in meta or META_PREPROCESS not in meta:
        raise SqueezeNetError(f"{path}: carries no squeezenet metadata (not written by squeezenet export)")
    check_recorded(meta, str(path))
    name = meta.get(META_BACKEND)
    if name not in {b.name for b in candidates}:
        raise SqueezeNetError(f"{path}: names no backend of its file type ({name!r})")
    config = SqueezeNetConfig.from_json(meta[META_CONFIG])
    try:
        classes = json.loads(meta[META_CLASSES]) if META_CLASSES in meta else None
    except ValueError:
        raise SqueezeNetError(f"{path}: its class names are not valid JSON") from None
    preprocess = Preprocess.from_json(meta[META_PREPROCESS])
    return Shipped(
        Engine(BACKENDS[name], graph, preprocess if meta.get(META_INPUT) == "pixels" else None),
        config,
        preprocess,
        check_classes(classes, config.num_classes, str(path)),
    )
