"""The local topology: every component of spy-hybrid as a loopback process, in one place.

Cloud side: Azurite (Table Storage), the SignalR and Key Vault fakes, the backend with the
detector. Edge side: the IB Gateway simulator, Redis, the bot replicas, the forwarder and the
watchdog. Internet side: the SendGrid and Telegram fakes, which the edge reaches directly, not
over the VPN. Credentials are made fresh for each run.
"""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass

from harness import components
from harness.process import ProcessSpec, log_line
from harness.topology import Component, Topology, Wiring
from harness.vpn import VpnProfile

PYTHON = sys.executable
# Until the chart values carry it (issue 9), the design's VPN: 15-30 ms RTT; dev sits at 20.
DEFAULT_PROFILES = {"dev": VpnProfile(10, 10, 2), "prod": VpnProfile(10, 10, 2)}


@dataclass(frozen=True, slots=True)
class LocalCredentials:
    """Made fresh per run: nothing in a run folder works against anything real."""

    sendgrid_api_key: str
    telegram_token: str
    signalr_access_key: str

    @classmethod
    def generate(cls) -> LocalCredentials:
        return cls(
            sendgrid_api_key="SG." + secrets.token_urlsafe(16) + "." + secrets.token_urlsafe(32),
            telegram_token=f"{secrets.randbelow(9 * 10**8) + 10**8}:{secrets.token_urlsafe(26)}",
            signalr_access_key=secrets.token_urlsafe(32),
        )


def _fake(module: str, *args: str) -> list[str]:
    return [PYTHON, "-m", f"fakes.{module}", "--host", "127.0.0.1", *args]


def build(env: str) -> tuple[Topology, VpnProfile]:
    credentials = LocalCredentials.generate()

    def azurite(w: Wiring) -> ProcessSpec:
        return components.azurite(w.ports["table"], w.run_dir / w.instance)

    def redis(w: Wiring) -> ProcessSpec:
        return components.redis(w.ports["redis"], w.run_dir / w.instance)

    def signalr(w: Wiring) -> ProcessSpec:
        key = credentials.signalr_access_key
        argv = _fake("signalr", "--port", str(w.ports["http"]), "--access-key", key)
        return ProcessSpec(w.instance, argv, log_line(r"^Endpoint=http://"))

    def tws(w: Wiring) -> ProcessSpec:
        state = w.run_dir / w.instance / "state.json"
        state.parent.mkdir(parents=True, exist_ok=True)
        ports = ["--port", str(w.ports["api"]), "--admin-port", str(w.ports["admin"])]
        argv = _fake("tws", *ports, "--seed", "7", "--state-file", str(state))
        return ProcessSpec(w.instance, argv, log_line(r"^fakes\.tws ready"))

    def sendgrid(w: Wiring) -> ProcessSpec:
        key = credentials.sendgrid_api_key
        argv = _fake("sendgrid", "--port", str(w.ports["http"]), "--api-key", key)
        return ProcessSpec(w.instance, argv, log_line(r"^sendgrid ready "))

    def telegram(w: Wiring) -> ProcessSpec:
        token = credentials.telegram_token
        argv = _fake("telegram", "--port", str(w.ports["http"]), "--token", token)
        return ProcessSpec(w.instance, argv, log_line(r"^telegram ready "))

    topology = Topology(
        (
            Component("azurite", "cloud", azurite, ports=("table",)),
            Component("signalr", "cloud", signalr, ports=("http",)),
            Component("tws", "edge", tws, ports=("api", "admin")),
            Component("redis", "edge", redis, ports=("redis",)),
            Component("sendgrid", "internet", sendgrid, ports=("http",)),
            Component("telegram", "internet", telegram, ports=("http",)),
        )
    )
    return topology, DEFAULT_PROFILES[env]
