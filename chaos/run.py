"""python -m chaos.run: chaos drills on a running topology, then the report.

    python -m chaos.run [--drill NAME ...] [--repeats N] [--soak 10m] [--topology DIR]
                        [--var KEY[:TYPE]=VALUE ...] [--seed N] [--settle 60s] [--traffic 2]

Every drill is validated before anything is touched. Without --topology the runner brings a
topology up (`spyh up --detach`) and takes it down afterwards. A drill whose targets this
topology lacks is refused with a line naming them and counted as skipped, never as passed.
Before each drill the runner waits (up to --settle) for that drill's steady state, so that
what one drill left unsettled is not blamed on the next. Each drill runs as `chaos run
--rollback-strategy always`, so its rollbacks run even when it fails or is interrupted:
Ctrl-C reaches the drill once, its rollbacks finish, then the run stops. Throughout, a watcher
checks the invariants (no duplicate order, no trade on an expired signal, no lost telemetry
record) on whatever of them this topology can show, while signals stream through it (--traffic
per second, as the backend publishes them) so that every fault strikes with orders in flight.

Writes into a run folder (`.runs/<time>-chaos/`): chaos/journals/, chaos/logs/,
chaos/results.json, events.jsonl (the topology's timeline); then builds report.html.
Exit codes: 0 every drill that ran passed and no invariant broke; 1 otherwise, or nothing could
run; 2 bad input; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from chaoslib import convert_vars  # type: ignore[import-untyped]
from chaoslib.hypothesis import run_steady_state_hypothesis  # type: ignore[import-untyped]

from chaos import journal, probes, runner, topology
from chaos.drill import Drill, DrillError, select
from chaos.journal import Verdict
from chaos.traffic import SignalTraffic
from harness.errors import HarnessError
from harness.run_folder import new_run_folder
from harness.state import TopologyState
from harness.toolchain import ROOT
from reports.build import build_report

GATEWAY = "tws"
TELEMETRY = "no lost telemetry record"
INVARIANTS: dict[str, tuple[Callable[..., list[str]], dict[str, Any]]] = {
    "no duplicate order": (probes.duplicate_orders, {"gateway": GATEWAY}),
    "no trade on an expired signal": (
        probes.trades_on_expired_signals,
        {"gateway": GATEWAY, "component": "bot"},
    ),
    TELEMETRY: (
        probes.lost_telemetry_records,
        {"component": "bot", "table_storage": "azurite", "grace_s": 60.0},
    ),
}


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1: {text!r}")
    return int(text)


def rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 50:
        raise argparse.ArgumentTypeError(f"must be 0 (off) to 50 signals per second: {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spyh chaos", description=__doc__.split("\n\n")[0])
    p.add_argument("--drill", action="append", default=[], help="a drill (default: all)")
    p.add_argument("--repeats", type=positive, default=1, help="runs of each drill")
    p.add_argument("--soak", type=runner.timespan, help="run random drills for this long, e.g. 10m")
    p.add_argument("--seed", type=int, default=None, help="seed of the soak's drill choice")
    p.add_argument("--topology", type=Path, help="drill this running topology's run folder")
    p.add_argument(
        "--settle",
        type=runner.timespan,
        default=60,
        help="wait for the steady state before a drill",
    )
    p.add_argument("--var", action="append", default=[], help="drill configuration KEY=VALUE")
    p.add_argument(
        "--traffic", type=rate, default=2.0, help="signals per second throughout (0: none)"
    )
    return p


@dataclass
class Invariant:
    name: str
    checks: int = 0
    unavailable: int = 0
    violations: list[str] = field(default_factory=list)
    not_checked: str | None = None  # why not: what this topology lacks


class InvariantWatch(threading.Thread):
    """Checks every invariant this topology can show, every `every_s`, until stopped."""

    def __init__(self, state: TopologyState, every_s: float = 2.0) -> None:
        super().__init__(name="invariants", daemon=True)
        self.configuration = {"topology_dir": state.run_dir}
        self.every_s = every_s
        self.stopped = threading.Event()
        self.invariants = {}
        self.gateway = None if topology.missing(state, {"gateway": GATEWAY}) else GATEWAY
        self.orders_seen = 0  # what the invariants were checked over
        for name, (_, arguments) in INVARIANTS.items():
            absent = topology.missing(state, arguments)
            reason = f"needs {', '.join(absent)}" if absent else None
            self.invariants[name] = Invariant(name, not_checked=reason)

    def check(self) -> None:
        if self.gateway is not None:
            with suppress(Exception):
                count = probes.order_count(self.gateway, self.configuration)
                self.orders_seen = max(self.orders_seen, count)
        for name, (probe, arguments) in INVARIANTS.items():
            invariant = self.invariants[name]
            if invariant.not_checked:
                continue
            try:
                broken = probe(**arguments, configuration=self.configuration)
            except Exception:  # the fault of the moment may hide the evidence; look again later
                invariant.unavailable += 1
                continue
            invariant.checks += 1
            invariant.violations += [v for v in broken if v not in invariant.violations]

    def run(self) -> None:
        while not self.stopped.wait(self.every_s):
            self.check()

    def finish(self) -> list[Invariant]:
        self.stopped.set()
        self.join()
        self.check()  # once more, after the last drill
        self.drained()
        return list(self.invariants.values())

    def drained(self) -> None:
        """The last drill's records are younger than the telemetry grace, so the looks so far
        skipped them: wait up to the grace for every record queued before now to be stored
        (records queued meanwhile are not waited for), then judge."""
        invariant = self.invariants[TELEMETRY]
        if invariant.not_checked:
            return
        probe, arguments = INVARIANTS[TELEMETRY]
        started = time.monotonic()
        lost: list[str] | None = None
        while True:
            since_start = time.monotonic() - started
            with suppress(Exception):  # Table Storage may still be coming back
                lost = probe(
                    **{**arguments, "grace_s": since_start}, configuration=self.configuration
                )
            if lost == [] or since_start >= arguments["grace_s"]:
                break
            time.sleep(self.every_s)
        if lost is None:
            invariant.unavailable += 1
            return
        invariant.checks += 1
        invariant.violations += [v for v in lost if v not in invariant.violations]


@dataclass
class Session:
    """One run of the runner: where it writes and what it has seen."""

    run_dir: Path
    state: TopologyState
    variables: list[str]
    verdicts: list[Verdict] = field(default_factory=list)
    interrupted: bool = False

    @property
    def out(self) -> Path:
        return self.run_dir / "chaos"

    def run(self, drill: Drill, repeat: int) -> None:
        journal_path = self.out / "journals" / f"{drill.name}-{repeat}.json"
        log_path = self.out / "logs" / f"{drill.name}-{repeat}.log"
        for folder in (journal_path.parent, log_path.parent):
            folder.mkdir(parents=True, exist_ok=True)
        settings = self.out / "settings.yaml"  # empty: no user settings, no notifications
        settings.touch()
        argv = [
            sys.executable,
            "-m",
            "chaostoolkit",
            "--no-version-check",
            "--no-log-file",
            "--settings",
            str(settings),
            "run",
            "--rollback-strategy",
            "always",
            "--journal-path",
            str(journal_path),
            *(f"--var={v}" for v in self.variables),
            str(drill.path),
        ]
        env = {**os.environ, **runner.NO_EGRESS, "SPYH_TOPOLOGY_DIR": self.state.run_dir}
        with log_path.open("wb") as log:
            # Its own session: a terminal's Ctrl-C reaches the runner only, which passes exactly
            # one SIGINT on, so a second Ctrl-C cannot cut the drill's rollbacks short.
            child = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self._wait(child)
        verdict = journal.read(journal_path, drill.name, repeat)
        self.verdicts.append(verdict)
        recovered = verdict.recovered_after_s
        took = f", recovered in {recovered:g} s" if recovered is not None else ""
        print(f"{drill.name} #{repeat}: {verdict.outcome}{took}", flush=True)
        for reason in verdict.reasons:
            print(f"  {reason}", flush=True)

    def _wait(self, child: subprocess.Popen[bytes]) -> None:
        while True:
            try:
                child.wait()
                return
            except KeyboardInterrupt:
                if not self.interrupted:
                    self.interrupted = True
                    print(
                        "interrupted: the drill runs its rollbacks, then the run stops", flush=True
                    )
                    child.send_signal(signal.SIGINT)


def settle(drill: Drill, state: TopologyState, within_s: float) -> bool:
    """Wait until the drill's steady state holds (Chaos Toolkit's own check), so that what one
    drill left unsettled is not blamed on the next; False if it does not hold in time."""
    configuration = {**drill.configuration, "topology_dir": state.run_dir}
    deadline = time.monotonic() + within_s
    while True:
        held = run_steady_state_hypothesis(drill.experiment, configuration, {}, None, None)
        if held is None or held["steady_state_met"]:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(2)


def drills_in_order(
    eligible: list[Drill], repeats: int, soak_s: float | None, seed: int | None
) -> Iterator[tuple[Drill, int]]:
    """Each drill `repeats` times in turn, or random drills until the soak time is up."""
    if soak_s is None:
        for repeat in range(1, repeats + 1):
            for drill in eligible:
                yield drill, repeat
        return
    chooser, counts = random.Random(seed), dict.fromkeys((d.name for d in eligible), 0)
    deadline = time.monotonic() + soak_s
    while eligible and time.monotonic() < deadline:
        drill = chooser.choice(eligible)
        counts[drill.name] += 1
        yield drill, counts[drill.name]


def write_results(
    session: Session,
    skipped: dict[str, list[str]],
    watch: InvariantWatch,
    traffic: SignalTraffic,
    soak_s: float | None,
) -> None:
    recovery: dict[str, list[float]] = {}
    for verdict in session.verdicts:
        if verdict.recovered_after_s is not None:
            recovery.setdefault(verdict.drill, []).append(verdict.recovered_after_s)
    results = {
        "topology": session.state.run_dir,
        "soak_s": soak_s,
        "interrupted": session.interrupted,
        "drills": [asdict(v) for v in session.verdicts],
        "skipped": [{"drill": name, "missing": missing} for name, missing in skipped.items()],
        "invariants": [asdict(i) for i in watch.invariants.values()],
        "gateway_orders": watch.orders_seen,
        "signals_streamed": traffic.sent,
        "traffic_failure": traffic.failure,
        "mean_recovery_s": {name: sum(s) / len(s) for name, s in recovery.items()},
    }
    (session.out / "results.json").write_text(json.dumps(results, indent=1))


def run_drills(args: argparse.Namespace, run_dir: Path, drills: list[Drill]) -> int:
    with runner.running(args.topology) as state:
        session = Session(run_dir, state, args.var)
        session.out.mkdir(parents=True, exist_ok=True)
        skipped = {d.name: d.missing_targets(state) for d in drills}
        skipped = {name: missing for name, missing in skipped.items() if missing}
        for name, missing in skipped.items():
            print(f"{name}: skipped, this topology has no {', '.join(missing)}", flush=True)
        eligible = [d for d in drills if d.name not in skipped]
        watch = InvariantWatch(state)
        watch.start()
        traffic = SignalTraffic(state, args.traffic)
        try:
            with traffic:
                for chosen, repeat in drills_in_order(eligible, args.repeats, args.soak, args.seed):
                    if not settle(chosen, state, args.settle):
                        unsettled = f"not in its steady state after {args.settle} s"
                        print(f"{chosen.name} #{repeat}: {unsettled}")
                    session.run(chosen, repeat)
                    if session.interrupted:
                        break
        finally:
            invariants = watch.finish()
            write_results(session, skipped, watch, traffic, args.soak)
            timeline = Path(state.run_dir) / "events.jsonl"
            if timeline.exists():
                shutil.copy(timeline, run_dir / "events.jsonl")
    streamed = f", {traffic.sent} signals streamed" if traffic.on else ", no signal traffic"
    print(f"invariants checked over {watch.orders_seen} orders at the gateway{streamed}")
    if traffic.failure:
        print(f"signal traffic stopped early: {traffic.failure}", flush=True)
    for invariant in invariants:
        shown = invariant.not_checked or f"{len(invariant.violations)} violations"
        print(f"invariant {invariant.name}: {shown}", flush=True)
    if session.interrupted:
        return 130
    broken = any(v.outcome != "passed" for v in session.verdicts)
    violated = any(i.violations for i in invariants)
    return 1 if broken or violated or not session.verdicts else 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        variables = convert_vars(args.var)
    except ValueError:
        print(f"chaos: error: --var takes KEY[:TYPE]=VALUE, got {args.var}", file=sys.stderr)
        return 2
    try:
        drills = select(args.drill, variables)
    except DrillError as error:
        print(f"chaos: error: {error}", file=sys.stderr)
        return 2
    # SIGINT too, whatever the caller left it as (a shell's background job ignores it, and so
    # would the drill it starts): either one stops the run once the drill's rollbacks are done.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _interrupt)
    run_dir = new_run_folder("chaos")
    try:
        code = run_drills(args, run_dir, drills)
    except HarnessError as error:
        print(f"chaos: error: {error}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("chaos: interrupted; the topology it brought up is down", file=sys.stderr)
        code = 130
    print(f"report: {build_report(run_dir)}", flush=True)
    return code


def _interrupt(_signum: int, _frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
