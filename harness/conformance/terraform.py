"""Terraform itself: fmt, the offline plan against the modules' inputs, validate (with a provider
mirror)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.conformance.context import ENVIRONMENTS, CheckResult, Context, Status
from harness.conformance.tools import tool_path
from harness.cost import Finding
from harness.terraform_inputs import write_inputs_copy
from harness.toolchain import TERRAFORM

# A filesystem mirror of providers (terraform providers mirror), if someone provides one.
PROVIDER_MIRROR = Path(".tools") / "terraform-providers"


def check_terraform_fmt(ctx: Context) -> CheckResult:
    terraform = tool_path(TERRAFORM, ctx.root)
    result = CheckResult("terraform-fmt", f"terraform {ctx.data['versions']['terraform']}")
    if not terraform.exists():
        result.fail(
            Finding(
                ctx.rel(terraform),
                None,
                "tool-missing",
                "terraform is not installed: run ./bootstrap",
            )
        )
        return result
    done = ctx.run(result, [str(terraform), "fmt", "-check", "-recursive", "-list=true", "infra"])
    for name in done.stdout.split():
        result.fail(
            Finding(
                ctx.rel(name),
                None,
                "terraform-fmt",
                "not in canonical format (run: terraform fmt -recursive infra)",
            )
        )
    for match in re.finditer(r"Error: (.+?)\n(?:.|\n)*?on (\S+) line (\d+)", done.stderr):
        result.fail(Finding(ctx.rel(match.group(2)), int(match.group(3)), "hcl-syntax", match[1]))
    if done.returncode != 0 and not result.findings:
        result.fail(Finding("infra", None, "terraform-fmt", done.stderr.strip()[:500]))
    return result


def check_terraform_validate(ctx: Context) -> CheckResult:
    result = CheckResult("terraform-validate", f"terraform {ctx.data['versions']['terraform']}")
    mirror = ctx.root / PROVIDER_MIRROR
    terraform = tool_path(TERRAFORM, ctx.root)
    if not (mirror / "registry.terraform.io" / "hashicorp" / "azurerm").is_dir():
        result.status = Status.NOT_RUN
        result.detail = (
            "not run: `terraform validate` needs the hashicorp/azurerm provider plugin, and "
            "registry.terraform.io is unreachable offline (no provider mirror at "
            f"{PROVIDER_MIRROR}). The terraform workflow runs init/validate/plan in CI; here "
            "terraform-inputs plans the environments against their modules' inputs, and terraform "
            "fmt, checkov and the policy tests check the HCL."
        )
        return result
    if not terraform.exists():
        result.fail(Finding(ctx.rel(terraform), None, "tool-missing", "terraform is not installed"))
        return result
    for env in ENVIRONMENTS:
        directory = ctx.root / "infra" / "envs" / env
        if not _terraform_init(ctx, result, terraform, directory, f"-plugin-dir={mirror}"):
            continue
        done = ctx.run(result, [str(terraform), f"-chdir={directory}", "validate", "-json"])
        report = json.loads(done.stdout or "{}")
        for finding in _terraform_findings(
            ctx, report.get("diagnostics", []), directory, "terraform-validate"
        ):
            result.fail(finding)
    return result


def check_terraform_inputs(ctx: Context) -> CheckResult:
    """Each environment planned offline against its modules' inputs (harness.terraform_inputs):
    module arguments against the modules' variables, and every validation whose value is known at
    plan time (the environment's terraform.tfvars and literal arguments)."""
    result = CheckResult("terraform-inputs", f"terraform {ctx.data['versions']['terraform']}")
    terraform = tool_path(TERRAFORM, ctx.root)
    if not terraform.exists():
        result.fail(Finding(ctx.rel(terraform), None, "tool-missing", "terraform is not installed"))
        return result
    copy = ctx.out_dir / "terraform-inputs"
    result.detail = f"planned offline: infra/ with its resources left out, in {ctx.rel(copy)}"
    for directory in write_inputs_copy(ctx.root / "infra", copy):
        if not _terraform_init(ctx, result, terraform, directory):
            continue
        plan = ctx.run(
            result,
            [
                str(terraform), f"-chdir={directory}", "plan", "-json", "-input=false",
                "-refresh=false", "-lock=false",
            ],
        )  # fmt: skip
        events = [json.loads(line) for line in plan.stdout.splitlines() if line.startswith("{")]
        diagnostics = [e["diagnostic"] for e in events if e.get("type") == "diagnostic"]
        for finding in _terraform_findings(ctx, diagnostics, directory, "terraform-inputs", copy):
            result.fail(finding)
        if plan.returncode != 0 and not result.findings:
            result.fail(Finding(ctx.rel(directory), None, "terraform-plan", plan.stderr[-500:]))
    return result


def _terraform_init(
    ctx: Context, result: CheckResult, terraform: Path, directory: Path, *options: str
) -> bool:
    init = ctx.run(
        result,
        [str(terraform), f"-chdir={directory}", "init", "-backend=false", "-input=false", *options],
    )
    if init.returncode != 0:
        result.fail(Finding(ctx.rel(directory), None, "terraform-init", init.stderr[-500:]))
    return init.returncode == 0


def _terraform_findings(
    ctx: Context,
    diagnostics: Iterable[Mapping[str, Any]],
    directory: Path,
    rule: str,
    copy: Path | None = None,
) -> list[Finding]:
    """Terraform's error diagnostics as findings at their file and line, each once. A diagnostic
    in `copy` (a copy of the repository's files at the same paths) is placed in the original."""
    findings: list[Finding] = []
    for diagnostic in diagnostics:
        if diagnostic.get("severity") != "error":
            continue
        where = diagnostic.get("range") or {}
        path = directory / where["filename"] if "filename" in where else directory
        if copy is not None:
            path = ctx.root / path.resolve().relative_to(copy.resolve())
        line = (where.get("start") or {}).get("line")
        message = " ".join(f"{diagnostic.get('summary')}: {diagnostic.get('detail', '')}".split())
        finding = Finding(ctx.rel(path), line, rule, message)
        if finding not in findings:
            findings.append(finding)
    return findings
