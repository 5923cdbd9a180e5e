"""The alerts a Digest holds, kept in the edge store until they are sent: a replica killed
between two digests sends what it held when it starts again, and a digest that could not be
sent goes out with the next one instead of being dropped."""

from __future__ import annotations

import sqlite3

from system.edge.sqlite import transaction
from system.ports import Alert, Severity

_SCHEMA = """
CREATE TABLE IF NOT EXISTS held_alerts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL
);
"""


class HeldAlerts:
    """In the order held; an alert whose key is already held is held once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        with transaction(conn):
            conn.execute(_SCHEMA)

    def hold(self, alert: Alert) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "INSERT OR IGNORE INTO held_alerts (key, severity, title, body) "
                "VALUES (?, ?, ?, ?)",
                (alert.key, alert.severity.value, alert.title, alert.body),
            )

    def newest(self) -> int:
        """The mark of the alert held last (0 if none is held)."""
        row = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM held_alerts").fetchone()
        return int(row[0])

    def oldest(self, limit: int, through: int) -> tuple[int, list[Alert]]:
        """Up to `limit` of the alerts held longest, none past mark `through`, and the mark to
        `release` them by (alerts held later stay)."""
        rows = self._conn.execute(
            "SELECT seq, key, severity, title, body FROM held_alerts WHERE seq <= ? "
            "ORDER BY seq LIMIT ?",
            (through, limit),
        ).fetchall()
        alerts = [Alert(r["key"], Severity(r["severity"]), r["title"], r["body"]) for r in rows]
        return (rows[-1]["seq"] if rows else 0), alerts

    def release(self, through: int) -> None:
        with transaction(self._conn):
            self._conn.execute("DELETE FROM held_alerts WHERE seq <= ?", (through,))
