"""The topology as data: components, what they use, and the VPN links between the two sides.

A component names the ports it serves and the (component, port) pairs it uses. When a use
crosses from one side to the other, it goes through a Toxiproxy proxy named after the served
port ("signalr-http", "tws-api", ...): the local VPN link. Whatever a component's command needs
to know (its own ports, where its dependencies are as seen from its side, where to write) it gets
from its Wiring, so no command hard-codes an address.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.errors import HarnessError
from harness.process import ProcessSpec

# The internet side (SendGrid, Telegram) is reached directly from both sides, never over the VPN.
Side = Literal["cloud", "edge", "internet"]
VPN_SIDES = ("cloud", "edge")


@dataclass(frozen=True, slots=True)
class Use:
    component: str
    port: str
    # The client connects again on its own until the server answers, as it must in a cluster,
    # where pods start in any order: so it may start before the server is ready.
    retried: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class Wiring:
    """Everything one running instance may know about the world around it."""

    instance: str
    replica: int
    release: str
    ports: Mapping[str, int]
    run_dir: Path
    address_from: Callable[[Side, Use], tuple[str, int]]
    side: Side

    def address_of(self, use: Use) -> tuple[str, int]:
        """Where this instance reaches a served port: through the VPN link when it crosses."""
        return self.address_from(self.side, use)

    def url(self, use: Use, scheme: str = "http", side: Side | None = None) -> str:
        host, port = self.address_from(side or self.side, use)
        return f"{scheme}://{host}:{port}"


@dataclass(frozen=True, slots=True)
class RollingUpdate:
    """A Deployment's update strategy, as its chart values declare it."""

    max_surge: int = 1
    max_unavailable: int = 0
    progress_deadline_s: float = 60.0
    revision_history_limit: int = 10

    def __post_init__(self) -> None:
        if self.max_surge < 0 or self.max_unavailable < 0:
            raise ValueError("maxSurge and maxUnavailable must not be negative")
        if self.max_surge == 0 and self.max_unavailable == 0:
            raise ValueError("maxSurge and maxUnavailable cannot both be 0")


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    side: Side
    spec: Callable[[Wiring], ProcessSpec]
    ports: tuple[str, ...] = ()
    uses: tuple[Use, ...] = ()
    replicas: int = 1
    release: str = "local"  # what a rollout replaces; the spec reads it from its Wiring
    strategy: RollingUpdate | None = None  # None: not rolled, restarted in place
    # Runs once its instances are ready and before anything that uses it starts, as a Helm
    # post-install hook would (e.g. seeding the vault with the run's secrets).
    after_ready: Callable[[Wiring], None] | None = None
    # Containers beside the main one in each instance (a pod), sharing its ports and folders;
    # they start with it and stop after it, as Kubernetes' native sidecars do.
    sidecars: tuple[Callable[[Wiring], ProcessSpec], ...] = ()
    # Its work is on the signal-to-order path: it runs on the CPUs kept for the path
    # (harness.cpu_placement). Its sidecars never do.
    on_path: bool = False

    def instances(self) -> list[str]:
        if self.replicas == 1:
            return [self.name]
        return [f"{self.name}-{i}" for i in range(self.replicas)]


@dataclass(frozen=True, slots=True)
class Link:
    """One VPN-crossing route to a served port; `server_side` decides which way is upstream."""

    name: str
    target: Use
    server_side: Side


@dataclass(frozen=True)
class Topology:
    components: tuple[Component, ...]
    by_name: dict[str, Component] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.components})
        for component in self.components:
            for use in component.uses:
                served = self.by_name.get(use.component)
                if served is None:
                    raise HarnessError(f"{component.name} uses unknown component {use.component}")
                if use.port not in served.ports:
                    raise HarnessError(
                        f"{component.name} uses {use.component}.{use.port}, "
                        f"which {use.component} does not serve"
                    )
                if served.replicas != 1:
                    raise HarnessError(
                        f"{component.name} uses {use.component}, which has replicas: "
                        "address one instance or put a service in front"
                    )
                if served.strategy is not None:
                    raise HarnessError(
                        f"{component.name} uses {use.component}, which is rolled out: "
                        "a rollout gives new replicas new ports, so nothing may depend on them"
                    )

    def start_order(self) -> graphlib.TopologicalSorter[str]:
        """Components grouped so that everything a component uses is ready before it starts,
        unless it retries that use on its own."""
        order: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for component in self.components:
            order.add(component.name, *{use.component for use in component.uses if not use.retried})
        return order

    def crosses_vpn(self, client_side: Side, use: Use) -> bool:
        sides = {client_side, self.by_name[use.component].side}
        return len(sides) == 2 and sides <= set(VPN_SIDES)

    def links(self) -> list[Link]:
        crossing = {
            use
            for client in self.components
            for use in client.uses
            if self.crosses_vpn(client.side, use)
        }
        return [
            Link(f"{use.component}-{use.port}", use, self.by_name[use.component].side)
            for use in sorted(crossing, key=lambda u: (u.component, u.port))
        ]
