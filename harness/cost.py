"""The cost model: prices an environment from its terraform.tfvars with the price table in the repo.

    python -m harness.cost infra/envs/dev/terraform.tfvars [infra/envs/prod/terraform.tfvars ...]

Every price comes from `infra/cost/prices.yaml`, each with its source. A SKU the table does not know
is an error naming the tfvars file, the line and the rule (`unknown-sku`), never a silent zero.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError
from harness.toolchain import ROOT, VENV

PRICES = ROOT / "infra" / "cost" / "prices.yaml"
MODULES = ROOT / "infra" / "modules"
DAYS_PER_MONTH = 365 / 12


@dataclass(frozen=True)
class Finding:
    """A problem at a place in a file: `file:line: rule: message` (also harness.conformance's)."""

    file: str
    line: int | None
    rule: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.rule}: {self.message}"


class CostError(HarnessError):
    """The environment cannot be priced; `findings` say where and why."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        super().__init__("; ".join(str(finding) for finding in self.findings))


@dataclass(frozen=True)
class LineItem:
    component: str
    meter: str
    sku: str | None
    quantity: float
    unit: str
    unit_usd: float
    monthly_usd: float
    source: str
    verified: bool
    design_item: str | None


@dataclass(frozen=True)
class Bill:
    environment: str
    tfvars: str
    items: tuple[LineItem, ...]

    @property
    def total(self) -> float:
        return round(sum(item.monthly_usd for item in self.items), 2)

    def by_design_item(self) -> dict[str, float]:
        """Totals grouped like the design's estimate; items it leaves out are under 'other'."""
        totals: dict[str, float] = {}
        for item in self.items:
            key = item.design_item or "other"
            totals[key] = round(totals.get(key, 0.0) + item.monthly_usd, 2)
        return totals

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "tfvars": self.tfvars,
            "total_usd": self.total,
            "by_design_item": self.by_design_item(),
            "items": [item.__dict__ for item in self.items],
        }


# --- HCL -----------------------------------------------------------------------------------------

_HCL_DUMP = (
    "import json, sys, hcl2\n"
    "out = {p: hcl2.loads(open(p, encoding='utf-8').read()) for p in sys.argv[1:]}\n"
    "json.dump(out, sys.stdout)\n"
)


def load_hcl(paths: Iterable[Path]) -> dict[Path, dict[str, Any]]:
    """Parse HCL files with checkov's parser (bc-python-hcl2): attributes come as one-element lists,
    expressions as "${...}" strings, blocks carry __start_line__/__end_line__.

    In an environment without the parser (tox's unit env) the project's .venv, where ./bootstrap
    installs every group, parses them in a subprocess."""
    files = [Path(path) for path in paths]
    try:
        hcl2: Any = importlib.import_module("hcl2")
    except ImportError:
        return _load_hcl_in_venv(files)
    return {path: hcl2.loads(path.read_text(encoding="utf-8")) for path in files}


def _load_hcl_in_venv(files: list[Path]) -> dict[Path, dict[str, Any]]:
    python = VENV / "bin" / "python"
    if not python.exists():
        raise HarnessError(f"cannot parse HCL: no hcl2 module and no {python}: run ./bootstrap")
    done = subprocess.run(
        [str(python), "-c", _HCL_DUMP, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise HarnessError(f"cannot parse HCL: {done.stderr.strip()}")
    parsed: dict[str, dict[str, Any]] = json.loads(done.stdout)
    return {Path(path): value for path, value in parsed.items()}


def hcl_value(value: Any) -> Any:
    """Unwrap bc-python-hcl2's one-element attribute lists."""
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def attribute_lines(path: Path) -> dict[str, int]:
    """Line of each top-level `name = ...` assignment (tfvars), for findings."""
    lines: dict[str, int] = {}
    pattern = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*=")
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = pattern.match(text)
        if match and match.group(1) not in lines:
            lines[match.group(1)] = number
    return lines


def relative(path: Path, root: Path = ROOT) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


# --- the price table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    usd: float
    source: str
    verified: bool


@dataclass(frozen=True)
class Meter:
    name: str
    unit: str
    design_item: str | None
    free_quantity: float
    flat: Price | None
    skus: Mapping[str, Price] = field(default_factory=dict)


@dataclass(frozen=True)
class PriceTable:
    path: Path
    hours_per_month: float
    meters: Mapping[str, Meter]
    targets: Mapping[str, Any]

    @classmethod
    def load(cls, path: Path = PRICES) -> PriceTable:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        meters: dict[str, Meter] = {}
        for name, spec in raw["meters"].items():
            skus = {
                sku: Price(float(p["usd"]), str(p["source"]), bool(p.get("verified", True)))
                for sku, p in (spec.get("skus") or {}).items()
            }
            flat = None
            if "usd" in spec:
                flat = Price(
                    float(spec["usd"]), str(spec["source"]), bool(spec.get("verified", True))
                )
            meters[name] = Meter(
                name=name,
                unit=str(spec["unit"]),
                design_item=spec.get("design_item"),
                free_quantity=float(spec.get("free_quantity", 0)),
                flat=flat,
                skus=skus,
            )
        return cls(path, float(raw["hours_per_month"]), meters, raw.get("targets", {}))

    def unsourced(self) -> list[str]:
        """Meters or SKUs whose source is empty (the table's own rule: every price has a source)."""
        missing: list[str] = []
        for meter in self.meters.values():
            prices = list(meter.skus.items()) + ([("", meter.flat)] if meter.flat else [])
            for sku, price in prices:
                if not price.source.strip():
                    missing.append(f"{meter.name}{'.' + sku if sku else ''}")
        return missing


# --- pricing an environment ----------------------------------------------------------------------


class _Pricer:
    def __init__(self, table: PriceTable, tfvars: Path, values: Mapping[str, Any]) -> None:
        self.table = table
        self.tfvars = tfvars
        self.values = values
        self.lines = attribute_lines(tfvars)
        self.items: list[LineItem] = []
        self.findings: list[Finding] = []

    def setting(self, key: str) -> Any:
        if key not in self.values:
            self.findings.append(
                Finding(relative(self.tfvars), None, "missing-setting", f"{key} is not set")
            )
            return None
        return hcl_value(self.values[key])

    def usage(self, key: str) -> float:
        usage = self.setting("usage_estimate")
        if not isinstance(usage, Mapping) or key not in usage:
            self.findings.append(
                Finding(
                    relative(self.tfvars),
                    self.lines.get("usage_estimate"),
                    "missing-setting",
                    f"usage_estimate.{key} is not set",
                )
            )
            return 0.0
        return float(usage[key])

    def add(
        self, component: str, meter_name: str, quantity: float, sku_key: str | None = None
    ) -> None:
        meter = self.table.meters[meter_name]
        sku: str | None = None
        if sku_key is not None:
            sku_value = self.setting(sku_key)
            if sku_value is None:
                return
            sku = str(sku_value)
            price = meter.skus.get(sku)
            if price is None:
                known = ", ".join(sorted(meter.skus))
                self.findings.append(
                    Finding(
                        relative(self.tfvars),
                        self.lines.get(sku_key),
                        "unknown-sku",
                        f'{sku_key} = "{sku}": the price table ({relative(self.table.path)}) has '
                        f"no {meter_name} SKU {sku!r}; known: {known}",
                    )
                )
                return
        else:
            assert meter.flat is not None, f"{meter_name} needs a SKU"
            price = meter.flat
        billable = max(0.0, quantity - meter.free_quantity)
        self.items.append(
            LineItem(
                component=component,
                meter=meter_name,
                sku=sku,
                quantity=round(quantity, 4),
                unit=meter.unit,
                unit_usd=price.usd,
                monthly_usd=round(billable * price.usd, 2),
                source=price.source,
                verified=price.verified,
                design_item=meter.design_item,
            )
        )


def _iso_days(duration: str) -> float:
    match = re.fullmatch(r"P(\d+)([DMY])", duration)
    if not match:
        raise HarnessError(f"unsupported ISO 8601 duration {duration!r}")
    number, unit = int(match.group(1)), match.group(2)
    return number * {"D": 1.0, "M": DAYS_PER_MONTH, "Y": 365.0}[unit]


def _module_default(module: str, variable: str) -> Any:
    path = MODULES / module / "variables.tf"
    for block in load_hcl([path])[path].get("variable", []):
        if variable in block:
            return hcl_value(block[variable].get("default"))
    raise HarnessError(f"{relative(path)} has no default for {variable}")


def price_environment(tfvars: Path, prices: Path = PRICES) -> Bill:
    """The monthly bill of the environment described by `tfvars`; CostError on unknown SKUs."""
    table = PriceTable.load(prices)
    values = load_hcl([tfvars])[tfvars]
    pricer = _Pricer(table, tfvars, values)
    hours = table.hours_per_month

    pricer.add("VPN gateway", "vpn_gateway", hours, "vpn_gateway_sku")
    instances = 2 if pricer.setting("vpn_active_active") else 1
    pricer.add(
        f"VPN gateway public IPs (x{instances})",
        "public_ip",
        instances * hours,
        "vpn_public_ip_sku",
    )
    pricer.add("VPN egress (site-to-site)", "vpn_egress", pricer.usage("vpn_egress_gb"))
    pricer.add("Internet egress", "internet_egress", pricer.usage("internet_egress_gb"))
    workers = float(pricer.setting("app_service_worker_count") or 0)
    pricer.add(
        f"App Service plan (x{workers:g})", "app_service_plan", workers * hours, "app_service_sku"
    )
    pricer.add("Static Web App", "static_web_app", 1, "static_web_sku")
    units = float(pricer.setting("signalr_capacity") or 0)
    pricer.add(f"SignalR Service ({units:g} unit)", "signalr_unit", units, "signalr_sku")
    pricer.add(
        "Table Storage capacity",
        "table_storage",
        pricer.usage("storage_gb"),
        "storage_replication_type",
    )
    pricer.add(
        "Table Storage transactions", "table_transactions", pricer.usage("storage_transactions_10k")
    )
    ingestion = pricer.usage("app_insights_ingestion_gb") + pricer.usage(
        "log_analytics_ingestion_gb"
    )
    pricer.add("Application Insights / Log Analytics ingestion", "monitoring_ingestion", ingestion)
    pricer.add("Container Registry", "container_registry", 1, "acr_sku")
    pricer.add(
        "Key Vault operations", "key_vault_operations", pricer.usage("key_vault_operations_10k")
    )
    pricer.add("Key Vault HSM key (IBKR)", "key_vault_hsm_key", 1)
    rotation = _module_default("key-vault", "ibkr_key_rotation")
    interval = _iso_days(rotation["expire_after"]) - _iso_days(rotation["rotate_before_expiry"])
    pricer.add("Key Vault key rotations", "key_vault_rotation", DAYS_PER_MONTH / interval)
    flow_gb = pricer.usage("flow_logs_gb")
    pricer.add("VNet flow logs", "flow_logs", flow_gb)
    pricer.add("Traffic analytics", "traffic_analytics", flow_gb)
    if pricer.setting("container_instances_enabled"):
        cpu = float(_module_default("container-instances", "cpu"))
        memory = float(_module_default("container-instances", "memory_gb"))
        pricer.add("Container Instances vCPU", "container_instances_vcpu", cpu * hours)
        pricer.add("Container Instances memory", "container_instances_memory", memory * hours)

    if pricer.findings:
        raise CostError(pricer.findings)
    environment = str(pricer.setting("environment"))
    return Bill(environment, relative(tfvars), tuple(pricer.items))


def check_target(bill: Bill, prices: Path = PRICES) -> list[Finding]:
    """The design's figure for this environment, if it has one, within its tolerance."""
    table = PriceTable.load(prices)
    target = table.targets.get(bill.environment)
    if not target:
        return []
    expected = float(target["monthly_usd"])
    tolerance = float(target["tolerance_pct"]) / 100
    if abs(bill.total - expected) <= expected * tolerance:
        return []
    return [
        Finding(
            bill.tfvars,
            None,
            "cost-target",
            f"{bill.environment} costs ${bill.total:.2f}/month, more than "
            f"{tolerance:.0%} away from the design's ${expected:.0f} ({target['source']})",
        )
    ]


def format_bill(bill: Bill, prices: Path = PRICES) -> list[str]:
    lines = [f"{bill.environment}: {bill.tfvars}"]
    for item in bill.items:
        mark = "" if item.verified else "  (unverified price)"
        lines.append(
            f"  {item.component:<48} {item.quantity:>10.2f} {item.unit:<16} "
            f"${item.monthly_usd:>8.2f}{mark}"
        )
    lines.append(f"  {'total':<48} {'':>10} {'':<16} ${bill.total:>8.2f} /month")
    target = PriceTable.load(prices).targets.get(bill.environment)
    if target:
        groups = bill.by_design_item()
        parts = [
            f"{name} {groups.get(name, 0.0):.2f} (~{estimate})"
            for name, estimate in target.get("breakdown", {}).items()
        ]
        lines.append(f"  design ~${target['monthly_usd']}: " + ", ".join(parts))
        if groups.get("other"):
            lines.append(f"  not in the design's estimate: {groups['other']:.2f}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in arguments
    paths = [Path(a) for a in arguments if a != "--json"]
    if not paths:
        print(
            "usage: python -m harness.cost [--json] infra/envs/<env>/terraform.tfvars ...",
            file=sys.stderr,
        )
        return 2
    code = 0
    bills: list[dict[str, Any]] = []
    for path in paths:
        try:
            bill = price_environment(path)
        except CostError as error:
            for finding in error.findings:
                print(finding, file=sys.stderr)
            code = 1
            continue
        bills.append(bill.as_dict())
        if not as_json:
            print("\n".join(format_bill(bill)))
        for finding in check_target(bill):
            print(finding, file=sys.stderr)
            code = 1
    if as_json:
        print(json.dumps(bills, indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main())
