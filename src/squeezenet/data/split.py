"""A run's held-out split of a folder's ``train/``, written beside the run so it can be scored again.

``train`` holds out a seeded, stratified share of each class when a folder has no ``val/``; the
file lists go into ``RUN/split.json``, and ``eval --run RUN`` (or ``compress`` and ``adapt`` on
the same folder and seed) scores exactly the photos the run never trained on.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import SqueezeNetError
from ..utils.atomic import write_text

DEFAULT_VAL_SPLIT = 0.2  # held out of train/ when a folder has no val/
SPLIT_FILE = "split.json"


@dataclass
class Split:
    root: str  # the data folder (its train/ holds every file listed)
    fraction: float
    seed: int
    classes: list[str]
    train: list[str]  # paths relative to root/train
    held_out: list[str]

    def labelled(self, part: str) -> list[tuple[Path, int]]:
        """(file, class index) of the ``train`` or ``held_out`` part; the class is the file's folder."""
        index = {name: i for i, name in enumerate(self.classes)}
        root = Path(self.root) / "train"
        return [(root / p, index[Path(p).parts[0]]) for p in getattr(self, part)]

    def write(self, path: str | Path) -> None:
        write_text(path, json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def read(cls, path: str | Path) -> Split:
        path = Path(path)
        if not path.is_file():
            raise SqueezeNetError(f"{path}: no such split file (a run on a folder without val/ writes one)")
        try:
            data = json.loads(path.read_text())
            split = cls(**data)
        except (ValueError, TypeError, UnicodeDecodeError):
            raise SqueezeNetError(f"{path}: not a split file") from None
        if not all(isinstance(v, list) and all(isinstance(p, str) for p in v) for v in (split.train, split.held_out)):
            raise SqueezeNetError(f"{path}: not a split file")
        return split
