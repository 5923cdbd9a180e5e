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

from harness.conformance.checkov import config_skips
from harness.conformance.context import CheckResult, Context, Status
from harness.conformance.run import CHECKS, main, run_checks, run_conformance

__all__ = [
    "CHECKS",
    "CheckResult",
    "Context",
    "Status",
    "config_skips",
    "main",
    "run_checks",
    "run_conformance",
]
