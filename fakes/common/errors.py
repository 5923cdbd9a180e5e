"""The error value every fake raises; each fake renders it in its own service's shape."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response


class ServiceError(Exception):
    """A request the fake answers with an error, as the real service would.

    `message` None means "the service's usual text for this status". Fakes subclass it when their
    service's error carries more (a Key Vault error code, SendGrid's per-field list).
    """

    def __init__(
        self, status: int, message: str | None = None, *, retry_after: int | None = None
    ) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


ErrorRenderer = Callable[[ServiceError], Response]
