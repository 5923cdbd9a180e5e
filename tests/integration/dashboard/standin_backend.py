"""A stand-in for the backend's dashboard duties, run as a real process by the dashboard tests
until system/services/backend serves them: the page at /dashboard (through the same
`system.dashboard.mount`) and `POST /api/negotiate?hub=...`, answered as the backend will, with
the client URL of the SignalR service and an access token for it. As with a connection string's
`ClientEndpoint=`, browsers are sent to the client endpoint (here: through the link's proxy),
while the token's audience names the service's own endpoint.

    python -m tests.integration.dashboard.standin_backend --port P \
        --endpoint http://127.0.0.1:S --client-endpoint http://127.0.0.1:C --access-key K \
        [--expired-tokens N]

`--expired-tokens N` hands out N tokens that expired a minute ago before any good one, as a
backend whose clock or cache went wrong would: the page must negotiate again.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import jwt
import uvicorn
from fastapi import FastAPI

from system.dashboard import mount

TOKEN_LIFETIME_S = 3600


def create_app(
    endpoint: str, client_endpoint: str, access_key: str, expired_tokens: int
) -> FastAPI:
    app = FastAPI()
    expired_left = [expired_tokens]

    @app.post("/api/negotiate")
    def negotiate(hub: str = "dashboard") -> dict[str, str]:
        now = int(time.time())
        lifetime = -60 if expired_left[0] > 0 else TOKEN_LIFETIME_S
        expired_left[0] = max(0, expired_left[0] - 1)
        claims = {"aud": f"{endpoint}/client/?hub={hub}", "iat": now, "exp": now + lifetime}
        return {
            "url": f"{client_endpoint}/client/?hub={hub}",
            "accessToken": jwt.encode(claims, access_key.encode(), "HS256"),
        }

    mount(app)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.integration.dashboard.standin_backend")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--client-endpoint", required=True)
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--expired-tokens", type=int, default=0)
    args = parser.parse_args(argv)
    app = create_app(args.endpoint, args.client_endpoint, args.access_key, args.expired_tokens)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
