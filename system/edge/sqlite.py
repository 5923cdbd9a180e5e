"""Opening the edge store's SQLite files: WAL, a durability level, short write transactions.

The edge store is local to one pod (never a network filesystem: WAL needs shared memory on one
host). Writes are single short transactions made on the event loop: with WAL and
synchronous=NORMAL a commit is a page write with no fsync, tens of microseconds, and survives a
process crash (SIGKILL, OOM); synchronous=FULL adds an fsync per commit, for power loss too.

A checkpoint (the WAL copied back into the database, with an fsync) runs by default inside the
commit that grows the WAL past 1000 pages: milliseconds, once in a while. A hot-path writer
turns that off and calls `checkpoint` from a worker thread instead, on a connection of its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from types import TracebackType


class Synchronous(StrEnum):
    NORMAL = "NORMAL"
    FULL = "FULL"


def connect(
    path: Path,
    *,
    readonly: bool = False,
    synchronous: Synchronous = Synchronous.NORMAL,
    autocheckpoint: bool = True,
) -> sqlite3.Connection:
    """Autocommit connection (isolation_level=None): writers open their own transactions."""
    if readonly:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # For a new file (an existing one keeps its own): a commit appends every page it
        # changed to the WAL, and rows here are a few hundred bytes. 1 KiB pages write a
        # quarter of 4 KiB's per commit, and the checkpoint thread copies a quarter back.
        conn.execute("PRAGMA page_size=1024")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous.value}")
        if not autocheckpoint:
            conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.row_factory = sqlite3.Row
    return conn


def transaction(
    conn: sqlite3.Connection, on_rollback: Callable[[], None] | None = None
) -> Transaction:
    """`with transaction(conn):` one write transaction (see Transaction)."""
    return Transaction(conn, on_rollback)


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error, a failed COMMIT included: never
    half-applied. Inside an open transaction it joins it: the outermost one commits (or rolls
    back) everything, and then calls `on_rollback` if it rolled back. A class, not a generator:
    it is entered several times per signal on the trading hot path."""

    __slots__ = ("_conn", "_on_rollback", "_outermost")

    def __init__(
        self, conn: sqlite3.Connection, on_rollback: Callable[[], None] | None = None
    ) -> None:
        self._conn = conn
        self._on_rollback = on_rollback
        self._outermost = False

    def __enter__(self) -> sqlite3.Connection:
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")
            self._outermost = True
        return self._conn

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if not self._outermost:
            return
        if kind is None:
            try:
                self._conn.execute("COMMIT")
                return
            except BaseException:
                self._rollback()
                raise
        self._rollback()

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        if self._on_rollback is not None:
            self._on_rollback()


def checkpoint(path: Path) -> None:
    """Copy what the WAL holds back into the database, for a writer that does not checkpoint
    on commit. Blocking: run it in a worker thread. PASSIVE neither waits for nor blocks the
    writer; what it cannot copy now, the next call does."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        conn.close()
