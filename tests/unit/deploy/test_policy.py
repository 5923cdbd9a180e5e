"""Policy tests over the parsed HCL and the values files: each rule passes on the repository and
fails, naming the file and the line, on a copy broken on purpose."""

from __future__ import annotations

from pathlib import Path

from harness.conformance import CheckResult, Status, run_checks
from tests.unit.deploy.conftest import line_of, replace_in


def policy(repo: Path, check: str = "terraform-policy") -> CheckResult:
    (result,) = run_checks(repo / "out", root=repo, only={check})
    return result


def texts(result: CheckResult) -> list[str]:
    return [str(finding) for finding in result.findings]


def test_the_repository_passes_every_policy(repo: Path) -> None:
    for check in ("terraform-policy", "no-secrets"):
        result = policy(repo, check)
        assert result.status is Status.PASSED, texts(result)


def test_dev_and_prod_must_compose_the_same_modules(repo: Path) -> None:
    main = repo / "infra" / "envs" / "prod" / "main.tf"
    text = main.read_text()
    start = text.index('module "container_instances" {')
    main.write_text(text[:start])  # prod silently drops a module

    result = policy(repo)

    assert result.status is Status.FAILED
    assert any(
        f.rule == "env-parity" and f.file == "infra/envs/prod/main.tf" and "module" in f.message
        for f in result.findings
    ), texts(result)


def test_only_skus_and_sizes_may_differ_between_the_tfvars(repo: Path) -> None:
    tfvars = repo / "infra" / "envs" / "prod" / "terraform.tfvars"
    replace_in(
        tfvars, 'onprem_public_ip     = "203.0.113.10"', 'onprem_public_ip     = "203.0.113.99"'
    )

    result = policy(repo)

    line = line_of(tfvars, "onprem_public_ip")
    assert (
        f"infra/envs/prod/terraform.tfvars:{line}: env-parity: onprem_public_ip differs"
        in "\n".join(texts(result))
    )


def test_the_nsg_admits_only_the_onprem_ip(repo: Path) -> None:
    main = repo / "infra" / "modules" / "networking" / "main.tf"
    replace_in(
        main,
        "source_address_prefix      = var.onprem_public_ip",
        'source_address_prefix      = "*"',
    )

    result = policy(repo)

    nsg = [f for f in result.findings if f.rule == "nsg-onprem-only"]
    assert nsg, texts(result)
    assert nsg[0].file == "infra/modules/networking/main.tf"
    assert nsg[0].line == line_of(main, 'resource "azurerm_network_security_group"')
    assert "allow-onprem-ike" in nsg[0].message


def test_the_onprem_ip_must_be_a_single_public_address(repo: Path) -> None:
    tfvars = repo / "infra" / "envs" / "dev" / "terraform.tfvars"
    replace_in(
        tfvars, 'onprem_public_ip     = "203.0.113.10"', 'onprem_public_ip     = "192.168.1.1"'
    )

    result = policy(repo)

    line = line_of(tfvars, "onprem_public_ip")
    assert any(f.rule == "nsg-onprem-only" and f.line == line for f in result.findings), texts(
        result
    )


def test_key_vault_purge_protection_stays_on(repo: Path) -> None:
    main = repo / "infra" / "modules" / "key-vault" / "main.tf"
    replace_in(
        main, "purge_protection_enabled      = true", "purge_protection_enabled      = false"
    )

    result = policy(repo)

    (finding,) = [f for f in result.findings if f.rule == "key-vault-purge-protection"]
    assert finding.file == "infra/modules/key-vault/main.tf"
    assert finding.line == line_of(main, 'resource "azurerm_key_vault" "this"')


def test_every_variable_is_typed_described_and_validated(repo: Path) -> None:
    variables = repo / "infra" / "modules" / "acr" / "variables.tf"
    variables.write_text(
        variables.read_text() + '\nvariable "loose" {\n  default = 1\n}\n', encoding="utf-8"
    )

    result = policy(repo)

    rules = {f.rule for f in result.findings if f.file == "infra/modules/acr/variables.tf"}
    assert rules == {"variable-typed", "variable-described", "variable-validated"}


def test_every_module_pins_azurerm(repo: Path) -> None:
    versions = repo / "infra" / "modules" / "storage" / "versions.tf"
    replace_in(versions, 'version = "~> 4.40"', 'version = "~> 4.10"')

    result = policy(repo)

    assert any(f.rule == "provider-pin" and "differ" in f.message for f in result.findings), texts(
        result
    )


def test_a_secret_in_tfvars_is_refused(repo: Path) -> None:
    tfvars = repo / "infra" / "envs" / "dev" / "terraform.tfvars"
    tfvars.write_text(
        tfvars.read_text() + 'vpn_shared_key = "s3cr3t-psk-value"\n', encoding="utf-8"
    )

    result = policy(repo, "no-secrets")

    line = line_of(tfvars, "vpn_shared_key")
    assert f"infra/envs/dev/terraform.tfvars:{line}: secret-in-tfvars:" in "\n".join(texts(result))


def test_a_secret_in_a_values_file_is_refused(repo: Path) -> None:
    values = repo / "charts" / "ib-gateway" / "values-prod.yaml"
    values.write_text(values.read_text() + "gateway:\n  password: hunter22\n", encoding="utf-8")

    result = policy(repo, "no-secrets")

    line = line_of(values, "password:")
    assert f"charts/ib-gateway/values-prod.yaml:{line}: secret-in-values:" in "\n".join(
        texts(result)
    )


def test_a_credential_shaped_value_is_refused_whatever_its_key(repo: Path) -> None:
    values = repo / "charts" / "spy-trading-bot" / "values-dev.yaml"
    values.write_text(
        values.read_text()
        + "podAnnotations:\n  note: DefaultEndpointsProtocol=https;AccountKey=abc\n",
        encoding="utf-8",
    )

    result = policy(repo, "no-secrets")

    assert any(f.rule == "secret-in-values" for f in result.findings), texts(result)


def test_the_gateway_admits_every_cloud_subnet_the_detector_runs_in(repo: Path) -> None:
    values = repo / "charts" / "ib-gateway" / "values.yaml"
    replace_in(values, "    - 10.0.3.0/24\n", "")  # Container Instances' subnet forgotten

    result = policy(repo)

    line = line_of(values, "sourceRanges:")
    assert (
        f"charts/ib-gateway/values.yaml:{line}: gateway-cloud-sources: cloudAccess.sourceRanges "
        "(dev) do not admit the containers subnet 10.0.3.0/24" in "\n".join(texts(result))
    ), texts(result)
