"""Policy tests over the parsed HCL: layout, typed and validated variables, dev/prod parity, the
NSG, Key Vault, the gateway's cloud sources, tfvars against allowed values."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from harness.conformance.context import ENVIRONMENTS, CheckResult, Context, yaml_line
from harness.cost import (
    Finding,
    attribute_lines,
    hcl_value,
    load_hcl,
)

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


_KEY_VAULT_MUSTS = (
    ("purge_protection_enabled", "key-vault-purge-protection"),
    ("enable_rbac_authorization", "key-vault-rbac"),
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
                for attribute, rule in _KEY_VAULT_MUSTS:
                    if hcl_value(body.get(attribute)) is not True:
                        yield Finding(
                            ctx.rel(path),
                            line,
                            rule,
                            f"azurerm_key_vault.{name}: {attribute} must be true",
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
                    yaml_line(source, ["cloudAccess", "sourceRanges"]),
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
