"""azure-keyvault-secrets with azure-identity's DefaultAzureCredential, over TLS, against the fake.

The credential chain finds the loopback managed identity (IDENTITY_ENDPOINT/IDENTITY_HEADER), the
client trusts the fake's CA through connection_verify, as a production adapter's ca-file setting
would; the suite's loopback guard fails any test whose SDK reaches beyond 127.0.0.1.
"""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import ApiVersion, SecretClient

from tests.integration.keyvault.support import VaultFake
from tests.loopback_guard import GUARD


def secret_client(vault: VaultFake, **options: object) -> SecretClient:
    return SecretClient(
        vault.url,
        DefaultAzureCredential(),
        connection_verify=str(vault.ca_file),
        # The vault is not under vault.azure.net, so its challenge's resource cannot match it.
        verify_challenge_resource=False,
        **options,
    )


@pytest.fixture
def client(vault: VaultFake) -> Iterator[SecretClient]:
    with secret_client(vault) as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_a_secret_is_set_and_read_back_with_its_properties(client: SecretClient) -> None:
    name = unique("ibkr-password")
    not_before = datetime(2026, 1, 1, tzinfo=UTC)
    expires = datetime(2030, 1, 1, tzinfo=UTC)
    client.set_secret(
        name,
        "hunter2",
        content_type="text/plain",
        tags={"owner": "edge-bot"},
        not_before=not_before,
        expires_on=expires,
    )
    secret = client.get_secret(name)
    assert secret.value == "hunter2"
    assert secret.name == name
    assert secret.properties.vault_url == client.vault_url
    assert len(secret.properties.version or "") == 32
    assert (secret.properties.content_type, secret.properties.tags) == (
        "text/plain",
        {"owner": "edge-bot"},
    )
    assert (secret.properties.not_before, secret.properties.expires_on) == (not_before, expires)
    assert secret.properties.enabled is True
    assert secret.properties.recovery_level == "Recoverable+Purgeable"


def test_versions_are_kept_and_each_can_be_read(client: SecretClient) -> None:
    name = unique("api-key")
    versions = [client.set_secret(name, f"v{i}").properties.version for i in range(3)]
    assert client.get_secret(name).properties.version == versions[-1]
    assert [client.get_secret(name, v).value for v in versions] == ["v0", "v1", "v2"]
    listed = {p.version for p in client.list_properties_of_secret_versions(name)}
    assert listed == set(versions)


def test_listing_follows_next_links_past_a_page(client: SecretClient) -> None:
    prefix = unique("many")
    for i in range(30):  # more than Key Vault's 25 per page
        client.set_secret(f"{prefix}-{i}", "v")
    names = {p.name for p in client.list_properties_of_secrets()}
    assert {f"{prefix}-{i}" for i in range(30)} <= names


def test_a_rotation_made_out_of_band_shows_as_a_new_version(
    vault: VaultFake, client: SecretClient
) -> None:
    name = unique("ibkr-password")
    before = client.set_secret(name, "old", content_type="text/plain").properties.version
    rotated = vault.admin("POST", f"/secrets/{name}/rotate", json={"value": "new"}).json()
    secret = client.get_secret(name)
    assert secret.properties.version != before
    assert secret.id == rotated["id"]
    assert (secret.value, secret.properties.content_type) == ("new", "text/plain")


def test_a_disabled_secret_is_refused_until_enabled_again(
    vault: VaultFake, client: SecretClient
) -> None:
    name = unique("ibkr-password")
    client.set_secret(name, "pw")
    vault.admin("POST", f"/secrets/{name}/disable")
    with pytest.raises(HttpResponseError) as refused:
        client.get_secret(name)
    assert refused.value.status_code == 403
    assert refused.value.error is not None
    assert refused.value.error.code == "Forbidden"
    [listed] = client.list_properties_of_secret_versions(name)
    assert listed.enabled is False
    client.update_secret_properties(name, enabled=True)
    assert client.get_secret(name).value == "pw"


def test_a_soft_deleted_secret_is_recovered_with_all_its_versions(client: SecretClient) -> None:
    name = unique("ibkr-password")
    client.set_secret(name, "one")
    client.set_secret(name, "two")
    deleting = client.begin_delete_secret(name)
    deleting.wait()
    deleted = deleting.result()
    assert deleted.recovery_id == f"{client.vault_url}/deletedsecrets/{name}"
    assert deleted.scheduled_purge_date is not None
    with pytest.raises(ResourceNotFoundError):
        client.get_secret(name)
    assert name in {d.name for d in client.list_deleted_secrets()}
    with pytest.raises(ResourceExistsError):
        client.set_secret(name, "three")
    client.begin_recover_deleted_secret(name).wait()
    assert client.get_secret(name).value == "two"
    assert len(list(client.list_properties_of_secret_versions(name))) == 2


def test_a_purged_secret_is_gone_and_its_name_free(client: SecretClient) -> None:
    name = unique("ibkr-password")
    client.set_secret(name, "old")
    client.begin_delete_secret(name).wait()
    client.purge_deleted_secret(name)
    with pytest.raises(ResourceNotFoundError):
        client.get_deleted_secret(name)
    client.set_secret(name, "fresh")
    assert [p.name for p in client.list_properties_of_secret_versions(name)] == [name]


@pytest.mark.parametrize("api_version", [v.value for v in ApiVersion])
def test_every_api_version_the_sdk_sends_is_served(vault: VaultFake, api_version: str) -> None:
    name = unique("versioned")
    with secret_client(vault, api_version=api_version) as client:
        client.set_secret(name, "v")
        assert client.get_secret(name).value == "v"


def test_a_client_that_does_not_trust_the_ca_cannot_connect(vault: VaultFake) -> None:
    untrusting = SecretClient(vault.url, DefaultAzureCredential(), verify_challenge_resource=False)
    with untrusting, pytest.raises(ServiceRequestError, match="CERTIFICATE_VERIFY_FAILED"):
        untrusting.get_secret("anything", retry_total=0)


def test_without_the_loopback_identity_the_chain_would_leave_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control for every test above: it is IDENTITY_ENDPOINT that keeps the chain local."""
    for variable in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER"):
        monkeypatch.delenv(variable, raising=False)
    with (
        DefaultAzureCredential() as credential,
        GUARD.expecting_violation() as refused,
        pytest.raises(ClientAuthenticationError),
    ):
        credential.get_token("https://vault.azure.net/.default")
    assert "non-loopback resolve refused: '169.254.169.254'" in refused
