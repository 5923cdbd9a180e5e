"""One Key Vault fake per test module; each test gets the managed-identity environment."""

from collections.abc import Iterator

import pytest

from tests.integration.keyvault.support import IDENTITY_HEADER, VaultFake, vault_process


@pytest.fixture(scope="module")
def running_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VaultFake]:
    with vault_process(tmp_path_factory.mktemp("keyvault")) as vault:
        yield vault


@pytest.fixture
def vault(running_vault: VaultFake, monkeypatch: pytest.MonkeyPatch) -> VaultFake:
    """The vault, with faults cleared and azure-identity pointed at its loopback token endpoint
    the way App Service points it at its own (no Entra ID, no metadata address)."""
    running_vault.admin("DELETE", "/faults")
    monkeypatch.setenv("IDENTITY_ENDPOINT", running_vault.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    for variable in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "MSI_ENDPOINT"):
        monkeypatch.delenv(variable, raising=False)
    return running_vault
