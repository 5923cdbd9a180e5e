import asyncio
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from system.domain.contracts import OptionContract
from system.domain.orders import OrderType, TimeInForce
from system.domain.signals import Side
from system.edge.strategy_config import (
    ConfigError,
    StrategyConfig,
    StrategySource,
    load,
    parse,
)
from tests.unit.edge.builders import CALL, make_signal

GOOD = """
limits:
  max_position_per_contract: 10
  max_orders_per_minute: 30
  max_notional: 50000
quantity: 2
limit_offset: 0.05
"""


def config(**changes: object) -> StrategyConfig:
    base = parse(GOOD, "test")
    return base.model_copy(update=changes)


class TestParsing:
    def test_a_good_file(self, tmp_path: Path) -> None:
        path = tmp_path / "strategy.yaml"
        path.write_text(GOOD)
        loaded = load(path)
        assert loaded.quantity == 2
        assert loaded.limits.max_notional == Decimal(50000)

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("limits: [", "not valid YAML"),
            ("- a list", "expected a mapping"),
            (GOOD.replace("quantity: 2", "quantity: 0"), "quantity: Input should be greater"),
            (GOOD + "surprise: 1\n", "surprise: Extra inputs are not permitted"),
            (
                GOOD.replace("max_orders_per_minute: 30", "max_orders_per_minute: many"),
                "limits.max_orders_per_minute",
            ),
            ("quantity: 1\n", "limits: Field required"),
        ],
    )
    def test_a_bad_file_is_named_in_one_line(self, text: str, message: str) -> None:
        with pytest.raises(ConfigError, match=message) as error:
            parse(text, "strategy.yaml")
        assert "\n" not in str(error.value)
        assert str(error.value).startswith("strategy.yaml: ")

    def test_a_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="cannot read"):
            load(tmp_path / "absent.yaml")


class TestIntent:
    def test_a_limit_buy_pays_the_offset_above_the_reference(self) -> None:
        intent = config().intent(make_signal(price="2.50"))
        assert not isinstance(intent, str)
        assert (intent.limit_price, intent.quantity, intent.order_type) == (
            Decimal("2.55"),
            2,
            OrderType.LIMIT,
        )

    def test_a_limit_order_is_good_until_its_signal_expires(self) -> None:
        signal = make_signal()
        intent = config().intent(signal)
        assert not isinstance(intent, str)
        assert (intent.time_in_force, intent.good_till) == (TimeInForce.GTD, signal.expires_at)

    def test_a_limit_sell_takes_the_offset_below(self) -> None:
        intent = config().intent(make_signal(side=Side.SELL, price="2.50"))
        assert not isinstance(intent, str)
        assert intent.limit_price == Decimal("2.45")

    def test_a_market_order_carries_no_limit_and_is_valued_at_the_reference(self) -> None:
        signal = make_signal()
        intent = config(order_type=OrderType.MARKET).intent(signal)
        assert not isinstance(intent, str)
        assert intent.limit_price is None
        assert (intent.time_in_force, intent.good_till) == (TimeInForce.DAY, None)
        assert signal.reference_price is not None
        assert intent.notional == signal.reference_price * intent.quantity * 100

    def test_refusals_say_why(self) -> None:
        qqq = OptionContract(symbol="QQQ", expiry=CALL.expiry, strike=CALL.strike, right=CALL.right)
        assert "unknown contract" in str(config().intent(make_signal(contract=qqq)))
        assert "no reference price" in str(config().intent(make_signal(price=None)))
        assert "below the strategy's minimum" in str(config(min_score=9).intent(make_signal()))
        assert "not positive" in str(
            config(limit_offset=Decimal(3)).intent(make_signal(side=Side.SELL, price="2.50"))
        )


class TestReload:
    def test_a_valid_change_replaces_and_a_bad_one_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "strategy.yaml"
        path.write_text(GOOD)
        source = StrategySource(path)
        assert source.reload() is None  # unchanged
        path.write_text(GOOD.replace("quantity: 2", "quantity: 3"))
        changed = source.reload()
        assert isinstance(changed, StrategyConfig)
        assert source.current.quantity == 3
        path.write_text("limits: {")
        assert isinstance(source.reload(), ConfigError)
        assert source.current.quantity == 3
        path.unlink()
        assert isinstance(source.reload(), ConfigError)
        assert source.current.quantity == 3

    def test_the_digest_names_the_file_in_force_not_a_refused_one(self, tmp_path: Path) -> None:
        path = tmp_path / "strategy.yaml"
        path.write_text(GOOD)
        source = StrategySource(path)
        assert source.digest == hashlib.sha256(GOOD.encode()).hexdigest()
        changed = GOOD.replace("quantity: 2", "quantity: 3")
        path.write_text(changed)
        source.reload()
        path.write_text("limits: {")
        source.reload()
        assert source.digest == hashlib.sha256(changed.encode()).hexdigest()

    def test_a_bad_file_at_start_stops_the_service(self, tmp_path: Path) -> None:
        path = tmp_path / "strategy.yaml"
        path.write_text("quantity: 1\n")
        with pytest.raises(ConfigError):
            StrategySource(path)

    async def test_the_watcher_sees_a_configmap_style_swap(self, tmp_path: Path) -> None:
        # Kubernetes: strategy.yaml -> ..data/strategy.yaml, ..data -> a timestamped folder.
        (tmp_path / "v1").mkdir()
        (tmp_path / "v1" / "strategy.yaml").write_text(GOOD)
        (tmp_path / "..data").symlink_to("v1")
        (tmp_path / "strategy.yaml").symlink_to("..data/strategy.yaml")
        source = StrategySource(tmp_path / "strategy.yaml")
        changes: asyncio.Queue[object] = asyncio.Queue()
        watcher = asyncio.create_task(source.watch(changes.put_nowait, changes.put_nowait))
        await asyncio.sleep(0.3)

        def swap(version: str, text: str) -> None:
            (tmp_path / version).mkdir()
            (tmp_path / version / "strategy.yaml").write_text(text)
            (tmp_path / "..data_tmp").symlink_to(version)
            (tmp_path / "..data_tmp").rename(tmp_path / "..data")

        swap("v2", GOOD.replace("quantity: 2", "quantity: 4"))
        first = await asyncio.wait_for(changes.get(), 10)
        assert isinstance(first, StrategyConfig)
        assert first.quantity == 4
        swap("v3", "limits: {")
        second = await asyncio.wait_for(changes.get(), 10)
        assert isinstance(second, ConfigError)
        assert source.current.quantity == 4
        watcher.cancel()
