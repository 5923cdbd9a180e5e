"""API keys for /api routes, held in the SecretStore and refreshed so a rotation takes effect.

The secret holds one or more keys separated by commas or whitespace (old and new side by side
while clients rotate). A client presents one as `Authorization: Bearer <key>` or
`X-API-Key: <key>`. Keys are compared in constant time and never logged.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re

from fastapi import HTTPException, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from system.ports import SecretStore

log = logging.getLogger(__name__)

bearer = HTTPBearer(auto_error=False, description="an API key as a bearer token")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")


class ApiKeys:
    def __init__(self, secrets: SecretStore, secret_name: str) -> None:
        self._secrets = secrets
        self._secret_name = secret_name
        self._keys: tuple[bytes, ...] = ()

    async def load(self) -> None:
        secret = await self._secrets.get(self._secret_name)
        keys = tuple(k.encode() for k in re.split(r"[\s,]+", secret.value) if k)
        if not keys:
            raise ValueError(f"secret {self._secret_name!r} holds no API key")
        self._keys = keys

    async def refresh_forever(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.load()
            except Exception as error:  # keep the keys we have; the next refresh may work
                log.warning(
                    "could not refresh API keys from secret %r: %s",
                    self._secret_name,
                    type(error).__name__,
                )

    def accepts(self, presented: str) -> bool:
        candidate = presented.encode()
        # Compare with every key, so the time taken does not tell which one nearly matched.
        matches = [hmac.compare_digest(candidate, key) for key in self._keys]
        return any(matches)

    async def __call__(
        self,
        credentials: HTTPAuthorizationCredentials | None = Security(bearer),  # noqa: B008
        api_key: str | None = Security(api_key_header),
    ) -> None:
        """The FastAPI dependency guarding /api routes."""
        presented = credentials.credentials if credentials is not None else api_key
        if presented is None or not self.accepts(presented):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a valid API key is required (Authorization: Bearer <key> or X-API-Key)",
                headers={"WWW-Authenticate": "Bearer"},
            )
