"""Injected faults as the SDK meets them: retried 5xx and 429, re-auth, refusals, latency."""

import uuid
from collections.abc import Iterator

import pytest
from azure.core.exceptions import HttpResponseError, ServiceResponseError
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

from tests.integration.keyvault.support import VaultFake


def secret_client(vault: VaultFake, **options: object) -> SecretClient:
    return SecretClient(
        vault.url,
        DefaultAzureCredential(),
        connection_verify=str(vault.ca_file),
        verify_challenge_resource=False,
        retry_backoff_factor=0.1,
        **options,
    )


@pytest.fixture
def named_secret(vault: VaultFake) -> Iterator[tuple[SecretClient, str]]:
    with secret_client(vault) as client:
        name = f"ibkr-password-{uuid.uuid4().hex[:8]}"
        client.set_secret(name, "pw")
        yield client, name


def remaining(vault: VaultFake) -> int:
    count: int = vault.admin("GET", "/faults").json()["remaining"]
    return count


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 503, "count": 2},
        {"status": 429, "retry_after": 1},
        {"status": 401},  # the SDK answers the challenge again and replays the request
    ],
    ids=["unavailable", "throttled", "unauthorized"],
)
def test_the_sdk_rides_out_transient_faults(
    vault: VaultFake, named_secret: tuple[SecretClient, str], fault: dict[str, int]
) -> None:
    client, name = named_secret
    vault.admin("POST", "/faults/reject", json=fault)
    assert client.get_secret(name).value == "pw"
    assert remaining(vault) == 0


def test_a_refusal_reaches_the_caller_in_key_vaults_shape(
    vault: VaultFake, named_secret: tuple[SecretClient, str]
) -> None:
    client, name = named_secret
    vault.admin("POST", "/faults/reject", json={"status": 403, "message": "Access denied."})
    with pytest.raises(HttpResponseError, match="Access denied") as refused:
        client.get_secret(name)
    assert refused.value.error is not None
    assert refused.value.error.code == "Forbidden"
    assert client.get_secret(name).value == "pw"


def test_added_latency_outlasts_a_short_read_timeout(vault: VaultFake) -> None:
    with secret_client(vault, retry_total=0) as client:
        name = f"slow-{uuid.uuid4().hex[:8]}"
        client.set_secret(name, "pw")
        vault.admin("POST", "/faults/latency", json={"ms": 5000})
        with pytest.raises(ServiceResponseError):
            client.get_secret(name, read_timeout=0.5)
        vault.admin("DELETE", "/faults")
        assert client.get_secret(name).value == "pw"
