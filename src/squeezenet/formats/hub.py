"""``--weights imagenet``: torchvision's published ImageNet weights, downloaded once and cached.

torch.hub does the download, the SHA-256 prefix check and the cache; offline it fails and
we turn that into one line that says what to do instead.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import SqueezeNetError

IMAGENET_URLS = {
    "squeezenet1_0": "https://download.pytorch.org/models/squeezenet1_0-b66bff10.pth",
    "squeezenet1_1": "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth",
}


def imagenet_state_dict(arch: str, url: str | None = None) -> dict[str, torch.Tensor]:
    if arch not in IMAGENET_URLS:
        raise SqueezeNetError(f"no published ImageNet weights for {arch!r}; choose {sorted(IMAGENET_URLS)}")
    url = url or IMAGENET_URLS[arch]
    try:
        return torch.hub.load_state_dict_from_url(url, progress=True, check_hash=True, weights_only=True)
    except RuntimeError as exc:
        if "invalid hash" in str(exc):
            raise SqueezeNetError(f"downloaded weights for {arch} failed their checksum; try again") from None
        raise
    except OSError as exc:
        cache = Path(torch.hub.get_dir()) / "checkpoints"
        raise SqueezeNetError(
            f"cannot download ImageNet weights for {arch} ({exc.strerror or exc}); offline, give the path of "
            f"a local .pth instead (--weights PATH, or pretrained=PATH in Python), or put {Path(url).name} in {cache}"
        ) from None
