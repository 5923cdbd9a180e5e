"""The inputs-only copy of infra/: what it keeps, what it blanks, and that lines do not move."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.terraform_inputs import UNKNOWN_FILE, write_inputs_copy

MODULE_VARIABLES = """\
variable "name" {
  type = string
  validation {
    condition     = length(var.name) > 2
    error_message = "name is too short."
  }
}
"""
MODULE_MAIN = """\
resource "azurerm_thing" "this" {
  name = var.name
}
"""
MODULE_OUTPUTS = """\
output "id" {
  description = "The thing."
  value       = azurerm_thing.this.id
}

output "name" {
  value = var.name
}

output "secret" {
  value     = azurerm_thing.this.key
  sensitive = true
}
"""
ENVIRONMENT_MAIN = """\
# One composition.

data "azurerm_client_config" "current" {}

resource "azurerm_resource_group" "this" {
  name = "rg"
}

module "thing" {
  source = "../../modules/thing"

  name      = azurerm_resource_group.this.name
  tenant    = data.azurerm_client_config.current.tenant_id
  not_a_ref = "xazurerm_resource_group.this"
}

output "id" {
  value = module.thing.id
}
"""
VERSIONS = """\
terraform {
  backend "azurerm" {}
}

provider "azurerm" {
  features {}
}
"""


@pytest.fixture
def infra(tmp_path: Path) -> Path:
    root = tmp_path / "infra"
    module = root / "modules" / "thing"
    environment = root / "envs" / "dev"
    module.mkdir(parents=True)
    environment.mkdir(parents=True)
    (module / "variables.tf").write_text(MODULE_VARIABLES)
    (module / "main.tf").write_text(MODULE_MAIN)
    (module / "outputs.tf").write_text(MODULE_OUTPUTS)
    (module / "versions.tf").write_text(VERSIONS)
    (environment / "main.tf").write_text(ENVIRONMENT_MAIN)
    (environment / "versions.tf").write_text(VERSIONS)
    (environment / "terraform.tfvars").write_text('name = "dev"\n')
    return root


def test_each_file_keeps_its_path_and_line_count(infra: Path, tmp_path: Path) -> None:
    write_inputs_copy(infra, tmp_path / "copy")

    for original in infra.rglob("*.tf"):
        copied = tmp_path / "copy" / "infra" / original.relative_to(infra)
        assert len(copied.read_text().splitlines()) == len(original.read_text().splitlines())


def test_a_module_keeps_its_inputs_and_its_own_resources_become_unknown(
    infra: Path, tmp_path: Path
) -> None:
    write_inputs_copy(infra, tmp_path / "copy")
    module = tmp_path / "copy" / "infra" / "modules" / "thing"

    assert (module / "variables.tf").read_text() == MODULE_VARIABLES
    assert (module / "main.tf").read_text().strip() == ""
    assert (module / "versions.tf").read_text().strip() == ""
    assert (module / "outputs.tf").read_text() == MODULE_OUTPUTS.replace(
        "azurerm_thing.this", "local.offline_unknown"
    )
    assert (
        "offline_unknown = jsondecode(terraform_data.offline.id)"
        in (module / UNKNOWN_FILE).read_text()
    )


def test_depends_on_goes_with_the_resources_it_named(infra: Path, tmp_path: Path) -> None:
    outputs = infra / "modules" / "thing" / "outputs.tf"
    outputs.write_text(
        outputs.read_text().replace(
            "  sensitive = true\n", "  sensitive = true\n  depends_on = [azurerm_thing.this]\n"
        )
    )

    write_inputs_copy(infra, tmp_path / "copy")

    copied = (tmp_path / "copy" / "infra" / "modules" / "thing" / "outputs.tf").read_text()
    assert "depends_on" not in copied
    assert len(copied.splitlines()) == len(outputs.read_text().splitlines())


def test_an_environment_keeps_its_inputs_and_its_own_resources_become_unknown(
    infra: Path, tmp_path: Path
) -> None:
    [environment] = write_inputs_copy(infra, tmp_path / "copy")

    main = (environment / "main.tf").read_text().splitlines()
    assert main[2] == ""  # the data source
    assert main[4:7] == ["", "", ""]  # the resource group
    assert main[11] == "  name      = local.offline_unknown.name"
    assert main[12] == "  tenant    = local.offline_unknown.tenant_id"
    assert main[13] == '  not_a_ref = "xazurerm_resource_group.this"'
    assert main[16:19] == ['output "id" {', "  value = module.thing.id", "}"]
    assert (environment / "versions.tf").read_text().strip() == ""
    assert (environment / "terraform.tfvars").read_text() == 'name = "dev"\n'
    assert (
        "offline_unknown = jsondecode(terraform_data.offline.id)"
        in (environment / UNKNOWN_FILE).read_text()
    )


def test_a_file_not_in_terraform_fmt_layout_is_named_with_its_line(
    infra: Path, tmp_path: Path
) -> None:
    (infra / "modules" / "thing" / "main.tf").write_text('  resource "x" "y" {\n  }\n')

    with pytest.raises(HarnessError, match=r"modules/thing/main\.tf:1: outside any top-level"):
        write_inputs_copy(infra, tmp_path / "copy")


def test_a_block_that_never_closes_is_named_with_its_line(infra: Path, tmp_path: Path) -> None:
    (infra / "envs" / "dev" / "main.tf").write_text('\nmodule "thing" {\n  source = "x"\n')

    with pytest.raises(HarnessError, match=r"envs/dev/main\.tf:2: the block never closes"):
        write_inputs_copy(infra, tmp_path / "copy")
