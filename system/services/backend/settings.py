"""The backend's settings, from SPY_BACKEND_* environment variables (see README.md beside this).

Validated at start: a missing or bad value stops the service with one line naming the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AnyHttpUrl,
    Field,
    FilePath,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from system.detector.config import DetectorConfig

PREFIX = "SPY_BACKEND_"
_NAME = r"^[0-9A-Za-z-]{1,127}$"  # a Key Vault secret name


class BackendSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_nested_delimiter="__", extra="ignore", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    shutdown_grace_s: float = Field(default=10.0, gt=0)
    startup_timeout_s: float = Field(default=30.0, gt=0)

    keyvault_url: AnyHttpUrl
    keyvault_ca_file: FilePath | None = None
    keyvault_verify_challenge_resource: bool = True
    managed_identity_client_id: str | None = None
    api_keys_secret: str = Field(default="backend-api-keys", pattern=_NAME)
    signalr_secret: str = Field(default="signalr-connection-string", pattern=_NAME)
    tables_secret: str = Field(default="tables-connection-string", pattern=_NAME)
    secret_refresh_s: float = Field(default=300.0, gt=0)

    signalr_hub: str = Field(default="signals", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
    signalr_target: str = Field(default="signal", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
    quote_interval_s: float = Field(default=1.0, gt=0)
    # How often the edge's latency samples are read back from Table Storage for the dashboard.
    latency_interval_s: float = Field(default=15.0, gt=0)
    dashboard: bool = False
    anomalies_table: str = Field(default="anomalies", pattern=r"^[A-Za-z][A-Za-z0-9]{2,62}$")
    trading_timezone: str = "America/New_York"

    market_source: Literal["ib", "replay"]
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

    page_default: int = Field(default=100, ge=1)
    page_max: int = Field(default=500, ge=1)
    signal_log_capacity: int = Field(default=10_000, ge=1)
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

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.market_source == "replay" and self.replay_file is None:
            raise ValueError(f"{PREFIX}REPLAY_FILE is required when {PREFIX}MARKET_SOURCE=replay")
        if self.telemetry == "azure" and self.appinsights_connection_string is None:
            raise ValueError(
                f"{PREFIX}APPINSIGHTS_CONNECTION_STRING is required when {PREFIX}TELEMETRY=azure"
            )
        if self.page_default > self.page_max:
            raise ValueError(f"{PREFIX}PAGE_DEFAULT must not exceed {PREFIX}PAGE_MAX")
        return self


def describe(error: ValidationError) -> str:
    """The first problem as one line naming the environment variable, never its value."""
    first = error.errors(include_input=False, include_url=False)[0]
    location = [str(part) for part in first["loc"]]
    message = first["msg"].removeprefix("Value error, ")
    if not location:
        return f"invalid settings: {message}"
    variable = PREFIX + "__".join(location).upper()
    if first["type"] == "missing":
        return f"missing setting {variable}"
    return f"invalid setting {variable}: {message}"
