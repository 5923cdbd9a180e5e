"""python -m fakes.sendgrid --host 127.0.0.1 --port P --api-key K [--daily-quota N]

Prints `sendgrid ready <url>` when serving; pass <url> as SendGridAPIClient(host=...).
"""

from __future__ import annotations

import argparse

from fakes.common import Journal, Listener, add_listen_args, bind, serve
from fakes.sendgrid.app import create_app
from fakes.sendgrid.quota import FREE_TIER_PER_DAY, DailyQuota


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m fakes.sendgrid", description=__doc__)
    add_listen_args(parser)
    parser.add_argument("--api-key", required=True, help="the only key accepted as Bearer")
    parser.add_argument(
        "--daily-quota",
        type=int,
        default=FREE_TIER_PER_DAY,
        help="emails (recipients) accepted per UTC day (default %(default)s, the free tier)",
    )
    args = parser.parse_args()
    app = create_app(args.api_key, DailyQuota(args.daily_quota), Journal())
    listener = Listener(app, bind(args.host, args.port))
    serve([listener], f"sendgrid ready {listener.url}")


if __name__ == "__main__":
    main()
