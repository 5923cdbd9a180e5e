"""The storage module creates every table the services write: production tables come from
Terraform, so one the code writes and the module leaves out exists only locally."""

from __future__ import annotations

from harness.cost import hcl_value, load_hcl
from harness.toolchain import ROOT
from system.domain.metric_samples import METRICS_TABLE
from system.edge.ledger import AUDIT_TABLE, OUTCOMES_TABLE
from system.services.backend.settings import BackendSettings
from system.services.forwarder.daily import DAILY_TABLE


def test_the_storage_module_creates_every_table_the_services_write() -> None:
    variables = ROOT / "infra" / "modules" / "storage" / "variables.tf"
    (tables,) = [
        hcl_value(block["tables"]["default"])
        for block in load_hcl([variables])[variables]["variable"]
        if "tables" in block
    ]
    anomalies = BackendSettings.model_fields["anomalies_table"].default
    written = {anomalies, AUDIT_TABLE, OUTCOMES_TABLE, METRICS_TABLE, DAILY_TABLE}
    assert written <= set(tables), f"not created by Terraform: {sorted(written - set(tables))}"
