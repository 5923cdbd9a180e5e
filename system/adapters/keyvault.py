"""Azure Key Vault secrets through azure-keyvault-secrets' async client, behind SecretStore.

The service authenticates with its managed identity: on App Service (and in the local topology)
IDENTITY_ENDPOINT and IDENTITY_HEADER name the token endpoint. Only the managed-identity
credential is used, not DefaultAzureCredential's chain, whose other links would reach for
developer logins and the instance-metadata address.
"""

from __future__ import annotations

from pathlib import Path

from azure.identity.aio import ManagedIdentityCredential
from azure.keyvault.secrets.aio import SecretClient

from system.ports import Secret


class KeyVaultSecrets:
    def __init__(
        self,
        vault_url: str,
        ca_file: Path | None = None,
        verify_challenge_resource: bool = True,
        managed_identity_client_id: str | None = None,
    ) -> None:
        self._credential = ManagedIdentityCredential(client_id=managed_identity_client_id)
        self._client = SecretClient(
            vault_url,
            self._credential,
            # A vault that is not under vault.azure.net (a loopback one) cannot match the
            # resource its challenge names.
            verify_challenge_resource=verify_challenge_resource,
            connection_verify=str(ca_file) if ca_file else True,
        )

    async def get(self, name: str) -> Secret:
        secret = await self._client.get_secret(name)
        if secret.value is None:
            raise LookupError(f"secret {name!r} has no value")
        return Secret(name=name, value=secret.value, version=secret.properties.version or "")

    async def aclose(self) -> None:
        await self._client.close()
        await self._credential.close()
