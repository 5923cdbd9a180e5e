"""`system.dashboard.mount`: the page and the SignalR bundle under /dashboard, or one clear line
at start when the bundle is missing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from system.dashboard import SIGNALR_BUNDLE, SignalrBundleMissing, mount


async def get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return await client.get(path)


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    bundle = tmp_path / "signalr.min.js"
    bundle.write_text("/* the SignalR browser bundle */")
    app = FastAPI()
    mount(app, bundle)
    return app


async def test_the_page_is_served_at_dashboard(app: FastAPI) -> None:
    page = await get(app, "/dashboard/")
    assert page.status_code == 200
    assert '<script src="vendor/signalr.min.js"' in page.text
    redirect = await get(app, "/dashboard")
    assert (redirect.status_code, redirect.headers["location"]) == (
        307,
        "http://127.0.0.1/dashboard/",
    )


async def test_modules_are_javascript_and_the_bundle_comes_from_the_install(app: FastAPI) -> None:
    module = await get(app, "/dashboard/main.js")
    assert module.headers["content-type"].startswith("text/javascript")
    bundle = await get(app, "/dashboard/vendor/signalr.min.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert bundle.text == "/* the SignalR browser bundle */"


async def test_only_the_site_is_served(app: FastAPI) -> None:
    assert (await get(app, "/dashboard/__init__.py")).status_code == 404
    assert (await get(app, "/dashboard/../__init__.py")).status_code == 404


def test_a_missing_bundle_stops_the_start_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "signalr.min.js"
    with pytest.raises(SignalrBundleMissing, match=f"missing at {missing}: run ./bootstrap"):
        mount(FastAPI(), missing)


def test_the_default_bundle_is_where_bootstrap_installs_it() -> None:
    assert SIGNALR_BUNDLE.is_file(), "run ./bootstrap"
