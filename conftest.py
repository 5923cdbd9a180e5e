"""Suite-wide rules for tests/ and scenarios/: nothing leaves loopback; no tests is a failure."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.loopback_guard import GUARD

# SDK switches that stop background traffic before it starts (see shared notes, section 0).
os.environ.update(
    {
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "otel",
        "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
        "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
        "AZURE_IDENTITY_DISABLE_MULTITENANTAUTH": "true",
    }
)
for leaking in (
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
):
    os.environ.pop(leaking, None)


def pytest_configure(config: pytest.Config) -> None:
    GUARD.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    GUARD.uninstall()


@pytest.fixture(autouse=True)
def _no_traffic_beyond_loopback() -> Iterator[None]:
    GUARD.take_violations()
    yield
    violations = GUARD.take_violations()
    if violations:
        pytest.fail("traffic beyond 127.0.0.1 was attempted:\n  " + "\n  ".join(violations))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # pytest exits 5 when it collected nothing; a test command that ran no test proved nothing,
    # so it fails, as a wrong usage (spyh scenarios then keeps no run and builds no report).
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("\nerror: no tests were collected: the selection is wrong or the tests are missing")
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
