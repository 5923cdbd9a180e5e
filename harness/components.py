"""How to run each real third-party server of the topology as a loopback process."""

from __future__ import annotations

import signal
from pathlib import Path

from harness.process import ProcessSpec, http, log_line
from harness.toolchain import AZURITE, REDIS, TOXIPROXY, tool_path

# Azurite's well-known development account (published in the Azurite and Azure docs).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def azurite_connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"TableEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    )


def azurite(port: int, workdir: Path) -> ProcessSpec:
    """The table service only, its data on disk under `workdir` so it survives a restart (a
    storage outage must not wipe the tables); --disableTelemetry or it phones home to eastus2.
    Stopped with SIGINT: it saves its database every 5 s and on SIGINT, while SIGTERM ends it
    at once, losing writes it has acknowledged."""
    workdir.mkdir(parents=True, exist_ok=True)
    return ProcessSpec(
        name="azurite",
        argv=[
            str(tool_path(AZURITE)),
            "--location",
            str(workdir),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(port),
            "--disableTelemetry",
        ],
        cwd=workdir,
        ready=log_line(r"Azurite Table service (is )?successfully (started|listening)"),
        stop_signal=signal.SIGINT,
    )


def toxiproxy(api_port: int) -> ProcessSpec:
    """One Go scheduler thread: the links carry little, and with one per CPU the runtime spun
    looking for work on every packet's timer (a fifth less CPU per 600-signal run, measured)."""
    return ProcessSpec(
        name="toxiproxy",
        argv=[str(tool_path(TOXIPROXY)), "-host", "127.0.0.1", "-port", str(api_port)],
        ready=http(f"http://127.0.0.1:{api_port}/version"),
        env={"GOMAXPROCS": "1"},
    )


def redis(port: int, workdir: Path) -> ProcessSpec:
    """No persistence: a lease store that forgets on restart, as a fresh edge node would."""
    workdir.mkdir(parents=True, exist_ok=True)
    return ProcessSpec(
        name="redis",
        argv=[
            str(tool_path(REDIS)),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        ready=log_line(r"Ready to accept connections"),
    )
