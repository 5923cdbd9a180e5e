"""Signals as rows of the anomalies table: partitioned by trading day, keyed by signal id."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from system.domain.contracts import OptionContract
from system.domain.signals import Signal
from system.ports import StoredRecord


def trading_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def to_record(signal: Signal, table: str, zone: ZoneInfo) -> StoredRecord:
    return StoredRecord(
        table=table,
        partition_key=trading_day(signal.created_at, zone).isoformat(),
        row_key=signal.id,
        fields={
            "contract": signal.contract.local_symbol,
            "multiplier": signal.contract.multiplier,
            "side": signal.side.value,
            "score": signal.score,
            "reason": signal.reason,
            "created_at": signal.created_at,
            "expires_at": signal.expires_at,
            "trace_context": json.dumps(signal.trace_context),
            # A string keeps the Decimal exact; Table Storage has no decimal type.
            "reference_price": ""
            if signal.reference_price is None
            else str(signal.reference_price),
        },
    )


def from_record(record: StoredRecord) -> Signal:
    fields = record.fields
    return Signal(
        id=record.row_key,
        created_at=fields["created_at"],
        contract=OptionContract.from_local_symbol(fields["contract"], fields["multiplier"]),
        side=fields["side"],
        score=fields["score"],
        reason=fields["reason"],
        expires_at=fields["expires_at"],
        trace_context=json.loads(fields["trace_context"]),
        reference_price=Decimal(price) if (price := fields.get("reference_price")) else None,
    )
