"""The cloud services' settings, from environment variables: the backend's under SPY_BACKEND_
(see README.md beside this), the detector service's under SPY_DETECTOR_
(system/services/detector/README.md).

Both run the same detector loop on the same adapters, so they share one definition of what that
takes (`CloudSettings`). Validated at start: a missing or bad value stops the service with one
line naming the variable (`system.settings_errors`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from system.detector.config import DetectorConfig
from system.settings_errors import prefix_of

_NAME = r"^[0-9A-Za-z-]{1,127}$"  # a Key Vault secret name


class CloudSettings(BaseSettings):
    """What a process running the detector loop needs: where to listen, Key Vault and the
    secrets it holds, the signal hub, Table Storage, the market data, telemetry, retries."""

    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    shutdown_grace_s: float = Field(default=10.0, gt=0)
    startup_timeout_s: float = Field(default=30.0, gt=0)

    keyvault_url: AnyHttpUrl
    keyvault_ca_file: FilePath | None = None
    keyvault_verify_challenge_resource: bool = True
    managed_identity_client_id: str | None = None
    signalr_secret: str = Field(default="signalr-connection-string", pattern=_NAME)
    tables_secret: str = Field(default="tables-connection-string", pattern=_NAME)

    signalr_hub: str = Field(default="signals", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
    signalr_target: str = Field(default="signal", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
    quote_interval_s: float = Field(default=1.0, gt=0)
    anomalies_table: str = Field(default="anomalies", pattern=r"^[A-Za-z][A-Za-z0-9]{2,62}$")
    trading_timezone: str = "America/New_York"

    # Required wherever the detector loop runs (`runs_detector`).
    market_source: Literal["ib", "replay"] | None = None
    replay_file: FilePath | None = None
    replay_interval_s: float = Field(default=1.0, ge=0)
    replay_follow: bool = False
    ib_host: str = "127.0.0.1"
    ib_port: int = Field(default=4002, ge=1, le=65535)
    ib_client_id: int = Field(default=17, ge=0)
    # The secret holding the credential the gateway requires in startApi (none: not required).
    ib_credential_secret: str | None = Field(default=None, pattern=_NAME)
    ib_expiries: int = Field(default=2, ge=1)
    ib_strikes_each_side: int = Field(default=10, ge=1)
    ib_max_lines: int = Field(default=100, ge=3)
    ib_recentre_strikes: int = Field(default=2, ge=1)
    ib_snapshot_interval_s: float = Field(default=1.0, gt=0)

    detector: DetectorConfig = DetectorConfig()

    telemetry: Literal["file", "azure", "none"] = "file"
    telemetry_dir: Path = Path("telemetry")
    appinsights_connection_string: SecretStr | None = None

    retry_base_s: float = Field(default=0.05, gt=0)
    retry_max_s: float = Field(default=5.0, gt=0)
    ready_timeout_s: float = Field(default=2.0, gt=0)

    @field_validator("trading_timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @property
    def runs_detector(self) -> bool:
        return True

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        prefix = prefix_of(type(self))
        if self.runs_detector and self.market_source is None:
            raise ValueError(f"{prefix}MARKET_SOURCE is required where the detector runs")
        if self.market_source == "replay" and self.replay_file is None:
            raise ValueError(f"{prefix}REPLAY_FILE is required when {prefix}MARKET_SOURCE=replay")
        if self.telemetry == "azure" and self.appinsights_connection_string is None:
            raise ValueError(
                f"{prefix}APPINSIGHTS_CONNECTION_STRING is required when {prefix}TELEMETRY=azure"
            )
        return self


class BackendSettings(CloudSettings):
    """The backend: the API, and the detector loop in the same process unless RUN_DETECTOR is
    false (the detector service then runs it, and /api/signals reads its signals back from the
    anomalies table)."""

    model_config = SettingsConfigDict(env_prefix="SPY_BACKEND_")

    api_keys_secret: str = Field(default="backend-api-keys", pattern=_NAME)
    secret_refresh_s: float = Field(default=300.0, gt=0)
    # How often the edge's latency samples are read back from Table Storage for the dashboard.
    latency_interval_s: float = Field(default=15.0, gt=0)
    dashboard: bool = False
    page_default: int = Field(default=100, ge=1)
    page_max: int = Field(default=500, ge=1)
    signal_log_capacity: int = Field(default=10_000, ge=1)
    run_detector: bool = True
    # Without the detector: how often, and how far back, the anomalies table is read for signals.
    signal_poll_s: float = Field(default=2.0, gt=0)
    signal_lookback_s: float = Field(default=120.0, gt=0)

    @property
    def runs_detector(self) -> bool:
        return self.run_detector

    @model_validator(mode="after")
    def _pages(self) -> Self:
        if self.page_default > self.page_max:
            raise ValueError("SPY_BACKEND_PAGE_DEFAULT must not exceed SPY_BACKEND_PAGE_MAX")
        return self
