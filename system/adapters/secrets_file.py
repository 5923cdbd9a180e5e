"""Secrets from a mounted folder (a Kubernetes Secret volume), behind the SecretStore port.

Each key is a file named after it. Kubernetes updates such a volume by swapping a `..data`
symlink, so a read sees the old or the new value, never half of one. The version is a digest of
the value: it changes exactly when the value does, which is what rotation watchers compare.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path

from system.ports import Secret

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")


class FileSecrets:
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    async def get(self, name: str) -> Secret:
        if not _NAME.match(name) or name.startswith(".."):
            raise LookupError(f"secret name {name!r} is not a key of a mounted Secret")
        path = self._folder / name
        try:
            raw = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise LookupError(f"secret {name!r} is not mounted in {self._folder}") from None
        value = raw.decode().rstrip("\r\n")
        version = hashlib.sha256(raw).hexdigest()[:32]
        return Secret(name=name, value=value, version=version)

    async def aclose(self) -> None:
        """Nothing is held open between reads."""
