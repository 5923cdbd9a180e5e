"""The paper account: cash, positions, commissions, margin and the values TWS reports.

Simplified but consistent rules: IBKR Pro fixed commissions (stock 0.005 USD/share, min 1 USD,
max 1 % of value; options 0.65 USD/contract, min 1 USD per order); margin 50 % initial / 25 %
maintenance of stock value, long options fully paid, short options 20 % of the underlying's
notional plus the premium. Average cost includes the multiplier and commissions, as at IB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fakes.tws.instruments import Contract

START_CASH = 1_000_000.0

Mark = Callable[[Contract], float]


@dataclass(slots=True)
class Position:
    contract: Contract
    quantity: float
    avg_cost: float  # per unit, multiplier and commissions included
    realized_pnl: float = 0.0


def order_commission(contract: Contract, quantity: float, price: float) -> float:
    """Commission for an order of `quantity` at `price`, all fills together."""
    if contract.is_option:
        return round(max(1.0, 0.65 * quantity), 2)
    return round(min(max(1.0, 0.005 * quantity), 0.01 * quantity * price), 2)


def fill_commission(
    contract: Contract, filled_before: float, quantity: float, price: float
) -> float:
    """This fill's share: the order's commission after it minus before it (minimum applied once)."""
    before = order_commission(contract, filled_before, price) if filled_before else 0.0
    return round(order_commission(contract, filled_before + quantity, price) - before, 2)


def margin(contract: Contract, quantity: float, price: float, spot: float) -> tuple[float, float]:
    """(initial, maintenance) margin of holding `quantity` (signed) at `price`."""
    if not contract.is_option:
        value = abs(quantity) * price
        return 0.5 * value, 0.25 * value
    if quantity >= 0:
        return 0.0, 0.0
    short = -quantity * contract.multiplier_value * (0.2 * spot + price)
    return short, short


class Account:
    def __init__(self, code: str, cash: float, positions: Iterable[Position]) -> None:
        self.code = code
        self.cash = cash
        self.positions = {p.contract.con_id: p for p in positions}
        self.realized_pnl = sum(p.realized_pnl for p in self.positions.values())

    def apply_fill(
        self, contract: Contract, signed_quantity: float, price: float, commission: float
    ) -> tuple[Position, float | None]:
        """Book a fill; returns the position and the realized P&L if it closed anything."""
        multiplier = contract.multiplier_value
        self.cash -= signed_quantity * price * multiplier + commission
        position = self.positions.get(contract.con_id)
        if position is None:
            position = self.positions[contract.con_id] = Position(contract, 0.0, 0.0)
        old = position.quantity
        new = old + signed_quantity
        realized: float | None = None
        if old == 0 or (old > 0) == (signed_quantity > 0):
            cost = old * position.avg_cost + signed_quantity * price * multiplier + commission
            position.avg_cost = cost / new
        else:
            closed = min(abs(signed_quantity), abs(old))
            direction = 1.0 if old > 0 else -1.0
            realized = closed * direction * (price * multiplier - position.avg_cost) - commission
            position.realized_pnl += realized
            self.realized_pnl += realized
            if abs(signed_quantity) > abs(old):  # flipped: the rest opens at this price
                position.avg_cost = price * multiplier
            elif new == 0:
                position.avg_cost = 0.0
        position.quantity = new
        return position, realized

    def market_value(self, position: Position, mark: Mark) -> float:
        return position.quantity * mark(position.contract) * position.contract.multiplier_value

    def net_liquidation(self, mark: Mark) -> float:
        return self.cash + sum(self.market_value(p, mark) for p in self.positions.values())

    def margins(self, mark: Mark, spot: float) -> tuple[float, float]:
        init = maint = 0.0
        for p in self.positions.values():
            i, m = margin(p.contract, p.quantity, mark(p.contract), spot)
            init, maint = init + i, maint + m
        return init, maint

    def values(self, mark: Mark, spot: float) -> list[tuple[str, str, str]]:
        """(key, value, currency) for every account value and summary tag this account has."""
        stock = sum(
            self.market_value(p, mark) for p in self.positions.values() if not p.contract.is_option
        )
        options = sum(
            self.market_value(p, mark) for p in self.positions.values() if p.contract.is_option
        )
        gross = sum(abs(self.market_value(p, mark)) for p in self.positions.values())
        unrealized = sum(
            self.market_value(p, mark) - p.quantity * p.avg_cost for p in self.positions.values()
        )
        net = self.cash + stock + options
        init, maint = self.margins(mark, spot)
        available, excess = net - init, net - maint
        money = {
            "NetLiquidation": net,
            "TotalCashValue": self.cash,
            "SettledCash": self.cash,
            "AccruedCash": 0.0,
            "BuyingPower": max(available, 0.0) * 4,
            "EquityWithLoanValue": net,
            "PreviousEquityWithLoanValue": net,
            "GrossPositionValue": gross,
            "ReqTEquity": net,
            "ReqTMargin": init,
            "SMA": max(available, 0.0),
            "InitMarginReq": init,
            "MaintMarginReq": maint,
            "AvailableFunds": available,
            "ExcessLiquidity": excess,
            "FullInitMarginReq": init,
            "FullMaintMarginReq": maint,
            "FullAvailableFunds": available,
            "FullExcessLiquidity": excess,
            "LookAheadInitMarginReq": init,
            "LookAheadMaintMarginReq": maint,
            "LookAheadAvailableFunds": available,
            "LookAheadExcessLiquidity": excess,
        }
        plain = {
            "AccountType": "INDIVIDUAL",
            "Cushion": f"{excess / net if net else 0.0:.6f}",
            "DayTradesRemaining": "-1",
            "HighestSeverity": "0",
            "Leverage": f"{gross / net if net else 0.0:.4f}",
            "LookAheadNextChange": "0",
        }
        ledger = {
            "CashBalance": self.cash,
            "TotalCashBalance": self.cash,
            "NetLiquidationByCurrency": net,
            "StockMarketValue": stock,
            "OptionMarketValue": options,
            "RealizedPnL": self.realized_pnl,
            "UnrealizedPnL": unrealized,
        }
        rows = [(key, f"{value:.2f}", "USD") for key, value in money.items()]
        rows += [(key, value, "") for key, value in plain.items()]
        for currency in ("USD", "BASE"):
            rows += [(key, f"{value:.2f}", currency) for key, value in ledger.items()]
            rows.append(("ExchangeRate", "1.00", currency))
        return rows


LEDGER_KEYS = frozenset(
    {
        "CashBalance",
        "TotalCashBalance",
        "NetLiquidationByCurrency",
        "StockMarketValue",
        "OptionMarketValue",
        "RealizedPnL",
        "UnrealizedPnL",
        "ExchangeRate",
    }
)
