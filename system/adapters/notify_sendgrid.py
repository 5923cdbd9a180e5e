"""Alerts and reports by email through SendGrid's v3 Mail Send API (httpx), behind Notifier.

The request is the one the official SDK sends (`POST /v3/mail/send`, Bearer API key, JSON body)
made with httpx, so it is async end to end; success is 202 (200 in sandbox mode). SendGrid
does not retry on its own; a failure raises and the caller decides (AlertGate logs it).
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from system.ports import Alert


class NotificationFailed(Exception):
    """The service answered, but did not accept the message."""


class SendGridNotifier:
    def __init__(
        self,
        api_key: str,
        sender: str,
        recipients: Sequence[str],
        base_url: str = "https://api.sendgrid.com",
        timeout_s: float = 10.0,
    ) -> None:
        if not recipients:
            raise ValueError("an email notifier needs at least one recipient")
        self._sender = sender
        self._recipients = list(recipients)
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
        )

    async def notify(self, alert: Alert) -> None:
        body = {
            "personalizations": [{"to": [{"email": r} for r in self._recipients]}],
            "from": {"email": self._sender},
            "subject": f"[{alert.severity.value}] {alert.title}",
            "content": [{"type": "text/plain", "value": alert.body or alert.title}],
            "custom_args": {"alert_key": alert.key},
        }
        response = await self._client.post("/v3/mail/send", json=body)
        if response.status_code not in (200, 202):
            raise NotificationFailed(f"SendGrid answered {response.status_code}")

    async def aclose(self) -> None:
        await self._client.aclose()
