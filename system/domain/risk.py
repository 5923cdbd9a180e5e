"""Pre-trade risk: every check a signal must pass before an order leaves the edge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from system.domain.orders import OrderIntent
from system.domain.signals import Side, Signal


class RiskLimits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_position_per_contract: int = Field(gt=0)
    max_orders_per_minute: int = Field(gt=0)
    max_notional: Decimal = Field(gt=0)
    kill_switch: bool = False


@dataclass(frozen=True, slots=True)
class Exposure:
    """What the edge already holds and has done, as the ledger says."""

    positions: dict[str, int]  # signed contracts by OCC local symbol
    orders_last_minute: int
    open_notional: Decimal


@dataclass(frozen=True, slots=True)
class Verdict:
    approved: bool
    reason: str


APPROVED = Verdict(True, "approved")


def assess(
    signal: Signal, intent: OrderIntent, limits: RiskLimits, exposure: Exposure, now: datetime
) -> Verdict:
    """The first failed check wins, so the recorded reason is the one an operator acts on."""
    if limits.kill_switch:
        return Verdict(False, "kill switch is on")
    if signal.is_expired(now):
        return Verdict(False, f"signal expired at {signal.expires_at.isoformat()}")
    if exposure.orders_last_minute >= limits.max_orders_per_minute:
        return Verdict(False, f"order rate limit reached ({limits.max_orders_per_minute}/min)")
    signed = intent.quantity if intent.side is Side.BUY else -intent.quantity
    position = exposure.positions.get(intent.contract.local_symbol, 0) + signed
    if abs(position) > limits.max_position_per_contract:
        return Verdict(
            False,
            f"position {position} would exceed "
            f"{limits.max_position_per_contract} in {intent.contract.local_symbol}",
        )
    if exposure.open_notional + intent.notional > limits.max_notional:
        return Verdict(
            False,
            f"notional {exposure.open_notional + intent.notional} would exceed "
            f"{limits.max_notional}",
        )
    return APPROVED
