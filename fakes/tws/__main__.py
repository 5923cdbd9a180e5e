"""CLI: python -m fakes.tws --host 127.0.0.1 --port P --admin-port A --seed N --state-file F

Prints one line starting with ``fakes.tws ready`` when both ports accept connections; exits
with status 0 on SIGTERM or SIGINT after persisting its state.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from fakes.common.serve import add_listen_args
from fakes.tws.gateway import GatewayConfig
from fakes.tws.server import Simulator
from fakes.tws.state import StateError


def _positive(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text}")
    return value


def parse_args(argv: list[str] | None = None) -> GatewayConfig:
    p = argparse.ArgumentParser(prog="python -m fakes.tws", description=__doc__)
    add_listen_args(p)  # --host, --port (the API port) as every fake has them
    p.add_argument("--admin-port", type=int, required=True, help="admin HTTP port (0: any)")
    p.add_argument("--seed", type=int, required=True, help="price process seed")
    p.add_argument("--state-file", type=Path, required=True, help="persisted orders and ids")
    p.add_argument("--pacing", choices=("on", "off"), default="on", help="50 msg/s limit")
    p.add_argument("--account", default="DU1234567")
    p.add_argument("--spot", type=float, default=590.0, help="SPY price at start")
    p.add_argument("--tick-interval", type=_positive, default=0.25, help="market step, seconds")
    p.add_argument("--ack-delay-ms", type=_positive, default=0.0)
    p.add_argument("--fill-delay-ms", type=_positive, default=0.0)
    p.add_argument(
        "--reject-etrade-firm-quote",
        action="store_true",
        help="refuse eTradeOnly/firmQuoteOnly orders with 10268/10269 like TWS >= 983",
    )
    p.add_argument(
        "--credential-file",
        type=Path,
        help="accepted credential; clients must send it as startApi optionalCapabilities",
    )
    a = p.parse_args(argv)
    if a.tick_interval <= 0 or a.spot <= 0:
        p.error("--tick-interval and --spot must be > 0")
    credential = None
    if a.credential_file is not None:
        try:
            credential = a.credential_file.read_text().strip()
        except OSError as error:
            p.error(f"--credential-file: {error}")
    return GatewayConfig(
        host=a.host,
        port=a.port,
        admin_port=a.admin_port,
        seed=a.seed,
        state_file=a.state_file,
        pacing=a.pacing == "on",
        account=a.account,
        spot=a.spot,
        step_seconds=a.tick_interval,
        ack_delay_s=a.ack_delay_ms / 1000.0,
        fill_delay_s=a.fill_delay_ms / 1000.0,
        reject_etrade_firm_quote=a.reject_etrade_firm_quote,
        credential=credential,
    )


async def serve(config: GatewayConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    simulator = Simulator(config)
    try:
        await simulator.start()
        print(simulator.ready_line(), flush=True)
        await stop.wait()
    finally:
        await simulator.stop()


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    try:
        asyncio.run(serve(config))
    except StateError as error:
        print(f"fakes.tws: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"fakes.tws: cannot listen: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
