"""What every locustfile here shares: its options, and the SLO gates checked when Locust quits.

A locustfile registers the gates that apply to its users with `@gate`; when the run ends, the
master (or the only process) evaluates them on the aggregated stats, writes them as JSON to
--slo-file, and sets a non-zero exit code when one is breached.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.runners import WorkerRunner
from locust.stats import StatsEntry

from harness.hops import PathPorts

BREACHED = 3  # the exit code of a run that breached a gate (Locust's own failures exit 1)
# The latency scenario's count: a p99 of 600 lies among their 6 worst; of 150, at their 2nd.
STEADY_P99_SAMPLES = 600


@dataclass(frozen=True, slots=True)
class Gate:
    name: str
    value: float | None
    limit: float | None  # None: a figure reported beside the gates, not a gate
    passed: bool
    detail: str = ""


Evaluate = Callable[[Environment], list[Gate]]
_GATES: list[Evaluate] = []


def gate(evaluate: Evaluate) -> Evaluate:
    """Register the gates of a locustfile."""
    _GATES.append(evaluate)
    return evaluate


def at_most(name: str, value: float | None, limit: float, unit: str = "") -> Gate:
    """A gate on a figure: breached when it is above the limit, or when there is none."""
    if value is None:
        return Gate(name, None, limit, False, "no samples")
    detail = f"{value:.3g}{unit} (limit {limit:g}{unit})"
    return Gate(name, round(value, 3), limit, value <= limit, detail)


def p99_basis(samples: int, what: str) -> str:
    """What a p99 of `samples` rests on: which of the worst it is, and, for fewer than the
    latency scenario's count, that it will jump from run to run."""
    rank = samples - math.ceil(0.99 * (samples - 1))  # where the interpolated p99 lies
    said = f"p99 of {samples} {what}, at their {'' if rank <= 1 else _ordinal(rank) + ' '}worst"
    if samples < STEADY_P99_SAMPLES:
        said += f" (too few to be steady: {STEADY_P99_SAMPLES} or more need a longer --duration)"
    return said


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def combined(environment: Environment, name: str, entries: Iterable[StatsEntry]) -> StatsEntry:
    """One stats entry over several (Locust's own merge), e.g. every backend route."""
    total = StatsEntry(environment.stats, name, "", use_response_times_cache=False)
    for entry in entries:
        total.extend(entry)
    return total


def p99(entry: StatsEntry) -> float | None:
    return float(entry.get_response_time_percentile(0.99)) if entry.num_requests else None


def options(environment: Environment) -> argparse.Namespace:
    """The parsed command line, with the options below."""
    parsed: argparse.Namespace | None = environment.parsed_options
    if parsed is None:
        raise RuntimeError("these locustfiles run from the locust command line")
    return parsed


def _path(text: str) -> str:
    """Checked here, kept as text: the master hands its options to its workers as data."""
    try:
        if text:  # "": not followed (the default)
            PathPorts.from_json(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


@events.init_command_line_parser.add_listener  # type: ignore[untyped-decorator]
def _options(parser: LocustArgumentParser) -> None:
    parser.add_argument(
        "--api-key", env_var="LOCUST_API_KEY", is_secret=True, default="", help="backend API key"
    )
    parser.add_argument("--gateway-admin", default="", help="the gateway simulator's admin URL")
    parser.add_argument("--signal-rate", type=float, default=1.0, help="market bursts per second")
    parser.add_argument("--vpn-one-way-ms", type=float, default=0.0, help="the link's floor")
    parser.add_argument(
        "--hop-path",
        type=_path,
        default="",
        help="the signal path (harness.hops.PathPorts as JSON): the storm's signals are followed "
        "hop by hop and the overhead gate judges what the stack added above the link each crossed",
    )
    parser.add_argument("--settle-s", type=float, default=30.0, help="wait for the last orders")
    parser.add_argument("--slo-p99-ms", type=float, default=50.0, help="backend p99 latency")
    parser.add_argument("--slo-error-rate", type=float, default=0.01, help="failed/all requests")
    parser.add_argument(
        "--slo-overhead-p99-ms", type=float, default=5.0, help="signal-to-order p99 over the floor"
    )
    parser.add_argument("--slo-file", default="", help="write the gates here (JSON)")


@events.quitting.add_listener  # type: ignore[untyped-decorator]
def _check_gates(environment: Environment, **_kwargs: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return  # the master holds the aggregated stats
    gates = [g for evaluate in _GATES for g in evaluate(environment)]
    if slo_file := options(environment).slo_file:
        report = {"passed": all(g.passed for g in gates), "gates": [asdict(g) for g in gates]}
        Path(slo_file).write_text(json.dumps(report, indent=1))
    for g in gates:
        shown = "figure" if g.limit is None else "PASS" if g.passed else "BREACH"
        print(f"SLO {shown:6} {g.name}: {g.detail}", flush=True)
    # The gates decide, error rate included; not Locust's own "any failure exits 1".
    environment.process_exit_code = 0 if all(g.passed for g in gates) else BREACHED
