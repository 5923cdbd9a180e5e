from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from pydantic import ValidationError

from system.domain.contracts import OptionContract, Right
from system.domain.market import ChainSnapshot
from system.domain.orders import (
    InvalidTransition,
    OrderIntent,
    OrderStatus,
    OrderType,
    TimeInForce,
    advance,
)
from system.domain.risk import Exposure, RiskLimits, assess
from system.domain.signals import Side, Signal, signal_id

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
CALL = OptionContract(
    symbol="SPY", expiry=date(2026, 12, 18), strike=Decimal("600"), right=Right.CALL
)


def make_signal(**changes: object) -> Signal:
    fields: dict[str, object] = {
        "id": signal_id(NOW, CALL, Side.BUY, "volume_surge"),
        "created_at": NOW,
        "contract": CALL,
        "side": Side.BUY,
        "score": 7.5,
        "reason": "volume 9.1 MADs above median",
        "expires_at": NOW + timedelta(seconds=30),
    }
    fields.update(changes)
    return Signal.model_validate(fields)


def make_intent(quantity: int = 1, price: str = "2.50", side: Side = Side.BUY) -> OrderIntent:
    return OrderIntent(
        signal_id=make_signal().id,
        contract=CALL,
        side=side,
        quantity=quantity,
        limit_price=Decimal(price),
    )


class TestContracts:
    def test_occ_symbol_round_trips(self) -> None:
        assert CALL.local_symbol == "SPY   261218C00600000"
        assert OptionContract.from_local_symbol(CALL.local_symbol) == CALL

    def test_fractional_strikes_keep_their_decimals(self) -> None:
        put = OptionContract.from_local_symbol("SPY   270115P00587500")
        assert (put.strike, put.right) == (Decimal("587.5"), Right.PUT)

    def test_a_bad_symbol_is_named(self) -> None:
        with pytest.raises(ValueError, match="not an OCC option symbol: 'SPY 600C'"):
            OptionContract.from_local_symbol("SPY 600C")


class TestSignals:
    def test_ids_are_deterministic_and_distinguish_inputs(self) -> None:
        same = signal_id(NOW, CALL, Side.BUY, "volume_surge")
        assert same == signal_id(NOW, CALL, Side.BUY, "volume_surge")
        assert same != signal_id(NOW, CALL, Side.SELL, "volume_surge")
        assert same != signal_id(NOW + timedelta(seconds=1), CALL, Side.BUY, "volume_surge")

    def test_wire_round_trip(self) -> None:
        signal = make_signal(
            trace_context={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
        )
        assert Signal.model_validate_json(signal.model_dump_json()) == signal

    def test_expiry(self) -> None:
        signal = make_signal()
        assert not signal.is_expired(NOW + timedelta(seconds=29))
        assert signal.is_expired(NOW + timedelta(seconds=30))

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"score": float("nan")}, "score"),
            ({"id": "not-a-signal"}, "id"),
            ({"created_at": datetime(2026, 11, 24)}, "created_at"),  # naive time is ambiguous
            ({"unexpected": 1}, "unexpected"),
            ({"expires_at": NOW}, "expires_at"),
        ],
    )
    def test_bad_wire_input_names_the_field(self, change: dict[str, object], field: str) -> None:
        with pytest.raises(ValidationError, match=field):
            make_signal(**change)


class TestOrders:
    def test_order_ref_is_the_signal_id(self) -> None:
        assert make_intent().order_ref == make_signal().id

    def test_limit_orders_need_a_price_and_market_orders_refuse_one(self) -> None:
        with pytest.raises(ValidationError, match="limit_price is required for LMT"):
            OrderIntent(signal_id="s", contract=CALL, side=Side.BUY, quantity=1)
        with pytest.raises(ValidationError, match="limit_price is not allowed for MKT"):
            OrderIntent(
                signal_id="s",
                contract=CALL,
                side=Side.BUY,
                quantity=1,
                order_type=OrderType.MARKET,
                limit_price=Decimal(1),
            )

    def test_a_good_till_date_goes_with_gtd_and_only_with_it(self) -> None:
        with pytest.raises(ValidationError, match="good_till is required for GTD"):
            OrderIntent.model_validate({**make_intent().model_dump(), "time_in_force": "GTD"})
        with pytest.raises(ValidationError, match="good_till is not allowed for DAY"):
            OrderIntent.model_validate({**make_intent().model_dump(), "good_till": NOW})
        dated = {**make_intent().model_dump(), "time_in_force": "GTD", "good_till": NOW}
        assert OrderIntent.model_validate(dated).time_in_force is TimeInForce.GTD

    def test_notional_is_premium_times_multiplier(self) -> None:
        assert make_intent(quantity=3, price="2.50").notional == Decimal("750")

    @pytest.mark.parametrize(
        ("path"),
        [
            [OrderStatus.PLACED, OrderStatus.ACKNOWLEDGED, OrderStatus.FILLED],
            [OrderStatus.PLACED, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED],
            [OrderStatus.EXPIRED],
            [OrderStatus.FILLED],  # reconciliation found it filled already
        ],
    )
    def test_forward_paths(self, path: list[OrderStatus]) -> None:
        status = OrderStatus.INTENDED
        for step in path:
            status = advance(status, step)
        assert status.is_terminal

    def test_repeated_status_is_a_no_op(self) -> None:
        assert (
            advance(OrderStatus.ACKNOWLEDGED, OrderStatus.ACKNOWLEDGED) is OrderStatus.ACKNOWLEDGED
        )

    @pytest.mark.parametrize(
        ("current", "new"),
        [
            (OrderStatus.FILLED, OrderStatus.CANCELLED),
            (OrderStatus.ACKNOWLEDGED, OrderStatus.PLACED),
            (OrderStatus.EXPIRED, OrderStatus.PLACED),
            (OrderStatus.PLACED, OrderStatus.EXPIRED),  # once on the wire, expiry is too late
        ],
    )
    def test_backward_or_terminal_moves_are_refused(
        self, current: OrderStatus, new: OrderStatus
    ) -> None:
        with pytest.raises(InvalidTransition, match=f"from {current.value} to {new.value}"):
            advance(current, new)


class TestRisk:
    limits = RiskLimits(
        max_position_per_contract=5, max_orders_per_minute=10, max_notional=Decimal(5000)
    )
    flat = Exposure(positions={}, orders_last_minute=0, open_notional=Decimal(0))

    def test_a_fresh_signal_within_limits_is_approved(self) -> None:
        assert assess(make_signal(), make_intent(), self.limits, self.flat, NOW).approved

    def test_kill_switch_wins_over_everything(self) -> None:
        limits = self.limits.model_copy(update={"kill_switch": True})
        verdict = assess(make_signal(), make_intent(), limits, self.flat, NOW + timedelta(hours=1))
        assert (verdict.approved, verdict.reason) == (False, "kill switch is on")

    def test_an_expired_signal_is_never_traded(self) -> None:
        verdict = assess(
            make_signal(), make_intent(), self.limits, self.flat, NOW + timedelta(minutes=1)
        )
        assert not verdict.approved
        assert verdict.reason.startswith("signal expired at")

    def test_order_rate(self) -> None:
        busy = Exposure(positions={}, orders_last_minute=10, open_notional=Decimal(0))
        assert assess(make_signal(), make_intent(), self.limits, busy, NOW).reason == (
            "order rate limit reached (10/min)"
        )

    def test_position_limit_counts_the_side(self) -> None:
        long4 = Exposure(
            positions={CALL.local_symbol: 4}, orders_last_minute=0, open_notional=Decimal(0)
        )
        assert not assess(make_signal(), make_intent(quantity=2), self.limits, long4, NOW).approved
        selling = make_intent(quantity=2, side=Side.SELL)
        assert assess(make_signal(), selling, self.limits, long4, NOW).approved

    def test_notional_limit(self) -> None:
        verdict = assess(
            make_signal(), make_intent(quantity=3, price="20"), self.limits, self.flat, NOW
        )
        assert verdict.reason == "notional 6000 would exceed 5000"

    def test_a_market_order_counts_against_the_notional_limit_at_its_reference(self) -> None:
        market = OrderIntent(
            signal_id=make_signal().id,
            contract=CALL,
            side=Side.BUY,
            quantity=3,
            order_type=OrderType.MARKET,
            reference_price=Decimal(20),
        )
        verdict = assess(make_signal(), market, self.limits, self.flat, NOW)
        assert verdict.reason == "notional 6000 would exceed 5000"

    def test_limits_must_be_positive(self) -> None:
        with pytest.raises(ValidationError, match="max_orders_per_minute"):
            RiskLimits(
                max_position_per_contract=1, max_orders_per_minute=0, max_notional=Decimal(1)
            )


class TestChainSnapshot:
    def test_columns_must_match_the_contracts(self) -> None:
        one = np.ones(1)
        with pytest.raises(ValueError, match=r"column volume has shape \(2,\), expected \(1,\)"):
            ChainSnapshot(NOW, 600.0, (CALL,), one, one, one, np.ones(2), one, one, one)
