"""What a notification fake accepted, kept in order and served to tests on the admin surface."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class Journal:
    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []

    def record(self, entry: dict[str, Any]) -> None:
        self._entries.append(entry)

    def routes(self) -> list[Route]:
        """GET /messages lists what was accepted; DELETE /messages forgets it."""

        async def messages(request: Request) -> JSONResponse:
            if request.method == "DELETE":
                self._entries.clear()
            return JSONResponse({"messages": self._entries})

        return [Route("/messages", messages, methods=["GET", "DELETE"])]
