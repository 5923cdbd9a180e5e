"""The trading strategy's configuration: a mounted YAML file (a ConfigMap), validated, hot-reloaded.

An invalid file never replaces a good one: the previous configuration stays in force and the
caller is told why (one line naming the field), so it can alert. The directory is watched, not
the file, because Kubernetes updates a ConfigMap volume by swapping a `..data` symlink.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from watchfiles import awatch

from system.domain.orders import OrderIntent, OrderType, TimeInForce
from system.domain.risk import RiskLimits
from system.domain.signals import Side, Signal

log = logging.getLogger(__name__)

TICK = Decimal("0.01")


class StrategyConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    limits: RiskLimits
    quantity: int = Field(default=1, gt=0)
    order_type: Literal[OrderType.LIMIT, OrderType.MARKET] = OrderType.LIMIT
    # Paid above the reference price when buying (received below it when selling), to get filled.
    limit_offset: Decimal = Field(default=Decimal("0.05"), ge=0)
    underlyings: frozenset[str] = frozenset({"SPY"})
    min_score: float = Field(default=0.0, ge=0)

    def intent(self, signal: Signal) -> OrderIntent | str:
        """The order this strategy wants for `signal`, or why it wants none."""
        if signal.contract.symbol not in self.underlyings:
            return f"unknown contract {signal.contract.local_symbol!r}: not a traded underlying"
        if signal.score < self.min_score:
            return f"score {signal.score:g} below the strategy's minimum {self.min_score:g}"
        if signal.reference_price is None:
            return "signal carries no reference price to price the order"
        if self.order_type is OrderType.MARKET:
            # Risk values a market order at the reference: the notional it checks.
            return OrderIntent(
                signal_id=signal.id,
                contract=signal.contract,
                side=signal.side,
                quantity=self.quantity,
                order_type=OrderType.MARKET,
                reference_price=signal.reference_price,
            )
        # A limit order may rest: it is good until its signal expires, so the broker cancels it
        # then even if no leader is trading (a failover, a lost gateway session) to do it.
        offset = self.limit_offset if signal.side is Side.BUY else -self.limit_offset
        price = (signal.reference_price + offset).quantize(TICK, rounding=ROUND_HALF_UP)
        if price <= 0:
            return f"limit price {price} is not positive"
        return OrderIntent(
            signal_id=signal.id,
            contract=signal.contract,
            side=signal.side,
            quantity=self.quantity,
            order_type=OrderType.LIMIT,
            limit_price=price,
            time_in_force=TimeInForce.GTD,
            good_till=signal.expires_at,
        )


class ConfigError(ValueError):
    """The file is missing, unreadable or invalid; the message is one line naming why."""


def parse(text: str, source: str) -> StrategyConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        first = str(error).splitlines()[0]
        raise ConfigError(f"{source}: not valid YAML: {first}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    try:
        return StrategyConfig.model_validate(data)
    except ValidationError as error:
        detail = error.errors()[0]
        where = ".".join(str(p) for p in detail["loc"]) or "(top level)"
        raise ConfigError(f"{source}: {where}: {detail['msg']}") from None


def load(path: Path) -> StrategyConfig:
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    return parse(text, str(path))


class StrategySource:
    """The configuration in force, replaced only by a valid change of the mounted file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.current = load(path)  # a bad file at start stops the service
        self._digest = self._read_digest()
        self.digest = self._digest  # the SHA-256 of the file the configuration in force is from

    def _read_digest(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None

    def reload(self) -> StrategyConfig | ConfigError | None:
        """The new configuration if the file changed and is valid, the error if it changed and
        is not (the current one stays), None if its content did not change."""
        digest = self._read_digest()
        if digest == self._digest:
            return None
        self._digest = digest
        try:
            config = load(self.path)
        except ConfigError as error:
            return error
        self.current, self.digest = config, digest
        return config

    async def watch(
        self,
        on_change: Callable[[StrategyConfig], None],
        on_invalid: Callable[[ConfigError], None],
    ) -> None:
        async for _changes in awatch(self.path.parent, debounce=200, step=20):
            result = self.reload()
            if isinstance(result, ConfigError):
                log.error("strategy config rejected, keeping the previous one: %s", result)
                on_invalid(result)
            elif result is not None:
                log.info("strategy config reloaded from %s", self.path)
                on_change(result)
