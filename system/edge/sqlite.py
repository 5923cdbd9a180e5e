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
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path


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
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous.value}")
        if not autocheckpoint:
            conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.row_factory = sqlite3.Row
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error: never half-applied. Inside an
    open transaction it joins it: the outermost one commits (or rolls back) everything."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def checkpoint(path: Path) -> None:
    """Copy what the WAL holds back into the database, for a writer that does not checkpoint
    on commit. Blocking: run it in a worker thread. PASSIVE neither waits for nor blocks the
    writer; what it cannot copy now, the next call does."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        conn.close()
