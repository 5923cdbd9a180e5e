"""Bring a topology up as loopback processes, keep it in hand, and take it down again.

Toxiproxy starts first; every link gets its proxy and the VPN profile's toxics before any
component starts; components start in dependency order, independent ones in parallel; if any
fails, everything started is stopped and the error names the component with its log tail.
"""

from __future__ import annotations

import signal
import time
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from harness import components, vpn
from harness.errors import ComponentFailed
from harness.ports import LOOPBACK, free_port
from harness.process import RunningProcess, launch
from harness.state import LinkRecord, ProcessRecord, TopologyState, process_start_time
from harness.topology import Component, Link, Side, Topology, Use, Wiring
from harness.toxiproxy import Toxiproxy
from harness.vpn import VpnProfile


class Supervisor:
    def __init__(
        self, topology: Topology, run_dir: Path, profile: VpnProfile, env: str = "dev"
    ) -> None:
        self.topology = topology
        self.env = env
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
        self.state().save()
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
        if self.topology.crosses_vpn(client, use):
            return LOOPBACK, self.proxy_ports[use]
        return LOOPBACK, self.ports[use.component][use.port]

    # -- operations -------------------------------------------------------------------------
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

    def state(self) -> TopologyState:
        """The topology as started: written to the run folder for `spyh status/down/vpn`."""
        if self._toxiproxy is None:
            raise ComponentFailed("the topology is not up")
        return TopologyState(
            env=self.env,
            run_dir=str(self.run_dir),
            toxiproxy=_record(self._toxiproxy),
            toxiproxy_api_port=self.api_port,
            profile=self.profile,
            links=[
                LinkRecord(
                    name=link.name,
                    component=link.target.component,
                    port=link.target.port,
                    server_side=link.server_side,
                    listen_port=self.proxy_ports[link.target],
                )
                for link in self.links
            ],
            instances={
                name: _record(proc, self.ports[name], self.component_of[name].side)
                for name, proc in self.processes.items()
            },
        )


def _record(
    proc: RunningProcess, ports: dict[str, int] | None = None, side: Side | None = None
) -> ProcessRecord:
    return ProcessRecord(
        pid=proc.pid,
        started_at=process_start_time(proc.pid),
        argv=list(proc.spec.argv),
        log=str(proc.log_path),
        ports=ports or {},
        side=side,
    )
