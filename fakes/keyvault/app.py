"""The Key Vault secrets data plane, as azure-keyvault-secrets calls it, over a SecretStore.

Every request needs a bearer token signed by the fake's identity (else 401 with the challenge,
answered before the body is looked at) and an api-version the SDK sends. Bundle ids are absolute
URLs on the address the client used. Admin (besides the common /__admin routes):
  POST /__admin/secrets/{name}/rotate  {"value"?}    a new version, as an operator's rotation makes
  POST /__admin/secrets/{name}/disable {"version"?}  disable the latest (or the given) version
  POST /__admin/tokens {"expires_in"?, "resource"?}  a token as the identity would sign it; a
                                                     negative expires_in makes an expired one
"""

from __future__ import annotations

import secrets
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from fakes.common import admin_body, fake_app
from fakes.common.body import media_type, read_body
from fakes.keyvault.errors import VaultError, render_error
from fakes.keyvault.identity import TOKEN_LIFETIME_S, VAULT_RESOURCE, InvalidToken, TokenAuthority
from fakes.keyvault.store import (
    MAX_VALUE_CHARS,
    RECOVERABLE_DAYS,
    RECOVERY_LEVEL,
    Changes,
    Deleted,
    SecretStore,
    Version,
)

# What azure-keyvault-secrets 4.12 can send (its ApiVersion enum); its default is the latest.
LATEST_API_VERSION = "2026-04-01"
API_VERSIONS = frozenset(
    {
        "2016-10-01",
        "7.0",
        "7.1",
        "7.2",
        "7.3",
        "7.4",
        "7.5",
        "7.6",
        "2025-07-01",
        LATEST_API_VERSION,
    }
)
PAGE_SIZE = 25  # Key Vault's maximum (and default) maxresults
# A request body well above what a 25 KB secret with its attributes and tags needs.
MAX_BODY_BYTES = 16 * (MAX_VALUE_CHARS + 8 * 1024)

Body = TypeVar("Body", bound=BaseModel)


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class Attributes(_Wire):
    enabled: bool | None = None
    nbf: int | None = None
    exp: int | None = None


class UpdateBody(_Wire):
    content_type: str | None = Field(default=None, alias="contentType")
    tags: dict[str, str] | None = None
    attributes: Attributes = Attributes()

    def changes(self) -> Changes:
        a = self.attributes
        return Changes(a.enabled, a.nbf, a.exp, self.content_type, self.tags)


class SetBody(UpdateBody):
    value: str


class Rotate(BaseModel):
    value: str | None = None


class Disable(BaseModel):
    version: str = ""


class MintToken(BaseModel):
    expires_in: int = TOKEN_LIFETIME_S
    resource: str = VAULT_RESOURCE


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _attributes(v: Version) -> dict[str, Any]:
    attributes: dict[str, Any] = {"enabled": v.enabled}
    if v.not_before is not None:
        attributes["nbf"] = v.not_before
    if v.expires is not None:
        attributes["exp"] = v.expires
    attributes.update(
        created=v.created,
        updated=v.updated,
        recoveryLevel=RECOVERY_LEVEL,
        recoverableDays=RECOVERABLE_DAYS,
    )
    return attributes


def _properties(v: Version, base: str, *, versioned: bool = True) -> dict[str, Any]:
    """A SecretItem: a secret's id and metadata, without the value."""
    item: dict[str, Any] = {
        "id": f"{base}/secrets/{v.name}" + (f"/{v.version}" if versioned else ""),
        "attributes": _attributes(v),
    }
    if v.content_type is not None:
        item["contentType"] = v.content_type
    if v.tags is not None:
        item["tags"] = v.tags
    return item


def _bundle(v: Version, base: str) -> dict[str, Any]:
    return {"value": v.value, **_properties(v, base)}


def _deleted(d: Deleted, base: str, *, versioned: bool = True) -> dict[str, Any]:
    return {
        **_properties(d.latest, base, versioned=versioned),
        "recoveryId": f"{base}/deletedsecrets/{d.latest.name}",
        "deletedDate": d.deleted_on,
        "scheduledPurgeDate": d.purge_on,
    }


def _page(request: Request, items: list[dict[str, Any]]) -> JSONResponse:
    try:
        size = int(request.query_params.get("maxresults", PAGE_SIZE))
        skip = int(request.query_params.get("$skiptoken", 0))
    except ValueError:
        raise VaultError(
            400, "BadParameter", "maxresults and $skiptoken must be integers."
        ) from None
    if not 1 <= size <= PAGE_SIZE:
        raise VaultError(400, "BadParameter", f"maxresults must be between 1 and {PAGE_SIZE}.")
    end = max(skip, 0) + size
    next_link = None
    if end < len(items):
        next_link = str(request.url.include_query_params(**{"$skiptoken": end, "maxresults": size}))
    return JSONResponse({"value": items[max(skip, 0) : end], "nextLink": next_link})


class Vault:
    def __init__(self, store: SecretStore, authority: TokenAuthority) -> None:
        self.store = store
        self.authority = authority

    def routes(self) -> list[Route]:
        return [
            Route("/secrets", self._list_secrets, methods=["GET"]),
            Route("/secrets/{name}", self._set, methods=["PUT"]),
            Route("/secrets/{name}", self._delete, methods=["DELETE"]),
            Route("/secrets/{name}/versions", self._list_versions, methods=["GET"]),
            # GET/PATCH /secrets/{name}/ (the SDK's "latest": an empty version) or with a version
            Route("/secrets/{name}", self._get, methods=["GET"]),
            Route("/secrets/{name}/", self._get, methods=["GET"]),
            Route("/secrets/{name}/{version}", self._get, methods=["GET"]),
            Route("/secrets/{name}/", self._update, methods=["PATCH"]),
            Route("/secrets/{name}/{version}", self._update, methods=["PATCH"]),
            Route("/deletedsecrets", self._list_deleted, methods=["GET"]),
            Route("/deletedsecrets/{name}", self._get_deleted, methods=["GET"]),
            Route("/deletedsecrets/{name}", self._purge, methods=["DELETE"]),
            Route("/deletedsecrets/{name}/recover", self._recover, methods=["POST"]),
        ]

    def admin_routes(self) -> list[Route]:
        return [
            Route("/secrets/{name}/rotate", self._rotate, methods=["POST"]),
            Route("/secrets/{name}/disable", self._disable, methods=["POST"]),
            Route("/tokens", self._mint_token, methods=["POST"]),
        ]

    def _admit(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise VaultError(
                401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token."
            )
        try:
            self.authority.verify(token.strip())
        except InvalidToken as error:
            raise VaultError(401, "Unauthorized", str(error)) from None
        version = request.query_params.get("api-version")
        if version is None:
            raise VaultError(400, "BadParameter", "The api-version query parameter is missing.")
        if version not in API_VERSIONS:
            raise VaultError(
                400,
                "BadParameter",
                f"The specified version ({version}) is not recognized. Consider using the "
                f"latest supported version ({LATEST_API_VERSION}).",
            )

    async def _body(self, request: Request, model: type[Body]) -> Body:
        if media_type(request) != "application/json":
            raise VaultError(
                415,
                "UnsupportedMediaType",
                f"The content type '{media_type(request)}' is not supported; use application/json.",
            )
        raw = await read_body(request, MAX_BODY_BYTES)
        try:
            return model.model_validate_json(raw)
        except ValidationError as invalid:
            error = invalid.errors()[0]
            if error["type"] == "json_invalid":
                message = "The request body is not valid JSON."
            else:
                where = ".".join(str(part) for part in error["loc"])
                message = f"Property '{where}' has an invalid value: {error['msg']}."
            raise VaultError(400, "BadParameter", message) from None

    async def _set(self, request: Request) -> Response:
        self._admit(request)
        body = await self._body(request, SetBody)
        enabled = body.attributes.enabled
        version = self.store.set(
            request.path_params["name"],
            body.value,
            enabled=True if enabled is None else enabled,
            not_before=body.attributes.nbf,
            expires=body.attributes.exp,
            content_type=body.content_type,
            tags=body.tags,
        )
        return JSONResponse(_bundle(version, _base(request)))

    async def _get(self, request: Request) -> Response:
        self._admit(request)
        name, version = request.path_params["name"], request.path_params.get("version", "")
        return JSONResponse(_bundle(self.store.get(name, version), _base(request)))

    async def _update(self, request: Request) -> Response:
        self._admit(request)
        body = await self._body(request, UpdateBody)
        name, version = request.path_params["name"], request.path_params.get("version", "")
        return JSONResponse(
            _properties(self.store.update(name, version, body.changes()), _base(request))
        )

    async def _list_secrets(self, request: Request) -> Response:
        self._admit(request)
        base = _base(request)
        return _page(request, [_properties(v, base, versioned=False) for v in self.store.secrets()])

    async def _list_versions(self, request: Request) -> Response:
        self._admit(request)
        base = _base(request)
        versions = self.store.versions(request.path_params["name"])
        return _page(request, [_properties(v, base) for v in versions])

    async def _delete(self, request: Request) -> Response:
        self._admit(request)
        return JSONResponse(
            _deleted(self.store.delete(request.path_params["name"]), _base(request))
        )

    async def _list_deleted(self, request: Request) -> Response:
        self._admit(request)
        base = _base(request)
        deleted = self.store.deleted_secrets()
        return _page(request, [_deleted(d, base, versioned=False) for d in deleted])

    async def _get_deleted(self, request: Request) -> Response:
        self._admit(request)
        deleted = self.store.deleted(request.path_params["name"])
        return JSONResponse(_deleted(deleted, _base(request)))

    async def _purge(self, request: Request) -> Response:
        self._admit(request)
        self.store.purge(request.path_params["name"])
        return Response(status_code=204)

    async def _recover(self, request: Request) -> Response:
        self._admit(request)
        recovered = self.store.recover(request.path_params["name"])
        return JSONResponse(_properties(recovered, _base(request)))

    async def _rotate(self, request: Request) -> Response:
        name = request.path_params["name"]
        value = (await admin_body(request, Rotate)).value or secrets.token_urlsafe(24)
        latest = self.store.find(name)
        rotated = self.store.set(name, value, content_type=latest.content_type, tags=latest.tags)
        return JSONResponse(_properties(rotated, _base(request)))

    async def _disable(self, request: Request) -> Response:
        version = (await admin_body(request, Disable)).version
        disabled = self.store.update(request.path_params["name"], version, Changes(enabled=False))
        return JSONResponse(_properties(disabled, _base(request)))

    async def _mint_token(self, request: Request) -> Response:
        wanted = await admin_body(request, MintToken)
        token, expires_on = self.authority.issue(wanted.resource, wanted.expires_in)
        return JSONResponse({"access_token": token, "expires_on": expires_on})


def create_app(vault: Vault) -> ASGIApp:
    return fake_app(
        routes=vault.routes(),
        render_error=render_error,
        admin_routes=vault.admin_routes(),
    )
