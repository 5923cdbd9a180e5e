"""MarketData from a recorded chain file, for deterministic runs and tests.

The file holds one JSON object per line, one line per snapshot:
  {"taken_at": ISO-8601 with offset, "spot": float, "contracts": [OCC local symbols],
   "bid": [...], "ask": [...], "last": [...], "volume": [...], "open_interest": [...],
   "implied_vol": [...], "delta": [...]}
Columns align with "contracts"; null stands for "no value". A line that cannot be read becomes a
SkippedMessage("malformed") and the replay goes on.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import IO

import numpy as np

from system.domain.contracts import OptionContract
from system.domain.market import ChainSnapshot, Column, SkippedMessage

COLUMNS = ("bid", "ask", "last", "volume", "open_interest", "implied_vol", "delta")


def encode(snapshot: ChainSnapshot) -> str:
    """One line of a chain file (without the newline)."""

    def column(values: Column) -> list[float | None]:
        return [None if math.isnan(v) else v for v in values.tolist()]

    return json.dumps(
        {
            "taken_at": snapshot.taken_at.isoformat(),
            "spot": snapshot.spot,
            "contracts": [c.local_symbol for c in snapshot.contracts],
            **{name: column(getattr(snapshot, name)) for name in COLUMNS},
        },
        separators=(",", ":"),
    )


class ChainDecoder:
    """Lines to snapshots. Consecutive lines with the same contract list share one tuple, so
    the detector recognises an unchanged chain by identity."""

    def __init__(self) -> None:
        self._symbols: list[str] = []
        self._contracts: tuple[OptionContract, ...] = ()

    def decode(self, line: str) -> ChainSnapshot:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("a line must be a JSON object")
        symbols = data["contracts"]
        if symbols != self._symbols:
            self._contracts = tuple(OptionContract.from_local_symbol(s) for s in symbols)
            self._symbols = symbols
        return ChainSnapshot(
            taken_at=datetime.fromisoformat(data["taken_at"]),
            spot=float(data["spot"]),
            contracts=self._contracts,
            **{name: np.array(data[name], dtype=np.float64) for name in COLUMNS},
        )


class ReplayMarketData:
    """Replays a chain file, `interval_s` apart (0: as fast as the consumer takes them). With
    `follow`, it then waits for lines appended to the file (as `tail -f` does), so a test or a
    scenario can feed the detector a snapshot at the moment it chooses."""

    def __init__(
        self, path: Path, interval_s: float = 0.0, follow: bool = False, poll_s: float = 0.05
    ) -> None:
        self._path = path
        self._interval_s = interval_s
        self._follow = follow
        self._poll_s = poll_s

    async def snapshots(self) -> AsyncIterator[ChainSnapshot | SkippedMessage]:
        decoder = ChainDecoder()
        file = await asyncio.to_thread(self._path.open, encoding="utf-8")
        try:
            number, partial = 0, ""
            while True:
                chunk = await asyncio.to_thread(file.readline)
                if not chunk.endswith("\n"):  # the end of the file, maybe mid-line
                    partial += chunk
                    if self._follow:
                        await asyncio.sleep(self._poll_s)
                        continue
                    if not partial:
                        return
                    chunk = ""
                line, partial = partial + chunk, ""
                number += 1
                if not line.strip():
                    continue
                yield await asyncio.to_thread(self._read, decoder, line, number)
                if self._interval_s:
                    await asyncio.sleep(self._interval_s)
        finally:
            await asyncio.to_thread(file.close)

    @staticmethod
    def _read(decoder: ChainDecoder, line: str, number: int) -> ChainSnapshot | SkippedMessage:
        try:
            return decoder.decode(line)
        except (ValueError, KeyError, TypeError) as error:  # JSONDecodeError is a ValueError
            return SkippedMessage("malformed", f"line {number}: {type(error).__name__}: {error}")

    async def ping(self) -> None:
        if not await asyncio.to_thread(self._path.is_file):
            raise FileNotFoundError(f"chain file {self._path} is gone")


def write(path: Path, snapshots: list[ChainSnapshot]) -> None:
    """Records snapshots as a chain file (tests and benchmarks make their inputs with it)."""
    file: IO[str]
    with path.open("w", encoding="utf-8") as file:
        for snapshot in snapshots:
            file.write(encode(snapshot) + "\n")
