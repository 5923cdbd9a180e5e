"""Bad requests get Key Vault's status and error body, and the vault keeps serving good ones."""

import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

from fakes.keyvault.identity import ISSUER, VAULT_RESOURCE
from tests.integration.keyvault.support import VaultFake

CHALLENGE = (
    'Bearer authorization="https://login.microsoftonline.com/00000000-0000-4000-8000-00000000f4ce",'
    ' resource="https://vault.azure.net"'
)


@pytest.fixture
def client(vault: VaultFake) -> Iterator[SecretClient]:
    with SecretClient(
        vault.url,
        DefaultAzureCredential(),
        connection_verify=str(vault.ca_file),
        verify_challenge_resource=False,
    ) as client:
        yield client


def still_serving(client: SecretClient) -> None:
    name = f"ok-{uuid.uuid4().hex[:8]}"
    client.set_secret(name, "fine")
    assert client.get_secret(name).value == "fine"


def call(
    vault: VaultFake, method: str, path: str, token: str | None, **kwargs: object
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(kwargs.pop("headers", {}))  # type: ignore[arg-type]
    return httpx.request(
        method,
        f"{vault.url}{path}",
        params={"api-version": "2026-04-01"},
        headers=headers,
        verify=vault.trust(),
        timeout=30,
        **kwargs,  # type: ignore[arg-type]
    )


def forged() -> str:
    claims = {"aud": VAULT_RESOURCE, "iss": ISSUER, "exp": 4_000_000_000}
    return jwt.encode(claims, "not the vault identity's key, 32b", algorithm="HS256")


@pytest.mark.parametrize(
    ("token_of", "message"),
    [
        (lambda v: None, "AKV10000: Request is missing a Bearer or PoP token."),
        (lambda v: v.token(expires_in=-60), "[TokenExpired] Error validating token: 'S2S12086'."),
        (lambda v: forged(), "AKV10046: Unable to resolve the key used for signature validation."),
        (
            lambda v: v.token(resource="https://management.azure.com"),
            "AKV10022: Invalid audience. Expected https://vault.azure.net, "
            "found: https://management.azure.com.",
        ),
    ],
    ids=["no-token", "expired", "mis-signed", "other-audience"],
)
def test_an_unacceptable_token_gets_the_challenge(
    vault: VaultFake, client: SecretClient, token_of: object, message: str
) -> None:
    response = call(vault, "GET", "/secrets/anything/", token_of(vault))  # type: ignore[operator]
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    assert response.json() == {"error": {"code": "Unauthorized", "message": message}}
    still_serving(client)


@pytest.mark.parametrize(
    ("method", "path", "content", "content_type", "status", "code"),
    [
        ("PUT", "/secrets/s", b'{"value": ', "application/json", 400, "BadParameter"),
        ("PUT", "/secrets/s", b'{"tags": {}}', "application/json", 400, "BadParameter"),
        ("PUT", "/secrets/s", b'{"value": "x"}', "text/plain", 415, "UnsupportedMediaType"),
        ("PUT", "/secrets/s", bytes(1024 * 1024), "application/json", 413, "RequestEntityTooLarge"),
        ("PUT", "/secrets/bad_name", b'{"value": "x"}', "application/json", 400, "BadParameter"),
        ("GET", "/secrets/missing/", b"", "", 404, "SecretNotFound"),
        ("POST", "/secrets/s", b"", "", 405, "MethodNotAllowed"),
    ],
    ids=[
        "malformed-json",
        "missing-value",
        "wrong-content-type",
        "oversize",
        "invalid-name",
        "unknown-secret",
        "wrong-method",
    ],
)
def test_bad_requests_get_key_vaults_error_envelope(
    vault: VaultFake,
    client: SecretClient,
    method: str,
    path: str,
    content: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    response = call(
        vault, method, path, vault.token(), content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    still_serving(client)


def test_an_unknown_api_version_is_a_bad_parameter(vault: VaultFake) -> None:
    response = httpx.get(
        f"{vault.url}/secrets/s/",
        params={"api-version": "9.9"},
        headers={"Authorization": f"Bearer {vault.token()}"},
        verify=vault.trust(),
    )
    assert response.status_code == 400
    assert "The specified version (9.9) is not recognized" in response.json()["error"]["message"]


def test_the_sdk_surfaces_invalid_names_and_oversize_values(client: SecretClient) -> None:
    with pytest.raises(HttpResponseError, match="invalid name") as bad_name:
        client.set_secret("ibkr_password", "x")
    assert bad_name.value.status_code == 400
    with pytest.raises(HttpResponseError, match="maximum permitted length") as too_long:
        client.set_secret("big", "x" * 25_601)
    assert too_long.value.status_code == 400
    still_serving(client)
