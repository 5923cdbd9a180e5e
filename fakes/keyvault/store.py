"""Key Vault's secret semantics without HTTP: versions, attributes, soft delete, recover, purge.

The vault has soft delete on and purge protection off (recovery level "Recoverable+Purgeable"),
the default for a new vault. A deleted name cannot be set again until it is recovered or purged.
exp and nbf are stored and echoed but not enforced: Key Vault serves a secret outside its
validity window (its docs say so); only a disabled version is refused.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from fakes.keyvault.errors import VaultError

RECOVERY_LEVEL = "Recoverable+Purgeable"
RECOVERABLE_DAYS = 90
MAX_VALUE_CHARS = 25_600  # Key Vault's 25 KB limit on a secret value
_NAME = re.compile(r"[0-9A-Za-z-]{1,127}")


@dataclass(frozen=True)
class Version:
    name: str
    version: str
    value: str
    created: int
    updated: int
    enabled: bool = True
    not_before: int | None = None
    expires: int | None = None
    content_type: str | None = None
    tags: dict[str, str] | None = None


@dataclass(frozen=True)
class Changes:
    """What an update (PATCH) sets; None leaves a property as it is."""

    enabled: bool | None = None
    not_before: int | None = None
    expires: int | None = None
    content_type: str | None = None
    tags: dict[str, str] | None = None


@dataclass
class _Secret:
    versions: list[Version] = field(default_factory=list)  # oldest first

    @property
    def latest(self) -> Version:
        return self.versions[-1]


@dataclass(frozen=True)
class Deleted:
    latest: Version
    deleted_on: int
    purge_on: int


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise VaultError(400, "BadParameter", f"The request URI contains an invalid name: {name}")


def _not_found(name: str, version: str = "") -> VaultError:
    what = f"{name}/{version}" if version else name
    return VaultError(
        404,
        "SecretNotFound",
        f"A secret with (name/id) {what} was not found in this key vault. If you recently "
        "deleted this secret you may be able to recover it using the correct recovery command. "
        "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
    )


def _deleted_not_found(name: str) -> VaultError:
    return VaultError(404, "SecretNotFound", f"Deleted Secret not found: {name}")


class SecretStore:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._secrets: dict[str, _Secret] = {}
        self._deleted: dict[str, tuple[_Secret, Deleted]] = {}

    def _now(self) -> int:
        return int(self._clock())

    def _secret(self, name: str) -> _Secret:
        check_name(name)
        secret = self._secrets.get(name)
        if secret is None:
            raise _not_found(name)
        return secret

    def set(
        self,
        name: str,
        value: str,
        *,
        enabled: bool = True,
        not_before: int | None = None,
        expires: int | None = None,
        content_type: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> Version:
        """A new version, which becomes the latest (the secret is created on first set)."""
        check_name(name)
        if name in self._deleted:
            raise VaultError(
                409,
                "Conflict",
                f"Secret {name} is currently in a deleted but recoverable state, and its name "
                "cannot be reused; in this state, the secret can only be recovered or purged.",
                inner_code="ObjectIsDeletedButRecoverable",
            )
        if len(value) > MAX_VALUE_CHARS:
            raise VaultError(
                400,
                "BadParameter",
                f"Secret value is beyond the maximum permitted length of {MAX_VALUE_CHARS} "
                "characters.",
            )
        now = self._now()
        version = Version(
            name,
            uuid.uuid4().hex,
            value,
            now,
            now,
            enabled,
            not_before,
            expires,
            content_type,
            tags,
        )
        self._secrets.setdefault(name, _Secret()).versions.append(version)
        return version

    def find(self, name: str, version: str = "") -> Version:
        """A version ("" for the latest), enabled or not."""
        secret = self._secret(name)
        if not version:
            return secret.latest
        for candidate in secret.versions:
            if candidate.version == version:
                return candidate
        raise _not_found(name, version)

    def get(self, name: str, version: str = "") -> Version:
        """A version to read its value: a disabled one is refused."""
        found = self.find(name, version)
        if not found.enabled:
            raise VaultError(
                403,
                "Forbidden",
                "Operation get is not allowed on a disabled secret.",
                inner_code="SecretDisabled",
            )
        return found

    def update(self, name: str, version: str, changes: Changes) -> Version:
        current = self.find(name, version)
        updated = replace(
            current,
            updated=self._now(),
            **{k: v for k, v in vars(changes).items() if v is not None},
        )
        versions = self._secrets[name].versions
        versions[versions.index(current)] = updated
        return updated

    def secrets(self) -> list[Version]:
        """The latest version of every secret not deleted, by name."""
        return [self._secrets[name].latest for name in sorted(self._secrets)]

    def versions(self, name: str) -> list[Version]:
        return list(self._secret(name).versions)

    def delete(self, name: str) -> Deleted:
        secret = self._secret(name)
        now = self._now()
        deleted = Deleted(secret.latest, now, now + RECOVERABLE_DAYS * 86_400)
        self._deleted[name] = (self._secrets.pop(name), deleted)
        return deleted

    def deleted(self, name: str) -> Deleted:
        check_name(name)
        if name not in self._deleted:
            raise _deleted_not_found(name)
        return self._deleted[name][1]

    def deleted_secrets(self) -> list[Deleted]:
        return [self._deleted[name][1] for name in sorted(self._deleted)]

    def recover(self, name: str) -> Version:
        self.deleted(name)
        secret, _ = self._deleted.pop(name)
        self._secrets[name] = secret
        return secret.latest

    def purge(self, name: str) -> None:
        self.deleted(name)
        del self._deleted[name]
