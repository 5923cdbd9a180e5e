"""The analytics dashboard: a static page (site/) fed by the SignalR JavaScript client.

In the local topology the backend serves it at /dashboard with `mount(app)`; in Azure the same
folder is the Static Web App (site/staticwebapp.config.json), with the SignalR browser bundle
copied to site/vendor/ by the deploy. The page loads nothing from anywhere else.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles

SITE = Path(__file__).parent / "site"
# Where ./bootstrap installs @microsoft/signalr (pinned by harness/npm/signalr-client).
SIGNALR_BUNDLE = (
    Path(__file__).resolve().parents[2]
    / ".tools/npm/signalr-client/node_modules/@microsoft/signalr/dist/browser/signalr.min.js"
)
PATH = "/dashboard"


class SignalrBundleMissing(RuntimeError):
    """The page cannot connect without the SignalR client; said at start, not in the browser."""


def mount(app: Starlette, signalr_bundle: Path = SIGNALR_BUNDLE) -> None:
    """Serve the dashboard at /dashboard/, and the SignalR bundle at /dashboard/vendor/."""
    if not signalr_bundle.is_file():
        raise SignalrBundleMissing(
            f"dashboard: the SignalR browser bundle is missing at {signalr_bundle}: run ./bootstrap"
        )

    async def bundle(_request: Request) -> FileResponse:
        return FileResponse(signalr_bundle, media_type="text/javascript")

    app.mount(
        PATH,
        Router(
            routes=[
                Route("/vendor/signalr.min.js", bundle, methods=["GET", "HEAD"]),
                Mount("/", StaticFiles(directory=SITE, html=True)),
            ]
        ),
    )
