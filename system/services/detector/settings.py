"""The detector service's settings: the backend's detector half, under SPY_DETECTOR_."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from system.services.backend.settings import CloudSettings


class DetectorSettings(CloudSettings):
    model_config = SettingsConfigDict(env_prefix="SPY_DETECTOR_")
