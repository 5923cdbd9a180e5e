"""One simulator subprocess per module; tests that restart or reconfigure it start their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.tws.support import Sim, simulator


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    folder = tmp_path_factory.mktemp("tws")
    with simulator(folder, folder / "state.json") as running:
        yield running
