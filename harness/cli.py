"""spyh: bring the spy-hybrid topology up on this machine, operate it, and check it."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from harness import vpn
from harness.control import call
from harness.cpu_placement import CpuMode
from harness.errors import HarnessError
from harness.run_folder import discard_run_folder, new_run_folder
from harness.state import TopologyState
from harness.toolchain import ROOT
from harness.topology import Link
from harness.toxiproxy import Toxiproxy
from harness.vpn import VpnProfile

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
bench_app = typer.Typer(
    no_args_is_help=True, help="Measure the running topology, or its link alone."
)
app.add_typer(bench_app, name="bench")
vpn_app = typer.Typer(
    no_args_is_help=True, help="Degrade, cut or restore the VPN link of the running topology."
)
app.add_typer(vpn_app, name="vpn")
console = Console()


class Env(StrEnum):
    dev = "dev"
    prod = "prod"


class DetectorPlace(StrEnum):
    IN_BACKEND = "in-backend"
    APART = "apart"


@app.callback()
def spyh() -> None:
    """spyh: bring the spy-hybrid topology up on this machine, operate it, and check it."""


# -- the topology ---------------------------------------------------------------------------
@app.command()
def up(
    env: Annotated[Env, typer.Option(help="whose chart values: replicas, probes, VPN")] = Env.dev,
    vpn_rtt: Annotated[
        int | None, typer.Option(min=0, max=2000, help="override the VPN round trip (ms)")
    ] = None,
    cpus: Annotated[
        CpuMode,
        typer.Option(help="split: the signal path on CPUs of its own; shared: no placement"),
    ] = CpuMode.SPLIT,
    detector: Annotated[
        DetectorPlace | None,
        typer.Option(
            help="in-backend, or apart (its own process, as Container Instances runs it); "
            "default: as the environment's terraform.tfvars deploy it"
        ),
    ] = None,
    detach: Annotated[
        bool, typer.Option(help="run in the background; `spyh down` stops it")
    ] = False,
    run_dir: Annotated[Path | None, typer.Option(hidden=True)] = None,
) -> None:
    """Start every component on loopback, each edge-cloud connection through its VPN link."""
    if run_dir is None:  # an operator's `spyh up`, not the daemon a detached one starts
        _refuse_a_second_topology()
    if detach:
        _up_in_background(env, vpn_rtt, cpus, detector)
        return
    from harness.control import ControlServer
    from harness.local_topology import build

    local = build(env.value, None if detector is None else detector is DetectorPlace.APART)
    profile = local.profile
    if vpn_rtt is not None:
        profile = VpnProfile.from_rtt(vpn_rtt, min(profile.jitter_ms, vpn_rtt // 2))
    run_dir = run_dir or new_run_folder("up")
    supervisor = local.supervise(run_dir, profile, env.value, cpus)
    shutdown = threading.Event()
    _stop_on_signals()
    seconds = supervisor.up()
    control = ControlServer(supervisor, shutdown)
    try:
        control.start()
        supervisor.control_port = control.port
        supervisor.state().save()
        backend = supervisor.instance("backend").ports["http"]
        console.print(f"{len(supervisor.instances)} instances ready in {seconds:.1f} s")
        console.print(f"CPU idle: {supervisor.idle.status}")
        console.print(f"CPUs: {supervisor.cpus.status}")
        _name_inherited_settings()
        console.print(f"run folder: {run_dir} (the API key is in credentials.json)")
        console.print(f"dashboard: http://127.0.0.1:{backend}/dashboard/")
        if console.is_terminal:
            with Live(_status_table(supervisor.state()), console=console) as live:
                while not shutdown.wait(1):
                    live.update(_status_table(supervisor.state()))
        else:
            shutdown.wait()
    finally:
        control.stop()
        supervisor.down()


def _refuse_a_second_topology() -> None:
    """One topology at a time: a second would take `.runs/latest-up` over, and `spyh down` would
    then stop it and leave the first running, unseen, beside everything measured next."""
    try:
        running = TopologyState.running()
    except HarnessError:
        return  # none is up
    raise HarnessError(
        f"a topology is already up (run folder {running.run_dir}); `spyh down` stops it"
    )


def _name_inherited_settings() -> None:
    from harness.process import inherited_settings

    if names := inherited_settings():
        console.print(f"from your shell, where a component sets none: {', '.join(names)}")


def _up_in_background(
    env: Env, vpn_rtt: int | None, cpus: CpuMode, detector: DetectorPlace | None
) -> None:
    """The same `spyh up`, in its own session; returns once it is ready or names why not."""
    run_dir = new_run_folder("up")
    argv = [sys.executable, "-m", "harness", "up", "--env", env.value, "--cpus", cpus.value]
    argv += ["--run-dir", str(run_dir)]
    if vpn_rtt is not None:
        argv += ["--vpn-rtt", str(vpn_rtt)]
    if detector is not None:
        argv += ["--detector", detector.value]
    output = run_dir / "spyh-up.log"
    with output.open("wb") as log:
        daemon = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, cwd=ROOT
        )
    while daemon.poll() is None:
        try:
            state = TopologyState.load(run_dir)
            if state.control_port:
                console.print(
                    f"topology up in the background (pid {daemon.pid}); `spyh down` "
                    f"stops it\nrun folder: {run_dir} (API key in credentials.json)"
                )
                if "backend" in state.instances:
                    port = state.instances["backend"].ports["http"]
                    console.print(f"dashboard: http://127.0.0.1:{port}/dashboard/")
                _name_inherited_settings()
                return
        except HarnessError:
            pass  # not written yet
        time.sleep(0.1)
    # It said what failed in its own words ("spyh: error: ..."): relay them, not wrap them.
    said = output.read_text(errors="replace").strip() or "spyh: error: spyh up exited early"
    typer.echo(said, err=True)
    raise typer.Exit(daemon.returncode or 2)


@app.command()
def status() -> None:
    """Show every instance of the running topology: pid, alive, listening, ports."""
    console.print(_status_table(TopologyState.running()))


@app.command()
def down() -> None:
    """Stop the running topology: its supervisor stops what it started; if the supervisor is
    gone, the recorded processes are stopped (by pid and start time, never by name)."""
    state = TopologyState.running()
    if state.toxiproxy.is_ours():
        with suppress(HarnessError):  # no supervisor left to ask: stop what it recorded
            call(state.control_port, "POST", "/shutdown")
        deadline = time.monotonic() + 60
        while state.toxiproxy.is_ours() and time.monotonic() < deadline:
            time.sleep(0.1)
    state.stop_all()
    console.print(f"stopped {len(state.instances)} instances and the VPN link layer")


@app.command()
def rollout(
    component: Annotated[str, typer.Argument(help="a rolled component, e.g. bot")],
    image_version: Annotated[str, typer.Option(help="the release to roll to")],
) -> None:
    """Roll a component of the running topology to a release, as its Deployment would;
    a release that does not become ready is rolled back automatically."""
    state = TopologyState.running()
    body = {"component": component, "release": image_version}
    result = call(state.control_port, "POST", "/rollouts", body, timeout_s=900)
    console.print(
        f"{component}: revision {result['revision']} ({result['release']}) {result['outcome']}"
    )
    if result["outcome"] != "complete":
        raise typer.Exit(1)


@app.command()
def kill(
    instance: Annotated[str, typer.Argument(help="an instance, e.g. bot-0")],
    signal_name: Annotated[str, typer.Option("--signal", help="e.g. SIGKILL, SIGTERM")] = "SIGKILL",
) -> None:
    """Send a signal to one instance; its restart policy brings it back."""
    state = TopologyState.running()
    call(state.control_port, "POST", f"/instances/{instance}/kill", {"signal": signal_name})
    console.print(f"{signal_name} sent to {instance}")


@app.command()
def logs(
    component: Annotated[str, typer.Argument(help="a component (all replicas) or one instance")],
    lines: Annotated[int, typer.Option("-n", min=1)] = 40,
    follow: Annotated[bool, typer.Option("-f", help="keep printing new lines")] = False,
) -> None:
    """Print the log of a component of the running topology, or of the last one once stopped;
    `toxiproxy` is the VPN link layer's."""
    state = TopologyState.load()
    processes = {"toxiproxy": state.toxiproxy, **state.instances}
    chosen = [
        name for name in processes if name == component or name.rsplit("-", 1)[0] == component
    ]
    if not chosen:
        raise HarnessError(f"no component {component!r} in the topology: {', '.join(processes)}")
    paths = [Path(processes[name].log) for name in chosen]
    for name, path in zip(chosen, paths, strict=True):
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        console.print(f"[bold]== {name}[/bold] ({path})")
        console.print("\n".join(tail), markup=False, highlight=False)
    if follow:
        _follow(dict(zip(chosen, paths, strict=True)))


@vpn_app.command("degrade")
def vpn_degrade(
    latency_ms: Annotated[int, typer.Option(min=0, help="one-way latency, each direction")] = 100,
    jitter_ms: Annotated[int, typer.Option(min=0)] = 30,
    bandwidth_kbytes_s: Annotated[int, typer.Option(min=1, help="125 KB/s is 1 Mbps")] = 125,
) -> None:
    """Apply a bad-day profile to every link."""
    try:
        profile = VpnProfile(latency_ms, latency_ms, jitter_ms, bandwidth_kbytes_s)
    except ValueError as error:
        raise HarnessError(str(error)) from None
    state = TopologyState.running()
    call(state.control_port, "PUT", "/vpn", dataclasses.asdict(profile))
    console.print(f"VPN degraded: {profile}")


@vpn_app.command("outage")
def vpn_outage() -> None:
    """Black-hole every link: connections stay open, nothing arrives."""
    _on_links(TopologyState.running(), vpn.start_outage)
    console.print("VPN down (black hole on every link)")


@vpn_app.command("restore")
def vpn_restore() -> None:
    """End any outage and put back the profile the topology started with."""
    state = TopologyState.running()
    restored = call(state.control_port, "POST", "/vpn/restore")
    console.print(f"VPN restored: {restored['profile']}")


# -- checks ---------------------------------------------------------------------------------
@app.command()
def smoke(latency_ms: Annotated[int, typer.Option(min=1, help="toxic to inject")] = 10) -> None:
    """Azurite behind Toxiproxy: write and read through the link, measure the added latency."""
    from harness.smoke import run_smoke

    run_dir = new_run_folder("smoke")
    result = run_smoke(run_dir, latency_ms)
    for line in result.lines():
        typer.echo(line)
    typer.echo(f"logs: {run_dir}")
    if min(result.toxic_ms) < latency_ms:
        raise HarnessError(f"the {latency_ms:g} ms latency toxic did not delay every request")


_PYTEST_USAGE_ERROR = 4  # pytest.ExitCode.USAGE_ERROR, also for none selected (conftest.py)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def scenarios(ctx: typer.Context) -> None:
    """Run the BDD scenarios on the local topology, then build the report and print its path.
    Extra arguments go to pytest (e.g. -k failover)."""
    from reports.build import build_report

    run_dir = new_run_folder("scenarios")
    pytest = [sys.executable, "-m", "pytest", "scenarios", f"--junitxml={run_dir / 'junit.xml'}"]
    code = subprocess.call(
        [*pytest, *ctx.args], cwd=ROOT, env={**os.environ, "SPYH_RUN_DIR": str(run_dir)}
    )
    if code == _PYTEST_USAGE_ERROR:  # bad arguments, or a selection of none: nothing ran
        discard_run_folder(run_dir)  # pytest has said what was wrong
        raise typer.Exit(code)
    typer.echo(f"report: {build_report(run_dir)}")
    raise typer.Exit(code)


@bench_app.command("latency")
def bench_latency(
    signals: Annotated[int, typer.Option(min=1, max=100_000)] = 200,
    rate: Annotated[float, typer.Option(min=0.1, max=5000, help="signals per second")] = 20.0,
    warmup: Annotated[int, typer.Option(min=0, help="unmeasured signals first")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """Signal-to-order latency over the real path of the running topology: signals sent as
    the backend sends them, timed by the gateway's receipt of each orderRef; beside them, the
    link's own one-way delay, measured through an identical link (link_p50/p99_ms)."""
    import json

    from ib_async.client import Client

    from harness.hops import PathPorts
    from harness.latency import (
        hop_lines,
        listed_contracts,
        signal_bus,
        storm,
        storm_beside_probe,
        wait_for_orders,
    )
    from harness.local_topology import LocalCredentials

    state = TopologyState.running()
    paced = Client.MaxRequests / Client.RequestsInterval  # the bot's broker client paces it
    if rate > paced:
        typer.echo(
            f"warning: {rate:g} signals/s is more orders than the bot may send: ib_async sends "
            f"at most {paced:g} messages/s (IB allows 50), so orders queue in the bot and the "
            "figures below include that queue",
            err=True,
        )
    key = LocalCredentials.load(Path(state.run_dir)).signalr_access_key
    admin = f"http://127.0.0.1:{state.instances['tws'].ports['admin']}"
    signalr = state.instances["signalr"].ports["http"]
    contracts = listed_contracts(admin)
    one_way = state.profile.cloud_to_edge_ms
    if warmup:  # each contract is looked up once at the gateway; steady state is measured
        warm = storm(signal_bus(signalr, key), contracts, rate, lambda n: n >= warmup)
        wait_for_orders(admin, warm, one_way, 60)
    api = Toxiproxy(state.toxiproxy_api_port)
    try:
        sent, beside = storm_beside_probe(
            signal_bus(signalr, key),
            contracts,
            rate,
            signals,
            api,
            state.profile,
            PathPorts.of(state),
            set(state.path_cpus),
        )
    finally:
        api.close()
    result = wait_for_orders(admin, sent, one_way, 60, beside)
    summary = {
        "rate_per_s": rate,
        "vpn": str(state.profile),
        "cpu_idle": state.cpu_idle,
        "cpus": state.cpu_placement,
        **result.summary(),
    }
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        for name, value in summary.items():
            if name != "hops":
                typer.echo(f"{name:<20} {value}")
        for line in hop_lines(summary["hops"]):  # where the time went
            typer.echo(line)
    if result.missing or result.duplicated:
        raise typer.Exit(1)


@bench_app.command("link")
def bench_link(
    latency_ms: Annotated[int, typer.Option(min=0, help="one-way latency, each direction")] = 10,
    jitter_ms: Annotated[int, typer.Option(min=0)] = 0,
    bandwidth_kbytes_s: Annotated[int, typer.Option(min=1, help="125 KB/s is 1 Mbps")] = 12_500,
    frames: Annotated[int, typer.Option(min=1, max=100_000)] = 600,
    rate: Annotated[float, typer.Option(min=0.1, max=5000, help="frames per second")] = 20.0,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """The emulated VPN link alone, no topology needed: what Toxiproxy itself adds to the
    latency it is told to inject, on this machine (the floor under the latency bench's
    overhead). Defaults: the latency scenario's link at 20 ms round trip."""
    import json

    from harness.link_bench import bench_link as measure

    try:
        profile = VpnProfile(latency_ms, latency_ms, jitter_ms, bandwidth_kbytes_s)
    except ValueError as error:
        raise HarnessError(str(error)) from None
    summary = measure(new_run_folder("bench-link"), profile, frames, rate).summary()
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        for name, value in summary.items():
            typer.echo(f"{name:<20} {value}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def load(ctx: typer.Context) -> None:
    """A headless Locust run with SLO gates against a topology it brings up, then the report.
    Arguments as `python -m loadtests.run --help` lists them (--users, --spawn-rate, ...)."""
    from loadtests.run import main as run

    raise typer.Exit(run(ctx.args))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def chaos(ctx: typer.Context) -> None:
    """Chaos Toolkit drills with rollbacks always, or a soak, then the report. Arguments as
    `python -m chaos.run --help` lists them (--drill, --repeats, --soak)."""
    from chaos.run import main as run

    raise typer.Exit(run(ctx.args))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def conformance(ctx: typer.Context) -> None:
    """Check the deploy path offline with each field's own tool (terraform, checkov, helm,
    kubernetes-validate, promtool, actionlint, hadolint, the cost model). Extra arguments:
    --only CHECK,... and --out DIR."""
    from harness.conformance import main as run

    raise typer.Exit(run(ctx.args))


# -- helpers --------------------------------------------------------------------------------
def _status_table(state: TopologyState) -> Group:
    table = Table()
    for column in ("instance", "side", "pid", "state", "cpus", "ports"):
        table.add_column(column)
    for row in state.status():
        shown = (
            "[green]listening"
            if row.listening
            else "[yellow]starting"
            if row.alive
            else "[red]dead"
        )
        ports = " ".join(f"{name}={port}" for name, port in row.ports.items())
        table.add_row(row.instance, row.side, str(row.pid), shown, _cpus_of(row.pid), ports)
    heading = (
        f"spy-hybrid ({state.env}); VPN: {state.profile}{_outage(state)}; "
        f"CPUs: {state.cpu_placement}"
    )
    return Group(Text(heading), table)


def _cpus_of(pid: int) -> str:
    """Where the process may run now (the leader bot moves to the path's CPUs)."""
    try:
        return ",".join(map(str, sorted(os.sched_getaffinity(pid))))
    except OSError:
        return "-"


def _on_links(state: TopologyState, action: Callable[[Toxiproxy, list[Link]], T]) -> T:
    api = Toxiproxy(state.toxiproxy_api_port)
    try:
        return action(api, [record.link() for record in state.links])
    finally:
        api.close()


def _outage(state: TopologyState) -> str:
    """What the profile alone does not say: links an outage black-holes right now."""
    try:
        down = _on_links(state, vpn.black_holed)
    except HarnessError as error:
        return f"; the links' state is unknown ({error})"
    return f"; OUTAGE: {', '.join(down)} black-holed" if down else ""


def _follow(paths: dict[str, Path]) -> None:
    offsets = {name: path.stat().st_size for name, path in paths.items()}
    while True:
        for name, path in paths.items():
            with path.open(errors="replace") as log:
                log.seek(offsets[name])
                for line in log:
                    console.print(f"{name} | {line.rstrip()}", markup=False, highlight=False)
                offsets[name] = log.tell()
        time.sleep(0.5)


def _stop_on_signals() -> None:
    """SIGINT and SIGTERM take Ctrl-C's path, everything started gets stopped, however spyh was
    started (a shell's background job inherits SIGINT ignored)."""

    def interrupt(_signum: int, _frame: FrameType | None) -> NoReturn:
        raise KeyboardInterrupt

    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, interrupt)


def main() -> None:
    """Entry point: a HarnessError is one clear line and exit code 2, never a traceback."""
    try:
        app()
    except HarnessError as error:
        typer.echo(f"spyh: error: {error}", err=True)
        sys.exit(2)
    except SystemExit as done:
        if done.code == 130:  # typer's exit for Ctrl-C, once every command's cleanup has run
            typer.echo("spyh: interrupted; everything it started has been stopped", err=True)
        raise
