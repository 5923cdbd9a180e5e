"""Bring a topology up as loopback processes, keep it in hand, and take it down again.

Toxiproxy starts first; every link gets its proxy and the VPN profile's toxics before any
component starts; components start in dependency order, independent ones in parallel; if any
fails, everything started is stopped and the error names the component with its log tail.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import TracebackType

from harness import components, vpn
from harness.errors import ComponentFailed
from harness.ports import LOOPBACK, free_port
from harness.process import RunningProcess, launch
from harness.topology import Component, Link, Topology, Use, Wiring
from harness.toxiproxy import Toxiproxy
from harness.vpn import VpnProfile


@dataclass(frozen=True, slots=True)
class InstanceStatus:
    instance: str
    component: str
    side: str
    pid: int
    alive: bool
    ready: bool
    ports: dict[str, int]


class Supervisor:
    def __init__(self, topology: Topology, run_dir: Path, profile: VpnProfile) -> None:
        self.topology = topology
        self.run_dir = run_dir
        self.profile = profile
        self.links: list[Link] = topology.links()
        self.ports: dict[str, dict[str, int]] = {}
        self.proxy_ports: dict[Use, int] = {}
        self.processes: dict[str, RunningProcess] = {}  # instance -> process, in start order
        self.component_of = {i: c for c in topology.components for i in c.instances()}
        self.api_port = 0
        self._toxiproxy: RunningProcess | None = None
        self._api: Toxiproxy | None = None

    # -- bring-up ---------------------------------------------------------------------------
    def up(self) -> float:
        """Start everything; returns the seconds it took until all instances were ready."""
        started = time.monotonic()
        try:
            self._start_link_layer()
            self._start_components()
        except BaseException:
            self.down()
            raise
        self._write_state()
        return time.monotonic() - started

    @property
    def api(self) -> Toxiproxy:
        if self._api is None:
            raise ComponentFailed("the VPN link layer (toxiproxy) is not running")
        return self._api

    def _start_link_layer(self) -> None:
        self.api_port = free_port()
        self._toxiproxy = launch(components.toxiproxy(self.api_port), self.run_dir / "logs")
        self._toxiproxy.wait_ready()
        self._api = Toxiproxy(self.api_port)
        for component in self.topology.components:
            for instance in component.instances():
                self.ports[instance] = {name: free_port() for name in component.ports}
        for link in self.links:
            upstream = f"{LOOPBACK}:{self.ports[link.target.component][link.target.port]}"
            self.proxy_ports[link.target] = self.api.create_proxy(link.name, upstream).listen_port
        vpn.apply_profile(self.api, self.links, self.profile)

    def _start_components(self) -> None:
        order = self.topology.start_order()
        order.prepare()
        starting: dict[str, list[RunningProcess]] = {}
        while order.is_active():
            for name in order.get_ready():
                starting[name] = [
                    self._launch(self.topology.by_name[name], replica)
                    for replica in range(self.topology.by_name[name].replicas)
                ]
            for name, procs in list(starting.items()):
                if all([proc.check_ready() for proc in procs]):  # check every one, every time
                    order.done(name)
                    del starting[name]
            time.sleep(0.02)

    def _launch(self, component: Component, replica: int) -> RunningProcess:
        instance = component.instances()[replica]
        wiring = Wiring(
            instance=instance,
            replica=replica,
            ports=self.ports[instance],
            run_dir=self.run_dir,
            address_of=lambda use: self.address_of(component, use),
        )
        spec = replace(component.spec(wiring), name=instance)  # one log file per instance
        proc = launch(spec, self.run_dir / "logs")
        self.processes[instance] = proc
        return proc

    def address_of(self, client: Component, use: Use) -> tuple[str, int]:
        """Where `client` reaches a served port: through the link when it crosses sides."""
        if self.topology.by_name[use.component].side != client.side:
            return LOOPBACK, self.proxy_ports[use]
        return LOOPBACK, self.ports[use.component][use.port]

    # -- operations -------------------------------------------------------------------------
    def status(self) -> list[InstanceStatus]:
        rows = []
        for instance, proc in self.processes.items():
            component = self.component_of[instance]
            alive = proc.alive()
            ready = alive and proc.spec.ready(proc)
            rows.append(
                InstanceStatus(
                    instance,
                    component.name,
                    component.side,
                    proc.pid,
                    alive,
                    ready,
                    self.ports[instance],
                )
            )
        return rows

    def kill(self, instance: str, signum: int = signal.SIGKILL) -> None:
        self.processes[instance].signal(signum)

    def set_profile(self, profile: VpnProfile) -> None:
        self.profile = profile
        vpn.apply_profile(self.api, self.links, profile)

    # -- take-down --------------------------------------------------------------------------
    def down(self) -> None:
        """Stop every instance, newest first, then the link layer. Safe to call twice."""
        for proc in reversed(list(self.processes.values())):
            proc.stop()
        self.processes.clear()
        if self._api is not None:
            self._api.close()
            self._api = None
        if self._toxiproxy is not None:
            self._toxiproxy.stop()
            self._toxiproxy = None

    def __enter__(self) -> Supervisor:
        self.up()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()

    def _write_state(self) -> None:
        """The topology as started, for the run folder and for `spyh status/down/vpn`."""
        assert self._toxiproxy is not None
        state = {
            "toxiproxy": {"pid": self._toxiproxy.pid, "api_port": self.api_port},
            "profile": asdict(self.profile),
            "links": [
                {
                    "name": link.name,
                    "target": f"{link.target.component}.{link.target.port}",
                    "listen_port": self.proxy_ports[link.target],
                }
                for link in self.links
            ],
            "instances": {
                name: {
                    "pid": proc.pid,
                    "argv": list(proc.spec.argv),
                    "ports": self.ports[name],
                    "log": str(proc.log_path),
                }
                for name, proc in self.processes.items()
            },
        }
        (self.run_dir / "topology.json").write_text(json.dumps(state, indent=1))
