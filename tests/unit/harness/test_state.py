"""Which recorded topology counts as up: what every spyh command but `logs` acts on."""

import os
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.state import ProcessRecord, TopologyState, process_start_time
from harness.vpn import VpnProfile

DEAD = ProcessRecord(pid=os.getpid(), started_at=None, argv=["x"], log="x.log")  # pid reused
THIS = ProcessRecord(
    pid=os.getpid(), started_at=process_start_time(os.getpid()), argv=["x"], log="x.log"
)


def _saved(folder: Path, toxiproxy: ProcessRecord, bot: ProcessRecord) -> Path:
    TopologyState(
        env="dev",
        run_dir=str(folder),
        toxiproxy=toxiproxy,
        toxiproxy_api_port=1,
        control_port=1,
        profile=VpnProfile(10, 10),
        started_profile=VpnProfile(10, 10),
        links=[],
        instances={"bot-0": bot},
    ).save()
    return folder


def test_a_stopped_topology_is_named_not_acted_on(tmp_path: Path) -> None:
    folder = _saved(tmp_path, DEAD, DEAD)
    assert TopologyState.load(folder).run_dir == str(tmp_path)  # its logs stay readable
    with pytest.raises(HarnessError) as raised:
        TopologyState.running(folder)
    assert str(raised.value) == (
        f"no topology is up: the last one (run folder {tmp_path}) has stopped; "
        "start one with `spyh up`"
    )


@pytest.mark.parametrize(("toxiproxy", "bot"), [(THIS, DEAD), (DEAD, THIS)])
def test_anything_still_running_keeps_it_up(
    tmp_path: Path, toxiproxy: ProcessRecord, bot: ProcessRecord
) -> None:
    """A hard-killed supervisor leaves the rest running: `spyh down` must still reach it."""
    assert TopologyState.running(_saved(tmp_path, toxiproxy, bot)).is_up()


def test_none_recorded(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="no topology is up"):
        TopologyState.running(tmp_path)
