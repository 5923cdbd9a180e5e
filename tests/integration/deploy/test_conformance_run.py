"""The whole conformance run on the repository, with every real tool, once (checkov is slow)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness.conformance import CHECKS, run_conformance

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("conformance")
    code = run_conformance(out)
    return code, out, json.loads((out / "conformance.json").read_text())


def checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in report["checks"]}


def test_the_repository_conforms(run: tuple[int, Path, dict[str, Any]]) -> None:
    code, _, report = run

    failed = {n: c["findings"] for n, c in checks(report).items() if c["status"] == "failed"}
    assert failed == {}
    assert code == 0
    assert set(checks(report)) == set(CHECKS)


def test_every_check_names_its_tool_version_and_commands(
    run: tuple[int, Path, dict[str, Any]],
) -> None:
    _, _, report = run

    for name, check in checks(report).items():
        assert check["tool"], name
        assert "unknown" not in check["tool"], name
        if check["status"] == "passed":
            assert check["commands"], name
    tools = report["tools"]
    assert tools["helm"] == "v3.21.4"
    assert tools["checkov"].startswith("3.")
    assert tools["kubernetes-validate"].startswith("1.")


def test_terraform_validate_says_plainly_why_it_did_not_run(
    run: tuple[int, Path, dict[str, Any]],
) -> None:
    _, _, report = run

    validate = checks(report)["terraform-validate"]
    assert validate["status"] == "not-run"
    assert "azurerm provider" in validate["detail"]
    assert "registry.terraform.io is unreachable offline" in validate["detail"]


def test_the_real_tools_ran_on_both_environments(run: tuple[int, Path, dict[str, Any]]) -> None:
    _, out, report = run
    by_name = checks(report)

    lint = " ".join(by_name["helm-lint"]["commands"])
    assert "values-dev.yaml" in lint
    assert "values-prod.yaml" in lint
    assert "--strict" in by_name["kubernetes-validate"]["commands"][0]
    assert "--kubernetes-version 1.28.0" in by_name["kubernetes-validate"]["commands"][0]
    assert sorted(p.name for p in (out / "rendered").iterdir()) == ["dev", "prod"]
    assert "terraform fmt -check -recursive" in by_name["terraform-fmt"]["commands"][0]
    assert any("promtool test rules" in c for c in by_name["promtool-test"]["commands"])


def test_every_skip_is_justified(run: tuple[int, Path, dict[str, Any]]) -> None:
    _, _, report = run

    assert report["skip_list"]
    for skip in report["skip_list"]:
        assert len(skip["justification"]) >= 10, skip
    configured = [s for s in report["skip_list"] if s["scope"].startswith("all of")]
    assert len(configured) <= 5  # a short global list; everything else is scoped to one resource


def test_the_costs_are_in_the_report(run: tuple[int, Path, dict[str, Any]]) -> None:
    _, _, report = run

    assert 45 <= report["cost"]["dev"]["total_usd"] <= 61
    assert report["cost"]["prod"]["total_usd"] > report["cost"]["dev"]["total_usd"]


def test_the_junit_report_has_one_case_per_check(run: tuple[int, Path, dict[str, Any]]) -> None:
    _, out, report = run

    suite = ET.parse(out / "junit.xml").getroot()  # noqa: S314 - our own file

    assert suite.tag == "testsuite"
    assert int(suite.get("tests", "0")) == len(report["checks"])
    assert int(suite.get("failures", "-1")) == 0
    skipped = [c.get("name") for c in suite.iter("testcase") if c.find("skipped") is not None]
    assert skipped == ["terraform-validate"]


def test_the_tools_could_not_reach_the_network(run: tuple[int, Path, dict[str, Any]]) -> None:
    _, _, report = run

    assert report["network"].startswith(("isolated", "not isolated"))


def test_an_unknown_field_in_a_template_fails_kubernetes_validate(tmp_path: Path) -> None:
    """--strict: a typo'd field is an error, reported against the template it came from."""
    import shutil

    from harness.conformance import run_checks
    from harness.toolchain import ROOT

    charts = tmp_path / "repo" / "charts"
    shutil.copytree(ROOT / "charts", charts)
    template = charts / "spy-trading-bot" / "templates" / "poddisruptionbudget.yaml"
    text = template.read_text()
    template.write_text(
        text.replace("spec:\n  minAvailable:", "spec:\n  minAvaliable: 1\n  minAvailable:")
    )

    results = run_checks(tmp_path / "out", root=tmp_path / "repo", only={"kubernetes-validate"})

    validate = {r.name: r for r in results}["kubernetes-validate"]
    assert validate.status.value == "failed"
    finding = validate.findings[0]
    assert finding.file == "charts/spy-trading-bot/templates/poddisruptionbudget.yaml"
    assert finding.rule == "kubernetes-schema-1.28"
    assert "minAvaliable" in finding.message
