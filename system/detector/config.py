"""What the detector counts as unusual: thresholds in robust z-scores (MADs), floors, lifetimes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class DetectorConfig(BaseModel):
    """Every knob of the anomaly detector. A z-score here is (x - median) / (1.4826 * MAD) of
    the contract's own rolling baseline, so thresholds read as "standard deviations, robustly"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    baseline_window: int = Field(default=15, ge=5, le=101)
    volume_z: float = Field(default=8.0, gt=0)
    volume_min_increment: float = Field(default=50.0, ge=0)
    volume_min_ratio: float = Field(default=3.0, ge=1)  # a surge is this many times the usual flow
    volume_min_scale: float = Field(default=5.0, gt=0)
    open_interest_z: float = Field(default=8.0, gt=0)
    open_interest_min_scale: float = Field(default=25.0, gt=0)
    implied_vol_z: float = Field(default=8.0, gt=0)
    implied_vol_min_scale: float = Field(default=0.005, gt=0)
    skew_z: float = Field(default=8.0, gt=0)
    skew_min_scale: float = Field(default=0.0005, gt=0)
    skew_delta_low: float = Field(default=0.15, gt=0, lt=0.5)
    skew_delta_high: float = Field(default=0.35, gt=0, lt=0.5)
    skew_target_delta: float = Field(default=0.25, gt=0, lt=0.5)
    signal_ttl_s: float = Field(default=30.0, gt=0)
    max_signals_per_snapshot: int = Field(default=20, ge=1)

    @field_validator("baseline_window")
    @classmethod
    def _odd(cls, window: int) -> int:
        # An odd window has a true middle element, so the median needs no averaging.
        if window % 2 == 0:
            raise ValueError("must be odd")
        return window
