"""The aio SecretClient with ManagedIdentityCredential: the shape of an asyncio service adapter."""

import uuid

from azure.identity.aio import ManagedIdentityCredential
from azure.keyvault.secrets.aio import SecretClient

from tests.integration.keyvault.support import VaultFake


async def test_an_async_adapter_sets_rotates_deletes_and_recovers(vault: VaultFake) -> None:
    name = f"ibkr-password-{uuid.uuid4().hex[:8]}"
    async with (
        ManagedIdentityCredential() as credential,
        SecretClient(
            vault.url,
            credential,
            connection_verify=str(vault.ca_file),
            verify_challenge_resource=False,
        ) as client,
    ):
        first = await client.set_secret(name, "one")
        second = await client.set_secret(name, "two")
        assert (await client.get_secret(name)).properties.version == second.properties.version
        assert (await client.get_secret(name, first.properties.version)).value == "one"
        versions = [p.version async for p in client.list_properties_of_secret_versions(name)]
        assert sorted(versions) == sorted([first.properties.version, second.properties.version])
        deleted = await client.delete_secret(name)
        assert deleted.recovery_id is not None
        await client.recover_deleted_secret(name)
        assert (await client.get_secret(name)).value == "two"
