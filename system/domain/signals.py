"""Signals: what the detector found and the edge may trade."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from system.domain.contracts import OptionContract


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


def signal_id(observed_at: datetime, contract: OptionContract, side: Side, kind: str) -> str:
    """Deterministic: the same observation of the same contract always yields the same id, so a
    replayed or re-published signal is recognised downstream (it is the broker's orderRef)."""
    key = f"{observed_at.isoformat()}|{contract.local_symbol}|{side.value}|{kind}"
    return "sig-" + hashlib.sha256(key.encode()).hexdigest()[:24]


class Signal(BaseModel):
    """A tradeable anomaly. Crosses the VPN as JSON; validation names any bad field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^sig-[0-9a-f]{24}$")
    created_at: AwareDatetime
    contract: OptionContract
    side: Side
    score: float = Field(ge=0, allow_inf_nan=False)
    reason: str = Field(min_length=1, max_length=500)
    expires_at: AwareDatetime
    # The option's price when the detector saw it (mid or last): what the edge prices its
    # limit and its notional from. Optional on the wire; a strategy needing it rejects without.
    reference_price: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=4)
    # W3C trace context (traceparent/tracestate) so one trace spans detector to fill.
    trace_context: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _expires_after_creation(self) -> Signal:
        if self.expires_at <= self.created_at:
            raise ValueError("expires_at must be after created_at")
        return self

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at
