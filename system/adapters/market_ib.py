"""MarketData from IB Gateway / TWS through ib_async.

The SPY chain's expiries and strikes come from reqSecDefOptParams. Only a window of strikes
around spot is streamed (reqMktData with generic ticks 100/101/106: option volume, open
interest, implied volatility), sized to stay within the account's market-data line limit with
the underlying's own line counted. When spot drifts far enough from the window's centre, the
window is re-centred: lines leaving it are cancelled, lines entering it requested. A snapshot of
the streamed window is taken every interval. A lost connection is reported as a SkippedMessage
and re-established with backoff.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import numpy as np
from ib_async import IB, Option, StartupFetch, Stock, Ticker

from system.adapters import ib_connect
from system.adapters.clock import SystemClock
from system.domain.contracts import OptionContract
from system.domain.market import ChainSnapshot, Column, SkippedMessage
from system.ports import Clock

log = logging.getLogger(__name__)

GENERIC_TICKS = "100,101,106"  # option volume, option open interest, option implied volatility


@dataclass(frozen=True, slots=True)
class IbSettings:
    host: str
    port: int
    client_id: int
    expiries: int  # nearest expiries streamed
    strikes_each_side: int  # wanted strikes above and below spot, per expiry and right
    max_lines: int  # the account's market-data lines (IB's default allowance is 100)
    recentre_strikes: int  # re-centre once spot is this many strikes from the centre
    snapshot_interval_s: float
    connect_timeout_s: float = 10.0
    symbol: str = "SPY"


def strikes_each_side(settings: IbSettings) -> int:
    """As many as wanted, but no more than the lines allow: one line for the underlying, then
    a call and a put per strike and expiry."""
    per_strike = 2 * 2 * settings.expiries
    return max(1, min(settings.strikes_each_side, (settings.max_lines - 1) // per_strike))


def window(strikes: list[float], spot: float, each_side: int) -> list[float]:
    centre = bisect.bisect_left(strikes, spot)
    low = max(0, min(centre - each_side, len(strikes) - 2 * each_side))
    return strikes[low : low + 2 * each_side]


class IbMarketData:
    def __init__(
        self,
        settings: IbSettings,
        clock: Clock | None = None,
        credential: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock or SystemClock()
        # Read before every connect, so a rotated credential is used from the next reconnect.
        self._credential = credential
        self._ib = IB()
        # IB refuses messages beyond 50 in any sliding second. ib_async's default throttle sends
        # bursts of 45 a second apart, and two bursts can land in one window on the server's
        # clock; bursts of 8 every 0.2 s stay below 50 in any window however they arrive.
        self._ib.client.MaxRequests = 8
        self._ib.client.RequestsInterval = 0.2  # type: ignore[assignment]  # seconds; typed int
        self._expiries: list[str] = []
        self._strikes: list[float] = []
        self._underlying: Ticker | None = None
        self._tickers: dict[int, Ticker] = {}  # by conId, in chain order
        self._centre = math.nan
        self._contracts: tuple[OptionContract, ...] = ()

    async def snapshots(self) -> AsyncIterator[ChainSnapshot | SkippedMessage]:
        delay = 1.0
        while True:
            try:
                await self._connect()
                delay = 1.0
                async for snapshot in self._stream():
                    yield snapshot
            except (ConnectionError, OSError, TimeoutError, LookupError) as error:
                yield SkippedMessage("disconnected", f"{type(error).__name__}: {error}")
                self._ib.disconnect()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def ping(self) -> None:
        if not self._ib.isConnected():
            raise ConnectionError("not connected to IB Gateway")

    async def _connect(self) -> None:
        s = self._settings
        if self._credential is not None:
            self._ib.client.optCapab = await self._credential()  # startApi optionalCapabilities
        await ib_connect.connect(
            self._ib,
            s.host,
            s.port,
            s.client_id,
            s.connect_timeout_s,
            readonly=True,
            fetchFields=StartupFetch(0),  # market data only: no orders, positions, accounts
        )
        stock = Stock(s.symbol, "SMART", "USD")
        qualified = await self._ib.qualifyContractsAsync(stock)
        if not qualified or not stock.conId:
            raise LookupError(f"IB does not know {s.symbol}")
        chains = await self._ib.reqSecDefOptParamsAsync(s.symbol, "", "STK", stock.conId)
        chain = next(
            (c for c in chains if c.exchange == "SMART" and c.tradingClass == s.symbol),
            chains[0] if chains else None,
        )
        if chain is None:
            raise LookupError(f"IB lists no option chain for {s.symbol}")
        self._expiries = sorted(chain.expirations)[: s.expiries]
        self._strikes = sorted(chain.strikes)
        self._underlying = self._ib.reqMktData(stock, "", False, False)
        self._tickers, self._centre, self._contracts = {}, math.nan, ()

    async def _stream(self) -> AsyncIterator[ChainSnapshot | SkippedMessage]:
        each_side = strikes_each_side(self._settings)
        while self._ib.isConnected():
            await asyncio.sleep(self._settings.snapshot_interval_s)
            spot = self._spot()
            if not math.isfinite(spot):
                yield SkippedMessage("no_spot", f"no {self._settings.symbol} price yet")
                continue
            if self._off_centre(spot):
                await self._recentre(window(self._strikes, spot, each_side), spot)
            if self._tickers:
                yield self._snapshot(spot)
        raise ConnectionError("IB Gateway connection lost")

    def _spot(self) -> float:
        ticker = self._underlying
        return math.nan if ticker is None else float(ticker.marketPrice())

    def _off_centre(self, spot: float) -> bool:
        if math.isnan(self._centre):
            return True
        # Strike spacing differs along the chain (1 near the money, 5 far out): use the local one.
        strikes = self._strikes
        i = min(max(bisect.bisect_left(strikes, spot), 1), len(strikes) - 1)
        step = strikes[i] - strikes[i - 1] if len(strikes) > 1 else 1.0
        return abs(spot - self._centre) >= self._settings.recentre_strikes * step

    async def _recentre(self, strikes: list[float], spot: float) -> None:
        wanted = [
            Option(self._settings.symbol, expiry, strike, right, "SMART", currency="USD")
            for expiry in self._expiries
            for strike in strikes
            for right in ("C", "P")
        ]
        # Not every strike is listed for every expiry; unqualified ones are left out.
        qualified = [
            c
            for c in await self._ib.qualifyContractsAsync(*wanted)
            if isinstance(c, Option) and c.conId
        ]
        keep = {c.conId for c in qualified}
        for con_id in list(self._tickers):
            leaving = self._tickers.pop(con_id).contract if con_id not in keep else None
            if leaving is not None:
                self._ib.cancelMktData(leaving)
        self._tickers = {
            c.conId: self._tickers.get(c.conId) or self._ib.reqMktData(c, GENERIC_TICKS)
            for c in qualified
        }
        self._contracts = tuple(
            OptionContract.from_local_symbol(c.localSymbol, int(c.multiplier or 100))
            for c in qualified
        )
        self._centre = spot
        log.info("streaming %d option lines around %.2f", len(qualified), spot)

    def _snapshot(self, spot: float) -> ChainSnapshot:
        tickers = list(self._tickers.values())

        def column(values: list[float]) -> Column:
            return np.array(values, dtype=np.float64)

        def open_interest(t: Ticker) -> float:
            contract = t.contract
            call = contract is not None and contract.right == "C"
            return float(t.callOpenInterest if call else t.putOpenInterest)

        greeks = [t.modelGreeks for t in tickers]
        return ChainSnapshot(
            taken_at=self._clock.now(),
            spot=spot,
            contracts=self._contracts,
            bid=column([t.bid for t in tickers]),
            ask=column([t.ask for t in tickers]),
            last=column([t.last for t in tickers]),
            volume=column([t.volume for t in tickers]),
            open_interest=column([open_interest(t) for t in tickers]),
            implied_vol=column(
                [
                    g.impliedVol if g and g.impliedVol is not None else t.impliedVolatility
                    for g, t in zip(greeks, tickers, strict=True)
                ]
            ),
            delta=column([g.delta if g and g.delta is not None else math.nan for g in greeks]),
        )
