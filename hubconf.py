"""torch.hub entry points: ``torch.hub.load(REPO, "squeezenet1_1", weights=...)``, local or from GitHub.

Each takes the Python API's arguments: ``weights`` (a file the toolkit reads, or "imagenet"),
``num_classes`` (a new conv10 when it differs from the weights' head), and any design-space
field (``sr``, ``pct3x3``, ``bypass``, ...) for a randomly initialised design point.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))  # the package, without installing it

dependencies = ["torch", "torchvision", "safetensors", "numpy", "PIL"]

from squeezenet.zoo import create_model, squeezenet1_0, squeezenet1_1  # noqa: E402, F401
