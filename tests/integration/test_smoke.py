"""The foundation's smoke check on real Azurite and real Toxiproxy."""

from pathlib import Path

import pytest

from harness import components
from harness.errors import HarnessError, PortInUse
from harness.ports import ensure_free, free_port, is_listening
from harness.process import running
from harness.smoke import run_smoke
from harness.toxiproxy import Toxiproxy


def test_latency_toxic_delays_every_table_request(tmp_path: Path) -> None:
    result = run_smoke(tmp_path, latency_ms=10, samples=10)
    # Physically, no request through a 10 ms toxic can come back sooner than 10 ms.
    assert min(result.toxic_ms) >= 10
    assert result.added_ms > 5
    assert result.toxiproxy_version == "v2.12.0"


def test_everything_started_is_stopped(tmp_path: Path) -> None:
    port = free_port()
    with running(components.toxiproxy(port), tmp_path) as proc:
        assert is_listening(port)
    assert not proc.alive()
    assert not is_listening(port)


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    port = free_port()
    with (
        running(components.toxiproxy(port), tmp_path),
        pytest.raises(PortInUse, match=f"port 127.0.0.1:{port} is already in use"),
    ):
        ensure_free(port, "azurite")


def test_toxiproxy_errors_are_one_clear_line(tmp_path: Path) -> None:
    with running(components.toxiproxy(port := free_port()), tmp_path):
        api = Toxiproxy(port)
        with pytest.raises(HarnessError, match="toxiproxy DELETE /proxies/nope/toxics/x: 404"):
            api.remove_toxic("nope", "x")
        api.close()
