"""A small client for Toxiproxy's HTTP API (the PyPI client is stale; the API is five verbs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import httpx

from harness.errors import HarnessError
from harness.ports import LOOPBACK

Stream = Literal["upstream", "downstream"]


@dataclass(frozen=True, slots=True)
class Proxy:
    name: str
    listen_port: int
    upstream: str


class Toxiproxy:
    def __init__(self, api_port: int) -> None:
        self._http = httpx.Client(base_url=f"http://{LOOPBACK}:{api_port}", timeout=5.0)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.request(method, path, json=body)
        except httpx.HTTPError as error:
            raise HarnessError(f"toxiproxy {method} {path}: no answer ({error})") from None
        if response.is_error:
            raise HarnessError(
                f"toxiproxy {method} {path}: {response.status_code} {response.text.strip()}"
            )
        return response.json() if response.content else None

    def version(self) -> str:
        return str(self._call("GET", "/version")["version"])

    def create_proxy(self, name: str, upstream: str) -> Proxy:
        """A proxy on a free loopback port (Toxiproxy picks it and reports it back)."""
        created = self._call(
            "POST", "/proxies", {"name": name, "listen": f"{LOOPBACK}:0", "upstream": upstream}
        )
        return Proxy(name, int(created["listen"].rsplit(":", 1)[1]), upstream)

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{name}")

    def add_toxic(
        self,
        proxy: str,
        kind: str,
        stream: Stream,
        attributes: dict[str, int],
        name: str | None = None,
    ) -> str:
        toxic_name = name or f"{kind}_{stream}"
        self._call(
            "POST",
            f"/proxies/{proxy}/toxics",
            {"name": toxic_name, "type": kind, "stream": stream, "attributes": attributes},
        )
        return toxic_name

    def update_toxic(self, proxy: str, name: str, attributes: dict[str, int]) -> None:
        self._call("PATCH", f"/proxies/{proxy}/toxics/{name}", {"attributes": attributes})

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/proxies/{proxy}/toxics"))

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        self._call("PATCH", f"/proxies/{proxy}", {"enabled": enabled})

    def reset(self) -> None:
        """Re-enable every proxy and remove every toxic."""
        self._call("POST", "/reset")
