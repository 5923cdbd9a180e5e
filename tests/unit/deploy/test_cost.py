"""The cost model prices dev near the design's ~$53/month, prices prod, and refuses unknown SKUs."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cost import CostError, PriceTable, check_target, main, price_environment
from harness.toolchain import ROOT
from tests.unit.deploy.conftest import line_of, replace_in

DEV = ROOT / "infra" / "envs" / "dev" / "terraform.tfvars"
PROD = ROOT / "infra" / "envs" / "prod" / "terraform.tfvars"


def test_dev_costs_about_what_the_design_says() -> None:
    bill = price_environment(DEV)

    assert 53 * 0.85 <= bill.total <= 53 * 1.15
    assert check_target(bill) == []
    groups = bill.by_design_item()
    # The design's lines: VPN ~27, App Service ~13, SWA 0, SignalR 0, storage ~1, App Insights ~5,
    # ACR 5, bandwidth ~2.
    assert groups["vpn"] == pytest.approx(26.28)
    assert groups["app_service"] == pytest.approx(13.14)
    assert groups["static_web"] == 0
    assert groups["signalr"] == 0
    assert groups["storage"] == pytest.approx(1, abs=0.5)
    assert groups["monitoring"] == pytest.approx(5, abs=1)
    assert groups["acr"] == 5
    assert groups["bandwidth"] == pytest.approx(2, abs=0.5)


def test_prod_is_priced_from_its_own_skus() -> None:
    dev, prod = price_environment(DEV), price_environment(PROD)

    skus = {item.meter: item.sku for item in prod.items}
    assert skus["vpn_gateway"] == "VpnGw1AZ"
    assert skus["signalr_unit"] == "Standard_S1"
    assert prod.total > dev.total
    assert check_target(prod) == []  # the design gives no prod figure: computed and shown only


def test_every_price_names_its_source() -> None:
    table = PriceTable.load()

    assert table.unsourced() == []
    assert all(item.source for item in price_environment(DEV).items)


def test_an_unknown_sku_names_the_file_the_line_and_the_rule(repo: Path) -> None:
    tfvars = repo / "infra" / "envs" / "dev" / "terraform.tfvars"
    replace_in(tfvars, 'vpn_gateway_sku   = "Basic"', 'vpn_gateway_sku   = "VpnGw9"')

    with pytest.raises(CostError) as raised:
        price_environment(tfvars)

    (finding,) = raised.value.findings
    assert finding.rule == "unknown-sku"
    assert finding.file.endswith("infra/envs/dev/terraform.tfvars")
    assert finding.line == line_of(tfvars, "vpn_gateway_sku")
    assert "VpnGw9" in finding.message


def test_the_command_fails_on_an_unknown_sku(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tfvars = repo / "infra" / "envs" / "dev" / "terraform.tfvars"
    replace_in(
        tfvars, 'signalr_sku              = "Free_F1"', 'signalr_sku              = "Free_F2"'
    )

    code = main([str(tfvars)])

    assert code == 1
    line = line_of(tfvars, "signalr_sku")
    assert f"terraform.tfvars:{line}: unknown-sku:" in capsys.readouterr().err


def test_the_command_prints_both_bills(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(DEV), str(PROD)]) == 0

    out = capsys.readouterr().out
    assert "dev: infra/envs/dev/terraform.tfvars" in out
    assert "prod: infra/envs/prod/terraform.tfvars" in out
    assert "design ~$53" in out
