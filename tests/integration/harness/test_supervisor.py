"""The supervisor on real processes: links, the VPN profile, failure handling, clean take-down."""

import os
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from harness import components
from harness.cpu_idle import PM_QOS_DEVICE
from harness.cpu_placement import CpuMode
from harness.errors import ComponentFailed
from harness.process import ProcessSpec, http, log_line
from harness.supervisor import Supervisor
from harness.topology import Component, RollingUpdate, Topology, Use, Wiring
from harness.vpn import VpnProfile

TABLE = Use("azurite", "table")

# An edge process that reports the address it was wired to and serves HTTP until stopped.
CLIENT = (
    "import http.server, sys; "
    "print('table at', sys.argv[2], flush=True); "
    "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), http.server.SimpleHTTPRequestHandler)"
    ".serve_forever()"
)


def azurite(w: Wiring) -> ProcessSpec:
    return components.azurite(w.ports["table"], w.run_dir / w.instance)


def redis(w: Wiring) -> ProcessSpec:
    return components.redis(w.ports["redis"], w.run_dir / w.instance)


def client(w: Wiring) -> ProcessSpec:
    argv = [sys.executable, "-c", CLIENT, str(w.ports["http"]), w.url(TABLE)]
    return ProcessSpec(w.instance, argv, http(f"http://127.0.0.1:{w.ports['http']}/"))


def broken(w: Wiring) -> ProcessSpec:
    argv = [sys.executable, "-c", "print('cannot read strategy.yaml'); raise SystemExit(3)"]
    return ProcessSpec(w.instance, argv, log_line("never"))


TOPOLOGY = Topology(
    (
        Component("azurite", "cloud", azurite, ports=("table",)),
        Component("redis", "edge", redis, ports=("redis",)),
        Component("client", "edge", client, ports=("http",), uses=(TABLE,), replicas=2),
    )
)


def test_up_wires_edge_clients_through_the_link_and_down_stops_everything(tmp_path: Path) -> None:
    supervisor = Supervisor(
        TOPOLOGY, tmp_path, VpnProfile(edge_to_cloud_ms=10, cloud_to_edge_ms=10)
    )
    with supervisor:
        proxy_port = supervisor.proxy_ports[TABLE]
        status = {row.instance: row for row in supervisor.state().status()}
        assert set(status) == {"azurite", "redis", "client-0", "client-1"}
        assert all(row.alive and row.listening for row in status.values())
        # Each edge replica was given the link's address, not Azurite's own port.
        for replica in ("client-0", "client-1"):
            log = (tmp_path / "logs" / f"{replica}.log").read_text()
            assert f"table at http://127.0.0.1:{proxy_port}" in log
        toxics = {t["name"] for t in supervisor.api.toxics("azurite-table")}
        assert {"vpn-latency-upstream", "vpn-latency-downstream"} <= toxics
        started = time.perf_counter()
        httpx.get(f"http://127.0.0.1:{proxy_port}/devstoreaccount1/Tables")
        assert (time.perf_counter() - started) * 1000 >= 20  # one request, one round trip
        assert (tmp_path / "topology.json").exists()
        pids = [row.pid for row in status.values()]
        # Deep idle is off while it runs wherever this process may ask for it, and it says which.
        assert supervisor.idle.held == os.access(PM_QOS_DEVICE, os.W_OK)
        assert supervisor.state().cpu_idle == supervisor.idle.status
        assert {"kind": "cpu-idle", "status": supervisor.idle.status}.items() <= next(
            e for e in supervisor.events.read() if e["kind"] == "cpu-idle"
        ).items()
    assert not supervisor.idle.held
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_component_that_will_not_start_is_named_and_everything_is_stopped(tmp_path: Path) -> None:
    topology = Topology(
        (*TOPOLOGY.components, Component("strategy", "edge", broken, uses=(TABLE,)))
    )
    supervisor = Supervisor(topology, tmp_path, VpnProfile(1, 1))
    with pytest.raises(
        ComponentFailed, match=r"component strategy exited with code 3[\s\S]*strategy.yaml"
    ):
        supervisor.up()
    assert supervisor.instances == {}


def test_a_killed_instance_is_restarted_and_a_stopped_one_stays_down(tmp_path: Path) -> None:
    with Supervisor(TOPOLOGY, tmp_path, VpnProfile(1, 1)) as supervisor:
        first = supervisor.instance("client-0").proc.pid
        supervisor.kill("client-0")
        deadline = time.monotonic() + 15
        while supervisor.instance("client-0").proc.pid == first and time.monotonic() < deadline:
            time.sleep(0.05)
        restarted = supervisor.instance("client-0").proc
        assert restarted.pid != first
        restarted.wait_ready()
        supervisor.stop("client-1")
        time.sleep(1.0)  # longer than the first back-off: a held-down instance must not return
        assert not supervisor.instance("client-1").proc.alive()
        assert supervisor.start("client-1").proc.alive()
        kinds = [(e["kind"], e["subject"]) for e in supervisor.events.read()]
        assert kinds.index(("killed", "client-0")) < kinds.index(("exited", "client-0"))
        assert ("stopped", "client-1") in kinds
        saved = supervisor.state().instances["client-0"].pid
        assert saved == restarted.pid


def worker(w: Wiring) -> ProcessSpec:
    """A release named 'unready' starts but never listens, as a release whose readiness fails."""
    port = w.ports["http"]
    serve = "unready" if w.release == "unready" else f"('127.0.0.1', {port})"
    code = (
        "import http.server, time\n"
        f"address = {serve}\n"
        "if address == 'unready':\n    time.sleep(3600)\n"
        "http.server.HTTPServer(address, http.server.SimpleHTTPRequestHandler).serve_forever()"
    )
    return ProcessSpec(w.instance, [sys.executable, "-c", code], http(f"http://127.0.0.1:{port}/"))


ROLLED = Topology(
    (
        Component(
            "worker",
            "edge",
            worker,
            ports=("http",),
            replicas=3,
            release="1",
            strategy=RollingUpdate(max_surge=1, max_unavailable=0, progress_deadline_s=3),
        ),
    )
)


def rollout_watching_availability(supervisor: Supervisor, release: str) -> tuple[str, int]:
    """Roll out while sampling how many replicas are ready; returns (outcome, fewest ready)."""
    fewest = [3]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            ready = sum(i.proc.is_ready() for i in supervisor.instances_of("worker"))
            fewest[0] = min(fewest[0], ready)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        outcome = supervisor.rollout("worker", release).outcome
    finally:
        done.set()
        watcher.join()
    return outcome, fewest[0]


def test_a_rollout_surges_and_never_drops_below_the_replica_count(tmp_path: Path) -> None:
    with Supervisor(ROLLED, tmp_path, VpnProfile(1, 1)) as supervisor:
        outcome, fewest = rollout_watching_availability(supervisor, "2")
        assert outcome == "complete"
        assert fewest >= 3  # maxUnavailable 0
        workers = supervisor.instances_of("worker")
        assert [w.release for w in workers] == ["2", "2", "2"]
        assert all(w.proc.is_ready() for w in workers)


def test_a_release_that_never_gets_ready_is_rolled_back(tmp_path: Path) -> None:
    with Supervisor(ROLLED, tmp_path, VpnProfile(1, 1)) as supervisor:
        outcome, fewest = rollout_watching_availability(supervisor, "unready")
        assert outcome == "rolled-back-to"
        assert fewest >= 3
        workers = supervisor.instances_of("worker")
        assert [w.release for w in workers] == ["1", "1", "1"]
        history = [(r.release, r.outcome) for r in supervisor.revisions["worker"]]
        assert history == [("1", "complete"), ("unready", "failed"), ("1", "rolled-back-to")]
        kinds = [e["kind"] for e in supervisor.events.read()]
        assert kinds.index("rollout-stalled") < kinds.index("rollback-started")


def sidecar(w: Wiring) -> ProcessSpec:
    code = f"import http.server; http.server.HTTPServer(('127.0.0.1', {w.ports['side']}), http.server.SimpleHTTPRequestHandler).serve_forever()"  # noqa: E501
    return ProcessSpec(
        "shipper", [sys.executable, "-c", code], http(f"http://127.0.0.1:{w.ports['side']}/")
    )


def test_sidecars_start_with_their_pod_restart_alone_and_stop_with_it(tmp_path: Path) -> None:
    pod = Component(
        "app", "edge", client, ports=("http", "side"), uses=(TABLE,), sidecars=(sidecar,)
    )
    topology = Topology((TOPOLOGY.by_name["azurite"], pod))
    with Supervisor(topology, tmp_path, VpnProfile(1, 1)) as supervisor:
        app = supervisor.instance("app")
        assert [c.spec.name for c in app.containers] == ["app", "app.shipper"]
        assert app.is_ready()
        main_pid, side_pid = app.containers[0].pid, app.containers[1].pid
        app.containers[1].signal(9)
        deadline = time.monotonic() + 10
        while app.containers[1].pid == side_pid and time.monotonic() < deadline:
            time.sleep(0.05)
        assert app.containers[1].pid != side_pid
        assert app.containers[0].pid == main_pid  # the main container was left alone
        assert set(supervisor.state().instances) == {"azurite", "app", "app.shipper"}
        supervisor.stop("app")
        assert not any(c.alive() for c in app.containers)


def sleeper(w: Wiring) -> ProcessSpec:
    return ProcessSpec(
        "sleeper", [sys.executable, "-c", "import time; time.sleep(600)"], lambda _: True
    )


# On the signal path, with a sidecar that is not.
ON_PATH = Component("signalr", "cloud", client, ports=("http",), sidecars=(sleeper,), on_path=True)


def _cpus(pid: int) -> set[int]:
    """Where every thread of the process may run (one set when they agree)."""
    threads = {frozenset(os.sched_getaffinity(int(t))) for t in os.listdir(f"/proc/{pid}/task")}
    assert len(threads) == 1, f"threads of {pid} disagree: {threads}"
    return set(next(iter(threads)))


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU cannot be split")
def test_the_path_runs_on_its_own_cpus_and_an_instance_joining_it_is_moved(
    tmp_path: Path,
) -> None:
    topology = Topology((*TOPOLOGY.components, ON_PATH))
    leader: dict[str, str] | None = {}
    with Supervisor(topology, tmp_path, VpnProfile(1, 1)) as supervisor:
        supervisor.joins_path = lambda: leader
        path, background = set(supervisor.cpus.path), set(supervisor.cpus.background)
        assert path
        assert background
        assert not path & background
        signalr = supervisor.instance("signalr")
        assert _cpus(signalr.proc.pid) == path
        assert _cpus(signalr.containers[1].pid) == background  # its sidecar
        assert _cpus(supervisor.instance("azurite").proc.pid) == background  # node's threads too
        assert _cpus(supervisor.instance("client-0").proc.pid) == background
        assert supervisor.state().path_cpus == sorted(path)

        def placed(name: str, cpus: set[int]) -> bool:
            deadline = time.monotonic() + 5
            while _cpus(supervisor.instance(name).proc.pid) != cpus:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)
            return True

        leader = {"client-0": "1"}
        assert placed("client-0", path)
        leader = None  # cannot be told: everything stays where it is
        time.sleep(0.3)
        assert _cpus(supervisor.instance("client-0").proc.pid) == path
        leader = {"client-1": "2"}
        assert placed("client-1", path)
        assert placed("client-0", background)
        # Killed, it is restarted off the path: the tenure it still names was its predecessor's.
        killed = supervisor.instance("client-1").proc.pid
        supervisor.kill("client-1")
        deadline = time.monotonic() + 10
        while supervisor.instance("client-1").proc.pid == killed and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert _cpus(supervisor.instance("client-1").proc.pid) == background
        leader = {"client-1": "3"}  # a tenure of its own
        assert placed("client-1", path)
        moves = [e for e in supervisor.events.read() if e["kind"] == "cpu-placement"]
        assert moves[0]["status"] == supervisor.cpus.status
        assert sorted((e["subject"], e["on_path"]) for e in moves[1:]) == [
            ("client-0", False),
            ("client-0", True),
            ("client-1", True),
            ("client-1", True),
            ("signalr", True),
        ]


def test_shared_cpus_place_nothing(tmp_path: Path) -> None:
    topology = Topology((*TOPOLOGY.components, ON_PATH))
    with Supervisor(topology, tmp_path, VpnProfile(1, 1), cpus=CpuMode.SHARED) as supervisor:
        everywhere = os.sched_getaffinity(0)
        containers = [c for i in supervisor.instances.values() for c in i.containers]
        assert len(containers) == 6
        assert all(_cpus(c.pid) == everywhere for c in containers)
        assert supervisor.state().path_cpus == []
        assert supervisor.state().cpu_placement.startswith("shared: ")
