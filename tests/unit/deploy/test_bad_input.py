"""Bad input makes the conformance run fail, naming the file, the line and the rule:
a tfvars with an unknown SKU, a values file that violates values.schema.json, and a workflow with
an injection-prone expression. Each runs the real checks (helm, actionlint) on a broken copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.conformance import Context, Status, config_skips, run_checks, run_conformance
from tests.unit.deploy.conftest import line_of, replace_in


def test_an_unknown_sku_fails_the_policy_and_the_cost_model(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tfvars = repo / "infra" / "envs" / "dev" / "terraform.tfvars"
    replace_in(tfvars, 'app_service_sku          = "B1"', 'app_service_sku          = "B9"')
    line = line_of(tfvars, "app_service_sku")

    code = run_conformance(repo / "out", root=repo, only={"terraform-policy", "cost-model"})

    assert code != 0
    out = capsys.readouterr().out
    assert f"infra/envs/dev/terraform.tfvars:{line}: tfvars-validation: app_service_sku" in out
    assert f"infra/envs/dev/terraform.tfvars:{line}: unknown-sku: app_service_sku" in out


def test_a_values_file_that_violates_the_schema_fails_helm_lint(repo: Path) -> None:
    values = repo / "charts" / "spy-trading-bot" / "values-dev.yaml"
    replace_in(values, "replicaCount: 3", 'replicaCount: "three"')
    replace_in(values, "  periodSeconds: 10", "  periodSeconds: 0")

    (result,) = run_checks(repo / "out", root=repo, only={"helm-lint"})

    assert result.status is Status.FAILED
    findings = {(f.file, f.line, f.rule): f.message for f in result.findings}
    replicas = ("charts/spy-trading-bot/values-dev.yaml", line_of(values, "replicaCount"),
                "values.schema.json")  # fmt: skip
    assert replicas in findings
    assert "/replicaCount" in findings[replicas]
    period = ("charts/spy-trading-bot/values-dev.yaml", line_of(values, "periodSeconds: 0"),
              "values.schema.json")  # fmt: skip
    assert period in findings, findings


def test_an_injection_prone_workflow_fails_actionlint(repo: Path) -> None:
    workflow = repo / ".github" / "workflows" / "greet.yml"
    workflow.write_text(
        "name: greet\n"
        "on: pull_request\n"
        "jobs:\n"
        "  greet:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n',
        encoding="utf-8",
    )

    (result,) = run_checks(repo / "out", root=repo, only={"actionlint"})

    assert result.status is Status.FAILED
    (finding,) = result.findings
    assert (finding.file, finding.line, finding.rule) == (
        ".github/workflows/greet.yml",
        7,
        "expression",
    )
    assert "potentially untrusted" in finding.message


def test_an_unjustified_checkov_skip_is_a_failure(repo: Path) -> None:
    config = repo / "charts" / "checkov.yaml"
    config.write_text(config.read_text() + "  - CKV_K8S_21\n", encoding="utf-8")
    ctx = Context(root=repo, out_dir=repo / "out", env={}, isolate=[])

    skips, findings = config_skips(ctx, config)

    assert [s.check_id for s in skips] == ["CKV_K8S_43", "CKV_K8S_15", "CKV_K8S_21"]
    assert all(s.justification for s in skips[:2])
    (finding,) = findings
    assert (finding.file, finding.line, finding.rule) == (
        "charts/checkov.yaml",
        line_of(config, "CKV_K8S_21"),
        "skip-justified",
    )


def test_an_unformatted_terraform_file_fails_terraform_fmt(repo: Path) -> None:
    main = repo / "infra" / "modules" / "acr" / "main.tf"
    replace_in(main, "  sku                 = var.sku\n", "  sku = var.sku\n")

    (result,) = run_checks(repo / "out", root=repo, only={"terraform-fmt"})

    assert result.status is Status.FAILED
    (finding,) = result.findings  # terraform is ./bootstrap's: a missing one fails here
    assert (finding.file, finding.rule) == ("infra/modules/acr/main.tf", "terraform-fmt")


def test_a_failing_alert_unit_test_names_the_alert(repo: Path) -> None:
    tests = repo / "charts" / "edge-monitoring" / "files" / "prometheus" / "tests"
    test_file = tests / "spy-hybrid.rules.test.yml"
    quiet = "      - eval_time: 2m30s\n        alertname: VpnLinkDown\n        exp_alerts: []"
    firing = quiet.replace(
        "exp_alerts: []", "exp_alerts:\n          - exp_labels:\n              severity: critical"
    )
    replace_in(test_file, quiet, firing)  # the test now wrongly expects the alert at 2m30s

    (result,) = run_checks(repo / "out", root=repo, only={"promtool-test"})

    assert result.status is Status.FAILED
    (finding,) = result.findings
    assert finding.file.endswith("tests/spy-hybrid.rules.test.yml")
    assert finding.rule == "promtool-test-rules"
    assert finding.message.startswith("VpnLinkDown at 2m30s")


def test_a_latest_base_image_fails_hadolint(repo: Path) -> None:
    dockerfile = repo / "docker" / "spy-detector" / "Dockerfile"
    replace_in(dockerfile, "ARG PYTHON_IMAGE=python:3.11.13-alpine3.22", "ARG PYTHON_IMAGE=python")
    replace_in(dockerfile, "FROM ${PYTHON_IMAGE} AS runtime", "FROM python:latest AS runtime")

    (result,) = run_checks(repo / "out", root=repo, only={"hadolint"})

    assert result.status is Status.FAILED
    line = line_of(dockerfile, "FROM python:latest AS runtime")
    assert ("docker/spy-detector/Dockerfile", line, "DL3007") in {
        (f.file, f.line, f.rule) for f in result.findings
    }


def test_an_image_that_runs_a_module_the_repository_lacks_fails(repo: Path) -> None:
    dockerfile = repo / "docker" / "spy-detector" / "Dockerfile"
    replace_in(dockerfile, '"system.services.detector"]', '"system.services.detect"]')

    (result,) = run_checks(repo / "out", root=repo, only={"hadolint"})

    line = line_of(dockerfile, '"system.services.detect"]')
    assert ("docker/spy-detector/Dockerfile", line, "cmd-module") in {
        (f.file, f.line, f.rule) for f in result.findings
    }


def test_a_chart_checkov_refuses_fails_naming_its_template(repo: Path) -> None:
    values = repo / "charts" / "spy-trading-bot" / "values.yaml"
    replace_in(values, "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true")
    out = repo / ".runs" / "conformance"  # as spyh conformance writes it: under a hidden folder

    results = {r.name: r for r in run_checks(out, root=repo, only={"checkov-charts"})}

    result = results["checkov-charts"]
    assert result.status is Status.FAILED
    assert {(f.file, f.rule) for f in result.findings} == {
        ("charts/spy-trading-bot/templates/deployment.yaml", "CKV_K8S_20"),
        ("charts/spy-trading-bot/templates/tests/test-readiness.yaml", "CKV_K8S_20"),
    }
    assert " 0 resources" not in result.detail
