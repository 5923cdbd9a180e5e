"""What every edge service (bot, forwarder, watchdog) shares at run time: the settings they all
have, logging, the secret store, telemetry and SIGTERM.

Each service's settings subclass `EdgeSettings` with its own environment prefix (SPY_BOT_,
SPY_FWD_, SPY_WD_); `system.settings_errors.load_settings` reads them.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

from pydantic import AnyHttpUrl, Field, FilePath, SecretStr, model_validator
from pydantic_settings import BaseSettings

from system.adapters import telemetry_otel
from system.adapters.notify_sendgrid import SendGridNotifier
from system.adapters.notify_telegram import TelegramBot, TelegramNotifier
from system.adapters.secrets_file import FileSecrets
from system.edge.alerting import FanOut
from system.ports import Notifier, SecretStore

SECRET_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,126}$"  # noqa: S105 - a name pattern
log = logging.getLogger(__name__)


class EdgeSettings(BaseSettings):
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=9100, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    shutdown_grace_s: float = Field(default=10.0, gt=0)

    # Secrets: a mounted Kubernetes Secret folder, or Key Vault through managed identity.
    secrets: Literal["file", "keyvault"] = "file"
    secrets_dir: Path = Path("/var/run/secrets/spy")
    keyvault_url: AnyHttpUrl | None = None
    keyvault_ca_file: FilePath | None = None
    keyvault_verify_challenge_resource: bool = True
    managed_identity_client_id: str | None = None

    # Traces and metrics: Application Insights in prod, JSON lines the harness reads locally.
    telemetry: Literal["file", "azure", "none"] = "file"
    telemetry_dir: Path = Path("telemetry")
    appinsights_connection_string: SecretStr | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.secrets == "keyvault" and self.keyvault_url is None:
            raise ValueError("secrets=keyvault needs a keyvault_url")
        if self.telemetry == "azure" and self.appinsights_connection_string is None:
            raise ValueError("telemetry=azure needs an appinsights_connection_string")
        return self


class NotifySettings(BaseSettings):
    """Where alerts go: Telegram chats and email addresses; either may be left out."""

    telegram_token_secret: str | None = Field(default=None, pattern=SECRET_NAME)
    telegram_base_url: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
    telegram_chat_ids: list[int] = Field(default_factory=list)
    sendgrid_api_key_secret: str | None = Field(default=None, pattern=SECRET_NAME)
    sendgrid_base_url: AnyHttpUrl = AnyHttpUrl("https://api.sendgrid.com")
    email_from: str = "spy-edge@example.com"
    email_to: list[str] = Field(default_factory=list)
    alert_remind_s: float = Field(default=3600.0, gt=0)


@dataclass
class Channels:
    email: SendGridNotifier | None
    telegram_bot: TelegramBot | None
    telegram: TelegramNotifier | None

    def alerts(self) -> Notifier:
        return FanOut([n for n in (self.email, self.telegram) if n is not None])

    async def aclose(self) -> None:
        for client in (self.email, self.telegram_bot):
            if client is not None:
                await client.aclose()


async def channels(settings: NotifySettings, secrets: SecretStore) -> Channels:
    """The notification channels the settings name, with their credentials from the store."""
    email = None
    if settings.sendgrid_api_key_secret and settings.email_to:
        key = (await secrets.get(settings.sendgrid_api_key_secret)).value
        email = SendGridNotifier(
            key, settings.email_from, settings.email_to, str(settings.sendgrid_base_url)
        )
    bot = telegram = None
    if settings.telegram_token_secret and settings.telegram_chat_ids:
        token = (await secrets.get(settings.telegram_token_secret)).value
        bot = TelegramBot(token, str(settings.telegram_base_url))
        telegram = TelegramNotifier(bot, settings.telegram_chat_ids)
    return Channels(email, bot, telegram)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs each request URL at INFO, and Telegram's URLs carry the bot token; the Azure
    # SDKs log every request at INFO too.
    noisy = ("httpx", "httpcore", "azure", "ib_async.wrapper", "ib_async.client", "watchfiles")
    for name in noisy:
        logging.getLogger(name).setLevel(logging.WARNING)


def secret_store(settings: EdgeSettings) -> SecretStore:
    if settings.secrets == "keyvault":
        # Imported here: the Azure identity stack is slow to import and only Key Vault needs it.
        from system.adapters.keyvault import KeyVaultSecrets

        return KeyVaultSecrets(
            str(settings.keyvault_url),
            ca_file=settings.keyvault_ca_file,
            verify_challenge_resource=settings.keyvault_verify_challenge_resource,
            managed_identity_client_id=settings.managed_identity_client_id,
        )
    return FileSecrets(settings.secrets_dir)


def telemetry(settings: EdgeSettings, service: str) -> telemetry_otel.OtelTelemetry:
    if settings.telemetry == "azure" and settings.appinsights_connection_string:
        return telemetry_otel.to_application_insights(
            service, settings.appinsights_connection_string.get_secret_value()
        )
    if settings.telemetry == "file":
        return telemetry_otel.to_files(service, settings.telemetry_dir)
    return telemetry_otel.disabled(service)


async def every(seconds: float, work: Callable[[], Awaitable[object]], what: str) -> None:
    """Run `work` every `seconds`, forever; a failure is logged and the next run comes anyway."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await work()
        except Exception:
            log.exception("%s failed", what)


def stop_requested() -> asyncio.Event:
    """Set on SIGTERM or SIGINT: the service's cue to shut down gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop
