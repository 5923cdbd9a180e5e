"""Pure parts of the backend: the signal log's paging, anomaly rows, settings errors."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from system.domain.contracts import OptionContract, Right
from system.domain.signals import Side, Signal, signal_id
from system.services.backend.anomalies import from_record, to_record
from system.services.backend.settings import BackendSettings
from system.services.backend.signal_log import SignalLog
from system.services.detector.settings import DetectorSettings
from system.settings_errors import describe, prefix_of

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
PUT = OptionContract(
    symbol="SPY", expiry=date(2026, 12, 18), strike=Decimal("587.5"), right=Right.PUT
)
NEW_YORK = ZoneInfo("America/New_York")
REQUIRED = {
    "SPY_BACKEND_KEYVAULT_URL": "https://127.0.0.1:1/",
    "SPY_BACKEND_MARKET_SOURCE": "ib",
}


def make(i: int, at: datetime | None = None) -> Signal:
    created = at or T0 + timedelta(seconds=i)
    return Signal(
        id=signal_id(T0 + timedelta(seconds=i), PUT, Side.BUY, "volume_surge"),
        created_at=created,
        contract=PUT,
        side=Side.BUY,
        score=9.0 + i,
        reason="volume surge",
        expires_at=created + timedelta(seconds=30),
        trace_context={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"},
    )


def ids(page: list[bytes]) -> list[str]:
    return [json.loads(item)["id"] for item in page]


class TestSignalLog:
    def test_pages_follow_each_other_without_gaps_or_repeats(self) -> None:
        log = SignalLog(100)
        for i in reversed(range(7)):  # arrival order does not matter
            log.add(make(i))
        seen, after = [], None
        while True:
            page, after = log.page(None, None, after, 3)
            seen += ids(page)
            if after is None:
                break
        assert seen == [make(i).id for i in range(7)]

    def test_time_filter_is_since_inclusive_until_exclusive(self) -> None:
        log = SignalLog(100)
        for i in range(10):
            log.add(make(i))
        page, following = log.page(T0 + timedelta(seconds=2), T0 + timedelta(seconds=5), None, 50)
        assert ids(page) == [make(i).id for i in (2, 3, 4)]
        assert following is None

    def test_the_same_signal_is_kept_once(self) -> None:
        log = SignalLog(100)
        log.add(make(1))
        log.add(make(1))
        assert len(log) == 1

    def test_the_oldest_signals_go_beyond_capacity(self) -> None:
        log = SignalLog(10)
        for i in range(30):
            log.add(make(i))
        assert 10 <= len(log) <= 11
        page, _ = log.page(None, None, None, 100)
        assert ids(page)[-1] == make(29).id


class TestAnomalyRows:
    def test_a_signal_round_trips_through_its_row(self) -> None:
        signal = make(3)
        assert from_record(to_record(signal, "anomalies", NEW_YORK)) == signal
        priced = signal.model_copy(update={"reference_price": Decimal("2.4550")})
        assert from_record(to_record(priced, "anomalies", NEW_YORK)) == priced

    def test_rows_are_partitioned_by_the_exchange_trading_day_and_keyed_by_id(self) -> None:
        late_evening = datetime(2026, 11, 25, 2, 30, tzinfo=UTC)  # 21:30 in New York, the 24th
        record = to_record(make(1, late_evening), "anomalies", NEW_YORK)
        assert (record.partition_key, record.row_key) == ("2026-11-24", make(1).id)


class TestSettings:
    def problem(
        self,
        monkeypatch: pytest.MonkeyPatch,
        env: dict[str, str],
        settings: type[BackendSettings | DetectorSettings] = BackendSettings,
    ) -> str:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        with pytest.raises(ValidationError) as invalid:
            settings()
        return describe(invalid.value, prefix_of(settings))

    def test_a_missing_setting_is_named(self, monkeypatch: pytest.MonkeyPatch) -> None:
        assert self.problem(monkeypatch, {}) == "missing setting SPY_BACKEND_KEYVAULT_URL"

    def test_a_bad_nested_value_is_named_without_its_value(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        line = self.problem(monkeypatch, {**REQUIRED, "SPY_BACKEND_DETECTOR__VOLUME_Z": "-3.5"})
        assert line.startswith("invalid setting SPY_BACKEND_DETECTOR__VOLUME_Z: ")
        assert "-3.5" not in line

    def test_a_secret_value_is_never_echoed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        line = self.problem(
            monkeypatch,
            {**REQUIRED, "SPY_BACKEND_TELEMETRY": "azure", "SPY_BACKEND_PAGE_MAX": "x"},
        )
        assert line.startswith("invalid setting SPY_BACKEND_PAGE_MAX")

    def test_without_its_detector_the_backend_needs_no_market_data(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("SPY_BACKEND_KEYVAULT_URL", "https://127.0.0.1:1/")
        monkeypatch.setenv("SPY_BACKEND_RUN_DETECTOR", "false")
        settings = BackendSettings()
        assert settings.market_source is None
        assert not settings.runs_detector

    def test_the_detector_service_names_its_own_variables(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for key, value in REQUIRED.items():  # the backend's settings are not the detector's
            monkeypatch.setenv(key, value)
        assert self.problem(monkeypatch, {}, DetectorSettings) == (
            "missing setting SPY_DETECTOR_KEYVAULT_URL"
        )
        env = {"SPY_DETECTOR_KEYVAULT_URL": "https://127.0.0.1:1/"}
        assert self.problem(monkeypatch, env, DetectorSettings) == (
            "invalid settings: SPY_DETECTOR_MARKET_SOURCE is required where the detector runs"
        )
        monkeypatch.setenv("SPY_DETECTOR_MARKET_SOURCE", "replay")
        assert self.problem(monkeypatch, env, DetectorSettings) == (
            "invalid settings: SPY_DETECTOR_REPLAY_FILE is required when "
            "SPY_DETECTOR_MARKET_SOURCE=replay"
        )

    def test_valid_settings_parse(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for key, value in REQUIRED.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("SPY_BACKEND_DETECTOR__BASELINE_WINDOW", "21")
        settings = BackendSettings()
        assert settings.detector.baseline_window == 21
        assert settings.market_source == "ib"
