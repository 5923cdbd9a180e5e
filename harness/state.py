"""The topology as started, on disk: what `spyh status`, `down`, `logs` and `vpn` act on."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from harness.errors import HarnessError
from harness.files import write_whole
from harness.ports import is_listening
from harness.run_folder import RUNS
from harness.topology import Link, Side, Use
from harness.vpn import VpnProfile

STATE_FILE = "topology.json"


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of a live process (clock ticks since boot), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    return None if fields[0] == "Z" else int(fields[19])


class ProcessRecord(BaseModel):
    pid: int
    started_at: int | None
    argv: list[str]
    log: str
    ports: dict[str, int] = {}
    side: Side | None = None
    release: str | None = None
    stop_signal: str = "SIGTERM"

    def is_ours(self) -> bool:
        """Alive, and still the process we started: a pid can be reused, its start time not."""
        started = process_start_time(self.pid)
        return started is not None and started == self.started_at

    def listening(self) -> bool:
        return all(is_listening(port) for port in self.ports.values())

    def stop(self, grace_s: float = 10.0) -> None:
        """Its stop signal to the process group, SIGKILL after the grace period."""
        for signum in (signal.Signals[self.stop_signal], signal.SIGKILL):
            if not self.is_ours():
                return
            os.killpg(self.pid, signum)
            deadline = time.monotonic() + grace_s
            while self.is_ours() and time.monotonic() < deadline:
                time.sleep(0.05)


class LinkRecord(BaseModel):
    name: str
    component: str
    port: str
    server_side: Side
    listen_port: int

    def link(self) -> Link:
        return Link(self.name, Use(self.component, self.port), self.server_side)


@dataclass(frozen=True, slots=True)
class StatusRow:
    instance: str
    side: str
    pid: int
    alive: bool
    listening: bool
    ports: dict[str, int]


class TopologyState(BaseModel):
    env: str
    run_dir: str
    toxiproxy: ProcessRecord
    toxiproxy_api_port: int
    control_port: int  # the supervisor's control API; 0 when nothing serves it
    profile: VpnProfile  # what the links do now
    started_profile: VpnProfile  # what `spyh vpn restore` puts back
    links: list[LinkRecord]
    instances: dict[str, ProcessRecord]  # in start order
    cpu_idle: str = "unknown"  # whether deep idle was off while it ran (harness.cpu_idle)
    cpu_placement: str = "unknown"  # which CPUs the signal path had (harness.cpu_placement)
    path_cpus: list[int] = []  # where a sender joins the path; empty: not placed

    def save(self) -> None:
        write_whole(Path(self.run_dir) / STATE_FILE, self.model_dump_json(indent=1))

    @classmethod
    def load(cls, run_dir: Path | None = None) -> TopologyState:
        path = (run_dir or RUNS / "latest-up") / STATE_FILE
        if not path.exists():
            raise HarnessError(f"no topology is up (no {path}): start one with `spyh up`")
        try:
            return cls.model_validate_json(path.read_text())
        except ValidationError as error:
            raise HarnessError(f"{path} is not a topology state file: {error}") from None

    @classmethod
    def running(cls, run_dir: Path | None = None) -> TopologyState:
        """The topology that is up; one clear error when none is, the last one's folder named."""
        state = cls.load(run_dir)
        if not state.is_up():
            raise HarnessError(
                f"no topology is up: the last one (run folder {state.run_dir}) has stopped; "
                "start one with `spyh up`"
            )
        return state

    def is_up(self) -> bool:
        """Anything it started still runs (after a hard kill of its supervisor, the rest may)."""
        return any(record.is_ours() for record in (self.toxiproxy, *self.instances.values()))

    def status(self) -> list[StatusRow]:
        rows = []
        for name, record in self.instances.items():
            alive = record.is_ours()
            rows.append(
                StatusRow(
                    name,
                    record.side or "",
                    record.pid,
                    alive,
                    alive and record.listening(),
                    record.ports,
                )
            )
        return rows

    def stop_all(self) -> None:
        for record in reversed(list(self.instances.values())):
            record.stop()
        self.toxiproxy.stop()
