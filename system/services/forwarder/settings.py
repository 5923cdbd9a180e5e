"""The telemetry forwarder's settings: SPY_FWD_* environment variables (see __main__)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from system.edge.runtime import EdgeSettings


class ForwarderSettings(EdgeSettings):
    model_config = SettingsConfigDict(env_prefix="SPY_FWD_", extra="ignore", frozen=True)

    http_port: int = Field(default=9101, ge=0, le=65535)
    store_file: Path  # the bot's edge store (ledger.sqlite), on the pod's shared volume
    delivery_file: Path | None = None  # this forwarder's progress; default beside the store
    tables_secret: str = Field(
        default="tables-connection-string", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,126}$"
    )
    batch_size: int = Field(default=500, ge=1, le=10_000)
    poll_s: float = Field(default=0.5, gt=0)
    retry_first_s: float = Field(default=0.5, gt=0)
    retry_max_s: float = Field(default=30.0, gt=0)
    aggregate_s: float = Field(default=300.0, gt=0)

    @property
    def delivery_path(self) -> Path:
        return self.delivery_file or self.store_file.parent / "delivery.sqlite"
