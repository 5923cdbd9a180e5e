"""The trading bot's settings: SPY_BOT_* environment variables (listed in __main__'s docstring)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AnyHttpUrl, Field, FilePath, model_validator
from pydantic_settings import SettingsConfigDict

from system.edge.leadership import LeaseTiming
from system.edge.runtime import SECRET_NAME, EdgeSettings, NotifySettings
from system.edge.sqlite import Synchronous

_SECRET = SECRET_NAME


LEASE_KEY = "spy:edge:leader"  # holds "<replica id>:<fencing token>" (system.edge.lease_redis)


class BotSettings(EdgeSettings, NotifySettings):
    model_config = SettingsConfigDict(env_prefix="SPY_BOT_", extra="ignore", frozen=True)

    replica_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    data_dir: Path = Path("data")
    ledger_synchronous: Synchronous = Synchronous.NORMAL
    checkpoint_s: float = Field(default=5.0, gt=0)  # the ledger's WAL back into its file
    delivery_file: Path | None = (
        None  # the forwarder's progress; default <data_dir>/delivery.sqlite
    )
    outbox_retention_h: float = Field(default=48.0, gt=0)
    strategy_file: FilePath

    redis_url: str = Field(default="redis://127.0.0.1:6379/0", pattern=r"^rediss?://")
    lease_key: str = LEASE_KEY
    board_prefix: str = "spy:edge"
    lease_ttl_ms: int = Field(default=3000, ge=200)
    lease_renew_ms: int = Field(default=1000, ge=50)
    lease_acquire_ms: int = Field(default=200, ge=10)
    lease_safety_ms: int = Field(default=300, ge=0)

    ib_host: str = "127.0.0.1"
    ib_port: int = Field(default=4002, ge=1, le=65535)
    ib_client_id: int = Field(default=1, ge=0)
    ib_account: str = ""
    ib_timeout_s: float = Field(default=5.0, gt=0)
    ib_credential_secret: str | None = Field(default=None, pattern=_SECRET)
    credential_check_s: float = Field(default=30.0, gt=0)

    backend_url: AnyHttpUrl
    backend_api_key_secret: str = Field(default="backend-api-key", pattern=_SECRET)
    signalr_target: str = Field(default="signal", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
    reconnect_first_s: float = Field(default=0.2, gt=0)
    reconnect_max_s: float = Field(default=10.0, gt=0)

    sweep_s: float = Field(default=1.0, gt=0)
    expiry_margin_ms: int = Field(default=50, ge=0)  # a signal this close to expiry is not traded
    # The leader rehearses its hot path this often between signals (Trader.rehearse); 0: never.
    rehearse_every_ms: float = Field(default=1.0, ge=0)
    metrics_sample_s: float = Field(default=60.0, gt=0)
    confirmation_digest_s: float = Field(default=60.0, gt=0)  # fills confirmed in one email

    telegram_poll_s: int = Field(default=25, ge=0, le=50)  # chats: telegram_chat_ids

    @model_validator(mode="after")
    def _lease_timing(self) -> BotSettings:
        if self.lease_renew_ms >= self.lease_ttl_ms - self.lease_safety_ms:
            raise ValueError(
                "SPY_BOT_LEASE_RENEW_MS must be below SPY_BOT_LEASE_TTL_MS minus "
                "SPY_BOT_LEASE_SAFETY_MS (a renewal must land before trading has to stop)"
            )
        return self

    def lease_timing(self) -> LeaseTiming:
        return LeaseTiming(
            ttl_s=self.lease_ttl_ms / 1000,
            renew_every_s=self.lease_renew_ms / 1000,
            acquire_every_s=self.lease_acquire_ms / 1000,
            safety_s=self.lease_safety_ms / 1000,
        )

    @property
    def ledger_file(self) -> Path:
        return self.data_dir / "ledger.sqlite"

    @property
    def delivery_path(self) -> Path:
        return self.delivery_file or self.data_dir / "delivery.sqlite"
