"""The publisher's signing keys: ed25519 (securesystemslib's ``CryptoSigner``), one folder, one file per key.

``root-1.pem`` .. ``root-N.pem`` (the root role: ``root_threshold`` of them must sign),
``targets.pem``, ``snapshot.pem``, ``timestamp.pem``, and ``models/NAME.pem`` for each model's
delegated role (made when the model is first published). Private keys are unencrypted PKCS#8 PEM
files readable by their owner only. Keys are read one role at a time, so the host that only
refreshes the timestamp needs a folder with ``timestamp.pem`` (and ``snapshot.pem``) alone: keep
the root keys offline.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SqueezeNetError
from ..utils.atomic import write_bytes, write_text

if TYPE_CHECKING:
    from securesystemslib.signer import CryptoSigner

TOP_ROLES = ("targets", "snapshot", "timestamp")
SETTINGS = "keys.json"
MAX_ROOT_KEYS = 16


def _new_key(path: Path) -> None:
    from securesystemslib.signer import CryptoSigner

    write_bytes(path, CryptoSigner.generate_ed25519().private_bytes)
    os.chmod(path, 0o600)


def init_keys(directory: str | Path, root_keys: int = 1, root_threshold: int = 1) -> list[Path]:
    """Make a new key set; refuses a folder that already holds one (keys are never overwritten)."""
    directory = Path(directory)
    if not 1 <= root_threshold <= root_keys <= MAX_ROOT_KEYS:
        raise SqueezeNetError(
            f"root threshold {root_threshold} of {root_keys} keys: need 1 <= threshold <= keys <= {MAX_ROOT_KEYS}"
        )
    if (directory / SETTINGS).exists():
        raise SqueezeNetError(f"{directory} already holds a key set; keys are never overwritten")
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / f"{name}.pem" for name in [f"root-{i}" for i in range(1, root_keys + 1)] + list(TOP_ROLES)]
    for path in written:
        _new_key(path)
    write_text(directory / SETTINGS, json.dumps({"root_keys": root_keys, "root_threshold": root_threshold}) + "\n")
    return written


class KeyStore:
    """A key folder, read role by role."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise SqueezeNetError(f"{directory}: no such key folder (squeezenet keys init {directory} makes one)")

    def signer(self, role: str) -> CryptoSigner:
        """The signer of a top-level role (``targets``, ``snapshot``, ``timestamp``) or ``root-N``."""
        return self._load(self.directory / f"{role}.pem")

    def model(self, name: str, create: bool = False) -> CryptoSigner:
        """The signer of model ``name``'s delegated role; ``create``: made on its first release."""
        path = self.directory / "models" / f"{name}.pem"
        if create and not path.exists():
            path.parent.mkdir(exist_ok=True)
            _new_key(path)
        return self._load(path)

    def root(self) -> tuple[list[CryptoSigner], int]:
        """Every root signer and the threshold of them a root must carry."""
        if not (self.directory / SETTINGS).is_file():
            raise SqueezeNetError(f"{self.directory}: no {SETTINGS} (squeezenet keys init makes the key set)")
        settings = json.loads((self.directory / SETTINGS).read_text())
        return [self.signer(f"root-{i}") for i in range(1, int(settings["root_keys"]) + 1)], int(
            settings["root_threshold"]
        )

    @staticmethod
    def _load(path: Path) -> CryptoSigner:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        from securesystemslib.signer import CryptoSigner

        if not path.is_file():
            raise SqueezeNetError(f"{path}: no such key")
        try:
            return CryptoSigner(load_pem_private_key(path.read_bytes(), password=None))
        except (ValueError, TypeError):
            raise SqueezeNetError(f"{path}: not a PEM private key") from None
