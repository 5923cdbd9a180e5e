"""Bring a topology up as loopback processes, keep it running, roll it forward, take it down.

Toxiproxy starts first; every link gets its proxy and the VPN profile's toxics before any
component starts; components start in dependency order, independent ones in parallel; if any
fails, everything started is stopped and the error names the component with its log tail.
While up, the supervisor does locally what Kubernetes does on the cluster: it restarts what
dies (with back-off) and rolls a component to a new release the way a Deployment does.
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

from harness import components, vpn
from harness.cpu_idle import ShallowIdle
from harness.cpu_placement import CpuMode, CpuPlacement
from harness.errors import ComponentFailed, HarnessError
from harness.events import EventLog
from harness.ports import LOOPBACK, free_port
from harness.process import RunningProcess, inherited_settings, launch
from harness.state import LinkRecord, ProcessRecord, TopologyState, process_start_time
from harness.topology import Component, Link, RollingUpdate, Side, Topology, Use, Wiring
from harness.toxiproxy import Toxiproxy
from harness.vpn import VpnProfile
from system.ports import Alert, Severity


@dataclass
class Instance:
    """One running copy of a component: a pod, in Kubernetes terms."""

    name: str
    component: Component
    revision: int
    release: str
    ports: dict[str, int]
    wiring: Wiring
    containers: list[RunningProcess]  # the main container first, then its sidecars

    @property
    def proc(self) -> RunningProcess:
        return self.containers[0]

    def is_ready(self) -> bool:
        return all(c.is_ready() for c in self.containers)

    def check_ready(self) -> bool:
        return all([c.check_ready() for c in self.containers])  # look at every one, each time

    def stop(self) -> None:
        for container in self.containers:  # main first: sidecars drain what it wrote last
            container.stop()


@dataclass(frozen=True, slots=True)
class Revision:
    number: int
    release: str
    outcome: str  # complete | failed | rolled-back-to


class Supervisor:
    def __init__(
        self,
        topology: Topology,
        run_dir: Path,
        profile: VpnProfile,
        env: str = "dev",
        alert: Callable[[Alert], None] | None = None,
        cpus: CpuMode = CpuMode.SPLIT,
    ) -> None:
        self.topology = topology
        self.alert = alert  # how the deployment controller tells operators what it did
        self.run_dir = run_dir
        self.profile = profile  # what the links do now
        self.started_profile = profile  # what `restore_link` puts back
        self.env = env
        self.links: list[Link] = topology.links()
        self.instances: dict[str, Instance] = {}  # in start order
        self.proxy_ports: dict[Use, int] = {}
        self.revisions: dict[str, list[Revision]] = {
            c.name: [Revision(1, c.release, "complete")] for c in topology.components
        }
        self.events = EventLog(run_dir / "events.jsonl")
        self.api_port = 0
        self.control_port = 0  # set by whoever serves the control API beside it
        self._served_ports: dict[str, dict[str, int]] = {}  # single-instance components
        self._next_index = {c.name: itertools.count() for c in topology.components}
        self._lock = threading.RLock()  # instances change under the monitor and operators
        self._held_down: set[str] = set()
        self._restart_at: dict[str, float] = {}
        self._restarts: dict[str, int] = {}
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None
        self._toxiproxy: RunningProcess | None = None
        self._api: Toxiproxy | None = None
        self.idle = ShallowIdle()  # as on the edge node: no deep idle while the topology runs
        self.cpus = CpuPlacement.choose(cpus)
        # Instances on the signal path for now beyond the components always on it, each with
        # its tenure (the bot holding the trading lease, and the lease's fencing token); None
        # while that cannot be told.
        self.joins_path: Callable[[], dict[str, str] | None] = dict
        self._tenures: dict[str, tuple[str, int]] = {}  # instance -> (tenure, pid holding it)
        self._placed: dict[str, tuple[int, bool]] = {}  # container -> (pid, on the path)

    # -- bring-up ---------------------------------------------------------------------------
    def up(self) -> float:
        """Start everything; returns the seconds it took until all instances were ready."""
        started = time.monotonic()
        self.events.record("cpu-idle", "machine", status=self.idle.hold())
        self.events.record("cpu-placement", "machine", status=self.cpus.status)
        if inherited_settings():
            self.events.record("inherited-settings", "topology", names=inherited_settings())
        try:
            self._start_link_layer()
            self._start_components()
        except BaseException:
            self.down()
            raise
        self._place()
        self.state().save()
        self._monitor = threading.Thread(target=self._keep_running, name="restarts", daemon=True)
        self._monitor.start()
        seconds = time.monotonic() - started
        self.events.record("up", "topology", seconds=round(seconds, 3))
        return seconds

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
            if component.replicas == 1:  # served ports must be known before any client starts
                self._served_ports[component.name] = {p: free_port() for p in component.ports}
        for link in self.links:
            target = self._served_ports[link.target.component][link.target.port]
            proxy = self.api.create_proxy(link.name, f"{LOOPBACK}:{target}")
            self.proxy_ports[link.target] = proxy.listen_port
        vpn.apply_profile(self.api, self.links, self.profile)

    def _start_components(self) -> None:
        order = self.topology.start_order()
        order.prepare()
        starting: dict[str, list[Instance]] = {}
        while order.is_active():
            for name in order.get_ready():
                component = self.topology.by_name[name]
                starting[name] = [
                    self._new_instance(component, 1, component.release)
                    for _ in range(component.replicas)
                ]
            for name, instances in list(starting.items()):
                if all([i.check_ready() for i in instances]):  # look at every one, each time
                    self.events.record("ready", name)
                    hook = self.topology.by_name[name].after_ready
                    if hook is not None:
                        hook(instances[0].wiring)
                        self.events.record("after-ready", name)
                    order.done(name)
                    del starting[name]
            time.sleep(0.02)

    def _new_instance(self, component: Component, revision: int, release: str) -> Instance:
        index = next(self._next_index[component.name])
        name = component.name if component.replicas == 1 else f"{component.name}-{index}"
        ports = self._served_ports.get(component.name) or {p: free_port() for p in component.ports}
        wiring = Wiring(
            instance=name,
            replica=index,
            release=release,
            ports=ports,
            run_dir=self.run_dir,
            address_from=self.address_from,
            side=component.side,
        )
        specs = [replace(component.spec(wiring), name=name)]  # one log file per container
        specs += [
            replace(spec := sidecar(wiring), name=f"{name}.{spec.name}")
            for sidecar in component.sidecars
        ]
        with self._lock:
            containers = [launch(spec, self.run_dir / "logs") for spec in specs]
            instance = Instance(name, component, revision, release, ports, wiring, containers)
            self.instances[name] = instance
        self.events.record("started", name, pid=instance.proc.pid, release=release)
        self._save_if_up()
        return instance

    def address_from(self, side: Side, use: Use) -> tuple[str, int]:
        """Where a client on `side` reaches a served port: through the link across the VPN."""
        if self.topology.crosses_vpn(side, use):
            return LOOPBACK, self.proxy_ports[use]
        return LOOPBACK, self._served_ports[use.component][use.port]

    # -- restart policy: what a kubelet does for restartPolicy Always ------------------------
    def _keep_running(self) -> None:
        while not self._stopping.wait(0.1):
            with self._lock:
                for instance in list(self.instances.values()):
                    if instance.name in self._held_down:
                        continue
                    for index, container in enumerate(instance.containers):
                        if not container.alive():
                            self._restart_when_due(instance, index)
            self._place()

    def _place(self) -> None:
        """Every running container on its CPUs: the path's for the components on it and for the
        instance holding a tenure, the others' for the rest (sidecars included). A process is
        placed once it runs, a restarted one within 0.1 s: bring-up, all imports, runs on every
        CPU (placed from the start, a cold `spyh up` took 9.0-9.5 s instead of 5.8-6.3)."""
        if not self.cpus.path:
            return
        joined = self.joins_path()  # outside the lock: it may ask over the network
        with self._lock:
            containers = {
                c.spec.name: (instance, index, c)
                for instance in self.instances.values()
                for index, c in enumerate(instance.containers)
                if c.alive()
            }
            holding = self._holding(joined, {n: i.proc.pid for n, (i, _, _) in containers.items()})
            placed = {}
            for name, (instance, index, container) in containers.items():
                on_path = index == 0 and (instance.component.on_path or instance.name in holding)
                before = self._placed.get(name)
                if before != (container.pid, on_path):
                    self.cpus.move(container.pid, on_path)
                    if on_path or (before is not None and before[1]):
                        self.events.record("cpu-placement", name, on_path=on_path)
                placed[name] = (container.pid, on_path)
            self._placed = placed

    def _holding(self, joined: dict[str, str] | None, pids: dict[str, int]) -> set[str]:
        """The instances holding a tenure now. A tenure is the process's that was running when
        it began: one restarted since (same name, new pid: a killed leader whose lease has not
        expired yet) is off the path until it has a tenure of its own. `joined` None: as
        before."""
        if joined is not None:
            self._tenures = {
                name: held
                if (held := self._tenures.get(name)) and held[0] == tenure
                # a new tenure's holder is the process running now
                else (tenure, pids.get(name, 0))
                for name, tenure in joined.items()
            }
        return {name for name, (_, pid) in self._tenures.items() if pids.get(name) == pid}

    def _restart_when_due(self, instance: Instance, index: int) -> None:
        container = instance.containers[index]
        name = container.spec.name
        due = self._restart_at.get(name)
        if due is None:
            count = self._restarts.get(name, 0)
            backoff = min(0.5 * 2**count, 10.0)  # CrashLoopBackOff, compressed for a laptop
            self._restart_at[name] = time.monotonic() + backoff
            code = container.popen.returncode
            self.events.record("exited", name, code=code, restart_in_s=backoff)
        elif time.monotonic() >= due:
            del self._restart_at[name]
            self._restarts[name] = self._restarts.get(name, 0) + 1
            instance.containers[index] = launch(container.spec, self.run_dir / "logs")
            self.events.record("restarted", name, pid=instance.containers[index].pid)
            self._save_if_up()

    # -- operations -------------------------------------------------------------------------
    def instance(self, name: str) -> Instance:
        with self._lock:
            if name not in self.instances:
                running = ", ".join(self.instances)
                raise HarnessError(f"no instance {name!r}; running: {running}")
            return self.instances[name]

    def instances_of(self, component: str) -> list[Instance]:
        with self._lock:
            return [i for i in self.instances.values() if i.component.name == component]

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Like a node losing a pod: the restart policy brings it back after its back-off."""
        instance = self.instance(name)
        sig = signal.Signals(signum).name
        self.events.record("killed", name, pid=instance.proc.pid, signal=sig)
        instance.proc.signal(signum)

    def stop(self, name: str) -> None:
        """Stop and keep it down until `start` (a cordoned node, a scaled-down replica)."""
        instance = self.instance(name)
        with self._lock:
            self._held_down.add(name)
        instance.stop()
        self.events.record("stopped", name, pid=instance.proc.pid)

    def start(self, name: str) -> Instance:
        instance = self.instance(name)
        with self._lock:
            self._held_down.discard(name)
            for index, container in enumerate(instance.containers):
                self._restart_at.pop(container.spec.name, None)
                if not container.alive():
                    instance.containers[index] = launch(container.spec, self.run_dir / "logs")
                    self.events.record("started", container.spec.name)
            self._save_if_up()
        return instance

    def _remove(self, instance: Instance) -> None:
        with self._lock:
            self._held_down.add(instance.name)
        instance.stop()
        with self._lock:
            del self.instances[instance.name]
            self._held_down.discard(instance.name)
        self.events.record("removed", instance.name, release=instance.release)
        self._save_if_up()

    def set_profile(self, profile: VpnProfile) -> None:
        self.profile = profile
        vpn.apply_profile(self.api, self.links, profile)
        self._save_if_up()  # `spyh status` and `spyh bench` read the profile from the state

    def restore_link(self) -> None:
        """End any outage and put back the profile the topology started with."""
        vpn.end_outage(self.api, self.links)
        self.set_profile(self.started_profile)

    # -- rollouts: a Deployment's RollingUpdate, then rollback when it cannot progress ------
    def rollout(self, component_name: str, release: str) -> Revision:
        """Roll every replica to `release`. If the new replicas do not become ready within the
        progress deadline, roll back to the previous release; the result says which happened."""
        component = self.topology.by_name.get(component_name)
        if component is None or component.strategy is None:
            rollable = [c.name for c in self.topology.components if c.strategy]
            raise HarnessError(f"cannot roll out {component_name!r}; rollable: {rollable}")
        history = self.revisions[component_name]
        previous = history[-1]
        revision = previous.number + 1
        self.events.record("rollout-started", component_name, release=release, revision=revision)
        old = self.instances_of(component_name)
        if self._roll(component, component.strategy, revision, release, keep=[], replace=old):
            return self._record_revision(component, Revision(revision, release, "complete"))
        self._record_revision(component, Revision(revision, release, "failed"))
        self.events.record("rollback-started", component_name, release=previous.release)
        failed = [i for i in self.instances_of(component_name) if i.revision == revision]
        kept = [i for i in self.instances_of(component_name) if i.revision != revision]
        back = Revision(revision + 1, previous.release, "rolled-back-to")
        if not self._roll(component, component.strategy, back.number, back.release, kept, failed):
            raise ComponentFailed(f"rollback of {component_name} to {previous.release} stalled")
        self._alert(
            Alert(
                key=f"rollout:{component_name}",
                severity=Severity.WARNING,
                title=f"{component_name} {release} rolled back to {previous.release}",
                body=f"No new replica of {release} became ready within "
                f"{component.strategy.progress_deadline_s:g} s; revision {back.number} runs "
                f"{previous.release} again.",
            )
        )
        return self._record_revision(component, back)

    def _roll(
        self,
        component: Component,
        strategy: RollingUpdate,
        revision: int,
        release: str,
        keep: list[Instance],
        replace: list[Instance],
    ) -> bool:
        """Surge new replicas, retire old ones only while enough stay available, and give up
        when no new replica became ready within the progress deadline."""
        replicas = component.replicas
        new = list(keep)
        replace = list(replace)
        deadline = time.monotonic() + strategy.progress_deadline_s
        ready_count = 0
        while True:
            ready_new = [i for i in new if i.is_ready()]
            if len(ready_new) == replicas and not replace:
                return True
            if len(ready_new) > ready_count:  # progress resets the deadline, as in Kubernetes
                ready_count = len(ready_new)
                deadline = time.monotonic() + strategy.progress_deadline_s
            if time.monotonic() > deadline:
                self.events.record("rollout-stalled", component.name, release=release)
                return False
            available = len(ready_new) + sum(i.is_ready() for i in replace)
            for old in sorted(replace, key=lambda i: i.is_ready()):  # unready ones first
                was_ready = old.is_ready()
                if was_ready and available - 1 < replicas - strategy.max_unavailable:
                    break
                replace.remove(old)
                self._remove(old)
                available -= int(was_ready)
            while len(new) < replicas and len(new) + len(replace) < replicas + strategy.max_surge:
                new.append(self._new_instance(component, revision, release))
            time.sleep(0.1)

    def _alert(self, alert: Alert) -> None:
        """Tell the operators; a notification that fails is recorded, never fatal to the
        rollout or rollback that raised it."""
        if self.alert is None:
            return
        try:
            self.alert(alert)
            self.events.record("alerted", alert.key, title=alert.title)
        except Exception as error:  # any failure of the channel is the same to us
            self.events.record("alert-failed", alert.key, error=repr(error))

    def _record_revision(self, component: Component, revision: Revision) -> Revision:
        assert component.strategy is not None
        history = self.revisions[component.name]
        history.append(revision)
        del history[: -component.strategy.revision_history_limit]
        self.events.record(
            f"rollout-{revision.outcome}",
            component.name,
            release=revision.release,
            revision=revision.number,
        )
        return revision

    # -- take-down --------------------------------------------------------------------------
    def down(self) -> None:
        """Stop every instance, newest first, then the link layer. Safe to call twice."""
        self._stopping.set()
        if self._monitor is not None:
            self._monitor.join()
            self._monitor = None
        with self._lock:
            for instance in reversed(list(self.instances.values())):
                instance.stop()
            self.instances.clear()
        if self._api is not None:
            self._api.close()
            self._api = None
        if self._toxiproxy is not None:
            self._toxiproxy.stop()
            self._toxiproxy = None
        self.idle.release()

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

    # -- the state on disk ------------------------------------------------------------------
    def _save_if_up(self) -> None:
        if self._monitor is not None:  # after bring-up: keep the state file's pids current
            self.state().save()

    def state(self) -> TopologyState:
        """The topology as it runs now, for the run folder and `spyh status/down/vpn`."""
        if self._toxiproxy is None:
            raise ComponentFailed("the topology is not up")
        with self._lock:
            instances = {
                container.spec.name: _record(container, i.ports, i.component.side, i.release)
                for i in self.instances.values()
                for container in i.containers
            }
        return TopologyState(
            env=self.env,
            run_dir=str(self.run_dir),
            toxiproxy=_record(self._toxiproxy),
            toxiproxy_api_port=self.api_port,
            control_port=self.control_port,
            profile=self.profile,
            started_profile=self.started_profile,
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
            instances=instances,
            cpu_idle=self.idle.status,
            cpu_placement=self.cpus.status,
            path_cpus=sorted(self.cpus.path),
        )


def _record(
    proc: RunningProcess,
    ports: dict[str, int] | None = None,
    side: Side | None = None,
    release: str | None = None,
) -> ProcessRecord:
    return ProcessRecord(
        pid=proc.pid,
        started_at=process_start_time(proc.pid),
        argv=list(proc.spec.argv),
        log=str(proc.log_path),
        ports=ports or {},
        side=side,
        release=release,
        stop_signal=proc.spec.stop_signal.name,
    )
