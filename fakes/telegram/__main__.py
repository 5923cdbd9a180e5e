"""python -m fakes.telegram --host 127.0.0.1 --port P --token T

T is a bot token as BotFather issues them, <bot id>:<secret>. Prints `telegram ready <base_url>`
when serving; pass <base_url> as python-telegram-bot's base_url.
"""

from __future__ import annotations

import argparse
import re

from fakes.common import Journal, Listener, add_listen_args, bind, serve
from fakes.telegram.app import BotApi, create_app


def _token(value: str) -> str:
    if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", value):
        raise argparse.ArgumentTypeError("expected <bot id>:<secret>, e.g. 123456:ABC-def_1")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m fakes.telegram", description=__doc__)
    add_listen_args(parser)
    parser.add_argument("--token", type=_token, required=True, help="the bot's token")
    args = parser.parse_args()
    listener = Listener(create_app(BotApi(args.token, Journal())), bind(args.host, args.port))
    serve([listener], f"telegram ready {listener.url}/bot")


if __name__ == "__main__":
    main()
