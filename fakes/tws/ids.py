"""Ids that never roll back: nextValidId, permId and execId sequences.

A real IB bug once rolled nextValidId back after a gateway restart and reissued ids whose
orders were lost. Here every counter reserves a block ahead of use: the ceiling is persisted
(synchronously) before any id beyond it is handed out, and a restart resumes at the persisted
ceiling at the least. A clean shutdown persists exact values, so restarts do not skip ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

BLOCK = 1000


@dataclass
class Counters:
    next_order_id: int = 1  # the lowest order id no client has used or been offered
    next_perm_id: int = 1_000_001
    next_exec_seq: int = 1

    def merge(self, other: Counters) -> Counters:
        """The larger of each counter: what a restart must resume from."""
        return Counters(
            max(self.next_order_id, other.next_order_id),
            max(self.next_perm_id, other.next_perm_id),
            max(self.next_exec_seq, other.next_exec_seq),
        )

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Ids:
    def __init__(self, start: Counters, reserve: Callable[[Counters], None]) -> None:
        self._next = Counters(**start.as_dict())
        self._ceiling = Counters(**start.as_dict())
        self._reserve = reserve

    @property
    def next_order_id(self) -> int:
        return self._next.next_order_id

    def current(self) -> Counters:
        return Counters(**self._next.as_dict())

    def saw_order_id(self, order_id: int) -> None:
        """A client used `order_id`: nextValidId moves past it, for every client."""
        if order_id >= self._next.next_order_id:
            self._next.next_order_id = order_id + 1
            self._check_ceiling()

    def perm_id(self) -> int:
        value = self._next.next_perm_id
        self._next.next_perm_id += 1
        self._check_ceiling()
        return value

    def exec_id(self) -> str:
        """IB style (``0000e0d5.65a5b.01.01``), unique for ever with the persisted sequence."""
        seq = self._next.next_exec_seq
        self._next.next_exec_seq += 1
        self._check_ceiling()
        return f"{seq >> 20:08x}.{seq & 0xFFFFF:05x}.01.01"

    def _check_ceiling(self) -> None:
        n, c = self._next, self._ceiling
        if (
            n.next_order_id > c.next_order_id
            or n.next_perm_id > c.next_perm_id
            or n.next_exec_seq > c.next_exec_seq
        ):
            self._ceiling = Counters(
                n.next_order_id + BLOCK, n.next_perm_id + BLOCK, n.next_exec_seq + BLOCK
            )
            self._reserve(self._ceiling)
