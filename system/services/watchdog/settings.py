"""The watchdog's settings: SPY_WD_* environment variables (see __main__)."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import AnyHttpUrl, Field
from pydantic_settings import SettingsConfigDict

from system.edge.runtime import SECRET_NAME, EdgeSettings, NotifySettings
from system.services.watchdog.checks import Component

_SECRET = SECRET_NAME


class WatchdogSettings(EdgeSettings, NotifySettings):
    model_config = SettingsConfigDict(env_prefix="SPY_WD_", extra="ignore", frozen=True)

    http_port: int = Field(default=9102, ge=0, le=65535)
    components: list[Component] = Field(default_factory=list)
    check_interval_s: float = Field(default=30.0, gt=0)
    check_timeout_s: float = Field(default=5.0, gt=0)
    failures_before_restart: int = Field(default=2, ge=1)
    restart_cooldown_s: float = Field(default=60.0, ge=0)
    restart_log_dir: Path = Path(".")
    ib_credential_secret: str | None = Field(default=None, pattern=_SECRET)

    backend_url: AnyHttpUrl
    backend_api_key_secret: str = Field(default="backend-api-key", pattern=_SECRET)
    signalr_target: str = Field(default="signal", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
    heartbeat_timeout_s: float = Field(default=45.0, gt=0)

    report_at: time = time(21, 30)  # UTC, after the US close
    report_interval_s: float | None = Field(default=None, gt=0)  # instead of daily (dev, tests)
