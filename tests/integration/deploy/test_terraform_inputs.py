"""terraform-inputs: the real Terraform plans each environment against its modules' inputs.

Each test breaks a private copy of the deployment path the way it has broken or could break,
and expects one finding at the line to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.conformance import CheckResult, run_checks
from tests.unit.deploy.conftest import line_of, replace_in

pytestmark = pytest.mark.integration

DEV = Path("infra/envs/dev")


def inputs(repo: Path) -> CheckResult:
    [result] = run_checks(repo.parent / "out", root=repo, only={"terraform-inputs"})
    return result


def texts(result: CheckResult) -> list[str]:
    return [str(finding) for finding in result.findings]


def test_both_environments_plan_against_their_modules(repo: Path) -> None:
    result = inputs(repo)

    assert result.status.value == "passed", texts(result)
    plans = [c for c in result.commands if " plan " in c]
    assert [("envs/dev" in c, "envs/prod" in c) for c in plans] == [(True, False), (False, True)]


def test_a_setting_named_like_a_secret_fails_the_container_instances_validation(
    repo: Path,
) -> None:
    """The class of mistake that failed every plan for seventeen sessions unnoticed."""
    for environment in ("dev", "prod"):
        replace_in(
            repo / "infra" / "envs" / environment / "main.tf",
            '    SIGNALR_HUB     = "signals"\n',
            '    SIGNALR_HUB     = "signals"\n    SIGNALR_TOKEN   = "t"\n',
        )

    result = inputs(repo)

    line = line_of(repo / DEV / "main.tf", "environment_variables = {")
    assert result.status.value == "failed"
    assert any(
        text.startswith(
            f"infra/envs/dev/main.tf:{line}: terraform-inputs: Invalid value for "
            "variable: A setting named like a secret value"
        )
        for text in texts(result)
    ), texts(result)


def test_a_tfvars_value_out_of_range_is_named_at_its_line(repo: Path) -> None:
    tfvars = repo / DEV / "terraform.tfvars"
    replace_in(tfvars, "signalr_capacity         = 1", "signalr_capacity         = 0")

    result = inputs(repo)

    line = line_of(tfvars, "signalr_capacity")
    [text] = texts(result)
    assert text.startswith(
        f"infra/envs/dev/terraform.tfvars:{line}: terraform-inputs: Invalid value for variable: "
        "signalr_capacity must be 1-100, and 1 on Free_F1."
    ), text


def test_an_argument_the_module_does_not_declare(repo: Path) -> None:
    replace_in(repo / DEV / "main.tf", "  daily_cap_gb ", "  daily_cap_gbs")

    result = inputs(repo)

    assert any(
        "infra/envs/dev/main.tf:" in t and "Unsupported argument" in t for t in texts(result)
    ), texts(result)
    assert any("Missing required argument" in t for t in texts(result)), texts(result)
