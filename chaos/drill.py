"""Drills: Chaos Toolkit experiments in chaos/drills/, validated before anything runs.

On top of Chaos Toolkit's own validation (format, importable functions, arguments that fit
their signatures), a drill must prove what it claims: its method checks with `expect` that the
fault took effect and names its recovery probe `recovered`; its rollbacks check with `expect`
that the cleanup happened. Every `expect` names a probe that exists, with arguments that fit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaoslib import substitute  # type: ignore[import-untyped]
from chaoslib.configuration import load_configuration  # type: ignore[import-untyped]
from chaoslib.exceptions import ChaosException  # type: ignore[import-untyped]
from chaoslib.experiment import ensure_experiment_is_valid  # type: ignore[import-untyped]
from chaoslib.loader import load_experiment  # type: ignore[import-untyped]

from chaos import probes, topology
from chaos.journal import RECOVERY_PROBE
from harness.state import TopologyState

DRILLS = Path(__file__).parent / "drills"


class DrillError(ValueError):
    """A malformed drill; the message names the file and the problem."""


def _expects(activities: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for activity in activities:
        provider = activity.get("provider", {})
        if provider.get("module") == "chaos.probes" and provider.get("func") == "expect":
            yield activity


@dataclass(frozen=True)
class Drill:
    name: str
    path: Path
    experiment: dict[str, Any]
    configuration: Mapping[str, Any]  # with the run's --var values in place

    def activities(self) -> list[dict[str, Any]]:
        hypothesis = self.experiment.get("steady-state-hypothesis") or {}
        return [
            *hypothesis.get("probes", []),
            *self.experiment["method"],
            *self.experiment.get("rollbacks", []),
        ]

    def arguments(self, activity: dict[str, Any]) -> dict[str, Any]:
        given = activity.get("provider", {}).get("arguments") or {}
        return dict(substitute(given, self.configuration, None))

    def missing_targets(self, state: TopologyState) -> list[str]:
        """What the drill acts on or looks at that this topology does not have."""
        absent: list[str] = []
        for activity in self.activities():
            absent += [
                t for t in topology.missing(state, self.arguments(activity)) if t not in absent
            ]
        return absent


def load(path: Path, variables: Mapping[str, Any]) -> Drill:
    try:
        experiment = load_experiment(str(path))
        ensure_experiment_is_valid(experiment)
        configuration = load_configuration(experiment.get("configuration", {}), dict(variables))
    except (ChaosException, OSError, ValueError) as error:
        raise DrillError(f"{path.name}: {error}") from None
    drill = Drill(path.stem, path, experiment, configuration)
    method, rollbacks = experiment["method"], experiment.get("rollbacks", [])
    proofs = [a for a in _expects(method) if a.get("name") != RECOVERY_PROBE]
    if not proofs:
        raise DrillError(
            f"{path.name}: the method never checks (expect) that its fault took effect"
        )
    if not any(a.get("name") == RECOVERY_PROBE for a in _expects(method)):
        raise DrillError(f"{path.name}: the method has no `expect` probe named {RECOVERY_PROBE!r}")
    if not any(True for _ in _expects(rollbacks)):
        raise DrillError(f"{path.name}: the rollbacks never check (expect) that cleanup happened")
    for activity in _expects(method + rollbacks):
        given = drill.arguments(activity)
        try:
            probes.check_expectation(
                given.get("check", ""),
                given.get("arguments", {}),
                given.get("equals"),
                given.get("at_least"),
                given.get("at_most"),
            )
        except ValueError as error:
            raise DrillError(f"{path.name}: activity {activity.get('name')!r}: {error}") from None
    return drill


def select(names: list[str], variables: Mapping[str, Any]) -> list[Drill]:
    """The named drills (a name from chaos/drills/ or an experiment file's path; every drill
    when none is named), each one validated."""
    known = {path.stem: path for path in sorted(DRILLS.glob("*.json"))}
    paths = []
    for name in dict.fromkeys(names or known):  # each once, in the order given
        if Path(name).suffix in {".json", ".yaml", ".yml"}:
            paths.append(Path(name))
        elif name in known:
            paths.append(known[name])
        else:
            raise DrillError(f"no drill {name!r}; drills: {', '.join(known)}")
    return [load(path, variables) for path in paths]
