"""The shared fault injection: the next N requests are rejected, then service resumes."""

import pytest
from pydantic import ValidationError

from fakes.common.faults import Faults, Reject


def test_the_next_n_requests_are_rejected_then_service_resumes() -> None:
    faults = Faults(reject=Reject(status=503, count=2, message="down"), remaining=2)
    rejections = [faults.next_rejection() for _ in range(3)]
    assert [(r.status, r.message) if r else None for r in rejections] == [
        (503, "down"),
        (503, "down"),
        None,
    ]
    assert faults.snapshot() == {"reject": None, "remaining": 0, "latency_ms": 0}


def test_retry_after_travels_with_the_rejection() -> None:
    faults = Faults(reject=Reject(status=429, retry_after=7), remaining=1)
    rejection = faults.next_rejection()
    assert rejection is not None
    assert rejection.retry_after == 7


@pytest.mark.parametrize("status", [200, 302, 399, 600, 499])
def test_only_real_error_statuses_can_be_injected(status: int) -> None:
    with pytest.raises(ValidationError):
        Reject(status=status)
