"""Drills are validated before anything runs: the shipped ones pass, malformed ones are named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chaos.drill import DRILLS, DrillError, load, select

SHIPPED = sorted(path.stem for path in DRILLS.glob("*.json"))


def test_every_shipped_drill_is_valid_and_proves_its_fault_and_cleanup() -> None:
    drills = select([], {})
    assert [d.name for d in drills] == SHIPPED
    assert set(SHIPPED) >= {
        "leader-kill",
        "gateway-restart-mid-order",
        "vpn-outage",
        "vpn-degradation",
        "redis-down",
        "azurite-down",
        "backend-restart",
        "slow-gateway-acks",
    }


def test_a_drill_named_twice_runs_once_per_repeat() -> None:
    assert [d.name for d in select(["redis-down", "vpn-outage", "redis-down"], {})] == [
        "redis-down",
        "vpn-outage",
    ]


def test_an_unknown_drill_is_named_with_the_known_ones() -> None:
    with pytest.raises(DrillError, match=r"no drill 'nope'; drills: .*redis-down"):
        select(["nope"], {})


def _drill(tmp_path: Path, change: Any) -> Path:
    experiment = json.loads((DRILLS / "redis-down.json").read_text())
    change(experiment)
    path = tmp_path / "drill.json"
    path.write_text(json.dumps(experiment))
    return path


def _set_check(experiment: dict[str, Any], name: str, **values: Any) -> None:
    activities = experiment["method"] + experiment["rollbacks"]
    next(a for a in activities if a["name"] == name)["provider"]["arguments"].update(values)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda e: e.pop("method"), "an experiment requires a method"),
        (lambda e: e.pop("title"), "experiment requires a title"),
        (
            lambda e: e["method"][0]["provider"].update(func="stop_everything"),
            "stop_everything",
        ),
        (
            lambda e: e["method"][0]["provider"]["arguments"].update(force=True),
            "force",
        ),
        (
            lambda e: e["method"].pop(1),
            "the method never checks (expect) that its fault took effect",
        ),
        (
            lambda e: e["method"][3].update(name="back"),
            "the method has no `expect` probe named 'recovered'",
        ),
        (
            lambda e: e["rollbacks"].pop(1),
            "the rollbacks never check (expect) that cleanup happened",
        ),
        (
            lambda e: _set_check(e, "fault-in-effect", check="redis_is_sad"),
            "activity 'fault-in-effect': expect: no probe 'redis_is_sad'",
        ),
        (
            lambda e: _set_check(e, "recovered", arguments={"host": "redis"}),
            "activity 'recovered': expect: redis_answers: ",
        ),
        (
            lambda e: _set_check(e, "cleaned-up", at_most=3),
            "give exactly one of equals, at_least, at_most",
        ),
    ],
)
def test_a_malformed_drill_is_refused_naming_the_problem(
    tmp_path: Path, change: Any, problem: str
) -> None:
    with pytest.raises(DrillError) as refused:
        load(_drill(tmp_path, change), {})
    assert str(refused.value).startswith("drill.json: ")
    assert problem in str(refused.value)


def test_a_file_that_is_not_an_experiment_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"title": "half a drill",')
    with pytest.raises(DrillError, match=r"^broken\.json: "):
        load(path, {})


def test_run_variables_reach_every_target_of_the_drill() -> None:
    drill = load(DRILLS / "redis-down.json", {"redis_instance": "redis-2"})
    stop, _, _, recovered = (drill.arguments(a) for a in drill.experiment["method"])
    assert stop == {"instance": "redis-2"}
    assert recovered["arguments"] == {"instance": "redis-2"}
