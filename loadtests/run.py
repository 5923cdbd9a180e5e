"""python -m loadtests.run: a headless Locust run with SLO gates, then the report.

    python -m loadtests.run --users N --spawn-rate R --duration 60s [--signal-rate S]
                            [--topology DIR | --host URL] [--processes P]
                            [--p99-ms 50] [--error-rate 0.01] [--overhead-p99-ms 5]

Dashboard and API users (loadtests/backend.py) load the backend; with --signal-rate above 0
(1 unless --host), a signal storm (loadtests/signal_storm.py) runs beside them through the real
path, and every signal-to-order latency comes from the gateway's own records. Every parameter
is checked before anything starts. Without --host the run brings a topology up (or uses
--topology DIR) and takes it down afterwards; --host loads a backend that is already running
(its API key from --api-key or SPYH_BACKEND_API_KEY).

Writes into a run folder (`.runs/<time>-load/`): load/locust_*.csv (with the full history),
load/locust.html, load/slo.json, load/figures/; then builds report.html.
Exit codes: 0 every gate held; 3 a gate was breached; 2 bad input; other non-zero: Locust failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from chaos import runner, topology
from harness.errors import HarnessError
from harness.hops import PathPorts
from harness.latency import hop_lines
from harness.local_topology import CREDENTIALS_FILE
from harness.run_folder import new_run_folder
from harness.state import TopologyState
from harness.toolchain import ROOT
from loadtests import STORM_FIGURE
from reports.build import build_report

LOCUSTFILES = Path(__file__).parent


def _number(kind: type[int] | type[float], low: float, high: float | None = None) -> type:
    """An argparse type: a number in [low, high], or an error naming the bounds."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"not a{' whole' if kind is int else ''} number: {text!r}"
            ) from None
        if value < low or (high is not None and value > high):
            bounds = f"at least {low:g}" if high is None else f"between {low:g} and {high:g}"
            raise argparse.ArgumentTypeError(f"must be {bounds}: {text}")
        return value

    parse.__name__ = kind.__name__
    return parse  # type: ignore[return-value]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spyh load", description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=_number(int, 1), default=20, help="dashboard and API users")
    p.add_argument("--spawn-rate", type=_number(float, 0.01), default=5.0, help="users/s")
    p.add_argument("--duration", type=runner.timespan, default=60, help="e.g. 60s, 5m")
    p.add_argument(
        "--signal-rate", type=_number(float, 0), help="bursts/s; 0: none (default 1, 0 with --host)"
    )
    p.add_argument("--processes", type=_number(int, 1), default=1, help="Locust processes")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--topology", type=Path, help="the run folder of a running topology")
    where.add_argument("--host", help="a running backend's URL (no topology, no storm)")
    p.add_argument("--api-key", help="with --host (default: $SPYH_BACKEND_API_KEY)")
    p.add_argument("--p99-ms", type=_number(float, 0.001), default=50.0, help="backend p99")
    p.add_argument("--error-rate", type=_number(float, 0, 1), default=0.01, help="max failed")
    p.add_argument(
        "--overhead-p99-ms", type=_number(float, 0), default=5.0, help="signal-to-order p99 - VPN"
    )
    p.add_argument("--settle", type=runner.timespan, default=30, help="wait for the last orders")
    return p


@dataclass(frozen=True, slots=True)
class Target:
    backend: str
    api_key: str
    gateway_admin: str = ""
    one_way_ms: float = 0.0
    path: PathPorts | None = None  # where the storm's signals travel, to capture hop by hop


def _from_topology(state: TopologyState, storm: bool) -> Target:
    backend = topology.url(state, "backend", "http")
    credentials = json.loads((Path(state.run_dir) / CREDENTIALS_FILE).read_text())
    key = credentials["backend_api_key"]
    if not storm:
        return Target(backend, key)
    topology.instances_of(state, "bot")
    admin = topology.url(state, "tws", "admin")
    one_way = float(state.profile.cloud_to_edge_ms)  # cloud to edge
    return Target(backend, key, admin, one_way, PathPorts.of(state))


@contextmanager
def target(args: argparse.Namespace) -> Iterator[Target]:
    if args.host:
        key = args.api_key or os.environ.get("SPYH_BACKEND_API_KEY", "")
        yield Target(args.host.rstrip("/"), key)
        return
    with runner.running(args.topology) as state:
        try:
            yield _from_topology(state, args.signal_rate > 0)
        except topology.TargetMissing as error:
            raise HarnessError(f"this topology cannot be loaded: {error}") from None


def locust_argv(args: argparse.Namespace, to: Target, out: Path) -> list[str]:
    storm = args.signal_rate > 0
    files = [LOCUSTFILES / "backend.py", *([LOCUSTFILES / "signal_storm.py"] if storm else [])]
    argv = [
        sys.executable,
        "-m",
        "locust",
        "--locustfile",
        ",".join(map(str, files)),
        "--headless",
        "--host",
        to.backend,
        "--users",
        str(args.users + (2 if storm else 0)),  # the storm and its watcher, one each
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        f"{args.duration}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(out / "locust"),
        "--csv-full-history",
        "--html",
        str(out / "locust.html"),
        "--logfile",
        str(out / "locust.log"),
        "--slo-file",
        str(out / "slo.json"),
        "--slo-p99-ms",
        str(args.p99_ms),
        "--slo-error-rate",
        str(args.error_rate),
        "--slo-overhead-p99-ms",
        str(args.overhead_p99_ms),
        "--signal-rate",
        str(args.signal_rate),
        "--gateway-admin",
        to.gateway_admin,
        "--vpn-one-way-ms",
        str(to.one_way_ms),
        *(["--hop-path", to.path.to_json()] if to.path else []),
        "--settle-s",
        str(args.settle),
    ]
    return argv + (["--processes", str(args.processes)] if args.processes > 1 else [])


def show_hops(figure: Path) -> None:
    """Where the storm's signals spent their time, as `spyh bench latency` shows it."""
    if figure.exists():  # the gates ran
        found = json.loads(figure.read_text())
        print("the storm's signals, hop by hop (ms):", *hop_lines(found["hops"]), sep="\n")
        if found["host_steal_ms"] is not None:
            print(f"taken by the host meanwhile: {found['host_steal_ms']:g} ms of CPU")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.signal_rate is None:
        args.signal_rate = 0.0 if args.host else 1.0
    problem = (
        "the signal storm needs a topology's gateway and bots: drop --host"
        if args.host and args.signal_rate > 0
        else "--api-key goes with --host; a topology has its own key"
        if args.api_key and not args.host
        else "--host needs --api-key or SPYH_BACKEND_API_KEY"
        if args.host and not (args.api_key or os.environ.get("SPYH_BACKEND_API_KEY"))
        else None
    )
    if problem:
        print(f"load: error: {problem}", file=sys.stderr)
        return 2
    run_dir = new_run_folder("load")
    out = run_dir / "load"
    out.mkdir()
    try:
        with target(args) as to:
            env = {**os.environ, **runner.NO_EGRESS, "LOCUST_API_KEY": to.api_key}
            code = subprocess.call(locust_argv(args, to, out), cwd=ROOT, env=env)
        show_hops(out / STORM_FIGURE)
    except HarnessError as error:
        print(f"load: error: {error}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("load: interrupted", file=sys.stderr)
        code = 130
    print(f"report: {build_report(run_dir)}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
