"""The environments priced by the cost model against their targets."""

from __future__ import annotations

from harness.conformance.context import ENVIRONMENTS, CheckResult, Context
from harness.cost import (
    CostError,
    Finding,
    check_target,
    price_environment,
)


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
