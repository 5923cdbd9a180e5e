"""Alerts as incidents: de-duplicated by key, reminded after a while, resolved with a notice.

The first alert of a key opens an incident and goes out; repeats while it is open are counted,
not sent (a reminder goes out after `remind_after_s`); resolving an open incident sends one
recovery notice. Sending never raises: a notifier that is down must not stop what alerted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from system.edge.held_alerts import HeldAlerts
from system.ports import Alert, Notifier, Severity

log = logging.getLogger(__name__)


class FanOut:
    """One Notifier that hands each alert to several (email and Telegram), each on its own."""

    def __init__(self, notifiers: Sequence[Notifier]) -> None:
        self._notifiers = list(notifiers)

    async def notify(self, alert: Alert) -> None:
        for notifier in self._notifiers:
            try:
                await notifier.notify(alert)
            except Exception as error:  # one channel down must not silence the others
                log.warning(
                    "alert %s not sent via %s: %s",
                    alert.key,
                    type(notifier).__name__,
                    type(error).__name__,
                )


class Digest:
    """A Notifier that holds what it is given and sends it as one message every `interval_s`
    (by `run`, which first sends what a previous run of this replica held), or at `flush`: a
    busy session's trade confirmations become a few emails, not one per fill (SendGrid's daily
    quota; and an HTTP request on the bot's event loop for each fill, beside the signals).
    What is held stays in the edge store until it is sent: a message that cannot be sent is
    logged, and its alerts go out with the next one. A message carries at most
    `max_per_message` alerts, so a backlog held through a long outage goes out as several
    readable emails, each well under SendGrid's size limit, not as one."""

    def __init__(
        self,
        notifier: Notifier,
        interval_s: float,
        title: str,
        held: HeldAlerts,
        max_per_message: int = 500,
    ) -> None:
        self._notifier = notifier
        self._interval_s = interval_s
        self._title = title
        self._held = held
        self._max_per_message = max_per_message

    async def notify(self, alert: Alert) -> None:
        self._held.hold(alert)

    async def run(self) -> None:
        while True:
            await self.flush()
            await asyncio.sleep(self._interval_s)

    async def flush(self) -> None:
        """Send what is held, oldest first; what is held during the sends waits for the next
        digest, and a refused message stops the flush with everything from it still held."""
        through = self._held.newest()
        while True:
            mark, held = self._held.oldest(self._max_per_message, through)
            if not held:
                return
            message = held[0] if len(held) == 1 else self.combine(held)
            try:
                await self._notifier.notify(message)
            except Exception as error:  # kept: the next digest carries them
                log.warning("%d held alerts not sent yet: %s", len(held), type(error).__name__)
                return
            self._held.release(mark)

    def combine(self, alerts: Sequence[Alert]) -> Alert:
        """One message: each alert's title and body in the order given."""
        return Alert(
            key=f"{alerts[0].key}+{len(alerts) - 1}",
            severity=max((a.severity for a in alerts), key=list(Severity).index),
            title=f"{self._title}: {len(alerts)}",
            body="\n\n".join(f"{a.title}\n{a.body}" for a in alerts),
        )


@dataclass(slots=True)
class Incident:
    alert: Alert
    opened_at: float
    last_sent_at: float
    repeats: int = 0


class AlertGate:
    def __init__(
        self,
        notifier: Notifier,
        remind_after_s: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._notifier = notifier
        self._remind_after_s = remind_after_s
        self._monotonic = monotonic
        self.open: dict[str, Incident] = {}
        self.sent: list[Alert] = []  # what went out, for the daily report

    async def raise_(self, alert: Alert) -> bool:
        """True if the alert went out (new incident, or a reminder)."""
        now = self._monotonic()
        incident = self.open.get(alert.key)
        if incident is not None:
            incident.repeats += 1
            if now - incident.last_sent_at < self._remind_after_s:
                return False
            incident.last_sent_at = now
            alert = Alert(
                alert.key,
                alert.severity,
                f"Still: {alert.title}",
                f"{alert.body}\n(repeated {incident.repeats} times since it opened)",
            )
        else:
            self.open[alert.key] = Incident(alert, now, now)
        await self._send(alert)
        return True

    async def resolve(self, key: str, title: str, body: str = "") -> bool:
        """True if an open incident was closed (and a recovery notice went out)."""
        incident = self.open.pop(key, None)
        if incident is None:
            return False
        lasted = self._monotonic() - incident.opened_at
        await self._send(
            Alert(
                key,
                Severity.INFO,
                f"Resolved: {title}",
                f"{body}\nWas: {incident.alert.title} (open {lasted:.0f} s).".strip(),
            )
        )
        return True

    async def _send(self, alert: Alert) -> None:
        self.sent.append(alert)
        try:
            await self._notifier.notify(alert)
        except Exception as error:  # the alert is kept in `sent`; the channel may come back
            log.warning("alert %s not sent: %s", alert.key, type(error).__name__)
