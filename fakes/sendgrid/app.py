"""The SendGrid v3 fake: POST /v3/mail/send with SendGrid's auth, validation, credits and errors.

Admin (besides the common /__admin routes): GET/DELETE /__admin/messages, the queued sends.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from http import HTTPStatus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from fakes.common import Journal, ServiceError, fake_app
from fakes.common.body import media_type, read_body
from fakes.sendgrid.quota import DailyQuota
from fakes.sendgrid.validation import FieldError, is_sandbox, recipients, validate

# SendGrid's limit for one whole message, attachments included.
MAX_BODY_BYTES = 30 * 1024 * 1024
# The mail/send rate limit SendGrid reports in X-RateLimit-Limit.
RATE_LIMIT_PER_SECOND = 600

_MESSAGES = {
    401: "The provided authorization grant is invalid, expired, or revoked",
    403: "access forbidden",
    413: "The JSON payload you have included in your request is too large.",
    415: "Content-Type should be application/json.",
    429: "too many requests",
}


class MailSendError(ServiceError):
    """A rejected payload, with every problem SendGrid found in it."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(400, errors[0].message)
        self.errors = errors


def render_error(error: ServiceError) -> Response:
    if isinstance(error, MailSendError):
        errors = error.errors
    else:
        message = error.message or _MESSAGES.get(error.status) or HTTPStatus(error.status).phrase
        errors = [FieldError(message)]
    headers = {}
    if error.status == 429:
        reset = int(time.time()) + (error.retry_after or 1)
        headers = {
            "X-RateLimit-Limit": str(RATE_LIMIT_PER_SECOND),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        }
    return JSONResponse(
        {"errors": [e.as_json() for e in errors]}, status_code=error.status, headers=headers
    )


def create_app(api_key: str, quota: DailyQuota, journal: Journal) -> ASGIApp:
    async def mail_send(request: Request) -> Response:
        authorization = request.headers.get("authorization")
        if authorization is None:
            raise ServiceError(401, "authorization required")
        if authorization != f"Bearer {api_key}":
            raise ServiceError(401)
        if media_type(request) != "application/json":
            raise ServiceError(415)
        try:
            payload = json.loads(await read_body(request, MAX_BODY_BYTES))
        except ValueError:
            raise ServiceError(400, "Bad Request") from None
        if errors := validate(payload):
            raise MailSendError(errors)
        if is_sandbox(payload):
            return Response(status_code=200)  # valid, and deliberately not queued
        if not quota.take(recipients(payload)):
            raise ServiceError(401, "Maximum credits exceeded")
        message_id = secrets.token_urlsafe(16)[:22]
        journal.record(
            {
                "message_id": message_id,
                "received_at": datetime.now(UTC).isoformat(),
                "payload": payload,
            }
        )
        return Response(status_code=202, headers={"X-Message-Id": message_id})

    return fake_app(
        routes=[Route("/v3/mail/send", mail_send, methods=["POST"])],
        render_error=render_error,
        admin_routes=journal.routes(),
    )
