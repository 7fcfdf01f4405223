"""Where the real weights and images are (same rule as the tests)."""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SQUEEZENET_SHARED", REPO.parent / "shared"))


def require_shared() -> Path:
    if not SHARED.is_dir():
        sys.exit(f"needs the shared data folder ({SHARED}); set SQUEEZENET_SHARED")
    return SHARED
