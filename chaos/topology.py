"""The running topology as a drill sees it: its state on disk, its instances, its VPN links.

Every action and probe reads the state afresh, because a restart gives an instance a new pid.
Which topology: the `topology_dir` configuration entry (the drills take it from
SPYH_TOPOLOGY_DIR), else the one `spyh up` started last.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.ports import LOOPBACK
from harness.state import ProcessRecord, TopologyState
from harness.topology import Link
from harness.toxiproxy import Toxiproxy

Configuration = Mapping[str, Any]
ALL_LINKS = "*"  # the whole tunnel: every link of the topology


class TargetMissing(LookupError):
    """A drill names an instance, component or link this topology does not have."""


def load(configuration: Configuration | None) -> TopologyState:
    folder = (configuration or {}).get("topology_dir") or None
    return TopologyState.load(Path(folder) if folder else None)


def instance(state: TopologyState, name: str) -> ProcessRecord:
    if name not in state.instances:
        raise TargetMissing(f"no instance {name!r}; running: {', '.join(state.instances)}")
    return state.instances[name]


def instances_of(state: TopologyState, component: str) -> list[str]:
    """The instances (pods) of a component: `redis`, or `bot-0`, `bot-1`, ... for replicas;
    not their sidecars (`bot-0.forwarder`)."""
    pod = re.compile(rf"{re.escape(component)}(-\d+)?")
    found = [name for name in state.instances if pod.fullmatch(name)]
    if not found:
        raise TargetMissing(f"no component {component!r}; running: {', '.join(state.instances)}")
    return found


def url(state: TopologyState, name: str, port: str) -> str:
    ports = instance(state, name).ports
    if port not in ports:
        raise TargetMissing(f"{name} serves no port {port!r}; it serves {', '.join(ports)}")
    return f"http://{LOOPBACK}:{ports[port]}"


def links(state: TopologyState, name: str) -> list[Link]:
    """One named link, or every link for `*`."""
    every = [record.link() for record in state.links]
    chosen = every if name == ALL_LINKS else [link for link in every if link.name == name]
    if not chosen:
        known = ", ".join(link.name for link in every) or "none"
        raise TargetMissing(f"no VPN link {name!r}; this topology's links: {known}")
    return chosen


def listen_port(state: TopologyState, link: str) -> int:
    return next(record.listen_port for record in state.links if record.name == link)


@contextmanager
def toxiproxy(state: TopologyState) -> Iterator[Toxiproxy]:
    api = Toxiproxy(state.toxiproxy_api_port)
    try:
        yield api
    finally:
        api.close()


# Arguments of actions and probes that name an instance; `component` and `link` name the others.
INSTANCE_ARGUMENTS = ("instance", "gateway", "redis_instance", "table_storage")


def missing(state: TopologyState, arguments: Mapping[str, Any]) -> list[str]:
    """What the arguments of an activity name that this topology does not have, including
    the probe arguments an `expect` passes on."""
    absent = []
    for key, value in arguments.items():
        if key == "arguments" and isinstance(value, Mapping):
            absent += missing(state, value)
            continue
        try:
            if key in INSTANCE_ARGUMENTS:
                instance(state, value)
            elif key == "component":
                instances_of(state, value)
            elif key == "link":
                links(state, value)
        except TargetMissing:
            absent.append("a VPN link" if value == ALL_LINKS else f"{key} {value}")
    return absent
